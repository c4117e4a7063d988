//! Decisions issued to clients as jobs (sealed, time-stamped by the TSA simulator, e-mailed),
//! downloaded on the portal (the first download is the delivery), deemed delivered after the
//! tenant's working days, and download certificates; checked with `pdfsig` and OpenSSL.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{TimeZone, Utc};
use der::Encode;
use kapu_delivery::issue::{Addressee, DecisionToIssue};
use kapu_documents::Decision;
use kapu_documents::pki::TestPki;
use kapu_testkit::{Kit, KitOptions, TestTenant, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::documents::{embedded_cms, path, tool};

pub(crate) const WHY: (&str, &str) = ("x-access-reason", "kézbesítés ellenőrzése");
const PASSWORD: &str = "Kék-Busz-Megy-A-Hegyre-Fel";

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
}

/// A citizen signed in on a tenant's portal, whose account is linked to a client record.
pub(crate) struct Citizen {
    pub(crate) web: reqwest::Client,
    pub(crate) base: String,
    pub(crate) client_id: Uuid,
    pub(crate) account_id: Uuid,
}

impl Citizen {
    async fn get(&self, rest: &str) -> Result<reqwest::Response> {
        Ok(self.web.get(format!("{}{rest}", self.base)).send().await?)
    }
}

/// Registers `email` on the portal, links the account to a new client record (as identifying
/// in person at the office would) and signs in.
pub(crate) async fn citizen(kit: &Kit, t: &TestTenant, admin: &kapu_testkit::Client, name: (&str, &str), email: &str) -> Result<Citizen> {
    let person = json!({ "email": email, "identity": { "family_name": name.0, "given_name": name.1, "mother_birth_name": "Kovács Mária",
        "birth_place": "Győr", "birth_date": "1984-02-29" },
        "addresses": [{ "kind": "permanent", "postcode": "1124", "city": "Budapest", "street": "Csörsz utca 12." }] });
    let r = admin.send(Method::POST, "/api/v1/clients", Some(&person), &[WHY]).await?;
    r.expect_status(201)?;
    let client_id: Uuid = r.json()["id"].as_str().context("client id")?.parse()?;
    let web = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let base = format!("{}/t/{}", kit.base, t.slug());
    let form = web.get(format!("{base}/regisztracio")).send().await?.text().await?;
    let csrf = hidden(&form, "csrf");
    let display = format!("{} {}", name.0, name.1);
    let r = web
        .post(format!("{base}/regisztracio"))
        .form(&[("csrf", csrf.as_str()), ("display_name", display.as_str()), ("email", email), ("password", PASSWORD)])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let account_id: Uuid = sqlx::query_scalar(
        "UPDATE client_account SET email_verified_at = now(), client_id = $1, identification_level = 'in_person' WHERE lower(email) = $2 RETURNING id",
    )
    .bind(client_id)
    .bind(email)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    let r = web.post(format!("{base}/belepes")).form(&[("csrf", csrf.as_str()), ("email", email), ("password", PASSWORD)]).send().await?;
    assert_eq!(r.status(), 303, "signed in");
    Ok(Citizen { web, base, client_id, account_id })
}

struct Setup {
    kit: Kit,
    pki: TestPki,
    tsa: kapu_sim::tsa::TsaSim,
    dir: tempfile::TempDir,
}

/// A kit whose worker issues documents with a TSA simulator at `tsa_port` (0: any), started
/// only if `start_tsa`.
async fn setup_with(tsa_port: u16, start_tsa: bool) -> Result<(Kit, TestPki, Option<kapu_sim::tsa::TsaSim>, u16)> {
    let pki = TestPki::generate("Kézbesítő Község", Utc::now())?;
    let port = if tsa_port == 0 { std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port() } else { tsa_port };
    let tsa = if start_tsa { Some(kapu_sim::tsa::start(port, Arc::new(pki.tsa_signer()?)).await?) } else { None };
    let delivery = kapu::wiring::DeliveryConfig {
        tsa_attempts: 1,
        ..kapu::wiring::DeliveryConfig::new(format!("http://127.0.0.1:{port}/tsa"), Some(pki.ca_cert.clone()), "")
    };
    let kit = Kit::start_with(KitOptions { worker: true, delivery: Some(delivery), ..KitOptions::default() }).await?;
    Ok((kit, pki, tsa, port))
}

