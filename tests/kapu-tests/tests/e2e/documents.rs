//! Decisions rendered to PDF, sealed as PAdES B-T and time-stamped by the RFC 3161 simulator,
//! checked with tools Kapu did not write: poppler's `pdfsig`, NSS's `certutil` and OpenSSL.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use cms::content_info::ContentInfo;
use der::{Encode, Reader, SliceReader};
use kapu_documents::pki::TestPki;
use kapu_documents::{DEFAULT_DECISION_TEMPLATE, Decision, IssueError, SealError, TsaClient, TsaConfig, TsaError};
use kapu_sim::tsa;

pub(crate) fn tool(program: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new(program).args(args).output().with_context(|| format!("running {program} (see deploy/deps.sh)"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The `/ByteRange` of the (only) signature, read from the file's text.
fn byte_range(pdf: &[u8]) -> Result<[usize; 4]> {
    let text = String::from_utf8_lossy(pdf);
    let start = text.find("/ByteRange").context("no /ByteRange")? + "/ByteRange".len();
    let inner = text[start..].trim_start().strip_prefix('[').context("no [")?;
    let inner = &inner[..inner.find(']').context("no ]")?];
    let numbers: Vec<usize> = inner.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    numbers.try_into().map_err(|_| anyhow::anyhow!("not four numbers"))
}

/// The CMS signature in `/Contents` (the hex string between the two byte ranges).
pub(crate) fn embedded_cms(pdf: &[u8]) -> Result<ContentInfo> {
    let [_, a, b, _] = byte_range(pdf)?;
    let hex = std::str::from_utf8(&pdf[a + 1..b - 1])?;
    let bytes = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16)).collect::<Result<Vec<u8>, _>>()?;
    let mut reader = SliceReader::new(&bytes)?;
    Ok(reader.decode()?)
}

struct Setup {
    dir: tempfile::TempDir,
    pki: TestPki,
    sim: tsa::TsaSim,
}

async fn setup() -> Result<Setup> {
    let dir = tempfile::tempdir()?;
    let pki = TestPki::generate("Hegyvidéki Önkormányzat", Utc::now())?;
    pki.write_to(dir.path())?;
    let sim = tsa::start(0, Arc::new(pki.tsa_signer()?)).await?;
    Ok(Setup { dir, pki, sim })
}

fn quick_tsa(url: String, pki: &TestPki) -> Result<TsaClient> {
    let config = TsaConfig { attempts: 3, backoff: std::time::Duration::from_millis(20), ..TsaConfig::new(url) };
    Ok(TsaClient::new(config.trusting_pem(&pki.ca_cert)?)?)
}

#[tokio::test]
async fn a_sealed_decision_is_valid_for_pdfsig_and_its_time_stamp_for_openssl() -> Result<()> {
    let s = setup().await?;
    let signer = s.pki.seal_signer()?;
    let pdf = kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(1), &signer, &quick_tsa(s.sim.url(), &s.pki)?, Utc::now())
        .await?;
    let file = s.dir.path().join("decision.pdf");
    std::fs::write(&file, &pdf)?;

    // The signature covers the whole file but its own /Contents.
    let [a, b, c, d] = byte_range(&pdf)?;
    assert_eq!((a, c + d), (0, pdf.len()), "the byte range runs to the end of the file");
    assert!(b < c);

    // poppler, trusting the test CA through an NSS database of its own.
    let nss = s.dir.path().join("nss");
    std::fs::create_dir(&nss)?;
    let db = format!("sql:{}", path(&nss));
    let (ok, out) = tool("certutil", &["-N", "-d", &db, "--empty-password"])?;
    assert!(ok, "{out}");
    let (ok, out) = tool("certutil", &["-A", "-d", &db, "-n", "Kapu Test CA", "-t", "CT,C,C", "-i", path(&s.dir.path().join("ca.pem"))])?;
    assert!(ok, "{out}");
    let (ok, out) = tool("pdfsig", &["-nssdir", &db, path(&file)])?;
    assert!(ok, "{out}");
    assert!(out.contains("Signature #1"), "{out}");
    assert!(!out.contains("Signature #2"), "one signature: {out}");
    assert!(out.contains("Signature Validation: Signature is Valid."), "{out}");
    assert!(out.contains("Certificate Validation: Certificate is Trusted."), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
    assert!(out.contains("ETSI.CAdES.detached"), "{out}");
    assert!(out.contains("Hegyvidéki Önkormányzat (test seal)"), "{out}");

    // The time-stamp token: OpenSSL checks its signature chain to the test CA and that it
    // stamps the signature value (RFC 3161, appendix A).
    let signed = kapu_documents::cms::signed_data(&embedded_cms(&pdf)?)?;
    let info = signed.signer_infos.0.iter().next().context("a signer")?;
    let attrs = info.unsigned_attrs.as_ref().context("unsigned attributes")?;
    let stamp = attrs.iter().find(|a| a.oid == kapu_documents::oid::SIGNATURE_TIME_STAMP_TOKEN).context("a signature time-stamp")?;
    let token = stamp.values.iter().next().context("a token")?.to_der()?;
    std::fs::write(s.dir.path().join("token.der"), &token)?;
    std::fs::write(s.dir.path().join("signature.bin"), info.signature.as_bytes())?;
    let in_dir = |f: &str| s.dir.path().join(f).to_str().expect("utf-8").to_owned();
    let (ok, out) = tool(
        "openssl",
        &["ts", "-verify", "-token_in", "-in", &in_dir("token.der"), "-data", &in_dir("signature.bin"), "-CAfile", &in_dir("ca.pem")],
    )?;
    assert!(ok && out.contains("Verification: OK"), "{out}");
    // …and refuses it for other data.
    std::fs::write(s.dir.path().join("other.bin"), b"another signature")?;
    let (ok, out) = tool(
        "openssl",
        &["ts", "-verify", "-token_in", "-in", &in_dir("token.der"), "-data", &in_dir("other.bin"), "-CAfile", &in_dir("ca.pem")],
    )?;
    assert!(!ok && !out.contains("Verification: OK"), "{out}");
    assert_eq!(s.sim.granted(), 1);

    // Changing one byte of the signed content breaks the signature.
    let mut tampered = pdf.clone();
    let at = tampered.windows(6).position(|w| w == b"/Title").context("a /Title")? + 2;
    tampered[at] ^= 0x01;
    let bad = s.dir.path().join("tampered.pdf");
    std::fs::write(&bad, &tampered)?;
    let (_, out) = tool("pdfsig", &["-nssdir", &db, path(&bad)])?;
    assert!(!out.contains("Signature is Valid."), "{out}");
    Ok(())
}

#[tokio::test]
async fn a_tsa_that_is_down_yields_a_clear_error_and_no_document() -> Result<()> {
    let s = setup().await?;
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}/tsa");
    let signer = s.pki.seal_signer()?;
    let result =
        kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(2), &signer, &quick_tsa(url.clone(), &s.pki)?, Utc::now()).await;
    let Err(error) = result else { bail!("a document without a time-stamp") };
    assert!(error.is_transient(), "{error}");
    assert!(matches!(&error, IssueError::Seal(SealError::TimeStamp(TsaError::Unavailable { attempts: 3, .. }))), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("time-stamping authority") && message.contains("unavailable") && message.contains(&url), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_tsa_that_fails_for_a_while_is_retried() -> Result<()> {
    let s = setup().await?;
    s.sim.fail_next(2);
    let signer = s.pki.seal_signer()?;
    let pdf = kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(3), &signer, &quick_tsa(s.sim.url(), &s.pki)?, Utc::now())
        .await?;
    assert_eq!((s.sim.requests(), s.sim.granted()), (3, 1), "two 503s, then a token");
    assert!(pdf.starts_with(b"%PDF-"));
    // Three failures in a row exhaust three attempts.
    s.sim.fail_next(3);
    let error =
        kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(4), &signer, &quick_tsa(s.sim.url(), &s.pki)?, Utc::now())
            .await
            .expect_err("no token, no document");
    assert!(error.to_string().contains("HTTP 503"), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_template_error_names_the_line_and_produces_nothing() -> Result<()> {
    let s = setup().await?;
    let signer = s.pki.seal_signer()?;
    let tsa = quick_tsa(s.sim.url(), &s.pki)?;
    let broken = "#let d = json(\"data.json\")\n= Határozat\n#d.no_such_field\n";
    let error = kapu_documents::issue(broken, &Decision::sample(5), &signer, &tsa, Utc::now()).await.expect_err("a template error");
    let message = error.to_string();
    assert!(message.starts_with("template error at line 3"), "{message}");
    assert!(message.contains("no_such_field"), "{message}");
    let unclosed = "#let d = json(\"data.json\")\n#text(weight: \"bold\"[x]\n";
    let error = kapu_documents::issue(unclosed, &Decision::sample(5), &signer, &tsa, Utc::now()).await.expect_err("a syntax error");
    assert!(error.to_string().starts_with("template error at line 2"), "{error}");
    // Templates cannot read the server's files.
    let snoop = "#read(\"/etc/passwd\")";
    let error = kapu_documents::issue(snoop, &Decision::sample(5), &signer, &tsa, Utc::now()).await.expect_err("no file access");
    assert!(error.to_string().contains("not found"), "{error}");
    assert_eq!(s.sim.requests(), 0, "nothing was sent for signing");
    Ok(())
}

/// Runs the `kapu` binary (build it first: `cargo build -p kapu`).
/// Asynchronous, since the simulator answering it runs on this test's runtime.
async fn kapu(args: &[&str]) -> Result<(bool, String)> {
    let out = tokio::process::Command::new(kapu_testkit::Kit::kapu_bin()).args(args).env("KAPU_LOG", "error").output().await?;
    Ok((out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))))
}

