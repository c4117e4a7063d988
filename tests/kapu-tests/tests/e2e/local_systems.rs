//! The cases' work in the municipality's local systems, through the vendor plugins against
//! their simulators over HTTP: filing in DMS One, the fee's receivable and payment in
//! Forrás, Citynform's pre-check and the granted permit, an outage that leaves the work
//! pending and visible, and a tenant without a plugin. The job queue is driven step by step.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use kapu_cases::{CaseState, FixedFacts, Identification, Once, Submission};
use kapu_jobs::{Outcome, Worker, WorkerConfig};
use kapu_sim::{citynform, dmsone, forras};
use kapu_testkit::{Kit, KitOptions, TestTenant, eventually};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{Env, parking, portal_client, portal_resident, today, year};

async fn install_dmsone(kit: &Kit, t: &TestTenant, sim: &dmsone::DmsOneSim) -> Result<()> {
    let url = sim.url();
    kit.install_plugin(t, "dmsone", &[("base-url", &url), ("username", dmsone::DEFAULT_USERNAME), ("password", dmsone::DEFAULT_PASSWORD)])
        .await
}

async fn install_forras(kit: &Kit, t: &TestTenant, sim: &forras::ForrasSim) -> Result<()> {
    let url = sim.url();
    kit.install_plugin(t, "forras", &[("base-url", &url), ("user", forras::DEFAULT_USER), ("password", forras::DEFAULT_PASSWORD)]).await
}

/// The requests a vendor simulator received, read over HTTP from its control endpoint.
async fn sim_requests(base: &str) -> Result<Vec<Value>> {
    Ok(reqwest::get(format!("{base}/sim/requests")).await?.json().await?)
}

fn soap_actions(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| r["headers"].as_array()?.iter().find(|h| h[0] == "soapaction").and_then(|h| h[1].as_str()))
        .map(|a| a.trim_matches('"').rsplit('/').next().unwrap_or_default().to_owned())
        .collect()
}

/// The clerk's view of a case over the API: its `local_systems`.
async fn local_systems(clerk: &kapu_testkit::Client, id: Uuid) -> Result<Value> {
    let r = clerk.get(&format!("/api/v1/cases/{id}")).await?;
    r.expect_status(200)?;
    Ok(r.json()["local_systems"].clone())
}

fn work<'a>(ls: &'a Value, task: &str) -> Vec<&'a Value> {
    ls["work"].as_array().unwrap().iter().filter(|w| w["task"] == task).collect()
}

fn worker(kit: &Kit, backoff: Duration) -> Result<Worker> {
    kit.job_worker(WorkerConfig { lease: Duration::from_secs(30), backoff, poll: Duration::from_secs(1) })
}

