//! The plugin's tests: the harness builds the component, hosts it as the platform would and
//! fakes the vendor's HTTP replies. Run with `cargo test` (native; no platform, no database).

use kapu_plugins::harness::{Harness, build_components};
use kapu_plugins::registry::Address;

fn harness() -> Harness {
    let out = build_components(env!("CARGO_MANIFEST_DIR")).expect("the plugin builds");
    Harness::load(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"), out.join("my_plugin.wasm"))
        .expect("the plugin loads")
        .with("base-url", "https://api.example.hu/")
        .with("api-key", "test-key")
}

#[tokio::test]
async fn an_existing_address_is_confirmed() {
    let h = harness();
    h.check_config().expect("the configuration fits the schema");
    h.reply("GET", "/addresses/1126", 200, r#"{"exists": true}"#);
    let address = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Szamos utca 1.".into() };
    let called = h.runtime().check_address(h.plugin(), h.context(), address).await;
    assert!(called.result.expect("answered").exists);
    let sent = h.requests();
    assert_eq!(sent[0].header("authorization"), Some("Bearer test-key"));
}

#[tokio::test]
async fn a_failing_service_is_reported_unavailable() {
    let h = harness();
    h.reply("GET", "/addresses/1126", 503, "");
    let address = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Szamos utca 1.".into() };
    let e = h.runtime().check_address(h.plugin(), h.context(), address).await.result.expect_err("fails");
    assert_eq!(e.code(), "plugin-failed-unavailable");
}
