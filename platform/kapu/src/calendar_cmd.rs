//! The deployment's working-day calendar: the decrees Kapu ships plus the operator's file
//! (`KAPU_CALENDAR_FILE`), loaded once at start and shared by the server and the worker; and
//! `kapu calendar check|years`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::Datelike;
use kapu_calendar::{Calendar, parse_decrees};

/// The subcommands of `kapu calendar`.
#[derive(Debug, clap::Subcommand)]
pub enum CalendarCmd {
    /// Check a decree file against the decrees' rules and print its years.
    Check {
        /// The file, in the format of platform/kapu-calendar/data/hu.toml.
        file: PathBuf,
    },
    /// The years from this one on with a decree on file (the shipped ones and
    /// KAPU_CALENDAR_FILE's), and the next ones without.
    Years,
}

/// Years from this one that `kapu calendar years` always shows, decreed or not.
const AHEAD: i32 = 2;

/// The calendar of this deployment: the shipped decrees and, when `file` is given, its years
/// added (or replacing shipped ones). A file that cannot be read or breaks a rule is an error
/// naming the file, the line and the rule.
pub fn load(file: Option<&Path>) -> Result<Arc<Calendar>> {
    let Some(path) = file else { return Ok(Arc::new(Calendar::hungary())) };
    let text = read(path)?;
    let calendar = Calendar::with_decrees(&text).map_err(|e| anyhow::anyhow!("the calendar file {}: {e}", path.display()))?;
    Ok(Arc::new(calendar))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the calendar file {}", path.display()))
}

/// Runs `kapu calendar …` with the configured file (`KAPU_CALENDAR_FILE`), printing to stdout.
pub fn run(configured: Option<&Path>, cmd: CalendarCmd) -> Result<()> {
    match cmd {
        CalendarCmd::Check { file } => {
            let text = read(&file)?;
            let decrees = parse_decrees(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if decrees.is_empty() {
                bail!("{}: the file lists no years (add a [[year]] table per year)", file.display());
            }
            println!("{}: {} year(s), valid.", file.display(), decrees.len());
            for d in decrees {
                println!("{}  {}  ({} Saturday(s) worked, {} rest day(s))", d.year, d.decree, d.working_days.len(), d.rest_days.len());
            }
            Ok(())
        }
        CalendarCmd::Years => {
            let calendar = load(configured)?;
            for line in years_report(&calendar, chrono::Utc::now().year()) {
                println!("{line}");
            }
            Ok(())
        }
    }
}

/// One line per year from `this_year` on: the decreed ones, and at least the next
/// [`AHEAD`] years whether decreed or not.
pub fn years_report(calendar: &Calendar, this_year: i32) -> Vec<String> {
    let last = calendar.years().map(|(y, _)| y).max().unwrap_or(this_year).max(this_year + AHEAD);
    (this_year..=last)
        .map(|y| match calendar.decree(y) {
            Some(d) => format!("{y}  {d}"),
            None => format!("{y}  no decree on file: deadlines reaching {y} wait until it is added"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_shows_the_coming_years_with_or_without_a_decree() {
        let c = Calendar::hungary();
        let r = years_report(&c, 2026);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], "2026  10/2025. (IV. 30.) NGM rendelet");
        assert!(r[1].starts_with("2027  no decree on file"), "{r:?}");
        let c = Calendar::with_decrees("[[year]]\nyear = 2030\ndecree = \"x\"\nworking_days = []\nrest_days = []\n").unwrap();
        assert_eq!(years_report(&c, 2026).len(), 5);
        assert_eq!(years_report(&c, 2026)[4], "2030  x");
    }
}
