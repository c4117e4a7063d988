//! The suite's logs and the secrets it uses, for the log scan.
//!
//! Every test process that boots a kit writes the server's log lines (at debug level for
//! Kapu's own crates and sqlx, which is more than production writes) to one file in
//! [`log_dir`], links the private PostgreSQL cluster's server log beside it, and notes there
//! the passwords, tokens, e-mail addresses and names the tests send or receive. After the
//! suite, `tests/kapu-tests/tests/logscan.rs` reads them all and fails on any log line that
//! holds one of those secrets.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Where the suite's logs go: `KAPU_TEST_LOG_DIR`, or `kapu-test-logs` in the temp folder.
pub fn log_dir() -> PathBuf {
    std::env::var_os("KAPU_TEST_LOG_DIR").map_or_else(|| std::env::temp_dir().join("kapu-test-logs"), PathBuf::from)
}

/// The filter the suite logs with: debug for Kapu's crates and sqlx (whose statement logging
/// must stay off), info for the rest.
const FILTER: &str = "info,sqlx=debug,kapu=debug,kapu_http=debug,kapu_core=debug,kapu_clients=debug,kapu_staff=debug,kapu_cases=debug,\
kapu_jobs=debug,kapu_mail=debug,kapu_oidc=debug,kapu_kau=debug,kapu_saml=debug,kapu_delivery=debug,kapu_documents=debug,kapu_plugins=debug,\
kapu_local_systems=debug,kapu_queue=debug,kapu_crypto=debug,kapu_audit=debug";

/// Installs the process's log subscriber once: the test writer with `KAPU_TEST_LOG`'s filter
/// when that is set (for debugging a failing test), else the suite's log file.
pub(crate) fn init() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if let Ok(filter) = std::env::var("KAPU_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_test_writer().try_init();
            return;
        }
        let dir = log_dir();
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let Ok(file) = std::fs::File::create(dir.join(format!("{}-{}.log", process_name(), std::process::id()))) else { return };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(FILTER))
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}

/// Links the private cluster's server log into the log folder.
pub(crate) fn link_server_log(path: &std::path::Path) {
    let link = log_dir().join(format!("postgres-{}.log", std::process::id()));
    let _ = std::fs::create_dir_all(log_dir());
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(path, link);
}

fn process_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map_or_else(|| "test".to_owned(), |s| s.split('-').next().unwrap_or("test").to_owned())
}

/// Notes a secret or personal datum the suite uses, so that the log scan looks for it.
/// Values shorter than six characters are not noted: they would match ordinary words.
pub fn note_secret(value: &str) {
    static SEEN: OnceLock<Mutex<(HashSet<String>, Option<std::fs::File>)>> = OnceLock::new();
    let value = value.trim();
    if value.chars().count() < 6 || value.contains('\n') {
        return;
    }
    let seen = SEEN.get_or_init(|| {
        let _ = std::fs::create_dir_all(log_dir());
        let file =
            std::fs::OpenOptions::new().create(true).append(true).open(log_dir().join(format!("secrets-{}.txt", std::process::id()))).ok();
        Mutex::new((HashSet::new(), file))
    });
    let mut guard = seen.lock().unwrap_or_else(|e| e.into_inner());
    let (set, file) = &mut *guard;
    if set.insert(value.to_owned())
        && let Some(f) = file
    {
        let _ = writeln!(f, "{value}");
    }
}

/// JSON keys whose string values are secrets or personal data.
const SECRET_KEYS: &[&str] = &[
    "password",
    "new_password",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "csrf_token",
    "email",
    "family_name",
    "given_name",
    "birth_name",
    "mother_name",
    "id_document",
    "phone",
    "secret",
    "totp_secret",
];

/// Notes the secret fields of a JSON document sent or received, at any depth.
pub fn note_json(value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if SECRET_KEYS.contains(&k.as_str()) => note_secret(s),
                    other => note_json(other),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(note_json),
        _ => {}
    }
}
