//! The plugins of the municipalities' local systems (`plugins/citynform`, `dmsone`, `forras`,
//! `qfusion`), hosted by the platform's runtime, against their simulators over real HTTP: the
//! happy path, the vendor's own errors, and a system that is down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kapu_plugins::PluginError;
use kapu_plugins::finance::{Money, Payment, Receivable};
use kapu_plugins::harness::{Harness, build_components};
use kapu_plugins::parking::{Address, PermitApplication, PermitState};
use kapu_plugins::queue::EventKind;
use kapu_plugins::records::Document;
use rust_decimal::Decimal;

fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_components(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).expect("the plugins build"))
}

fn plugin(name: &str) -> Harness {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins").join(name);
    Harness::load(root.join("plugin.toml"), components().join(format!("{name}.wasm"))).expect("the plugin loads")
}

/// The code and message of a failed call.
fn failed<T: std::fmt::Debug>(result: Result<T, PluginError>) -> (&'static str, String) {
    let e = result.expect_err("the call fails");
    (e.code(), e.to_string())
}

/// A URL where nothing listens: a simulator started and stopped.
async fn down_url() -> String {
    let sim = kapu_sim::citynform::start(0, "x").await.expect("simulator");
    let url = sim.url();
    sim.shutdown().await;
    url
}

fn application(case: &str, plate: &str, postcode: &str) -> PermitApplication {
    PermitApplication {
        case_ref: case.into(),
        applicant_name: "Minta Márta".into(),
        address: Address { postcode: postcode.into(), city: "Budapest".into(), street: "Böszörményi út 23-25.".into() },
        plate: plate.into(),
        valid_from: "2026-12-01".into(),
    }
}

