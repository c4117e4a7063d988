#![allow(clippy::unwrap_used)]

use super::*;
use crate::decree::parse_decrees;

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

/// A file with one 2027 table (the lists on lines 4 and 5) with these lists.
fn year_2027(working: &str, rest: &str) -> String {
    format!("[[year]]\nyear = 2027\ndecree = \"1/2026. (IV. 1.) NGM rendelet\"\nworking_days = [{working}]\nrest_days = [{rest}]\n")
}

/// The file is refused for `rule`, at `line` and `column`, about `date`.
#[track_caller]
fn refused(text: &str, line: usize, column: usize, rule: DecreeRule, date: Option<NaiveDate>) {
    let e = parse_decrees(text).unwrap_err();
    assert_eq!(e, CalendarError::Rule { line, column, rule, year: 2027, date }, "{e}");
    // The same file given to the calendar is refused the same way.
    assert_eq!(Calendar::with_decrees(text).unwrap_err(), e);
}

#[test]
fn a_valid_year_is_read_in_order() {
    let decrees = parse_decrees(&year_2027("2027-01-09, 2027-12-11", "2027-12-24, 2027-01-08")).unwrap();
    assert_eq!(
        decrees,
        [Decree {
            year: 2027,
            decree: "1/2026. (IV. 1.) NGM rendelet".into(),
            working_days: vec![d(2027, 1, 9), d(2027, 12, 11)],
            rest_days: vec![d(2027, 12, 24), d(2027, 1, 8)],
        }]
    );
}

#[test]
fn a_year_with_nothing_rearranged_is_valid() {
    assert_eq!(parse_decrees(&year_2027("", "")).unwrap()[0].working_days, []);
    assert_eq!(parse_decrees("# no years yet\n").unwrap(), []);
}

#[test]
fn an_operator_adds_a_year() {
    let c = Calendar::with_decrees(&year_2027("", "")).unwrap();
    // Fri 1 Jan 2027 is New Year's Day: Tue 29, Wed 30, Thu 31 Dec, then Mon 4, Tue 5 Jan.
    assert_eq!(c.add_working_days(d(2026, 12, 28), 5).unwrap(), d(2027, 1, 5));
    assert_eq!(c.years().map(|(y, _)| y).collect::<Vec<_>>(), [2025, 2026, 2027]);
}

#[test]
fn the_added_year_s_rearranged_days_count() {
    let c = Calendar::with_decrees(&year_2027("2027-01-09", "2027-01-08")).unwrap();
    assert_eq!(c.day_kind(d(2027, 1, 8)).unwrap(), DayKind::RestDay);
    assert_eq!(c.day_kind(d(2027, 1, 9)).unwrap(), DayKind::Working);
    // From Thu 7 Jan: Fri 8 is off, Sat 9 is worked.
    assert_eq!(c.add_working_days(d(2027, 1, 7), 1).unwrap(), d(2027, 1, 9));
}

#[test]
fn an_operator_file_overrides_a_shipped_year() {
    let text = "[[year]]\nyear = 2026\ndecree = \"javított\"\nworking_days = []\nrest_days = []\n";
    let c = Calendar::with_decrees(text).unwrap();
    assert_eq!(c.decree(2026), Some("javított"));
    assert_eq!(c.day_kind(d(2026, 1, 2)).unwrap(), DayKind::Working);
    assert_eq!(c.decree(2025), Some("11/2024. (IV. 8.) NGM rendelet"));
}

#[test]
fn a_working_day_must_be_a_saturday() {
    refused(&year_2027("2027-01-04", "2027-01-08"), 4, 17, DecreeRule::WorkingDayNotSaturday, Some(d(2027, 1, 4)));
    // A Sunday is not a Saturday either.
    refused(&year_2027("2027-01-10", "2027-01-08"), 4, 17, DecreeRule::WorkingDayNotSaturday, Some(d(2027, 1, 10)));
}

#[test]
fn a_rest_day_must_be_a_weekday() {
    refused(&year_2027("2027-01-09", "2027-01-16"), 5, 14, DecreeRule::RestDayNotWeekday, Some(d(2027, 1, 16)));
    refused(&year_2027("2027-01-09", "2027-01-17"), 5, 14, DecreeRule::RestDayNotWeekday, Some(d(2027, 1, 17)));
}

#[test]
fn a_public_holiday_cannot_be_rearranged() {
    // Sat 1 May 2027 is Labour Day; Mon 15 March and Good Friday (26 March) are holidays.
    refused(&year_2027("2027-05-01", "2027-01-08"), 4, 17, DecreeRule::OnPublicHoliday, Some(d(2027, 5, 1)));
    refused(&year_2027("2027-01-09", "2027-03-15"), 5, 14, DecreeRule::OnPublicHoliday, Some(d(2027, 3, 15)));
    refused(&year_2027("2027-01-09", "2027-03-26"), 5, 14, DecreeRule::OnPublicHoliday, Some(d(2027, 3, 26)));
}