#[tokio::test]
async fn the_command_line_writes_a_sealed_decision_or_nothing() -> Result<()> {
    let s = setup().await?;
    let dir = s.dir.path();
    let other_pki = dir.join("other-pki");
    let (ok, out) = kapu(&["documents", "test-pki", "--dir", path(&other_pki), "--tenant-name", "Másik Önkormányzat"]).await?;
    assert!(ok, "{out}");
    let (ok, out) = kapu(&["documents", "test-pki", "--dir", path(&other_pki)]).await?;
    assert!(!ok && out.contains("already holds a PKI"), "{out}");
    // The simulator signs with the PKI in `dir`.
    let pki_dir = dir.to_path_buf();
    let out_pdf = dir.join("out.pdf");
    let url = s.sim.url();
    let (ok, out) = kapu(&["documents", "issue", "--pki-dir", path(&pki_dir), "--tsa-url", &url, "--out", path(&out_pdf)]).await?;
    assert!(ok, "{out}");
    let (ok, text) = tool("pdfsig", &[path(&out_pdf)])?;
    assert!(ok && text.contains("Signature is Valid.") && text.contains("Total document signed"), "{text}");

    // A time-stamp whose authority the other PKI's CA did not certify is refused: no file.
    let missing = dir.join("never.pdf");
    let (ok, out) = kapu(&["documents", "issue", "--pki-dir", path(&other_pki), "--tsa-url", &url, "--out", path(&missing)]).await?;
    assert!(!ok && out.contains("not issued by a trusted certificate"), "{out}");
    assert!(!missing.exists());

    // A time-stamping authority that is down: a clear message and no file.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let down = format!("http://127.0.0.1:{port}/tsa");
    let (ok, out) = kapu(&["documents", "issue", "--pki-dir", path(&pki_dir), "--tsa-url", &down, "--out", path(&missing)]).await?;
    assert!(!ok && out.contains("the time-stamping authority at") && out.contains("is unavailable"), "{out}");
    assert!(!missing.exists(), "no unsealed decision is written");

    // A template error: its line, and no file.
    let template = dir.join("broken.typ");
    std::fs::write(&template, "#let d = json(\"data.json\")\n\n#d.file_numbr\n")?;
    let (ok, out) = kapu(&[
        "documents",
        "issue",
        "--pki-dir",
        path(&pki_dir),
        "--tsa-url",
        &url,
        "--template",
        path(&template),
        "--out",
        path(&missing),
    ])
    .await?;
    assert!(!ok && out.contains("template error at line 3") && out.contains("file_numbr"), "{out}");
    assert!(!missing.exists());
    // Data that does not fit the template is a template error too.
    let data = dir.join("data.json");
    std::fs::write(&data, r#"{"subject": "hiányos"}"#)?;
    let (ok, out) =
        kapu(&["documents", "issue", "--pki-dir", path(&pki_dir), "--tsa-url", &url, "--data", path(&data), "--out", path(&missing)])
            .await?;
    assert!(!ok && out.contains("template error"), "{out}");
    assert!(!missing.exists());
    Ok(())
}

#[tokio::test]
async fn a_simplified_decision_has_no_reasoning_and_its_text_is_extractable() -> Result<()> {
    let s = setup().await?;
    let signer = s.pki.seal_signer()?;
    let tsa = quick_tsa(s.sim.url(), &s.pki)?;
    let full = kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(7), &signer, &tsa, Utc::now()).await?;
    let simplified = Decision { simplified: true, ..Decision::sample(7) };
    let short = kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &simplified, &signer, &tsa, Utc::now()).await?;
    let text = |pdf: &[u8], name: &str| -> Result<String> {
        let file = s.dir.path().join(name);
        std::fs::write(&file, pdf)?;
        let (ok, out) = tool("pdftotext", &[path(&file), "-"])?;
        assert!(ok, "{out}");
        Ok(out)
    };
    let full = text(&full, "full.pdf")?;
    let short = text(&short, "short.pdf")?;
    // The bundled fonts carry Hungarian letters, and the text layer keeps them.
    assert!(full.contains("HATÁROZAT") && full.contains("Ürmössy Győző") && full.contains("XII/7-2/2026"), "{full}");
    assert!(full.contains("Indokolás") && full.contains("Jogorvoslat"), "{full}");
    assert!(short.contains("EGYSZERŰSÍTETT HATÁROZAT") && !short.contains("Indokolás") && short.contains("Jogorvoslat"), "{short}");
    Ok(())
}
