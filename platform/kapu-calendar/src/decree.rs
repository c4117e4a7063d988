//! Decree files: reading them and checking each year against the rules a decree on
//! rearranged working days follows (Mt. 102. § (5) and the yearly NGM decrees).
//!
//! A file holds one `[[year]]` table per year:
//!
//! ```toml
//! [[year]]
//! year = 2026
//! decree = "10/2025. (IV. 30.) NGM rendelet"
//! working_days = [2026-01-10, 2026-08-08, 2026-12-12]   # Saturdays worked
//! rest_days = [2026-01-02, 2026-08-21, 2026-12-24]      # weekdays off in exchange
//! ```
//!
//! Every problem is reported with the line and column it is on and a [`DecreeRule`] with a
//! stable code, so an operator can find and fix it.

use std::collections::BTreeSet;
use std::ops::Range;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use crate::{CalendarError, public_holiday};

/// A rule of the decrees that a year in a file broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecreeRule {
    /// The decree has no name: operators and logs name a year's decree by it.
    DecreeNameMissing,
    /// A value in a list is not a plain date such as `2027-01-02`.
    NotADate,
    /// A date is listed under another year than its own.
    DateOutsideYear,
    /// A rearranged working day is not a Saturday.
    WorkingDayNotSaturday,
    /// A rest day is not a weekday (Monday to Friday).
    RestDayNotWeekday,
    /// A rearranged day falls on a public holiday, which is a rest day by law already.
    OnPublicHoliday,
    /// A date is listed twice in a year (in one list or in both).
    DuplicateDate,
    /// The year has a different number of rest days and worked Saturdays: each rest day is
    /// worked off on a Saturday of the same year.
    UnpairedSwap,
    /// The file lists a year twice.
    DuplicateYear,
}

impl DecreeRule {
    /// The stable code of the rule, for logs, scripts and translations.
    pub fn code(self) -> &'static str {
        match self {
            Self::DecreeNameMissing => "decree_name_missing",
            Self::NotADate => "not_a_date",
            Self::DateOutsideYear => "date_outside_year",
            Self::WorkingDayNotSaturday => "working_day_not_saturday",
            Self::RestDayNotWeekday => "rest_day_not_weekday",
            Self::OnPublicHoliday => "on_public_holiday",
            Self::DuplicateDate => "duplicate_date",
            Self::UnpairedSwap => "unpaired_swap",
            Self::DuplicateYear => "duplicate_year",
        }
    }

    /// What the rule asks for, in a sentence.
    pub fn explain(self) -> &'static str {
        match self {
            Self::DecreeNameMissing => "each year names its decree, e.g. decree = \"10/2025. (IV. 30.) NGM rendelet\"",
            Self::NotADate => "the lists hold plain dates such as 2027-01-02",
            Self::DateOutsideYear => "each date is listed under its own year",
            Self::WorkingDayNotSaturday => "rearranged working days are Saturdays",
            Self::RestDayNotWeekday => "rest days are weekdays (Monday to Friday)",
            Self::OnPublicHoliday => "a public holiday is a rest day already and cannot be rearranged",
            Self::DuplicateDate => "each date is listed once",
            Self::UnpairedSwap => "each rest day is worked off on a Saturday of the same year: as many rest days as working days",
            Self::DuplicateYear => "each year is listed once in a file",
        }
    }
}

/// One year's decree, as checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decree {
    /// The year.
    pub year: i32,
    /// The decree's citation, e.g. `10/2025. (IV. 30.) NGM rendelet`.
    pub decree: String,
    /// Saturdays made working days, in order.
    pub working_days: Vec<NaiveDate>,
    /// Weekdays made rest days, in order.
    pub rest_days: Vec<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    year: Vec<RawDecree>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecree {
    year: Spanned<i32>,
    decree: Spanned<String>,
    working_days: Spanned<Vec<Spanned<Datetime>>>,
    rest_days: Spanned<Vec<Spanned<Datetime>>>,
}

/// Reads a decree file and checks every year in it; the first problem found is the error.
pub fn parse_decrees(text: &str) -> Result<Vec<Decree>, CalendarError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_column(text, s.start)).unwrap_or((1, 1));
        CalendarError::Syntax { line, column, message: e.message().trim().to_owned() }
    })?;
    let mut years = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.year.len());
    for d in raw.year {
        let year = *d.year.get_ref();
        let at = |span: Range<usize>, rule: DecreeRule, date: Option<NaiveDate>| {
            let (line, column) = line_column(text, span.start);
            CalendarError::Rule { line, column, rule, year, date }
        };
        if !years.insert(year) {
            return Err(at(d.year.span(), DecreeRule::DuplicateYear, None));
        }
        if d.decree.get_ref().trim().is_empty() {
            return Err(at(d.decree.span(), DecreeRule::DecreeNameMissing, None));
        }
        let mut seen = BTreeSet::new();
        let mut lists = [Vec::new(), Vec::new()];
        for (i, list) in [&d.working_days, &d.rest_days].into_iter().enumerate() {
            let working = i == 0;
            for v in list.get_ref() {
                let fail = |rule, date| Err(at(v.span(), rule, date));
                let Some(date) = plain_date(v.get_ref()) else { return fail(DecreeRule::NotADate, None) };
                if date.year() != year {
                    return fail(DecreeRule::DateOutsideYear, Some(date));
                }
                let weekday = date.weekday();
                if working && weekday != Weekday::Sat {
                    return fail(DecreeRule::WorkingDayNotSaturday, Some(date));
                }
                if !working && matches!(weekday, Weekday::Sat | Weekday::Sun) {
                    return fail(DecreeRule::RestDayNotWeekday, Some(date));
                }
                if public_holiday(date).is_some() {
                    return fail(DecreeRule::OnPublicHoliday, Some(date));
                }
                if !seen.insert(date) {
                    return fail(DecreeRule::DuplicateDate, Some(date));
                }
                lists[i].push(date);
            }
        }
        let [working_days, rest_days] = lists;
        if working_days.len() != rest_days.len() {
            // Pointed at the list that is short of a partner.
            let short = if working_days.len() < rest_days.len() { &d.working_days } else { &d.rest_days };
            return Err(at(short.span(), DecreeRule::UnpairedSwap, None));
        }
        out.push(Decree { year, decree: d.decree.into_inner().trim().to_owned(), working_days, rest_days });
    }
    Ok(out)
}

/// A TOML date without a time or an offset.
fn plain_date(v: &Datetime) -> Option<NaiveDate> {
    match (v.date, v.time, v.offset) {
        (Some(d), None, None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)),
        _ => None,
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