#[test]
fn every_date_belongs_to_its_year() {
    refused(&year_2027("2026-12-12", "2027-01-08"), 4, 17, DecreeRule::DateOutsideYear, Some(d(2026, 12, 12)));
    // The second entry of a list is found by its own column.
    refused(&year_2027("2027-01-09, 2028-01-08", "2027-01-08, 2027-12-24"), 4, 29, DecreeRule::DateOutsideYear, Some(d(2028, 1, 8)));
}

#[test]
fn a_date_is_listed_once() {
    refused(&year_2027("2027-01-09, 2027-01-09", "2027-01-08, 2027-12-24"), 4, 29, DecreeRule::DuplicateDate, Some(d(2027, 1, 9)));
    refused(&year_2027("2027-01-09", "2027-01-08, 2027-01-08"), 5, 26, DecreeRule::DuplicateDate, Some(d(2027, 1, 8)));
}

#[test]
fn each_rest_day_is_paired_with_a_working_saturday() {
    // Two rest days, one Saturday: the working days' list is short.
    refused(&year_2027("2027-01-09", "2027-01-08, 2027-12-24"), 4, 16, DecreeRule::UnpairedSwap, None);
    refused(&year_2027("2027-01-09, 2027-12-11", ""), 5, 13, DecreeRule::UnpairedSwap, None);
}

#[test]
fn only_plain_dates_are_accepted() {
    refused(&year_2027("2027-01-09T08:00:00", "2027-01-08"), 4, 17, DecreeRule::NotADate, None);
    refused(&year_2027("2027-01-09", "08:00:00"), 5, 14, DecreeRule::NotADate, None);
}

#[test]
fn the_decree_is_named() {
    let text = "[[year]]\nyear = 2027\ndecree = \"  \"\nworking_days = []\nrest_days = []\n";
    refused(text, 3, 10, DecreeRule::DecreeNameMissing, None);
}

#[test]
fn a_year_listed_twice_is_refused_at_its_second_entry() {
    let text = format!("{}\n{}", year_2027("", ""), year_2027("", ""));
    refused(&text, 8, 8, DecreeRule::DuplicateYear, None);
}

#[test]
fn the_second_year_s_problems_name_their_own_line() {
    let text = format!(
        "{}\n{}",
        "[[year]]\nyear = 2028\ndecree = \"x\"\nworking_days = []\nrest_days = []\n",
        year_2027("2027-01-04", "2027-01-08")
    );
    refused(&text, 10, 17, DecreeRule::WorkingDayNotSaturday, Some(d(2027, 1, 4)));
}

/// The file is refused as malformed at `line`, with a message containing `says`.
#[track_caller]
fn malformed(text: &str, line: usize, says: &str) {
    let e = parse_decrees(text).unwrap_err();
    let CalendarError::Syntax { line: l, message, .. } = &e else { panic!("not a syntax error: {e}") };
    assert_eq!((*l, message.contains(says)), (line, true), "{e}");
    assert_eq!(e.code(), "malformed");
    assert!(e.to_string().starts_with(&format!("line {line}, column ")), "{e}");
}

#[test]
fn malformed_toml_names_its_line() {
    malformed("[[year]]\nyear = 2027\ndecree = \"x\nworking_days = []\nrest_days = []\n", 3, "");
    malformed(&year_2027("2027-01-09,", "2027-13-01"), 5, "");
    malformed("[[year]]\nyear = \"2027\"\ndecree = \"x\"\nworking_days = []\nrest_days = []\n", 2, "invalid type");
    malformed("[[year]]\nyear = 2027\ndecree = \"x\"\nworking_day = []\nrest_days = []\n", 4, "unknown field");
    malformed("[[year]]\nyear = 2027\ndecree = \"x\"\nworking_days = []\n", 1, "rest_days");
    malformed("[[year]]\nyear = 2027\ndecree = \"x\"\nworking_days = [\"2027-01-09\"]\nrest_days = []\n", 4, "");
}

#[test]
fn errors_carry_stable_codes_and_say_where_and_why() {
    let e = parse_decrees(&year_2027("2027-01-04", "2027-01-08")).unwrap_err();
    assert_eq!(e.code(), "working_day_not_saturday");
    assert_eq!(e.line(), Some(4));
    assert_eq!(
        e.to_string(),
        "line 4, column 17: 2027-01-04 (year 2027): rearranged working days are Saturdays [working_day_not_saturday]"
    );
    assert_eq!(CalendarError::NoDecree(2030).code(), "no_decree");
    let codes: std::collections::BTreeSet<_> = [
        DecreeRule::DecreeNameMissing,
        DecreeRule::NotADate,
        DecreeRule::DateOutsideYear,
        DecreeRule::WorkingDayNotSaturday,
        DecreeRule::RestDayNotWeekday,
        DecreeRule::OnPublicHoliday,
        DecreeRule::DuplicateDate,
        DecreeRule::UnpairedSwap,
        DecreeRule::DuplicateYear,
    ]
    .into_iter()
    .map(DecreeRule::code)
    .collect();
    assert_eq!(codes.len(), 9, "every rule has its own code");
}

#[test]
fn the_shipped_file_follows_the_rules() {
    let decrees = parse_decrees(include_str!("../data/hu.toml")).unwrap();
    assert_eq!(decrees.iter().map(|d| d.year).collect::<Vec<_>>(), [2025, 2026]);
}