async fn setup() -> Result<Setup> {
    let (kit, pki, tsa, _) = setup_with(0, true).await?;
    Ok(Setup { kit, pki, tsa: tsa.context("the TSA")?, dir: tempfile::tempdir()? })
}

pub(crate) async fn install_seal(kit: &Kit, t: &TestTenant, pki: &TestPki) -> Result<()> {
    kapu::documents::install_seal_pem(&kit.db, &kit.crypto, &t.tenant.slug, &pki.seal_key, &format!("{}{}", pki.seal_cert, pki.ca_cert))
        .await?;
    Ok(())
}

async fn issue(kit: &Kit, t: &TestTenant, client_id: Uuid, reference: &str, decision: Decision, template: Option<&str>) -> Result<Uuid> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let req = DecisionToIssue {
        addressee: Addressee { client_id, representative_account_id: None },
        subject_ref: reference.into(),
        decision,
        template: template.map(str::to_owned),
    };
    let id = kapu_delivery::issue::issue_decision(&mut tx, &ring, req).await?;
    tx.commit().await?;
    Ok(id)
}

async fn document_exists(kit: &Kit, t: &TestTenant, id: Uuid) -> Result<bool> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM issued_document WHERE id = $1)").bind(id).fetch_one(tx.conn()).await?)
}

async fn wait_issued(kit: &Kit, t: &TestTenant, id: Uuid) -> Result<()> {
    eventually(Duration::from_secs(30), "the document is issued", || async { Ok(document_exists(kit, t, id).await?.then_some(())) }).await
}

