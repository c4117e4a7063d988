//! From decision to delivery: a decided case (automatically, or by a clerk with four eyes) is
//! issued as a sealed, time-stamped PDF (checked with `pdfsig`), shown on the case card and
//! linked from the client's case page; its first download (or the deemed delivery) moves the
//! case to delivered. A time-stamping authority that is down leaves the decision waiting
//! (driven through the job queue); a template error goes to a clerk with its message. Drafts
//! keep their files; an erasure says which cases and documents it kept.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{TimeZone, Utc};
use kapu_cases::FixedFacts;
use kapu_documents::pki::TestPki;
use kapu_testkit::{Kit, KitOptions, eventually, workspace_root};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{hidden, portal_client, portal_resident};
use crate::delivery::{WHY, check_with_pdfsig, citizen, install_seal};
use crate::documents::{path, tool};

const SEAL: &str = "Kézbesítő Község";

/// Facts for tenant `slug`: the vehicle is the applicant's (decided automatically), or not
/// (a clerk decides).
fn facts(slug: &str, own_vehicle: bool) -> FixedFacts {
    let mut f = FixedFacts::default();
    f.insert(
        slug,
        "parking-permit",
        json!({ "existing_permits": 0, "parking": { "eligible": true, "zone": "XII-1", "reasons": "" }, "vehicle": { "owner_is_applicant": own_vehicle, "keeper_is_applicant": own_vehicle, "max_mass_kg": 1800 } }),
    );
    f.insert(slug, "public-space-use", json!({ "location": { "zone": "II" } }));
    f
}

/// A kit with the facts, whose worker issues through a TSA simulator (which is started).
async fn kit_with_tsa(facts: FixedFacts) -> Result<(Kit, TestPki, kapu_sim::tsa::TsaSim)> {
    let pki = TestPki::generate(SEAL, Utc::now())?;
    let tsa = kapu_sim::tsa::start(0, Arc::new(pki.tsa_signer()?)).await?;
    let delivery = kapu::wiring::DeliveryConfig {
        tsa_attempts: 1,
        ..kapu::wiring::DeliveryConfig::new(format!("http://{}/tsa", tsa.addr), Some(pki.ca_cert.clone()), "")
    };
    let kit = Kit::start_with(KitOptions { worker: true, delivery: Some(delivery), facts: Some(Arc::new(facts)), ..KitOptions::default() })
        .await?;
    Ok((kit, pki, tsa))
}

/// Files a residential parking permit on the portal against form version 1; returns the case id.
async fn file_parking_permit(web: &reqwest::Client, base: &str) -> Result<Uuid> {
    file_parking_permit_version(web, base, 1).await
}

/// Files a residential parking permit on the portal against `version`; returns the case id.
async fn file_parking_permit_version(web: &reqwest::Client, base: &str, version: i32) -> Result<Uuid> {
    let page = web.get(format!("{base}/ugyintezes/parking-permit")).send().await?.text().await?;
    let form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&page, "csrf"))
        .text("once", hidden(&page, "once"))
        .text("form_version", version.to_string())
        .text("action", "submit")
        .text("vehicle", "ABC-123")
        .text("address.postcode", "1126")
        .text("address.city", "Budapest")
        .text("address.street", "Böszörményi út 23.")
        .text("valid_from", (Utc::now() + chrono::Duration::days(1)).date_naive().to_string())
        .text("declaration", "on");
    let r = web.post(format!("{base}/ugyintezes/parking-permit")).multipart(form).send().await?;
    anyhow::ensure!(r.status() == 303, "filed: {} {}", r.status(), r.text().await?);
    let loc = r.headers()["location"].to_str()?.to_owned();
    Ok(loc.rsplit('/').next().and_then(|s| s.split('?').next()).context("case id")?.parse()?)
}

async fn case_view(clerk: &kapu_testkit::Client, id: Uuid) -> Result<Value> {
    let r = clerk.get(&format!("/api/v1/cases/{id}")).await?;
    r.expect_status(200)?;
    Ok(r.json())
}

