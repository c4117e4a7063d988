//! Hungarian working days, for deadlines the law counts in working days (e.g. a decision
//! deemed delivered on the fifth working day after it was made available).
//!
//! A day is a working day unless it is a Saturday or Sunday, a public holiday
//! (Mt. 102. § (1)) or a rest day the yearly decree moved there; a Saturday the decree
//! makes a working day is one. The decrees ship in `data/hu.toml`; an operator adds
//! newer years without a new release through a file of the same format (see [`decree`] and
//! [`Calendar::with_decrees`]), checked against the decrees' rules. Counting in a year with
//! no decree on file is an error rather than a guess.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};

pub mod decree;

pub use decree::{Decree, DecreeRule, parse_decrees};

const BUILT_IN: &str = include_str!("../data/hu.toml");

/// Why a day could not be classified or a decree file not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The year's decree on rearranged days is not on file.
    #[error("no decree on rearranged working days is on file for {0}; add it to the calendar file (KAPU_CALENDAR_FILE)")]
    NoDecree(i32),
    /// A decree file is not valid TOML of the expected shape.
    #[error("line {line}, column {column}: {message} [malformed]")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the TOML reader found.
        message: String,
    },
    /// A year in a decree file breaks a rule of the decrees.
    #[error("line {line}, column {column}: {}{}: {} [{}]", date.map(|d| format!("{d} ")).unwrap_or_default(), what_year(*year), rule.explain(), rule.code())]
    Rule {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The rule broken.
        rule: DecreeRule,
        /// The year the problem is in.
        year: i32,
        /// The date concerned, when one is.
        date: Option<NaiveDate>,
    },
    /// Counting went past the last date the calendar can represent.
    #[error("no day follows {0}")]
    OutOfRange(NaiveDate),
}

fn what_year(year: i32) -> String {
    format!("(year {year})")
}

impl CalendarError {
    /// A stable code: `no_decree`, `malformed`, `out_of_range` or the rule's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoDecree(_) => "no_decree",
            Self::Syntax { .. } => "malformed",
            Self::Rule { rule, .. } => rule.code(),
            Self::OutOfRange(_) => "out_of_range",
        }
    }

    /// The line of a decree file the error is on.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. } | Self::Rule { line, .. } => Some(*line),
            Self::NoDecree(_) | Self::OutOfRange(_) => None,
        }
    }
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
        for d in parse_decrees(text)? {
            let r = Rearranged { decree: d.decree, working: d.working_days.into_iter().collect(), rest: d.rest_days.into_iter().collect() };
            self.years.insert(d.year, r);
        }
        Ok(())
    }

    /// The years with a decree on file and their decrees, in order.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years.iter().map(|(y, r)| (*y, r.decree.as_str()))
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
            day = day.checked_add_days(Days::new(1)).ok_or(CalendarError::OutOfRange(day))?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }
}

/// The public holidays of Mt. 102. § (1), by Hungarian name.
pub(crate) fn public_holiday(date: NaiveDate) -> Option<&'static str> {
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
mod tests;
