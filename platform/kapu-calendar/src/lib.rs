//! Hungarian working days, for deadlines the law counts in working days (e.g. a decision
//! deemed delivered on the fifth working day after it was made available).
//!
//! A day is a working day unless it is a Saturday or Sunday, a public holiday
//! (Mt. 102. § (1)) or a rest day the yearly decree moved there; a Saturday the decree
//! makes a working day is one. The decrees ship in `data/hu.toml`; an operator adds
//! newer years with [`Calendar::with_decrees`]. Counting in a year with no decree on
//! file is an error rather than a guess.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

const BUILT_IN: &str = include_str!("../data/hu.toml");

/// Why a day could not be classified or a file not read.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The year's decree on rearranged days is not on file.
    #[error("no decree on rearranged working days is on file for {0}; add it to the calendar file")]
    NoDecree(i32),
    /// A decree file could not be read.
    #[error("invalid calendar file: {0}")]
    Invalid(String),
}

/// What kind of day a date is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary working day, or a Saturday the decree made one.
    Working,
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday, with its Hungarian name.
    PublicHoliday(&'static str),
    /// A working day the decree turned into a rest day.
    RestDay,
}

/// The decree of one year.
#[derive(Clone, Debug, Deserialize)]
struct Decree {
    year: i32,
    decree: String,
    working_days: Vec<toml::value::Datetime>,
    rest_days: Vec<toml::value::Datetime>,
}

#[derive(Debug, Deserialize)]
struct DecreeFile {
    #[serde(default)]
    year: Vec<Decree>,
}

#[derive(Clone, Debug, Default)]
struct Rearranged {
    decree: String,
    working: BTreeSet<NaiveDate>,
    rest: BTreeSet<NaiveDate>,
}

/// The Hungarian calendar with the decrees on file.
#[derive(Clone, Debug)]
pub struct Calendar {
    years: BTreeMap<i32, Rearranged>,
}

impl Calendar {
    /// The calendar with the decrees Kapu ships.
    pub fn hungary() -> Self {
        let mut c = Self { years: BTreeMap::new() };
        // The built-in file is part of the binary and loaded by this crate's tests; were it
        // ever broken, a calendar with no years (every count an error) beats a guess.
        if c.add(BUILT_IN).is_err() {
            c.years.clear();
        }
        c
    }

    /// The shipped calendar plus (or overridden by) the years of another decree file in the
    /// same format as `data/hu.toml`.
    pub fn with_decrees(toml_text: &str) -> Result<Self, CalendarError> {
        let mut c = Self::hungary();
        c.add(toml_text)?;
        Ok(c)
    }

    fn add(&mut self, text: &str) -> Result<(), CalendarError> {
        let file: DecreeFile = toml::from_str(text).map_err(|e| CalendarError::Invalid(e.to_string()))?;
        for d in file.year {
            let mut r = Rearranged { decree: d.decree.clone(), ..Rearranged::default() };
            for (list, into, want_saturday) in [(&d.working_days, &mut r.working, true), (&d.rest_days, &mut r.rest, false)] {
                for v in list {
                    let date = to_date(v)?;
                    if date.year() != d.year {
                        return Err(CalendarError::Invalid(format!("{date} is listed under {} ({})", d.year, d.decree)));
                    }
                    if want_saturday != (date.weekday() == Weekday::Sat) {
                        let what = if want_saturday { "working day that is not a Saturday" } else { "rest day on a Saturday" };
                        return Err(CalendarError::Invalid(format!("{date} is a rearranged {what} ({})", d.decree)));
                    }
                    into.insert(date);
                }
            }
            self.years.insert(d.year, r);
        }
        Ok(())
    }

    /// The decree that rearranged the days of a year, if one is on file.
    pub fn decree(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|r| r.decree.as_str())
    }

    /// Classifies a day.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        let r = self.years.get(&date.year()).ok_or(CalendarError::NoDecree(date.year()))?;
        if let Some(name) = public_holiday(date) {
            return Ok(DayKind::PublicHoliday(name));
        }
        if r.rest.contains(&date) {
            return Ok(DayKind::RestDay);
        }
        if r.working.contains(&date) {
            return Ok(DayKind::Working);
        }
        Ok(match date.weekday() {
            Weekday::Sat | Weekday::Sun => DayKind::Weekend,
            _ => DayKind::Working,
        })
    }

    /// Whether a day is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.day_kind(date)? == DayKind::Working)
    }

    /// The `n`th working day after `from` (`from` itself not counted; `n = 0` gives `from`).
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = day.checked_add_days(Days::new(1)).ok_or_else(|| CalendarError::Invalid(format!("no day follows {day}")))?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }
}