/// Waits until the case card shows the decision issued; returns the card.
async fn wait_issued(clerk: &kapu_testkit::Client, id: Uuid) -> Result<Value> {
    eventually(Duration::from_secs(60), "the decision is issued", || async {
        let v = case_view(clerk, id).await?;
        let status = v["issued_decision"]["status"].as_str().unwrap_or("");
        assert_ne!(status, "failed", "{v}");
        Ok((status == "issued").then_some(v))
    })
    .await
}

fn pdf_text(dir: &std::path::Path, pdf: &[u8]) -> Result<String> {
    let file = dir.join("text.pdf");
    std::fs::write(&file, pdf)?;
    let (ok, text) = tool("pdftotext", &["-raw", path(&file), "-"])?;
    anyhow::ensure!(ok, "{text}");
    Ok(text)
}

#[tokio::test]
async fn an_automatic_parking_permit_ends_sealed_in_the_clients_documents_and_delivered_on_download() -> Result<()> {
    let (kit, pki, tsa) = kit_with_tsa(facts("automata", true)).await?;
    let t = kit.tenant("automata", "Automata Község").await?;
    install_seal(&kit, &t, &pki).await?;
    // The tenant prints its address and place on its decisions (`[documents]` in tenant.toml).
    let mut with_documents = t.tenant.clone();
    with_documents.settings["documents"] = json!({ "address": "1234 Automata, Fő tér 1.", "place": "Automata" });
    let mut ptx = kit.db.platform_tx().await?;
    kapu_core::update_tenant(ptx.conn(), &with_documents).await?;
    ptx.commit().await?;
    let email = portal_resident(&kit, &t).await?;
    let (web, base) = portal_client(&kit, &t, &email).await?;
    let id = file_parking_permit(&web, &base).await?;
    let clerk = kit.clerk(&t).await?;
    assert_eq!(case_view(&clerk, id).await?["state"], "decided");

    let card = wait_issued(&clerk, id).await?;
    let decision = &card["issued_decision"];
    let doc: Uuid = decision["document_id"].as_str().context("document id")?.parse()?;
    assert!(decision["issued_at"].is_string() && decision["delivered_at"].is_null(), "{card}");
    assert_eq!(decision["title"], "Határozat – Lakossági várakozási hozzájárulás");

    // The client's case page links the document; the documents page lists it.
    let page = web.get(format!("{base}/ugyeim/{id}")).send().await?.text().await?;
    assert!(page.contains(&format!("/dokumentumok/{doc}")), "{page}");
    let list = web.get(format!("{base}/dokumentumok")).send().await?.text().await?;
    let number = card["number"].as_str().context("number")?.to_owned();
    assert!(list.contains(&number) && list.contains("Még nem töltötte le."), "{list}");

    // The first download is the delivery, recorded with the case's move to delivered.
    let r = web.get(format!("{base}/dokumentumok/{doc}")).send().await?;
    assert_eq!(r.status(), 200);
    let pdf = r.bytes().await?.to_vec();
    let dir = tempfile::tempdir()?;
    check_with_pdfsig(dir.path(), "decision.pdf", &pdf, &pki.ca_cert)?;
    let text = pdf_text(dir.path(), &pdf)?;
    assert!(text.contains(&number) && text.contains("Hegyi Lakos") && text.contains("ABC-123") && text.contains("díjmentes"), "{text}");
    assert!(text.contains("automatikus döntéshozatal") && !text.contains("HATÁROZAT\nHATÁROZAT"), "{text}");
    assert!(
        text.contains("1234 Automata, Fő tér 1.") && text.contains("Automata, 20"),
        "the address, and the place before the date: {text}"
    );

    let card = case_view(&clerk, id).await?;
    assert_eq!(card["state"], "delivered", "{card}");
    assert_eq!(card["issued_decision"]["delivered_how"], "downloaded");
    let last = card["history"].as_array().and_then(|h| h.last()).context("history")?;
    assert_eq!((last["to_state"].as_str(), last["actor_label"].as_str()), (Some("delivered"), Some("delivery")));
    assert!(last["reason"].as_str().is_some_and(|r| r.contains("downloaded by its addressee")), "{last}");
    let page = web.get(format!("{base}/ugyeim/{id}")).send().await?.text().await?;
    assert!(page.contains("data-state=\"delivered\"") && page.contains("Kézbesítve (letöltve)"), "{page}");

    // A second download, and a retried case.decided job, change nothing.
    assert_eq!(web.get(format!("{base}/dokumentumok/{doc}")).send().await?.status(), 200);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let job = kapu_jobs::enqueue(&mut tx, kapu_jobs::NewJob::new(kapu_cases::DECIDED_JOB, &json!({ "case_id": id }))).await?;
    tx.commit().await?;
    eventually(Duration::from_secs(30), "the repeated job to finish", || async {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let state: String = sqlx::query_scalar("SELECT state FROM job WHERE id = $1").bind(job).fetch_one(tx.conn()).await?;
        tx.commit().await?;
        Ok((state == "done").then_some(()))
    })
    .await?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (documents, issuing_jobs, deliveries): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM issued_document WHERE subject_ref = $1), (SELECT count(*) FROM job WHERE kind = 'delivery.issue'),
                (SELECT count(*) FROM case_event WHERE to_state = 'delivered')",
    )
    .bind(&number)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    assert_eq!((documents, issuing_jobs, deliveries), (1, 1, 1));

    // Erasing the account says which case and document it kept, and why.
    let profile = web.get(format!("{base}/profil")).send().await?.text().await?;
    let r = web
        .post(format!("{base}/fiok-torlese"))
        .form(&[("csrf", hidden(&profile, "csrf").as_str()), ("password", kapu_testkit::PASSWORD)])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let erased = r.text().await?;
    assert!(erased.contains(&format!("cases {number}")) && erased.contains("Act LXVI of 1995"), "{erased}");
    assert!(erased.contains(&format!("Határozat – Lakossági várakozási hozzájárulás ({number})")), "{erased}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM issued_document WHERE subject_ref = $1").bind(&number).fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(kept, 1, "the decision outlives the account");
    tsa.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_clerk_decided_refusal_is_issued_after_four_eyes_and_deemed_delivered() -> Result<()> {
    let (kit, pki, tsa) = kit_with_tsa(facts("negyszem-kiadas", false)).await?;
    let t = kit.tenant("negyszem-kiadas", "Négyszem Község").await?;
    install_seal(&kit, &t, &pki).await?;
    let email = portal_resident(&kit, &t).await?;
    let (web, base) = portal_client(&kit, &t, &email).await?;
    let id = file_parking_permit(&web, &base).await?;
    let clerk = kit.clerk(&t).await?;
    let admin = kit.admin(&t).await?;
    assert_eq!(case_view(&clerk, id).await?["state"], "in_review");
    assert!(case_view(&clerk, id).await?["issued_decision"].is_null(), "nothing to issue before a decision");

    let r = clerk
        .post(
            &format!("/api/v1/cases/{id}/draft-decision"),
            &json!({ "outcome": "refuse", "reason": "A gépjármű használati jogcíme nem igazolt." }),
        )
        .await?;
    r.expect_status(200)?;
    let handlers = clerk.get("/api/v1/case-handlers").await?.json();
    let admin_id = handlers["handlers"]
        .as_array()
        .and_then(|h| h.iter().find(|x| x["email"] == t.admin_email.as_str()))
        .and_then(|x| x["id"].as_str())
        .context("the admin")?
        .to_owned();
    clerk.post(&format!("/api/v1/cases/{id}/send-to-signatory"), &json!({ "signatory_id": admin_id })).await?.expect_status(204)?;
    admin.post(&format!("/api/v1/cases/{id}/approve"), &json!({})).await?.expect_status(204)?;

    let card = wait_issued(&clerk, id).await?;
    let doc: Uuid = card["issued_decision"]["document_id"].as_str().context("document")?.parse()?;
    let number = card["number"].as_str().context("number")?.to_owned();

    // Nobody opens it. Made available on Monday 2 November 2026, it is deemed delivered at the
    // start of the day after the fifth working day (Tuesday 10 November, Budapest time).
    let su = kit.superuser().await?;
    sqlx::query(&format!("UPDATE {}.issued_document SET issued_at = '2026-11-02 09:00:00+00' WHERE id = $1", t.tenant.slug.schema()))
        .bind(doc)
        .execute(&su)
        .await?;
    su.close().await;
    let calendar = kapu_calendar::Calendar::hungary();
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let ctx = kapu_delivery::deadlines::NoticeContext {
        tenant_name: "Négyszem Község",
        documents_url: "http://portal/dokumentumok",
        ring: &ring,
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).single().context("a time")?;
    let report = kapu_delivery::deadlines::run(&mut tx, &calendar, &ctx, &kapu_cases::CaseDeliveries, now).await?;
    tx.commit().await?;
    assert_eq!(report.deemed, 1);
    let card = case_view(&clerk, id).await?;
    assert_eq!(card["state"], "delivered", "{card}");
    assert_eq!(card["issued_decision"]["delivered_how"], "deemed");
    assert_eq!(card["issued_decision"]["delivered_at"], "2026-11-09T23:00:00Z");
    let last = card["history"].as_array().and_then(|h| h.last()).context("history")?;
    assert!(last["reason"].as_str().is_some_and(|r| r.contains("deemed delivered 2026. 11. 10. 00:00")), "{last}");
    let page = web.get(format!("{base}/ugyeim/{id}")).send().await?.text().await?;
    assert!(page.contains("Kézbesítettnek minősül: 2026. 11. 10. 00:00"), "{page}");

    // Opened afterwards: the sealed refusal, issued by the signatory; the case stays as it was.
    let r = web.get(format!("{base}/dokumentumok/{doc}")).send().await?;
    assert_eq!(r.status(), 200);
    let pdf = r.bytes().await?.to_vec();
    let dir = tempfile::tempdir()?;
    check_with_pdfsig(dir.path(), "refusal.pdf", &pdf, &pki.ca_cert)?;
    let text = pdf_text(dir.path(), &pdf)?;
    assert!(text.contains(&number) && text.contains("elutasítom") && text.contains("A gépjármű használati jogcíme nem igazolt."), "{text}");
    assert!(text.contains("Teszt Admin") && text.contains("kiadmányozó"), "the signatory issues it: {text}");
    let card = case_view(&clerk, id).await?;
    let delivered = card["history"].as_array().map(|h| h.iter().filter(|e| e["to_state"] == "delivered").count());
    assert_eq!((card["state"].as_str(), delivered), (Some("delivered"), Some(1)));
    tsa.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_tsa_that_is_down_leaves_the_decision_waiting_until_it_is_back() -> Result<()> {
    // No worker in the kit: this test drives the job queue itself, with a worker whose TSA is
    // a closed port and whose backoff is long, so each retry is made due explicitly.
    let kit = Kit::start_with(KitOptions { facts: Some(Arc::new(facts("idobelyeg-ki", true))), ..KitOptions::default() }).await?;
    let t = kit.tenant("idobelyeg-ki", "Időbélyeg Község").await?;
    let pki = TestPki::generate(SEAL, Utc::now())?;
    install_seal(&kit, &t, &pki).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let cfg = kapu::wiring::DeliveryConfig {
        tsa_attempts: 1,
        ..kapu::wiring::DeliveryConfig::new(format!("http://127.0.0.1:{port}/tsa"), Some(pki.ca_cert.clone()), kit.base.clone())
    };
    let config = kapu_jobs::WorkerConfig { backoff: Duration::from_secs(3600), ..kapu_jobs::WorkerConfig::default() };
    let worker = kapu::wiring::worker(kit.db.clone(), kit.crypto.clone(), &kit.smtp, config)?;
    let worker = kapu::wiring::with_delivery(worker, kit.crypto.clone(), &cfg)?;
    let make_due = || async {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        sqlx::query("UPDATE job SET run_at = now() WHERE kind = 'delivery.issue' AND state = 'pending'").execute(tx.conn()).await?;
        tx.commit().await?;
        anyhow::Ok(())
    };

    let email = portal_resident(&kit, &t).await?;
    let (web, base) = portal_client(&kit, &t, &email).await?;
    let id = file_parking_permit(&web, &base).await?;
    let clerk = kit.clerk(&t).await?;
    worker.drain(t.slug()).await?;
    let card = case_view(&clerk, id).await?;
    let d = &card["issued_decision"];
    assert_eq!(
        (card["state"].as_str(), d["status"].as_str(), d["attempts"].as_i64()),
        (Some("decided"), Some("waiting"), Some(1)),
        "{card}"
    );
    let problem = d["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("time-stamping authority") && problem.contains("unavailable"), "{problem}");
    let page = web.get(format!("{base}/ugyeim/{id}")).send().await?.text().await?;
    assert!(page.contains("data-status=\"waiting\"") && !page.contains("/dokumentumok/"), "{page}");

    // Still down at the next attempt: still waiting, and no document exists.
    make_due().await?;
    worker.drain(t.slug()).await?;
    let d = case_view(&clerk, id).await?["issued_decision"].clone();
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("waiting"), Some(2)), "{d}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let documents: i64 = sqlx::query_scalar("SELECT count(*) FROM issued_document").fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(documents, 0, "never an unsigned decision");

    // The authority is back: the next attempt issues it.
    let tsa = kapu_sim::tsa::start(port, Arc::new(pki.tsa_signer()?)).await?;
    make_due().await?;
    worker.drain(t.slug()).await?;
    let card = case_view(&clerk, id).await?;
    assert_eq!(card["issued_decision"]["status"], "issued", "{card}");
    let doc = card["issued_decision"]["document_id"].as_str().context("document")?.to_owned();
    let page = web.get(format!("{base}/ugyeim/{id}")).send().await?.text().await?;
    assert!(page.contains(&format!("/dokumentumok/{doc}")), "{page}");
    let pdf = web.get(format!("{base}/dokumentumok/{doc}")).send().await?.bytes().await?.to_vec();
    check_with_pdfsig(tempfile::tempdir()?.path(), "decision.pdf", &pdf, &pki.ca_cert)?;
    assert_eq!(case_view(&clerk, id).await?["state"], "delivered");
    tsa.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_decision_template_that_does_not_render_goes_to_a_clerk_with_its_message() -> Result<()> {
    let kit = Kit::start_with(KitOptions { facts: Some(Arc::new(facts("sablon", true))), ..KitOptions::default() }).await?;
    let t = kit.tenant("sablon", "Sablon Község").await?;
    let email = portal_resident(&kit, &t).await?;
    // Version 2 of the parking permit, whose grant template names a value that does not exist.
    let source = std::fs::read_to_string(workspace_root().join("tenants/hegyvidek/case-types/parking-permit.toml"))?;
    let broken = source.replace(
        "{{ applicant.name }} ({{ application.address.postcode }}",
        "{{ applicant.nincs_ilyen.mezo }} ({{ application.address.postcode }}",
    );
    assert_ne!(broken, source);
    let v2 = kapu_cases::check_definition("parking-permit.toml", &broken, Utc::now().date_naive()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    kapu_cases::save_version(&mut tx, &v2, "test", Utc::now()).await?;
    tx.commit().await?;

    let (web, base) = portal_client(&kit, &t, &email).await?;
    // The application is filed all the same (a 303 to its case page).
    let id = file_parking_permit_version(&web, &base, 2).await?;

    // The rules granted it, but no decision was made from a broken template: a clerk sees why.
    let clerk = kit.clerk(&t).await?;
    let card = case_view(&clerk, id).await?;
    assert_eq!(card["state"], "in_review", "{card}");
    let last = card["history"].as_array().and_then(|h| h.last()).context("history")?;
    let reason = last["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("the grant decision template does not render") && reason.contains("a clerk decides"), "{reason}");
    // Drafting a grant from it is refused with the template's message, and changes nothing.
    let r = clerk.post(&format!("/api/v1/cases/{id}/draft-decision"), &json!({ "outcome": "grant", "reason": "Rendben." })).await?;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "template");
    assert!(r.json()["errors"][0]["message"].as_str().is_some_and(|m| m.contains("grant decision template does not render")), "{}", r.text);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (jobs, documents, drafted): (i64, i64, Option<String>) = sqlx::query_as(
        r#"SELECT (SELECT count(*) FROM job WHERE kind IN ('case.decided', 'delivery.issue')), (SELECT count(*) FROM issued_document),
                  (SELECT decision_outcome FROM "case" WHERE id = $1)"#,
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    assert_eq!((jobs, documents, drafted), (0, 0, None), "no half-made decision");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_saved_draft_keeps_its_files_until_it_is_submitted() -> Result<()> {
    let kit = Kit::start_with(KitOptions { facts: Some(Arc::new(facts("piszkozat", true))), ..KitOptions::default() }).await?;
    let t = kit.tenant("piszkozat", "Piszkozat Község").await?;
    let email = portal_resident(&kit, &t).await?;
    let (web, base) = portal_client(&kit, &t, &email).await?;
    let page = web.get(format!("{base}/ugyintezes/public-space-use")).send().await?.text().await?;
    let (csrf, once) = (hidden(&page, "csrf"), hidden(&page, "once"));
    let pdf = |size: usize| {
        let mut b = b"%PDF-1.7
"
        .to_vec();
        b.resize(size, b'0');
        b
    };
    let file = |name: &str, size: usize| reqwest::multipart::Part::bytes(pdf(size)).file_name(name.to_owned()).mime_str("application/pdf");
    let fields = |action: &str, draft: Option<&str>| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("once", once.clone())
            .text("form_version", "1")
            .text("action", action.to_owned())
            .text("purpose", "scaffolding")
            .text("location.postcode", "1122")
            .text("location.city", "Budapest")
            .text("location.street", "Városmajor utca 14.")
            .text("area_m2", "12")
            .text("from", (Utc::now() + chrono::Duration::days(10)).date_naive().to_string())
            .text("to", (Utc::now() + chrono::Duration::days(19)).date_naive().to_string())
            .text("objects[0].description", "állvány")
            .text("objects[0].count", "1");
        if let Some(d) = draft {
            f = f.text("draft", d.to_owned());
        }
        f
    };
    let post = |f: reqwest::multipart::Form| web.post(format!("{base}/ugyintezes/public-space-use")).multipart(f).send();

    // Saved with two site plans: the draft lists them.
    let r = post(fields("save", None).part("site_plan", file("terv.pdf", 2000)?).part("site_plan", file("rossz.pdf", 1000)?)).await?;
    assert_eq!(r.status(), 200);
    let html = r.text().await?;
    let draft = hidden(&html, "draft");
    assert!(html.contains("Már csatolva:") && html.contains("terv.pdf") && html.contains("rossz.pdf"), "{html}");
    let again = web.get(format!("{base}/ugyintezes/public-space-use?piszkozat={draft}")).send().await?.text().await?;
    assert!(again.contains("terv.pdf") && again.contains("rossz.pdf"), "reopened, the draft still holds its files: {again}");

    // One is taken off when saving again; the other is submitted without uploading it again.
    let r = post(fields("save", Some(&draft)).text("remove.site_plan.1-rossz.pdf", "1")).await?;
    let html = r.text().await?;
    assert!(html.contains("terv.pdf") && !html.contains("rossz.pdf"), "{html}");
    let r = post(fields("submit", Some(&draft))).await?;
    assert_eq!(r.status(), 303, "submitted with the draft's file");
    let case = Uuid::parse_str(&draft)?;
    let store = kit.attachments.path().join(format!("piszkozat/cases/{case}/site_plan"));
    assert_eq!(std::fs::metadata(store.join("0-terv.pdf"))?.len(), 2000);
    assert!(!store.join("1-rossz.pdf").exists(), "the removed file is deleted");
    let clerk = kit.clerk(&t).await?;
    let card = case_view(&clerk, case).await?;
    assert_eq!(
        card["application"]["site_plan"],
        json!([{ "name": "terv.pdf", "content_type": "application/pdf", "size": 2000 }]),
        "{card}"
    );
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_decision_filed_by_a_representative_goes_to_the_principal_and_their_download_delivers_it() -> Result<()> {
    let (kit, pki, tsa) = kit_with_tsa(facts("kepviselo", true)).await?;
    let t = kit.tenant("kepviselo", "Képviselő Község").await?;
    install_seal(&kit, &t, &pki).await?;
    let principal_email = portal_resident(&kit, &t).await?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let principal: Uuid =
        sqlx::query_scalar("SELECT client_id FROM client_account WHERE email = $1").bind(&principal_email).fetch_one(tx.conn()).await?;
    tx.commit().await?;
    let admin = kit.admin(&t).await?;
    let rep = citizen(&kit, &t, &admin, ("Szabó", "Béla"), "szabo.bela@example.hu").await?;
    let mandate = json!({ "principal_client_id": principal, "representative_account_id": rep.account_id, "scope": ["*"], "valid_from": "2020-01-01" });
    admin.send(reqwest::Method::POST, "/api/v1/mandates", Some(&mandate), &[WHY]).await?.expect_status(201)?;
    let profile = rep.web.get(format!("{}/profil", rep.base)).send().await?.text().await?;
    let r = rep
        .web
        .post(format!("{}/kepviselet", rep.base))
        .form(&[("csrf", hidden(&profile, "csrf").as_str()), ("principal", principal.to_string().as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), 303);

    // Béla files for the resident; the decision is addressed to the resident.
    let id = file_parking_permit(&rep.web, &rep.base).await?;
    let clerk = kit.clerk(&t).await?;
    let card = wait_issued(&clerk, id).await?;
    let doc = card["issued_decision"]["document_id"].as_str().context("document")?.to_owned();
    let docs = admin.send(reqwest::Method::GET, &format!("/api/v1/clients/{principal}/documents"), None, &[WHY]).await?;
    assert_eq!(docs.json()["documents"][0]["id"], doc.as_str(), "{}", docs.text);
    assert!(
        admin.send(reqwest::Method::GET, &format!("/api/v1/clients/{}/documents", rep.client_id), None, &[WHY]).await?.json()["documents"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    // Béla, acting for her, downloads it: that is the delivery, on her behalf.
    assert_eq!(rep.web.get(format!("{}/dokumentumok/{doc}", rep.base)).send().await?.status(), 200);
    let card = case_view(&clerk, id).await?;
    assert_eq!(
        (card["state"].as_str(), card["issued_decision"]["delivered_how"].as_str()),
        (Some("delivered"), Some("downloaded")),
        "{card}"
    );
    let docs = admin.send(reqwest::Method::GET, &format!("/api/v1/clients/{principal}/documents"), None, &[WHY]).await?.json();
    assert_eq!(docs["documents"][0]["delivery"]["account_id"], rep.account_id.to_string());
    assert_eq!(docs["documents"][0]["delivery"]["on_behalf_of_client_id"], principal.to_string());
    tsa.shutdown().await;
    kit.stop().await;
    Ok(())
}