/// `pdfsig`'s report on `pdf`, trusting the test CA; asserts a valid signature over the whole
/// document.
pub(crate) fn check_with_pdfsig(dir: &std::path::Path, name: &str, pdf: &[u8], ca_pem: &str) -> Result<String> {
    let nss = dir.join("nss");
    let db = format!("sql:{}", path(&nss));
    if !nss.exists() {
        std::fs::create_dir(&nss)?;
        std::fs::write(dir.join("ca.pem"), ca_pem)?;
        let (ok, out) = tool("certutil", &["-N", "-d", &db, "--empty-password"])?;
        assert!(ok, "{out}");
        let (ok, out) = tool("certutil", &["-A", "-d", &db, "-n", "Kapu Test CA", "-t", "CT,C,C", "-i", path(&dir.join("ca.pem"))])?;
        assert!(ok, "{out}");
    }
    let file = dir.join(name);
    std::fs::write(&file, pdf)?;
    let (ok, out) = tool("pdfsig", &["-nssdir", &db, path(&file)])?;
    assert!(ok, "{out}");
    assert!(out.contains("Signature Validation: Signature is Valid."), "{out}");
    assert!(out.contains("Certificate Validation: Certificate is Trusted."), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
    assert!(out.contains("Kézbesítő Község (test seal)"), "{out}");
    Ok(out)
}

/// OpenSSL verifies the signature's time-stamp token against the test CA.
fn check_time_stamp(dir: &std::path::Path, pdf: &[u8]) -> Result<()> {
    let signed = kapu_documents::cms::signed_data(&embedded_cms(pdf)?)?;
    let info = signed.signer_infos.0.iter().next().context("a signer")?;
    let attrs = info.unsigned_attrs.as_ref().context("unsigned attributes")?;
    let stamp = attrs.iter().find(|a| a.oid == kapu_documents::oid::SIGNATURE_TIME_STAMP_TOKEN).context("a signature time-stamp")?;
    std::fs::write(dir.join("token.der"), stamp.values.iter().next().context("a token")?.to_der()?)?;
    std::fs::write(dir.join("signature.bin"), info.signature.as_bytes())?;
    let p = |f: &str| dir.join(f).to_str().expect("utf-8").to_owned();
    let (ok, out) =
        tool("openssl", &["ts", "-verify", "-token_in", "-in", &p("token.der"), "-data", &p("signature.bin"), "-CAfile", &p("ca.pem")])?;
    assert!(ok && out.contains("Verification: OK"), "{out}");
    Ok(())
}

async fn staff_view(kit: &Kit, t: &TestTenant, client_id: Uuid) -> Result<Value> {
    let clerk = kit.clerk(t).await?;
    let r = clerk.send(Method::GET, &format!("/api/v1/clients/{client_id}/documents"), None, &[WHY]).await?;
    r.expect_status(200)?;
    Ok(r.json())
}

#[tokio::test]
async fn a_decision_is_issued_sealed_mailed_delivered_once_and_certified() -> Result<()> {
    let s = setup().await?;
    let kit = &s.kit;
    let t = kit.tenant("kezbesito", "Kézbesítő Község").await?;
    let other_tenant = kit.tenant("szomszed", "Szomszéd Város").await?;
    install_seal(kit, &t, &s.pki).await?;
    let (admin_t, admin_other_tenant) = (kit.admin(&t).await?, kit.admin(&other_tenant).await?);
    let anna = citizen(kit, &t, &admin_t, ("Kovács", "Anna"), "kovacs.anna@example.hu").await?;
    let bela = citizen(kit, &t, &admin_t, ("Szabó", "Béla"), "szabo.bela@example.hu").await?;
    let stranger = citizen(kit, &other_tenant, &admin_other_tenant, ("Kovács", "Anna"), "kovacs.anna@example.hu").await?;

    let id = issue(kit, &t, anna.client_id, "KK-2026-000042", Decision::sample(42), None).await?;
    wait_issued(kit, &t, id).await?;

    // The client is told by e-mail, with the portal's documents page.
    // Three confirmation e-mails (registrations), then the notice.
    let msgs = kit.mail.wait_for_messages(4, Duration::from_secs(20)).await.context("the notice arrives")?;
    let mut notice = None;
    for m in &msgs {
        let full = kit.mail.message(m.id).await.context("a message")?;
        if full.text.as_deref().is_some_and(|t| t.contains("KK-2026-000042")) {
            notice = Some(full);
        }
    }
    let notice = notice.context("a notice about KK-2026-000042")?;
    let text = notice.text.unwrap_or_default();
    assert_eq!(notice.summary.rcpt_to, vec!["kovacs.anna@example.hu".to_owned()]);
    assert!(text.contains("/t/kezbesito/dokumentumok") && text.contains("5 munkanapon belül"), "{text}");

    // The portal lists it as not downloaded yet.
    let list = anna.get("/dokumentumok").await?.text().await?;
    assert!(list.contains("Határozat – Lakossági várakozási hozzájárulás kiadása") && list.contains("Még nem töltötte le."), "{list}");
    let staff = staff_view(kit, &t, anna.client_id).await?;
    assert_eq!(staff["documents"][0]["id"], id.to_string());
    assert!(staff["documents"][0]["delivery"].is_null());
    // The last day of the period (unless it reaches a year whose decree is not on file yet).
    let d = &staff["documents"][0];
    assert!(d["deemed_after"].is_string() || d["deadline_note"].as_str().is_some_and(|n| n.contains("decree")), "{staff}");

    // Another client of the tenant, and a person of another tenant, cannot download it.
    assert_eq!(bela.get(&format!("/dokumentumok/{id}")).await?.status(), 404);
    assert_eq!(stranger.get(&format!("/dokumentumok/{id}")).await?.status(), 404);
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let r = anonymous.get(format!("{}/dokumentumok/{id}", anna.base)).send().await?;
    assert_eq!(r.status(), 303, "to the sign-in page");
    assert!(staff_view(kit, &t, bela.client_id).await?["documents"].as_array().is_some_and(Vec::is_empty));

    // A certificate before any download is refused with a readable page.
    let csrf = hidden(&anna.get("/profil").await?.text().await?, "csrf");
    assert!(!list.contains("letoltesi-igazolas\""), "no certificate form before the download");
    let r = anna.web.post(format!("{}/dokumentumok/{id}/letoltesi-igazolas", anna.base)).form(&[("csrf", csrf.as_str())]).send().await?;
    assert_eq!(r.status(), 409);
    assert!(r.text().await?.contains("Letöltési igazolás nem kérhető"));

    // Two downloads at once: both get the PDF, exactly one is the delivery.
    let url = format!("/dokumentumok/{id}");
    let (a, b) = tokio::join!(anna.get(&url), anna.get(&url));
    let (a, b) = (a?, b?);
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(a.headers()["content-type"], "application/pdf");
    assert!(a.headers()["content-disposition"].to_str()?.contains("hatarozat-KK-2026-000042.pdf"));
    let pdf = a.bytes().await?.to_vec();
    assert_eq!(pdf, b.bytes().await?.to_vec());
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (deliveries, downloads): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM delivery WHERE document_id = $1), (SELECT count(*) FROM document_download WHERE document_id = $1)",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    assert_eq!((deliveries, downloads), (1, 2));

    // Valid for poppler over the whole file; the time-stamp valid for OpenSSL.
    check_with_pdfsig(s.dir.path(), "decision.pdf", &pdf, &s.pki.ca_cert)?;
    check_time_stamp(s.dir.path(), &pdf)?;
    let hash = hex(&Sha256::digest(&pdf));

    // Staff see the delivery (and reading it is audited).
    let staff = staff_view(kit, &t, anna.client_id).await?;
    let d = &staff["documents"][0];
    assert_eq!((d["delivery"]["how"].as_str(), d["sha256"].as_str()), (Some("downloaded"), Some(hash.as_str())), "{staff}");
    let delivered_at = d["delivery"]["at"].as_str().context("delivery time")?.to_owned();
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_record WHERE action = 'document.delivery_read' AND subject_client_id = $1")
            .bind(anna.client_id)
            .fetch_one(tx.conn())
            .await?;
    tx.commit().await?;
    assert_eq!(audited, 2, "each of the two staff reads of her documents is audited");

    // A later download changes nothing about the delivery.
    anna.get(&url).await?.bytes().await?;
    let again = staff_view(kit, &t, anna.client_id).await?;
    assert_eq!(again["documents"][0]["delivery"]["at"].as_str(), Some(delivered_at.as_str()));

    // The download certificate, on request: sealed, with the hash, who and when.
    let list = anna.get("/dokumentumok").await?.text().await?;
    assert!(list.contains("Kézbesítve (letöltve)") && list.contains(&hash), "{list}");
    let r = anna.web.post(format!("{}/dokumentumok/{id}/letoltesi-igazolas", anna.base)).form(&[("csrf", csrf.as_str())]).send().await?;
    assert_eq!(r.status(), 303);
    let cert_id = eventually(Duration::from_secs(30), "the certificate is issued", || async {
        let v = staff_view(kit, &t, anna.client_id).await?;
        Ok(v["documents"]
            .as_array()
            .and_then(|docs| docs.iter().find(|d| d["id"] == id.to_string()))
            .and_then(|d| d["certificate_id"].as_str())
            .map(str::to_owned))
    })
    .await?;
    // Asking again gives the same certificate.
    let r = anna.web.post(format!("{}/dokumentumok/{id}/letoltesi-igazolas", anna.base)).form(&[("csrf", csrf.as_str())]).send().await?;
    assert_eq!(r.status(), 303);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let certificates: i64 =
        sqlx::query_scalar("SELECT count(*) FROM issued_document WHERE kind = 'download_certificate'").fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(certificates, 1);

    let r = anna.get(&format!("/dokumentumok/{cert_id}")).await?;
    assert_eq!(r.status(), 200);
    let cert = r.bytes().await?.to_vec();
    check_with_pdfsig(s.dir.path(), "certificate.pdf", &cert, &s.pki.ca_cert)?;
    check_time_stamp(s.dir.path(), &cert)?;
    std::fs::write(s.dir.path().join("certificate.pdf"), &cert)?;
    let (ok, text) = tool("pdftotext", &["-raw", path(&s.dir.path().join("certificate.pdf")), "-"])?;
    assert!(ok, "{text}");
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains(&hash), "the certificate names the document's hash: {text}");
    assert!(text.contains("Kovács Anna") && text.contains("KK-2026-000042") && text.contains("LETÖLTÉSI IGAZOLÁS"), "{text}");
    let when = kapu_delivery::hungarian_time(chrono::DateTime::parse_from_rfc3339(&delivered_at)?.with_timezone(&Utc));
    assert!(text.contains(&when), "the certificate names the delivery time {when}: {text}");
    assert_eq!(bela.get(&format!("/dokumentumok/{cert_id}")).await?.status(), 404);
    assert_eq!(stranger.get(&format!("/dokumentumok/{cert_id}")).await?.status(), 404);

    // Béla, acting for Anna under a mandate, downloads her next decision: that is its delivery.
    let mandate = json!({ "principal_client_id": anna.client_id, "representative_account_id": bela.account_id, "scope": ["*"], "valid_from": "2020-01-01" });
    admin_t.send(Method::POST, "/api/v1/mandates", Some(&mandate), &[WHY]).await?.expect_status(201)?;
    let next = issue(kit, &t, anna.client_id, "KK-2026-000043", Decision::sample(43), None).await?;
    wait_issued(kit, &t, next).await?;
    assert_eq!(bela.get(&format!("/dokumentumok/{next}")).await?.status(), 404, "not while acting for himself");
    let profile = bela.get("/profil").await?.text().await?;
    let principal = anna.client_id.to_string();
    let r = bela
        .web
        .post(format!("{}/kepviselet", bela.base))
        .form(&[("csrf", hidden(&profile, "csrf").as_str()), ("principal", principal.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    let list = bela.get("/dokumentumok").await?.text().await?;
    assert!(list.contains("KK-2026-000043") && list.contains("id=\"acting-now\""), "{list}");
    assert_eq!(bela.get(&format!("/dokumentumok/{next}")).await?.status(), 200);
    let v = staff_view(kit, &t, anna.client_id).await?;
    let d = v["documents"]
        .as_array()
        .and_then(|docs| docs.iter().find(|d| d["id"] == next.to_string()).cloned())
        .context("the next decision")?;
    assert_eq!(d["delivery"]["how"], "downloaded");
    assert_eq!(d["delivery"]["account_id"], bela.account_id.to_string());
    assert_eq!(d["delivery"]["on_behalf_of_client_id"], anna.client_id.to_string());

    s.tsa.shutdown().await;
    s.kit.stop().await;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_tsa_that_is_down_makes_the_job_retry_and_no_document_exists_until_it_is_back() -> Result<()> {
    let (kit, pki, _, port) = setup_with(0, false).await?;
    let t = kit.tenant("idobelyeg", "Időbélyeg Község").await?;
    install_seal(&kit, &t, &pki).await?;
    let admin_t = kit.admin(&t).await?;
    let anna = citizen(&kit, &t, &admin_t, ("Kovács", "Anna"), "kovacs.anna@example.hu").await?;
    let id = issue(&kit, &t, anna.client_id, "IB-2026-000001", Decision::sample(1), None).await?;

    // The job fails for want of a time-stamp, and keeps waiting to retry; no document.
    eventually(Duration::from_secs(30), "a second attempt", || async {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let row: Option<(String, i32, Option<String>)> =
            sqlx::query_as("SELECT state, attempts, last_error FROM job WHERE kind = 'delivery.issue'").fetch_optional(tx.conn()).await?;
        tx.commit().await?;
        Ok(row.filter(|(state, attempts, _)| *attempts >= 2 && state != "dead").map(|(_, _, e)| {
            let e = e.unwrap_or_default();
            assert!(e.contains("time-stamping authority") && e.contains("unavailable"), "{e}");
        }))
    })
    .await?;
    assert!(!document_exists(&kit, &t, id).await?, "no document without a time-stamp");
    assert_eq!(anna.get(&format!("/dokumentumok/{id}")).await?.status(), 404);

    // The authority comes back: the next attempt issues it.
    let tsa = kapu_sim::tsa::start(port, Arc::new(pki.tsa_signer()?)).await?;
    wait_issued(&kit, &t, id).await?;
    let r = anna.get(&format!("/dokumentumok/{id}")).await?;
    assert_eq!(r.status(), 200);
    let dir = tempfile::tempdir()?;
    check_with_pdfsig(dir.path(), "decision.pdf", &r.bytes().await?, &pki.ca_cert)?;

    // A broken template is a permanent failure with its line, and issues nothing.
    let bad = issue(&kit, &t, anna.client_id, "IB-2026-000002", Decision::sample(2), Some("#let d = json(\"data.json\")\n#d.nincs_ilyen"))
        .await?;
    let error = eventually(Duration::from_secs(30), "the job to fail for good", || async {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let row: Option<(String, i32, Option<String>)> =
            sqlx::query_as("SELECT state, attempts, last_error FROM job WHERE kind = 'delivery.issue' AND payload->>'document_id' = $1")
                .bind(bad.to_string())
                .fetch_optional(tx.conn())
                .await?;
        tx.commit().await?;
        Ok(row.filter(|(state, _, _)| state == "dead").map(|(_, attempts, e)| (attempts, e.unwrap_or_default())))
    })
    .await?;
    assert_eq!(error.0, 1, "a template error is not retried");
    assert!(error.1.contains("template error at line 2"), "{}", error.1);
    assert!(!document_exists(&kit, &t, bad).await?);

    // The command line queues the sample decision (the demo's way to issue one).
    let out = kit
        .kapu_command()
        .args([
            "documents",
            "issue-sample",
            "--tenant",
            t.slug(),
            "--client",
            &anna.client_id.to_string(),
            "--subject-ref",
            "IB-2026-000003",
        ])
        .output()
        .await?;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    let sample: Uuid = printed.split_whitespace().nth(1).context("the id")?.parse()?;
    wait_issued(&kit, &t, sample).await?;
    assert_eq!(anna.get(&format!("/dokumentumok/{sample}")).await?.status(), 200);
    tsa.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_unopened_decision_is_reminded_then_deemed_delivered_after_working_days_across_christmas() -> Result<()> {
    let s = setup().await?;
    let kit = &s.kit;
    let t = kit.tenant("velelem", "Vélelem Község").await?;
    install_seal(kit, &t, &s.pki).await?;
    let admin_t = kit.admin(&t).await?;
    let anna = citizen(kit, &t, &admin_t, ("Kovács", "Anna"), "kovacs.anna@example.hu").await?;
    let id = issue(kit, &t, anna.client_id, "VK-2026-000005", Decision::sample(5), None).await?;
    wait_issued(kit, &t, id).await?;
    kit.mail.wait_for_messages(2, Duration::from_secs(20)).await.context("the notice")?;
    // Made available on Monday 21 December 2026, 10:00 in Budapest.
    let su = kit.superuser().await?;
    sqlx::query(&format!("UPDATE t_{}.issued_document SET issued_at = '2026-12-21 09:00:00+00' WHERE id = $1", t.slug()))
        .bind(id)
        .execute(&su)
        .await?;
    su.close().await;

    let calendar = kapu_calendar::Calendar::hungary();
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    tx.commit().await?;
    let ctx =
        kapu_delivery::deadlines::NoticeContext {
            tenant_name: "Vélelem Község", documents_url: "http://portal/dokumentumok", ring: &ring
        };
    let run = |now: chrono::DateTime<Utc>| {
        let (kit, t, calendar, ctx) = (kit, &t, &calendar, &ctx);
        async move {
            let mut tx = kit.db.tenant_tx(&t.tenant).await?;
            let report = kapu_delivery::deadlines::run(&mut tx, calendar, ctx, &kapu_delivery::NoFollowUp, now).await?;
            tx.commit().await?;
            anyhow::Ok(report)
        }
    };
    let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).single().expect("a time");
    // Working days after Mon 21: Tue 22, Wed 23, (24 rest day, 25–26 holidays, 27 Sunday)
    // Mon 28, Tue 29, Wed 30. The reminder is due on the 3rd (Mon 28), the deemed delivery at
    // the start of the day after the 5th (Thu 31).
    let report = run(at(24, 12, 0)).await?;
    assert_eq!((report.reminded, report.deemed), (0, 0), "nothing is due over Christmas");
    let report = run(at(28, 7, 0)).await?;
    assert_eq!((report.reminded, report.deemed), (1, 0), "the reminder on Monday 28");
    assert_eq!(run(at(28, 9, 0)).await?.reminded, 0, "reminded once");
    // The confirmation e-mail, the notice, then the reminder.
    let msgs = kit.mail.wait_for_messages(3, Duration::from_secs(20)).await.context("the reminder")?;
    let mut reminder = None;
    for m in &msgs {
        let full = kit.mail.message(m.id).await.context("a message")?;
        if full.text.as_deref().is_some_and(|t| t.contains("Emlékeztetjük")) {
            reminder = full.text;
        }
    }
    let reminder = reminder.context("a reminder e-mail")?;
    assert!(reminder.contains("2026. 12. 30.-ig") && reminder.contains("2026. 12. 31. napján"), "{reminder}");

    // 23:30 in Budapest on Wed 30 is still within the period; 00:30 on Thu 31 is not.
    assert_eq!(run(at(30, 22, 30)).await?.deemed, 0);
    let report = run(at(30, 23, 30)).await?;
    assert_eq!(report.deemed, 1);
    assert_eq!(run(at(30, 23, 45)).await?.deemed, 0, "deemed once");
    let staff = staff_view(kit, &t, anna.client_id).await?;
    let d = &staff["documents"][0];
    assert_eq!(d["delivery"]["how"], "deemed");
    assert_eq!(d["delivery"]["at"], "2026-12-30T23:00:00Z", "{staff}");

    // A download afterwards is recorded but is not the delivery.
    assert_eq!(anna.get(&format!("/dokumentumok/{id}")).await?.status(), 200);
    assert_eq!(staff_view(kit, &t, anna.client_id).await?["documents"][0]["delivery"]["how"], "deemed");
    let list = anna.get("/dokumentumok").await?.text().await?;
    assert!(list.contains("Kézbesítettnek minősül"), "{list}");

    // Counting into 2027, whose decree is not on file, is refused rather than guessed.
    let late = issue(kit, &t, anna.client_id, "VK-2026-000006", Decision::sample(6), None).await?;
    wait_issued(kit, &t, late).await?;
    let su = kit.superuser().await?;
    sqlx::query(&format!("UPDATE t_{}.issued_document SET issued_at = '2026-12-29 09:00:00+00' WHERE id = $1", t.slug()))
        .bind(late)
        .execute(&su)
        .await?;
    su.close().await;
    let report = run(at(31, 12, 0)).await?;
    assert_eq!((report.deemed, report.undecidable), (0, 1));
    let staff = staff_view(kit, &t, anna.client_id).await?;
    let d = staff["documents"].as_array().and_then(|v| v.iter().find(|d| d["id"] == late.to_string()).cloned()).context("the late one")?;
    assert!(d["deadline_note"].as_str().is_some_and(|n| n.contains("2027")), "{d}");
    s.tsa.shutdown().await;
    s.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_citizen_downloads_a_decision_in_chromium() -> Result<()> {
    let root = kapu_testkit::workspace_root();
    let browser = root.join("tests/browser");
    anyhow::ensure!(browser.join("node_modules").exists(), "run `npm ci --prefix tests/browser` first (the test script does)");
    let s = setup().await?;
    let kit = &s.kit;
    let t = kit.tenant("bongeszo-kezbesites", "Kézbesítő Község").await?;
    install_seal(kit, &t, &s.pki).await?;
    let admin_t = kit.admin(&t).await?;
    let anna = citizen(kit, &t, &admin_t, ("Kovács", "Anna"), "kovacs.anna@example.hu").await?;
    let id = issue(kit, &t, anna.client_id, "BK-2026-000777", Decision::sample(777), None).await?;
    wait_issued(kit, &t, id).await?;
    let out = tokio::process::Command::new("node")
        .arg("--test")
        .arg(browser.join("dedicated/delivery.mjs"))
        .current_dir(&root)
        .env("KAPU_BASE_URL", &kit.base)
        .env("KAPU_DELIVERY_TENANT", t.slug())
        .env("KAPU_DELIVERY_EMAIL", "kovacs.anna@example.hu")
        .env("KAPU_DELIVERY_PASSWORD", PASSWORD)
        .env("KAPU_DELIVERY_REFERENCE", "BK-2026-000777")
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("# pass 1") && stdout.contains("# fail 0"), "the browser test failed (output above)");
    // What the browser did is on record: one delivery by download, one certificate.
    let v = staff_view(kit, &t, anna.client_id).await?;
    let docs = v["documents"].as_array().context("documents")?;
    let decision = docs.iter().find(|d| d["id"] == id.to_string()).context("the decision")?;
    assert_eq!(decision["delivery"]["how"], "downloaded");
    assert!(decision["certificate_id"].is_string(), "{v}");
    s.tsa.shutdown().await;
    s.kit.stop().await;
    Ok(())
}
