//! The log scan: run after the end-to-end suite (`deploy/test.sh` does), it reads every log
//! the suite wrote (the server's log lines of each test process and the PostgreSQL server
//! log, in `KAPU_TEST_LOG_DIR`, see `kapu_testkit::log_dir`) and fails on any line that
//! holds one of the suite's secrets or personal data: the passwords, tokens, session
//! cookies, TOTP secrets, e-mail addresses and names the tests sent or received (noted by
//! the test kit), the registry simulator's test persons (names, mothers' names, ID document
//! numbers, addresses), and anything that looks like an e-mail address or a token in a URL.
//!
//! It is not part of `cargo test`'s default run (`test = false`): it must run after the
//! suite, as `cargo test -p kapu-tests --test logscan`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// One finding: where, and which kind of secret (never the whole secret).
#[derive(Debug)]
struct Finding {
    file: String,
    line: usize,
    what: String,
}

fn known_secrets(dir: &std::path::Path) -> Vec<String> {
    let mut known: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the log folder") {
        let path = entry.expect("a log folder entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("secrets-") {
            known.extend(std::fs::read_to_string(&path).expect("a secrets file").lines().map(str::to_owned));
        }
    }
    for p in kapu_sim::registry::test_persons() {
        known.push(format!("{} {}", p.family_name, p.given_name));
        known.push(p.birth_name.clone());
        known.push(p.mother_name.clone());
        known.extend(p.documents.iter().map(|d| d.number.clone()));
        for a in p.permanent_address.iter().chain(&p.temporary_address) {
            known.push(a.street.clone());
        }
    }
    known.sort();
    known.dedup();
    known.retain(|s| s.chars().count() >= 6);
    known
}

/// What a secret looks like in a finding: its first characters and its length.
fn masked(s: &str) -> String {
    format!("{}… ({} characters)", s.chars().take(3).collect::<String>(), s.chars().count())
}

fn scan_line(line: &str, known: &[String], email: &regex::Regex, token: &regex::Regex) -> Option<String> {
    if let Some(s) = known.iter().find(|s| line.contains(s.as_str())) {
        return Some(format!("a secret the suite used: {}", masked(s)));
    }
    if let Some(m) = email.find(line) {
        return Some(format!("an e-mail address: {}", masked(m.as_str())));
    }
    if let Some(m) = token.find(line) {
        return Some(format!("a token in a URL: {}", masked(m.as_str())));
    }
    None
}

#[test]
fn the_suites_logs_hold_no_secret_or_personal_datum() {
    let dir: PathBuf = kapu_testkit::log_dir();
    assert!(dir.is_dir(), "no log folder at {}: run the end-to-end suite first (deploy/test.sh does)", dir.display());
    let known = known_secrets(&dir);
    assert!(known.iter().any(|s| s == kapu_testkit::PASSWORD), "the suite noted no secrets: did it run with this log folder?");
    let email = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").unwrap();
    let token = regex::Regex::new(r"[?&](token|code|access_token|refresh_token|id_token)=[A-Za-z0-9_\-.%]{8,}").unwrap();
    let (mut files, mut lines, mut findings) = (0, 0, Vec::new());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".log") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        files += 1;
        for (i, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            lines += 1;
            if let Some(what) = scan_line(line, &known, &email, &token) {
                findings.push(Finding { file: name.clone(), line: i + 1, what });
            }
        }
    }
    assert!(files >= 2 && lines > 100, "only {files} log files with {lines} lines in {}: the suite's logs are missing", dir.display());
    println!("scanned {lines} lines in {files} log files for {} known secrets", known.len());
    let shown: Vec<String> = findings.iter().take(40).map(|f| format!("{}:{}: {}", f.file, f.line, f.what)).collect();
    assert!(findings.is_empty(), "{} log lines hold secrets or personal data:\n{}", findings.len(), shown.join("\n"));
}

#[test]
fn the_scan_finds_planted_secrets_and_passes_clean_lines() {
    let email = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").unwrap();
    let token = regex::Regex::new(r"[?&](token|code|access_token|refresh_token|id_token)=[A-Za-z0-9_\-.%]{8,}").unwrap();
    let known = vec!["Tesztelo-Jelszo-2026".to_owned(), "Minta Márta".to_owned()];
    let clean = r#"2026-12-07T16:00:00Z  INFO request{method=POST path=/api/v1/auth/login request_id=0193 tenant=a}: kapu_http::observe: response status=200"#;
    assert_eq!(scan_line(clean, &known, &email, &token), None);
    for dirty in [
        "sign-in failed password=Tesztelo-Jelszo-2026",
        "client Minta Márta identified",
        "mail to kovacs.anna@example.hu queued",
        "GET /t/a/jelszo-visszaallitas?token=AbCdEf0123456789",
    ] {
        assert!(scan_line(dirty, &known, &email, &token).is_some(), "missed: {dirty}");
    }
}
