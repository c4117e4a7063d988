//! The registry plugin (`plugins/registry`): against faked replies in the harness, as a
//! plugin author would test it, and against the SZL simulator over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kapu_plugins::harness::{Harness, build_components};
use kapu_plugins::registry::{Address, Document, DocumentKind, PersonCheck, PersonQuery};

fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_components(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).expect("the plugins build"))
}

fn plugin() -> Harness {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/registry");
    Harness::load(root.join("plugin.toml"), components().join("registry.wasm")).expect("the registry plugin loads")
}

fn minta() -> PersonQuery {
    PersonQuery {
        family_name: "Minta".into(),
        given_name: "Márta".into(),
        birth_name: None,
        mother_birth_name: "Kovács Ilona".into(),
        birth_place: "Budapest".into(),
        birth_date: "1980-05-17".into(),
        document: Document { kind: DocumentKind::IdentityCard, number: "123456AB".into() },
        address: None,
    }
}

fn home() -> Address {
    Address { postcode: "1126".into(), city: "Budapest".into(), street: "Böszörményi út 23-25.".into() }
}

const CHECK: &str = "/szl/v1/szemelyazonosito-ellenorzes";

#[tokio::test]
async fn the_person_check_speaks_the_szl_protocol() {
    let h = plugin().with("base-url", "https://szl.gov.hu/").with("api-key", "secret-key");
    h.check_config().expect("a valid configuration");
    h.reply("POST", CHECK, 200, r#"{"lekerdezes_azonosito":"x","eredmeny":"elter","elteresek":["anyja_neve","okmany_ervenyesseg"]}"#);
    let called = h.runtime().check_person(h.plugin(), h.context(), minta()).await;
    let answer = called.result.expect("answered");
    assert_eq!(answer.check, PersonCheck::Mismatch(vec!["mother-birth-name".into(), "document-validity".into()]));
    assert_eq!(answer.query_id.as_deref(), Some("x"));
    let sent = &h.requests()[0];
    assert_eq!((sent.method.as_str(), sent.url.as_str()), ("POST", "https://szl.gov.hu/szl/v1/szemelyazonosito-ellenorzes"));
    assert_eq!(sent.header("authorization"), Some("Bearer secret-key"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["szuletesi_ido"], "1980-05-17");
    assert_eq!(body["szuletesi_nev"], serde_json::Value::Null);
    assert_eq!(body["okmany"], serde_json::json!({"tipus": "szemelyi_igazolvany", "szam": "123456AB"}));
    assert_eq!(body["lakcim"], serde_json::Value::Null);
}

#[tokio::test]
async fn registry_failures_become_the_contracts_errors() {
    let h = plugin().with("base-url", "https://szl.gov.hu").with("api-key", "k");
    let cases = [
        (401, r#"{"hiba":"jogosulatlan","uzenet":"x"}"#, "plugin-failed-config"),
        (400, r#"{"hiba":"hibas_keres","uzenet":"hiányzó mező: anyja_neve"}"#, "plugin-failed-rejected"),
        (503, "", "plugin-failed-unavailable"),
        (200, "<html>maintenance</html>", "plugin-failed-protocol"),
        (200, r#"{"eredmeny":"talan","elteresek":[]}"#, "plugin-failed-protocol"),
        (200, r#"{"eredmeny":"elter","elteresek":["cipomeret"]}"#, "plugin-failed-protocol"),
    ];
    for (status, body, code) in cases {
        h.reply("POST", CHECK, status, body);
        let e = h.runtime().check_person(h.plugin(), h.context(), minta()).await.result.expect_err("fails");
        assert_eq!(e.code(), code, "{status} {body}: {e}");
    }
    let unconfigured = plugin();
    let e = unconfigured.runtime().check_person(unconfigured.plugin(), unconfigured.context(), minta()).await.result;
    assert_eq!(
        e.expect_err("no configuration").to_string(),
        "the plugin's configuration is unusable (the plugin said: \"the setting base-url is not set\")"
    );
}

#[tokio::test]
async fn persons_addresses_and_vehicles_against_the_simulator() {
    let sim = kapu_sim::registry::start(0, "sim-key").await.expect("simulator");
    let h =
        plugin().with("base-url", &sim.url()).with("api-key", "sim-key").with("vehicle-url", &sim.url()).with("vehicle-api-key", "sim-key");
    h.check_config().expect("the simulator's URL is an allowed host");
    let rt = h.runtime();
    let mut q = minta();
    q.address = Some(home());
    let answer = rt.check_person(h.plugin(), h.network_context(), q).await.result.expect("checked");
    assert_eq!(answer.check, PersonCheck::Match);
    assert_eq!(answer.query_id.map(|id| id.len()), Some(36), "the simulator's query id (a UUID) comes back");
    let mut expired = minta();
    expired.family_name = "Próba".into();
    expired.given_name = "Péter".into();
    expired.mother_birth_name = "Szabó Erzsébet".into();
    expired.birth_place = "Debrecen".into();
    expired.birth_date = "1975-11-02".into();
    expired.document.number = "654321CD".into();
    assert_eq!(
        rt.check_person(h.plugin(), h.network_context(), expired).await.result.expect("checked").check,
        PersonCheck::Mismatch(vec!["document-validity".into()])
    );

    let lower = Address { postcode: "1126".into(), city: "budapest".into(), street: "Böszörményi út 23-25".into() };
    let a = rt.check_address(h.plugin(), h.network_context(), lower).await.result.expect("checked");
    assert!(a.exists);
    assert_eq!(a.normalised, Some(home()), "the registry's spelling comes back");
    let nowhere = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Nincs utca 99.".into() };
    let a = rt.check_address(h.plugin(), h.network_context(), nowhere).await.result.expect("checked");
    assert!(!a.exists && a.normalised.is_none());

    let v = rt.find_vehicle(h.plugin(), h.network_context(), "abc 123".into(), Some(home())).await.result.expect("looked up");
    let v = v.expect("found");
    assert_eq!(
        (v.plate.as_str(), v.make_model.as_str(), v.category.as_str(), v.holder_at_address),
        ("ABC-123", "Suzuki Swift", "M1", true)
    );
    let v = rt.find_vehicle(h.plugin(), h.network_context(), "MNO-456".into(), Some(home())).await.result.expect("looked up");
    assert!(!v.expect("found").holder_at_address, "kept in Győr, not at the given address");
    let none = rt.find_vehicle(h.plugin(), h.network_context(), "ZZZ-999".into(), None).await.result.expect("looked up");
    assert!(none.is_none());

    let no_vehicles = plugin().with("base-url", &sim.url()).with("api-key", "sim-key");
    let e = no_vehicles.runtime().find_vehicle(no_vehicles.plugin(), no_vehicles.network_context(), "ABC-123".into(), None).await;
    assert_eq!(e.result.expect_err("not configured").code(), "plugin-failed-config");

    let wrong_key = plugin().with("base-url", &sim.url()).with("api-key", "wrong");
    let e = wrong_key.runtime().check_person(wrong_key.plugin(), wrong_key.network_context(), minta()).await;
    assert!(e.result.expect_err("refused").to_string().contains("refused the API key (401, jogosulatlan"));
    sim.shutdown().await;
}
