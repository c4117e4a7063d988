//! The working-day calendar as operator data: `kapu calendar check|years`, a broken
//! `KAPU_CALENDAR_FILE` stopping start-up, and the operators' view of the coming years.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use chrono::Datelike;
use kapu_testkit::{Kit, KitOptions, PASSWORD};

/// Runs `kapu` with no database or keys in its environment (none of these commands needs one)
/// and `KAPU_CALENDAR_FILE` set or unset; returns (exit code, stdout, stderr).
async fn kapu(calendar_file: Option<&Path>, args: &[&str]) -> Result<(Option<i32>, String, String)> {
    let mut cmd = tokio::process::Command::new(Kit::kapu_bin());
    cmd.args(args)
        .env_remove("KAPU_DATABASE_URL")
        .env_remove("KAPU_MASTER_KEY")
        .env_remove("KAPU_MASTER_KEY_FILE")
        .env_remove("KAPU_CALENDAR_FILE")
        .env("KAPU_LOG", "warn")
        .current_dir(kapu_testkit::workspace_root())
        .kill_on_drop(true);
    if let Some(f) = calendar_file {
        cmd.env("KAPU_CALENDAR_FILE", f);
    }
    let out = cmd.output().await?;
    Ok((out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

fn this_year() -> i32 {
    chrono::Utc::now().year()
}

/// A year's table with one swap: the first weekday of the second week of January off, the
/// Saturday after worked (neither is ever a public holiday).
fn decree_of(year: i32, name: &str) -> String {
    let mut rest = chrono::NaiveDate::from_ymd_opt(year, 1, 8).unwrap();
    while rest.weekday().number_from_monday() > 5 {
        rest = rest.succ_opt().unwrap();
    }
    let mut saturday = rest;
    while saturday.weekday() != chrono::Weekday::Sat {
        saturday = saturday.succ_opt().unwrap();
    }
    format!("[[year]]\nyear = {year}\ndecree = \"{name}\"\nworking_days = [{saturday}]\nrest_days = [{rest}]\n")
}

fn write(dir: &Path, name: &str, text: &str) -> Result<std::path::PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

#[tokio::test]
async fn an_operator_checks_a_decree_file_and_adds_a_year() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let later = this_year() + 2;
    let good = write(dir.path(), "naptar.toml", &decree_of(later, "99/2099. (I. 1.) NGM rendelet"))?;
    let (code, out, err) = kapu(None, &["calendar", "check", good.to_str().unwrap()]).await?;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 year(s), valid"), "{out}");
    assert!(out.contains(&format!("{later}  99/2099. (I. 1.) NGM rendelet  (1 Saturday(s) worked, 1 rest day(s))")), "{out}");

    // Without the file the year has no decree; with it, it has.
    let (code, out, _) = kapu(None, &["calendar", "years"]).await?;
    assert_eq!(code, Some(0));
    assert!(out.contains(&format!("{later}  no decree on file")), "{out}");
    assert!(out.lines().next().unwrap().starts_with(&this_year().to_string()), "{out}");
    let (code, out, err) = kapu(Some(good.as_path()), &["calendar", "years"]).await?;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("{later}  99/2099. (I. 1.) NGM rendelet")), "{out}");
    Ok(())
}

#[tokio::test]
async fn a_decree_file_that_breaks_a_rule_is_refused_with_its_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // 4 January 2027 is a Monday: a rearranged working day must be a Saturday.
    let bad = write(
        dir.path(),
        "rossz.toml",
        "# comment\n[[year]]\nyear = 2027\ndecree = \"x\"\nworking_days = [2027-01-04]\nrest_days = [2027-01-08]\n",
    )?;
    let (code, out, err) = kapu(None, &["calendar", "check", bad.to_str().unwrap()]).await?;
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains(&format!("{}: line 5, column 17: 2027-01-04", bad.display())), "{err}");
    assert!(err.contains("rearranged working days are Saturdays [working_day_not_saturday]"), "{err}");
    assert!(out.is_empty(), "nothing is reported valid: {out}");

    let malformed = write(dir.path(), "torott.toml", "[[year]]\nyear = 2027\ndecree = \"x\nworking_days = []\nrest_days = []\n")?;
    let (code, _, err) = kapu(None, &["calendar", "check", malformed.to_str().unwrap()]).await?;
    assert_eq!(code, Some(1));
    assert!(err.contains("line 3, column") && err.contains("[malformed]"), "{err}");
    let (code, _, err) = kapu(None, &["calendar", "check", dir.path().join("nincs.toml").to_str().unwrap()]).await?;
    assert_eq!(code, Some(1));
    assert!(err.contains("reading the calendar file"), "{err}");

    // Serving, the worker and the demo refuse to start with it, before touching a database.
    for cmd in [&["serve"][..], &["worker"], &["demo", "--dir", dir.path().join("demo").to_str().unwrap()], &["calendar", "years"]] {
        let (code, _, err) = kapu(Some(bad.as_path()), cmd).await?;
        assert_eq!(code, Some(1), "{cmd:?}: {err}");
        assert!(err.contains(&format!("the calendar file {}: line 5, column 17", bad.display())), "{cmd:?}: {err}");
        assert!(err.contains("[working_day_not_saturday]"), "{cmd:?}: {err}");
    }
    assert!(!dir.path().join("demo").exists(), "the demo made nothing");
    Ok(())
}

#[tokio::test]
async fn operators_see_which_coming_years_have_a_decree() -> Result<()> {
    let next = this_year() + 1;
    let calendar = kapu_calendar::Calendar::with_decrees(&decree_of(next, "teszt rendelet"))?;
    let kit = Kit::start_with(KitOptions { calendar: Some(Arc::new(calendar)), ..KitOptions::default() }).await?;
    let t = kit.tenant("egy", "Egy").await?;
    let (email, secret) = kit.operator().await?;
    let mut p = kit.platform_client();
    assert_eq!(p.get("/api/v1/platform/calendar").await?.status, 401);
    p.platform_login(&email, PASSWORD).await?;
    p.platform_totp(&secret).await?;
    let r = p.get("/api/v1/platform/calendar").await?;
    assert_eq!(r.status, 200);
    let years = r.json()["years"].clone();
    let years = years.as_array().unwrap();
    assert_eq!(years.iter().map(|y| y["year"].as_i64().unwrap()).collect::<Vec<_>>(), [next - 1, next, next + 1].map(i64::from));
    assert_eq!(years[1]["decree"], "teszt rendelet");
    assert!(years[2]["decree"].is_null(), "{years:?}");
    // A tenant admin's session means nothing on the platform.
    let admin = kit.admin(&t).await?;
    let mut as_platform = kit.platform_client();
    as_platform.cookie = admin.cookie.clone();
    assert_eq!(as_platform.get("/api/v1/platform/calendar").await?.status, 401);
    kit.stop().await;
    Ok(())
}