#[tokio::test]
async fn citynform_pre_checks_submits_and_reports_permits() {
    let sim = kapu_sim::citynform::start(0, "city-key").await.expect("simulator");
    let h = plugin("citynform").with("base-url", &sim.url()).with("api-key", "city-key");
    h.check_config().expect("a valid configuration");
    let (rt, p) = (h.runtime(), h.plugin());

    let o = rt.parking_pre_check(p, h.network_context(), application("XII/2026/1", "abc 123", "1126")).await.result.expect("checked");
    assert!(o.eligible && o.reasons.is_empty(), "{o:?}");
    assert_eq!(o.zone.as_deref(), Some("XII-1"));
    assert!(sim.permits().is_empty(), "a pre-check records nothing");
    let sent = sim.received().pop().expect("a request");
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/api/v2/permit-checks"));
    let body: serde_json::Value = serde_json::from_str(&sent.body).expect("JSON");
    assert_eq!(body["vehicle"]["licensePlate"], "abc 123");
    assert_eq!(body["address"]["postalCode"], "1126");

    let o = rt.parking_pre_check(p, h.network_context(), application("XII/2026/1", "ABC-123", "1121")).await.result.expect("checked");
    assert!(!o.eligible && o.zone.is_none());
    assert_eq!(o.reasons.len(), 1);
    assert!(o.reasons[0].starts_with("ADDRESS_OUTSIDE_ZONES: "), "{:?}", o.reasons);

    let permit = rt.parking_submit(p, h.network_context(), application("XII/2026/1", "abc 123", "1126")).await.result.expect("submitted");
    assert_eq!(
        (permit.state, permit.zone.as_deref(), permit.valid_until.as_deref()),
        (PermitState::Issued, Some("XII-1"), Some("2027-11-30"))
    );
    // A retried submission answers the same permit; the plate now has one, so another case is refused.
    let again = rt.parking_submit(p, h.network_context(), application("XII/2026/1", "ABC-123", "1126")).await.result.expect("idempotent");
    assert_eq!(again.permit_id, permit.permit_id);
    let refused = rt.parking_submit(p, h.network_context(), application("XII/2026/2", "ABC-123", "1126")).await.result.expect("answered");
    assert_eq!((refused.state, refused.valid_until), (PermitState::Refused, None));
    let pending = rt.parking_submit(p, h.network_context(), application("XII/2026/3", "CD-AB-001", "1126")).await.result.expect("answered");
    assert_eq!(pending.state, PermitState::Pending);
    assert_eq!(sim.permits().len(), 3);

    let status = rt.parking_status(p, h.network_context(), permit.permit_id.clone()).await.result.expect("status");
    assert_eq!(status.state, PermitState::Issued);
    let revoke =
        reqwest::Client::new().post(format!("{}/sim/permits/{}/revoke", sim.url(), permit.permit_id)).send().await.expect("revoked");
    assert_eq!(revoke.status(), 204);
    let status = rt.parking_status(p, h.network_context(), permit.permit_id.clone()).await.result.expect("status");
    assert_eq!(status.state, PermitState::Revoked);

    // The vendor's errors.
    let (code, message) = failed(rt.parking_status(p, h.network_context(), "CP-2026-999999".into()).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("404, PERMIT_NOT_FOUND"), "{message}");
    let (code, message) = failed(rt.parking_submit(p, h.network_context(), application("XII/2026/1", "XYZ-999", "1126")).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("409, CASE_REFERENCE_CONFLICT"), "{message}");
    let (code, message) = failed(rt.parking_pre_check(p, h.network_context(), application("XII/2026/4", "AB-12", "1126")).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("VALIDATION_ERROR") && message.contains("vehicle.licensePlate: Érvénytelen rendszám."), "{message}");
    let (code, _) = failed(rt.parking_pre_check(p, h.network_context(), application("", "ABC-123", "1126")).await.result);
    assert_eq!(code, "plugin-failed-input", "refused before anything is sent");
    sim.outage(503, 1);
    let (code, message) = failed(rt.parking_status(p, h.network_context(), permit.permit_id.clone()).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
    assert!(message.contains("503, SERVICE_UNAVAILABLE"), "{message}");
    let wrong = plugin("citynform").with("base-url", &sim.url()).with("api-key", "wrong");
    let (code, message) = failed(wrong.runtime().parking_status(wrong.plugin(), wrong.network_context(), "CP-1".into()).await.result);
    assert_eq!(code, "plugin-failed-config");
    assert!(message.contains("refused the API key (401, UNAUTHORIZED"), "{message}");
    sim.shutdown().await;

    let down = plugin("citynform").with("base-url", &down_url().await).with("api-key", "k");
    let (code, message) = failed(down.runtime().parking_status(down.plugin(), down.network_context(), "CP-1".into()).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
    assert!(message.starts_with("the remote system is unavailable (the plugin said: \"failed: "), "{message}");
}

fn pdf(name: &str) -> Document {
    Document {
        subject: "Lakossági parkolási engedély iránti kérelem".into(),
        partner: "Minta Márta".into(),
        file_name: name.into(),
        media_type: "application/pdf".into(),
        content: b"%PDF-1.7\n% <kapu> & \"dms\"\n".to_vec(),
    }
}

#[tokio::test]
async fn dmsone_registers_files_and_issues_over_soap() {
    let sim = kapu_sim::dmsone::start(0, "kapu-teszt", "titok & jelszó").await.expect("simulator");
    let h = plugin("dmsone").with("base-url", &sim.url()).with("username", "kapu-teszt").with("password", "titok & jelszó");
    h.check_config().expect("a valid configuration");
    let (rt, p) = (h.runtime(), h.plugin());

    let reg = rt.records_register_incoming(p, h.network_context(), pdf("kerelem.pdf")).await.result.expect("registered");
    assert!(reg.arrival_number.starts_with("E-XII/") && reg.arrival_number.ends_with("/000001"), "{}", reg.arrival_number);
    let sent = sim.received().pop().expect("a request");
    assert_eq!(sent.header("soapaction"), Some("\"http://dmsone.hu/iktato/v3/Erkeztetes\""));
    assert_eq!(sent.header("content-type"), Some("text/xml; charset=utf-8"));
    let doc = roxmltree::Document::parse(&sent.body).expect("the plugin sends well-formed XML");
    let password = doc.descendants().find(|n| n.tag_name().name() == "Password").expect("a UsernameToken");
    assert_eq!(password.text(), Some("titok & jelszó"), "escaped in XML, read back intact");
    assert_eq!(sim.documents()[0].content, pdf("x").content, "the content arrived byte for byte (base64)");

    let filing = rt.records_file(p, h.network_context(), reg.arrival_number.clone(), None).await.result.expect("filed");
    let year = &filing.file_number[filing.file_number.rfind('/').unwrap() + 1..];
    assert_eq!(filing.file_number, format!("XII/1-1/{year}"));
    let second = rt.records_register_incoming(p, h.network_context(), pdf("hianypotlas.pdf")).await.result.expect("registered");
    let sub = rt.records_file(p, h.network_context(), second.arrival_number, Some(format!("XII/1/{year}"))).await.result.expect("filed");
    assert_eq!(sub.file_number, format!("XII/1-2/{year}"));
    let issued = rt
        .records_issue(p, h.network_context(), filing.file_number.clone(), pdf("hatarozat.pdf"), "dr. Kiss Anna".into())
        .await
        .result
        .expect("issued");
    assert_eq!(issued.file_number, format!("XII/1-3/{year}"));
    let status = rt.records_status(p, h.network_context(), issued.file_number.clone()).await.result.expect("status");
    assert_eq!((status.file_number, status.state.as_str(), status.documents), (format!("XII/1/{year}"), "kiadmanyozva", 3));

    // SOAP faults become the contract's errors.
    let (code, message) = failed(rt.records_file(p, h.network_context(), reg.arrival_number.clone(), None).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("MAR_IKTATVA: "), "{message}");
    let (code, message) = failed(rt.records_file(p, h.network_context(), "E-XII/2026/999999".into(), None).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("ISMERETLEN_ERKEZTETOSZAM"), "{message}");
    let (code, message) = failed(rt.records_status(p, h.network_context(), "XII/99/2026".into()).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("ISMERETLEN_IKTATOSZAM"), "{message}");
    let mut empty = pdf("ures.pdf");
    empty.content.clear();
    let (code, _) = failed(rt.records_register_incoming(p, h.network_context(), empty).await.result);
    assert_eq!(code, "plugin-failed-input");
    sim.outage(500, 1);
    let (code, message) = failed(rt.records_status(p, h.network_context(), issued.file_number.clone()).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
    assert!(message.contains("SZOLGALTATAS_NEM_ELERHETO"), "{message}");
    let wrong = plugin("dmsone").with("base-url", &sim.url()).with("username", "kapu-teszt").with("password", "rossz");
    let (code, message) = failed(wrong.runtime().records_status(wrong.plugin(), wrong.network_context(), "XII/1/2026".into()).await.result);
    assert_eq!(code, "plugin-failed-config");
    assert!(message.contains("HITELESITES"), "{message}");
    let wsdl = reqwest::get(format!("{}{}?wsdl", sim.url(), kapu_sim::dmsone::PATH)).await.expect("WSDL").text().await.expect("text");
    assert!(wsdl.contains("soapAction=\"http://dmsone.hu/iktato/v3/Iktatas\""));
    sim.shutdown().await;

    let down = plugin("dmsone").with("base-url", &down_url().await).with("username", "u").with("password", "p");
    let (code, _) = failed(down.runtime().records_status(down.plugin(), down.network_context(), "XII/1/2026".into()).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
}

fn receivable(reference: &str, amount: &str) -> Receivable {
    Receivable {
        payment_ref: reference.into(),
        debtor_name: "Minta Márta".into(),
        debtor_tax_id: None,
        title: "Lakossági várakozási hozzájárulás díja".into(),
        amount: Money { amount: amount.into(), currency: "HUF".into() },
        due: "2026-12-31".into(),
    }
}

fn payment(reference: &str, amount: &str, bank_ref: &str) -> Payment {
    Payment {
        payment_ref: reference.into(),
        amount: Money { amount: amount.into(), currency: "HUF".into() },
        value_date: "2026-12-03".into(),
        bank_ref: bank_ref.into(),
    }
}

#[tokio::test]
async fn forras_keeps_a_ledger_of_receivables_and_payments() {
    let sim = kapu_sim::forras::start(0, "kapu", "forras-jelszo").await.expect("simulator");
    let h = plugin("forras").with("base-url", &sim.url()).with("user", "kapu").with("password", "forras-jelszo");
    h.check_config().expect("a valid configuration");
    let (rt, p) = (h.runtime(), h.plugin());

    let fee = Money::new(Decimal::new(12500, 0), "HUF");
    let mut r = receivable("KAPU-2026-000042", "0");
    r.amount = fee;
    let posted = rt.finance_post_receivable(p, h.network_context(), r.clone()).await.result.expect("posted");
    assert_eq!(posted.posting_id, "EL-2026-000001");
    let sent = sim.received().pop().expect("a request");
    let body: serde_json::Value = serde_json::from_str(&sent.body).expect("JSON");
    assert_eq!(body["osszeg"], "12500.00", "money travels as a decimal string");
    assert_eq!(body["kotelezett"]["adoazonosito"], serde_json::Value::Null);
    let again = rt.finance_post_receivable(p, h.network_context(), r).await.result.expect("idempotent");
    assert_eq!(again.posting_id, posted.posting_id);

    let first =
        rt.finance_post_payment(p, h.network_context(), payment("KAPU-2026-000042", "5000.50", "OTP-1")).await.result.expect("paid");
    let second =
        rt.finance_post_payment(p, h.network_context(), payment("KAPU-2026-000042", "7499.5", "OTP-2")).await.result.expect("paid");
    assert_ne!(first.posting_id, second.posting_id);
    let retried =
        rt.finance_post_payment(p, h.network_context(), payment("KAPU-2026-000042", "7499.5", "OTP-2")).await.result.expect("paid");
    assert_eq!(retried.posting_id, second.posting_id, "a bank reference is booked once");
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].balance(), Decimal::ZERO, "12500.00 - 5000.50 - 7499.50");

    let (code, message) = failed(rt.finance_post_payment(p, h.network_context(), payment("KAPU-NINCS", "100", "OTP-3")).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("404, ISMERETLEN_BEFIZETESI_AZONOSITO"), "{message}");
    let (code, message) = failed(rt.finance_post_receivable(p, h.network_context(), receivable("KAPU-2026-000042", "999")).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("409, MAR_LETEZIK"), "{message}");
    let mut euro = receivable("KAPU-EUR", "10");
    euro.amount.currency = "EUR".into();
    let (code, message) = failed(rt.finance_post_receivable(p, h.network_context(), euro).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("422, NEM_TAMOGATOTT_PENZNEM"), "{message}");
    let before = sim.received().len();
    for bad in ["12.345", "-5", "0", "tizenkétezer", "1e3"] {
        let (code, message) = failed(rt.finance_post_receivable(p, h.network_context(), receivable("KAPU-X", bad)).await.result);
        assert_eq!(code, "plugin-failed-input", "{bad}: {message}");
    }
    assert_eq!(sim.received().len(), before, "a bad amount is refused before anything is sent");
    // A float-typed amount is what the vendor refuses too.
    let raw = reqwest::Client::new()
        .post(format!("{}/forras/api/v1/eloirasok", sim.url()))
        .basic_auth("kapu", Some("forras-jelszo"))
        .json(&serde_json::json!({"befizetesi_azonosito": "F", "kotelezett": {"nev": "X", "adoazonosito": null}, "jogcim": "x",
                                   "osszeg": 12500.5, "penznem": "HUF", "esedekesseg": "2026-12-31"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.json::<serde_json::Value>().await.expect("JSON")["hibakod"], "HIBAS_OSSZEG");
    sim.outage(503, 1);
    let (code, message) = failed(rt.finance_post_payment(p, h.network_context(), payment("KAPU-2026-000042", "1", "OTP-4")).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
    assert!(message.contains("NEM_ELERHETO"), "{message}");
    let wrong = plugin("forras").with("base-url", &sim.url()).with("user", "kapu").with("password", "rossz");
    let (code, message) =
        failed(wrong.runtime().finance_post_receivable(wrong.plugin(), wrong.network_context(), receivable("K", "1")).await.result);
    assert_eq!(code, "plugin-failed-config");
    assert!(message.contains("401, HITELESITES"), "{message}");
    sim.shutdown().await;

    let down = plugin("forras").with("base-url", &down_url().await).with("user", "u").with("password", "p");
    let (code, _) =
        failed(down.runtime().finance_post_receivable(down.plugin(), down.network_context(), receivable("K", "1")).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
}

#[tokio::test]
async fn qfusion_issues_calls_and_feeds_events() {
    let sim = kapu_sim::qfusion::start(0, "teszt-1", "qf-token").await.expect("simulator");
    let h = plugin("qfusion").with("base-url", &sim.url()).with("site", "teszt-1").with("token", "qf-token");
    h.check_config().expect("a valid configuration");
    let (rt, p) = (h.runtime(), h.plugin());

    let a = rt.queue_issue_ticket(p, h.network_context(), "C".into()).await.result.expect("issued");
    let b = rt.queue_issue_ticket(p, h.network_context(), "C".into()).await.result.expect("issued");
    assert_eq!((a.display_number.as_str(), b.display_number.as_str(), a.service.as_str()), ("C001", "C002", "C"));
    let called = rt.queue_call_next(p, h.network_context(), "3".into()).await.result.expect("called");
    assert_eq!(called.map(|t| t.ticket_id), Some(a.ticket_id.clone()), "the longest waiting first");
    assert!(sim.finish(&a.ticket_id, true));
    let called = rt.queue_call_next(p, h.network_context(), "5".into()).await.result.expect("called");
    assert_eq!(called.map(|t| t.ticket_id), Some(b.ticket_id.clone()));
    assert!(sim.finish(&b.ticket_id, false));
    let nobody = rt.queue_call_next(p, h.network_context(), "3".into()).await.result.expect("answered");
    assert!(nobody.is_none(), "204 when nobody waits");

    let events = rt.queue_events(p, h.network_context(), 0, 100).await.result.expect("events");
    let kinds: Vec<(u64, &str, EventKind)> = events.iter().map(|e| (e.cursor, e.ticket_id.as_str(), e.kind.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            (1, a.ticket_id.as_str(), EventKind::Issued),
            (2, b.ticket_id.as_str(), EventKind::Issued),
            (3, a.ticket_id.as_str(), EventKind::Called("3".into())),
            (4, a.ticket_id.as_str(), EventKind::Served),
            (5, b.ticket_id.as_str(), EventKind::Called("5".into())),
            (6, b.ticket_id.as_str(), EventKind::NoShow),
        ]
    );
    let page = rt.queue_events(p, h.network_context(), 2, 2).await.result.expect("events");
    assert_eq!(page.iter().map(|e| e.cursor).collect::<Vec<_>>(), vec![3, 4], "after the cursor, at most the limit");
    assert!(rt.queue_events(p, h.network_context(), 6, 100).await.result.expect("events").is_empty());
    let sent = sim.received().pop().expect("a request");
    assert_eq!((sent.path.as_str(), sent.header("x-qf-site")), ("/qfusion/v1/events?after=6&limit=100", Some("teszt-1")));

    let (code, message) = failed(rt.queue_issue_ticket(p, h.network_context(), "Z".into()).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("404, UNKNOWN_SERVICE"), "{message}");
    let (code, message) = failed(rt.queue_call_next(p, h.network_context(), "9".into()).await.result);
    assert_eq!(code, "plugin-failed-rejected");
    assert!(message.contains("UNKNOWN_COUNTER"), "{message}");
    let (code, _) = failed(rt.queue_call_next(p, h.network_context(), "../tickets".into()).await.result);
    assert_eq!(code, "plugin-failed-input");
    sim.outage(503, 1);
    let (code, message) = failed(rt.queue_events(p, h.network_context(), 0, 10).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
    assert!(message.contains("MAINTENANCE"), "{message}");
    let other_site = plugin("qfusion").with("base-url", &sim.url()).with("site", "masik-2").with("token", "qf-token");
    let (code, message) =
        failed(other_site.runtime().queue_issue_ticket(other_site.plugin(), other_site.network_context(), "A".into()).await.result);
    assert_eq!(code, "plugin-failed-config");
    assert!(message.contains("403, WRONG_SITE"), "{message}");
    sim.shutdown().await;

    let down = plugin("qfusion").with("base-url", &down_url().await).with("site", "s").with("token", "t");
    let (code, _) = failed(down.runtime().queue_events(down.plugin(), down.network_context(), 0, 10).await.result);
    assert_eq!(code, "plugin-failed-unavailable");
}