fn to_date(v: &toml::value::Datetime) -> Result<NaiveDate, CalendarError> {
    match (v.date, v.time) {
        (Some(d), None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            .ok_or_else(|| CalendarError::Invalid(format!("{v} is not a date"))),
        _ => Err(CalendarError::Invalid(format!("{v} is not a plain date (write e.g. 2026-12-12)"))),
    }
}

/// The public holidays of Mt. 102. § (1), by Hungarian name.
fn public_holiday(date: NaiveDate) -> Option<&'static str> {
    let fixed = match (date.month(), date.day()) {
        (1, 1) => Some("újév"),
        (3, 15) => Some("nemzeti ünnep"),
        (5, 1) => Some("a munka ünnepe"),
        (8, 20) => Some("államalapítás ünnepe"),
        (10, 23) => Some("nemzeti ünnep"),
        (11, 1) => Some("mindenszentek"),
        (12, 25) | (12, 26) => Some("karácsony"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = computus::gregorian(date.year()).ok()?;
    let easter = NaiveDate::from_ymd_opt(easter.year, easter.month, easter.day)?;
    match (date - easter).num_days() {
        -2 => Some("nagypéntek"),
        0 => Some("húsvét"),
        1 => Some("húsvéthétfő"),
        49 => Some("pünkösd"),
        50 => Some("pünkösdhétfő"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_shipped_decrees_load() {
        let c = Calendar::hungary();
        assert_eq!(c.decree(2026), Some("10/2025. (IV. 30.) NGM rendelet"));
        assert_eq!(c.decree(2025), Some("11/2024. (IV. 8.) NGM rendelet"));
    }

    #[test]
    fn classifies_the_days_of_2026() {
        let c = Calendar::hungary();
        assert_eq!(c.day_kind(d(2026, 1, 2)).unwrap(), DayKind::RestDay);
        assert_eq!(c.day_kind(d(2026, 1, 10)).unwrap(), DayKind::Working);
        assert_eq!(c.day_kind(d(2026, 1, 17)).unwrap(), DayKind::Weekend);
        assert_eq!(c.day_kind(d(2026, 4, 3)).unwrap(), DayKind::PublicHoliday("nagypéntek"));
        assert_eq!(c.day_kind(d(2026, 4, 6)).unwrap(), DayKind::PublicHoliday("húsvéthétfő"));
        assert_eq!(c.day_kind(d(2026, 5, 25)).unwrap(), DayKind::PublicHoliday("pünkösdhétfő"));
        assert_eq!(c.day_kind(d(2026, 10, 23)).unwrap(), DayKind::PublicHoliday("nemzeti ünnep"));
        assert_eq!(c.day_kind(d(2026, 12, 24)).unwrap(), DayKind::RestDay);
        assert_eq!(c.day_kind(d(2026, 11, 25)).unwrap(), DayKind::Working);
    }

    #[test]
    fn counts_working_days_across_holidays_and_rearranged_days() {
        let c = Calendar::hungary();
        // Thu 20 Aug 2026 is a holiday, Fri 21 a rest day: from Wed 19, five working days
        // are Mon 24 .. Fri 28.
        assert_eq!(c.add_working_days(d(2026, 8, 19), 5).unwrap(), d(2026, 8, 28));
        // Working Saturday 12 Dec 2026 counts; 24–26 Dec do not.
        assert_eq!(c.add_working_days(d(2026, 12, 11), 1).unwrap(), d(2026, 12, 12));
        assert_eq!(c.add_working_days(d(2026, 12, 23), 1).unwrap(), d(2026, 12, 28));
        // Easter 2025: Good Friday 18 Apr, Easter Monday 21 Apr.
        assert_eq!(c.add_working_days(d(2025, 4, 17), 1).unwrap(), d(2025, 4, 22));
        assert_eq!(c.add_working_days(d(2026, 11, 25), 0).unwrap(), d(2026, 11, 25));
    }

    #[test]
    fn a_year_without_its_decree_is_an_error_not_a_guess() {
        let c = Calendar::hungary();
        let e = c.add_working_days(d(2026, 12, 29), 5).unwrap_err();
        assert!(matches!(e, CalendarError::NoDecree(2027)), "{e}");
    }

    #[test]
    fn an_operator_adds_a_year() {
        let c = Calendar::with_decrees("[[year]]\nyear = 2027\ndecree = \"teszt\"\nworking_days = []\nrest_days = []\n").unwrap();
        // Fri 1 Jan 2027 is New Year's Day: Tue 29, Wed 30, Thu 31 Dec, then Mon 4, Tue 5 Jan.
        assert_eq!(c.add_working_days(d(2026, 12, 28), 5).unwrap(), d(2027, 1, 5));
    }

    #[test]
    fn a_wrong_decree_file_is_refused_with_the_reason() {
        let e = Calendar::with_decrees("[[year]]\nyear = 2027\ndecree = \"x\"\nworking_days = [2027-01-04]\nrest_days = []\n").unwrap_err();
        assert!(e.to_string().contains("2027-01-04 is a rearranged working day that is not a Saturday"), "{e}");
        let e = Calendar::with_decrees("[[year]]\nyear = 2027\ndecree = \"x\"\nworking_days = [2026-12-12]\nrest_days = []\n").unwrap_err();
        assert!(e.to_string().contains("listed under 2027"), "{e}");
    }
}
