//! A schema-driven API fuzzer we did not write, schemathesis (pinned in
//! `tests/fuzz/requirements.txt`, installed by `deploy/deps.sh`), against a municipality's
//! API as its document describes it, signed in as the tenant's admin (with TOTP): every
//! operation, with generated valid and invalid input, must answer without a server error
//! and as the document says (status, media type, headers, body schema, and 401 without the
//! session).

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use kapu_testkit::{Kit, workspace_root};
use sha2::Digest;

/// The `st` command: `KAPU_SCHEMATHESIS`, or where `deploy/deps.sh` installs the pinned
/// version (`schemathesis_bin` there: the tools folder, named after the pins' hash).
fn schemathesis() -> Result<PathBuf> {
    if let Some(st) = std::env::var_os("KAPU_SCHEMATHESIS") {
        return Ok(PathBuf::from(st));
    }
    let pins = std::fs::read(workspace_root().join("tests/fuzz/requirements.txt"))?;
    let hash: String = sha2::Sha256::digest(&pins).iter().map(|b| format!("{b:02x}")).collect();
    let tools = std::env::var_os("KAPU_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/kapu-tools"));
    let st = tools.join(format!("schemathesis-{}", &hash[..16])).join("bin/st");
    if !st.exists() {
        bail!(
            "{} is missing: install the fuzzer with `bash -c '. deploy/deps.sh && need_schemathesis'` (deploy/test.sh does)",
            st.display()
        );
    }
    Ok(st)
}

/// Test cases per operation and phase (`KAPU_FUZZ_EXAMPLES` for a longer run).
fn examples() -> String {
    std::env::var("KAPU_FUZZ_EXAMPLES").unwrap_or_else(|_| "12".into())
}

#[tokio::test]
async fn the_tenant_api_answers_a_fuzzer_as_its_document_says() -> Result<()> {
    let st = schemathesis()?;
    let kit = Kit::start().await?;
    let t = kit.tenant("fuzz", "Fuzz Község").await?;
    let admin = kit.admin(&t).await?;
    let token = admin.cookie.as_deref().and_then(|c| c.strip_prefix("kapu_staff=")).context("the admin's session cookie")?;
    let csrf = admin.csrf.clone().context("the admin's CSRF token")?;
    let dir = tempfile::tempdir()?;
    // The fuzzer authenticates through the document's security schemes, so it can also
    // check that each operation refuses a request without them.
    let config = dir.path().join("schemathesis.toml");
    // Schema-valid input may still break a domain rule the schema does not spell out (a
    // name's length, a tax number's check digit, a case type's definition): the documented
    // 422 `validation` then answers it, which is no contradiction of the document.
    let accepted = r#"["2xx", "401", "403", "404", "409", "422", "429"]"#;
    std::fs::write(
        &config,
        format!(
            "[auth.openapi.staff_session]\napi_key = \"{token}\"\n\n[auth.openapi.csrf]\napi_key = \"{csrf}\"\n\n\
             [checks.positive_data_acceptance]\nexpected-statuses = {accepted}\n"
        ),
    )?;
    // The document as the tenant serves it names the tenant's base URL as its server.
    let document = format!("{}/api/v1/openapi.json", admin.base);
    let out = tokio::process::Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .args(["run", &document])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples()])
        .args(["--seed", "15"])
        .args(["--generation-database", "none"])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        // Signing out would end the session the rest of the run uses.
        .args(["--exclude-operation-id", "logout"])
        .args(["--report", "junit", "--report-dir"])
        .arg(dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    kit.stop().await;
    if !out.status.success() {
        bail!("the fuzzer found answers the document does not describe (see its report above)");
    }
    Ok(())
}