#[tokio::test]
async fn a_filed_case_gets_its_file_number_from_dms_one_and_its_fee_is_posted_to_forras() -> Result<()> {
    let env = Env::start("iktato").await?;
    let (dms, fin) = (
        dmsone::start(0, dmsone::DEFAULT_USERNAME, dmsone::DEFAULT_PASSWORD).await?,
        forras::start(0, forras::DEFAULT_USER, forras::DEFAULT_PASSWORD).await?,
    );
    install_dmsone(&env.kit, &env.t, &dms).await?;
    install_forras(&env.kit, &env.t, &fin).await?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;
    let clerk = env.kit.clerk(&env.t).await?;
    let cert = Submission {
        code: "official-certificate".into(),
        form_version: 1,
        values: json!({ "purpose": "loan", "copies": 1 }),
        once: Once::Key("c1".into()),
    };
    let filed = env.submit(&anna, &cert).await??;
    assert_eq!((filed.state, filed.fee_gross), (CaseState::AwaitingPayment, Some(Decimal::from(3000))));
    let before = local_systems(&clerk, filed.case_id).await?;
    assert_eq!(work(&before, "records.file")[0]["state"], "pending", "queued with the submission: {before}");
    assert_eq!(work(&before, "finance.receivable")[0]["state"], "pending");

    let w = worker(&env.kit, Duration::from_millis(50))?;
    w.drain(env.t.slug()).await?;

    // DMS One registered the application, then filed it under a new file number.
    assert_eq!(soap_actions(&sim_requests(&dms.url()).await?), ["Erkeztetes", "Iktatas"]);
    let docs = dms.documents();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!((doc.partner.as_str(), doc.file_name.as_str()), ("Kiss Anna", format!("kerelem-{}.json", filed.number).as_str()));
    let content: Value = serde_json::from_slice(&doc.content)?;
    assert_eq!(content["case_number"], filed.number.as_str());
    let ls = local_systems(&clerk, filed.case_id).await?;
    assert_eq!(ls["file_number"].as_str(), doc.file_number.as_deref(), "{ls}");
    assert_eq!(ls["arrival_number"].as_str(), doc.arrival_number.as_deref());
    assert!(ls["file_number"].as_str().unwrap().ends_with(&format!("-1/{}", year())), "{ls}");

    // Forrás holds the receivable under the case number; nothing is paid yet.
    let ledger = fin.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].befizetesi_azonosito.as_str(), ledger[0].osszeg), (filed.number.as_str(), Decimal::from(3000)));
    assert_eq!(ledger[0].kotelezett_nev, "Kiss Anna");
    assert!(ledger[0].befizetesek.is_empty());
    let receivable = work(&ls, "finance.receivable");
    assert_eq!(
        (receivable[0]["state"].as_str(), receivable[0]["reference"].as_str()),
        (Some("done"), Some(ledger[0].tetel_azonosito.as_str()))
    );

    // The payment is confirmed: Forrás books it against the receivable.
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    kapu_cases::payment_confirmed(&mut tx, &ring, filed.case_id, Decimal::from(3000), "OTP-20261203-000123", Utc::now()).await?;
    tx.commit().await?;
    w.drain(env.t.slug()).await?;
    let ledger = fin.ledger();
    assert_eq!(ledger[0].befizetesek.len(), 1);
    assert_eq!(
        (ledger[0].befizetesek[0].osszeg, ledger[0].befizetesek[0].banki_azonosito.as_str()),
        (Decimal::from(3000), "OTP-20261203-000123")
    );
    assert_eq!(ledger[0].balance(), Decimal::ZERO);
    let finance_paths: Vec<String> = sim_requests(&fin.url()).await?.iter().filter_map(|r| r["path"].as_str().map(str::to_owned)).collect();
    assert_eq!(finance_paths, ["/forras/api/v1/eloirasok", "/forras/api/v1/befizetesek"], "a receivable, then a payment");
    let ls = local_systems(&clerk, filed.case_id).await?;
    assert_eq!(work(&ls, "finance.payment")[0]["state"], "done", "{ls}");
    assert!(work(&ls, "parking.submit").is_empty(), "a certificate is no parking permit: {ls}");
    assert!(ls["work"].as_array().unwrap().iter().all(|w| w["state"] == "done"), "{ls}");
    env.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_outage_leaves_the_work_pending_and_visible_and_after_recovery_it_is_done_once() -> Result<()> {
    let env = Env::start("kieses").await?;
    let dms = dmsone::start(0, dmsone::DEFAULT_USERNAME, dmsone::DEFAULT_PASSWORD).await?;
    install_dmsone(&env.kit, &env.t, &dms).await?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;
    let clerk = env.kit.clerk(&env.t).await?;
    reqwest::Client::new().post(format!("{}/sim/outage", dms.url())).json(&json!({ "status": 503, "count": 1 })).send().await?;
    let filed = env.submit(&anna, &parking("p1", "ABC-123", "1126")).await??;
    assert_eq!(filed.state, CaseState::Decided, "the first permit is granted by the rules");

    // The filing job runs first and fails: DMS One is down.
    let w = worker(&env.kit, Duration::from_secs(3))?;
    let slug = kapu_core::TenantSlug::parse(env.t.slug())?;
    let (_, outcome) = w.run_one(&slug).await?.unwrap();
    assert_eq!(outcome, Outcome::Retrying);
    let ls = local_systems(&clerk, filed.case_id).await?;
    let pending = work(&ls, "records.file");
    assert_eq!(pending.len(), 1, "{ls}");
    assert_eq!(
        (pending[0]["state"].as_str(), pending[0]["system"].as_str(), pending[0]["attempts"].as_i64()),
        (Some("pending"), Some("records"), Some(1))
    );
    let error = pending[0]["last_error"].as_str().unwrap();
    assert_eq!(error, "records: dmsone: the system is unavailable (plugin-failed-unavailable)");
    assert!(pending[0]["next_attempt_at"].is_string());
    assert!(ls["file_number"].is_null());
    // The admin's record of failed calls has DMS One's own words.
    let admin = env.kit.admin(&env.t).await?;
    let errors = admin.get("/api/v1/plugins/dmsone/errors").await?.json();
    assert_eq!(errors["errors"][0]["code"], "plugin-failed-unavailable", "{errors}");

    // The rest of the queue goes on; the tenant has no parking plugin, so the permit is not
    // attempted and the case says so, once.
    w.drain(env.t.slug()).await?;
    let ls = local_systems(&clerk, filed.case_id).await?;
    let permit = work(&ls, "parking.submit");
    assert_eq!(permit.len(), 1, "{ls}");
    assert_eq!(permit[0]["state"], "not_installed");

    // DMS One is back: the retry files the case, and only once.
    eventually(Duration::from_secs(20), "the case to be filed", || async {
        w.drain(env.t.slug()).await?;
        let ls = local_systems(&clerk, filed.case_id).await?;
        Ok(ls["file_number"].as_str().map(str::to_owned))
    })
    .await?;
    w.drain(env.t.slug()).await?;
    assert_eq!(
        soap_actions(&sim_requests(&dms.url()).await?),
        ["Erkeztetes", "Erkeztetes", "Iktatas"],
        "the refused request, then one of each"
    );
    assert_eq!(dms.documents().len(), 1, "registered once");
    let ls = local_systems(&clerk, filed.case_id).await?;
    let filed_work = work(&ls, "records.file");
    assert_eq!((filed_work.len(), filed_work[0]["state"].as_str()), (1, Some("done")), "{ls}");
    let states: Vec<&str> = ls["work"].as_array().unwrap().iter().map(|w| w["state"].as_str().unwrap()).collect();
    assert!(!states.contains(&"pending") && !states.contains(&"failed"), "{ls}");
    env.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn citynform_pre_checks_the_application_on_the_portal_and_gets_the_granted_permit() -> Result<()> {
    let mut facts = FixedFacts::default();
    facts.insert(
        "parkolo",
        "parking-permit",
        json!({ "existing_permits": 0, "vehicle": { "owner_is_applicant": true, "keeper_is_applicant": true, "max_mass_kg": 1800 } }),
    );
    let kit = Kit::start_with(KitOptions { facts: Some(Arc::new(facts)), ..KitOptions::default() }).await?;
    let t = kit.tenant("parkolo", "Parkoló Község").await?;
    let sim = citynform::start(0, citynform::DEFAULT_API_KEY).await?;
    let url = sim.url();
    kit.install_plugin(&t, "citynform", &[("base-url", &url), ("api-key", citynform::DEFAULT_API_KEY)]).await?;
    let email = portal_resident(&kit, &t).await?;
    let clerk = kit.clerk(&t).await?;
    let (c, base) = portal_client(&kit, &t, &email).await?;
    let apply = |plate: &'static str, once: &'static str| {
        let (c, base) = (&c, &base);
        async move {
            let page = c.get(format!("{base}/ugyintezes/parking-permit")).send().await?.text().await?;
            let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf)
                .text("once", once)
                .text("form_version", "1")
                .text("action", "submit")
                .text("vehicle", plate)
                .text("address.postcode", "1126")
                .text("address.city", "Budapest")
                .text("address.street", "Böszörményi út 23.")
                .text("valid_from", today())
                .text("declaration", "on");
            anyhow::Ok(c.post(format!("{base}/ugyintezes/parking-permit")).multipart(form).send().await?)
        }
    };

    // Eligible: the application is filed and granted by the rules.
    let r = apply("abc-123", "first").await?;
    assert_eq!(r.status(), 303, "{}", r.text().await?);
    let case_path = r.headers()["location"].to_str()?.to_owned();
    let id: Uuid = case_path.split('/').nth(4).unwrap().split('?').next().unwrap().parse()?;
    let checks = sim_requests(&url).await?;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["path"], "/api/v2/permit-checks");
    assert!(sim.permits().is_empty(), "a pre-check records nothing");

    // The granted permit goes to Citynform; the client sees its number on the portal.
    kit.job_worker(WorkerConfig::default())?.drain(t.slug()).await?;
    let permits = sim.permits();
    assert_eq!(permits.len(), 1);
    assert_eq!(
        (permits[0].case_reference.as_str(), permits[0].license_plate.as_str(), permits[0].status),
        (format!("HV-{}-000001", year()).as_str(), "ABC-123", "ISSUED")
    );
    let page = c.get(format!("{}{case_path}", kit.base)).send().await?.text().await?;
    assert!(page.contains(&format!("<dd id=\"permit-id\">{}", permits[0].permit_id)), "{page}");
    assert!(page.contains("<dd id=\"permit-zone\">XII-1</dd>"), "{page}");
    let ls = local_systems(&clerk, id).await?;
    assert_eq!(ls["permit_id"].as_str(), Some(permits[0].permit_id.as_str()));
    assert_eq!(work(&ls, "parking.submit")[0]["detail"]["state"], "issued");
    assert_eq!(work(&ls, "records.file")[0]["state"], "not_installed", "no records plugin: not attempted: {ls}");

    // The same vehicle again: Citynform's pre-check says it holds a permit, and the client is told.
    let r = apply("ABC-123", "second").await?;
    assert_eq!(r.status(), 422);
    let html = r.text().await?;
    assert!(html.contains("A parkolási rendszer szerint erre a gépjárműre már érvényes várakozási hozzájárulást adtak ki."), "{html}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let cases: i64 = sqlx::query_scalar(r#"SELECT count(*) FROM "case" WHERE number IS NOT NULL"#).fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(cases, 1, "no case for the refused application");

    // Citynform is down: the pre-check cannot run, so a clerk decides.
    sim.outage(503, 1);
    let r = apply("XYZ-987", "third").await?;
    assert_eq!(r.status(), 303);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let state: String = sqlx::query_scalar(r#"SELECT state FROM "case" WHERE number = $1"#)
        .bind(format!("HV-{}-000002", year()))
        .fetch_one(tx.conn())
        .await?;
    tx.commit().await?;
    assert_eq!(state, "in_review");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_issued_decision_is_issued_in_dms_one_under_the_case_file_number() -> Result<()> {
    let env = Env::start("kiadmany").await?;
    let dms = dmsone::start(0, dmsone::DEFAULT_USERNAME, dmsone::DEFAULT_PASSWORD).await?;
    install_dmsone(&env.kit, &env.t, &dms).await?;
    let pki = kapu_documents::pki::TestPki::generate("Ügyes Önkormányzat", Utc::now())?;
    let tsa = kapu_sim::tsa::start(0, Arc::new(pki.tsa_signer()?)).await?;
    kapu::documents::install_seal_pem(
        &env.kit.db,
        &env.kit.crypto,
        &env.t.tenant.slug,
        &pki.seal_key,
        &format!("{}{}", pki.seal_cert, pki.ca_cert),
    )
    .await?;
    let delivery = kapu::wiring::DeliveryConfig::new(tsa.url(), Some(pki.ca_cert.clone()), "http://kiadmany.test");
    let w = kapu::wiring::with_delivery(worker(&env.kit, Duration::from_millis(50))?, env.kit.crypto.clone(), &delivery)?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;
    let clerk = env.kit.clerk(&env.t).await?;
    let filed = env.submit(&anna, &parking("p1", "ABC-123", "1126")).await??;
    w.drain(env.t.slug()).await?;
    let file_number = local_systems(&clerk, filed.case_id).await?["file_number"].as_str().unwrap().to_owned();

    // The automatic decision is issued (sealed and time-stamped) by the case.decided job, then
    // issued in DMS One as the file's next sub-number.
    w.drain(env.t.slug()).await?;
    let docs = dms.documents();
    assert_eq!(docs.len(), 2, "the application and the decision");
    let issued = &docs[1];
    assert_eq!(issued.media_type, "application/pdf");
    assert!(issued.content.starts_with(b"%PDF"), "the sealed PDF");
    assert_eq!(issued.partner, "Ügyes Önkormányzat", "signed off in the municipality's name");
    let main = file_number.split_once('-').unwrap().0.to_owned();
    assert_eq!(issued.file_number.as_deref(), Some(format!("{main}-2/{}", year()).as_str()), "the next sub-number of {file_number}");
    assert_eq!(soap_actions(&sim_requests(&dms.url()).await?), ["Erkeztetes", "Iktatas", "Kiadmanyozas"]);
    let ls = local_systems(&clerk, filed.case_id).await?;
    let issue = work(&ls, "records.issue");
    assert_eq!((issue.len(), issue[0]["state"].as_str()), (1, Some("done")), "{ls}");
    let case = clerk.get(&format!("/api/v1/cases/{}", filed.case_id)).await?.json();
    assert_eq!(issue[0]["detail"]["document_id"], case["issued_decision"]["document_id"], "the case's own decision");
    assert_eq!(issue[0]["reference"].as_str(), issued.file_number.as_deref());
    env.kit.stop().await;
    Ok(())
}
