//! The host against real components: the fixtures in `plugins/testing` (built for
//! wasm32-wasip2 on first use) misbehave on request, and each misbehaviour must fail only its
//! own call, with a specific error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kapu_plugins::harness::{Harness, build_components};
use kapu_plugins::registry::{Address, Document, DocumentKind, PersonCheck, PersonQuery};
use kapu_plugins::{CallContext, HttpMode, Limits, Manifest, MemoryKv, PluginConfig, PluginError, Runtime};

fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        build_components(&plugins).expect("the plugins build")
    })
}

fn fixture(name: &str) -> (String, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/testing").join(name);
    let manifest = std::fs::read_to_string(root.join("plugin.toml")).expect("manifest");
    let component = std::fs::read(components().join(format!("{}.wasm", name.replace('-', "_")))).expect("component");
    (manifest, component)
}

fn limits() -> Limits {
    Limits {
        memory_mib: 32,
        timeout: Duration::from_secs(5),
        cpu_time: Duration::from_millis(300),
        concurrent_calls: 8,
        ..Limits::default()
    }
}

fn query(family_name: &str, given_name: &str) -> PersonQuery {
    PersonQuery {
        family_name: family_name.into(),
        given_name: given_name.into(),
        birth_name: None,
        mother_birth_name: "Kovács Ilona".into(),
        birth_place: "Budapest".into(),
        birth_date: "1980-05-17".into(),
        document: Document { kind: DocumentKind::IdentityCard, number: "123456AB".into() },
        address: None,
    }
}

fn hostile() -> Harness {
    let (manifest, component) = fixture("hostile");
    Harness::from_bytes(&manifest, &component, limits()).expect("hostile loads")
}

/// After each misbehaviour, the same host still answers a good call.
async fn still_serves(h: &Harness) {
    let called = h.runtime().check_person(h.plugin(), h.context(), query("Minta", "Márta")).await;
    assert_eq!(called.result.expect("a good call").check, PersonCheck::Match);
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_the_deadline() {
    let h = hostile();
    let started = std::time::Instant::now();
    let called = h.runtime().check_person(h.plugin(), h.context(), query("loop", "")).await;
    assert!(matches!(called.result, Err(PluginError::Timeout(300))), "{:?}", called.result);
    assert!(started.elapsed() < Duration::from_secs(3), "stopped by the CPU deadline, not the wall clock");
    still_serves(&h).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_cap() {
    let h = hostile();
    let called = h.runtime().check_person(h.plugin(), h.context(), query("memory", "")).await;
    let e = called.result.expect_err("stopped");
    assert!(matches!(e, PluginError::Memory(32)), "{e:?}");
    assert_eq!(e.to_string(), "the plugin tried to use more than 32 MiB of memory and was stopped");
    still_serves(&h).await;
}

#[tokio::test]
async fn a_trap_fails_only_its_call() {
    let h = hostile();
    let called = h.runtime().check_person(h.plugin(), h.context(), query("trap", "")).await;
    assert!(matches!(called.result, Err(PluginError::Trap(_))), "{:?}", called.result);
    still_serves(&h).await;
}

/// Runs a `find_vehicle` command of the hostile fixture; its report is (make-model, category).
async fn command(h: &Harness, ctx: CallContext, cmd: &str) -> Result<(String, String), PluginError> {
    let v = h.runtime().find_vehicle(h.plugin(), ctx, cmd.into(), None).await.result?.expect("a report");
    Ok((v.make_model, v.category))
}

#[tokio::test]
async fn a_forbidden_host_is_refused_and_named() {
    let h = hostile();
    // A real listener, so that only the allow-list can stop the request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let e = command(&h, h.network_context(), &format!("forbidden http://127.0.0.1:{port}/steal")).await.expect_err("refused");
    assert_eq!(e.to_string(), format!("the plugin tried to reach 127.0.0.1:{port}, which its manifest does not allow"));
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "no connection reached the listener");
    // The allowed host (faked here) answers.
    h.reply("GET", "/ok", 200, "fine");
    let r = command(&h, h.context(), "forbidden http://allowed.invalid/ok").await.expect("allowed");
    assert_eq!(r, ("200".into(), "fine".into()));
    assert_eq!(h.requests().len(), 1);
    still_serves(&h).await;
}

#[tokio::test]
async fn an_answer_outside_the_contract_is_garbage() {
    let h = hostile();
    let called = h.runtime().check_person(h.plugin(), h.context(), query("garbage", "")).await;
    let e = called.result.expect_err("garbage");
    assert_eq!(e.code(), "plugin-garbage");
    assert!(e.to_string().contains("unknown field name"), "{e}");
}

#[tokio::test]
async fn each_call_sees_only_its_own_configuration_and_store() {
    let h = hostile();
    let ctx = |tenant: &str, url: &str, key: &str| CallContext {
        tenant: tenant.into(),
        config: Arc::new(PluginConfig {
            values: [("base-url".to_owned(), url.to_owned())].into(),
            secrets: [("api-key".to_owned(), key.to_owned())].into(),
        }),
        kv: Arc::new(MemoryKv::default()),
        http: HttpMode::Network,
    };
    let a = ctx("a", "http://allowed.invalid/a", "key-a");
    let b = ctx("b", "http://allowed.invalid/b", "key-b");
    let (sa, sb) = tokio::join!(command(&h, a.clone(), "config"), command(&h, b.clone(), "config"));
    assert_eq!(sa.expect("a"), ("http://allowed.invalid/a".into(), "key-a".into()));
    assert_eq!(sb.expect("b"), ("http://allowed.invalid/b".into(), "key-b".into()));
    // The store is per tenant: a's counter goes up, b's starts at one.
    for expected in ["1", "2"] {
        assert_eq!(command(&h, a.clone(), "kv").await.expect("kv").0, expected);
    }
    assert_eq!(command(&h, b.clone(), "kv").await.expect("kv").0, "1");
}

#[tokio::test]
async fn the_trivial_plugin_answers_from_its_arguments() {
    let (manifest, component) = fixture("trivial");
    let h = Harness::from_bytes(&manifest, &component, limits()).expect("trivial loads");
    let address = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Böszörményi út 23-25.".into() };
    let v = h.runtime().find_vehicle(h.plugin(), h.context(), " abc-123 ".into(), Some(address)).await;
    let v = v.result.expect("call").expect("a vehicle");
    assert_eq!((v.plate.as_str(), v.holder_at_address), ("ABC-123", true));
    let none = h.runtime().find_vehicle(h.plugin(), h.context(), "  ".into(), None).await;
    assert_eq!(none.result.expect("call"), None);
}

#[test]
fn bad_components_and_manifests_are_refused_with_specific_messages() {
    let (manifest_text, component) = fixture("trivial");
    let manifest = Manifest::parse(&manifest_text).expect("manifest");
    let runtime = Runtime::new(limits(), None).expect("runtime");
    let check = |r: Result<kapu_plugins::Plugin, PluginError>, code: &str, text: &str| {
        let e = r.err().expect("refused");
        assert_eq!(e.code(), code, "{e}");
        assert!(e.to_string().contains(text), "{e} should contain {text}");
    };
    check(runtime.load(&manifest, b"MZ\x90\x00 not wasm", None), "plugin-malformed", "magic number");
    check(runtime.load(&manifest, b"\0asm\x01\0\0\0", None), "plugin-malformed", "core WebAssembly module");
    let mut truncated = component.clone();
    truncated.truncate(component.len() / 2);
    check(runtime.load(&manifest, &truncated, None), "plugin-malformed", "not a valid WebAssembly component");
    let parking = Manifest::parse(&manifest_text.replace("world = \"registry\"", "world = \"parking\"")).expect("manifest");
    check(runtime.load(&parking, &component, None), "plugin-world-mismatch", "must export kapu:plugin/parking@0.2.0");
    let older = Manifest::parse(&manifest_text.replace("sdk = \"0.2.0\"", "sdk = \"0.1.0\"")).expect("manifest");
    check(runtime.load(&older, &component, None), "plugin-world-mismatch", "must export kapu:plugin/registry@0.1.0");
    check(runtime.load(&manifest, &component, Some(&"0".repeat(64))), "plugin-digest-mismatch", "differs from the expected");
    let e = Manifest::parse(&manifest_text.replace("sdk = \"0.2.0\"", "sdk = \"0.0.9\"")).expect_err("refused");
    assert_eq!(e.code(), "plugin-sdk-unsupported");
    assert!(runtime.load(&manifest, &component, None).is_ok(), "the good component still loads");
}

#[tokio::test]
async fn a_plugin_built_against_the_first_contract_still_loads_and_answers() {
    let (manifest, component) = fixture("old-registry");
    let h = Harness::from_bytes(&manifest, &component, limits()).expect("the 0.1.0 plugin loads");
    assert_eq!(h.plugin().manifest().sdk, "0.1.0");
    let called = h.runtime().check_person(h.plugin(), h.context(), query("Minta", "Márta")).await;
    let answer = called.result.expect("answered");
    assert_eq!((answer.check, answer.query_id), (PersonCheck::Match, None), "0.1.0 answers carry no query id");
    assert_eq!(called.logs.len(), 1, "its log line arrived through the 0.1.0 log interface");
    let address = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Szamos utca 1.".into() };
    let a = h.runtime().check_address(h.plugin(), h.context(), address.clone()).await.result.expect("answered");
    assert_eq!(a.normalised, Some(address));
    let v = h.runtime().find_vehicle(h.plugin(), h.context(), "LADA-01".into(), None).await.result.expect("answered");
    assert_eq!(v.expect("a vehicle").make_model, "Lada 1200");
    // The current fixture answers with the 0.2.0 shape in the same host.
    let (manifest, component) = fixture("trivial");
    let new = Harness::from_bytes(&manifest, &component, limits()).expect("trivial loads");
    let answer = new.runtime().check_person(new.plugin(), new.context(), query("Minta", "Márta")).await.result.expect("answered");
    assert_eq!(answer.query_id.as_deref(), Some("trivial"));
}

#[tokio::test]
async fn a_plugin_of_another_world_built_against_the_first_contract_still_answers() {
    use kapu_plugins::parking::{Address as ParkingAddress, PermitApplication, PermitState};
    let (manifest, component) = fixture("old-parking");
    let h = Harness::from_bytes(&manifest, &component, limits()).expect("the 0.1.0 parking plugin loads");
    assert_eq!(h.plugin().manifest().sdk, "0.1.0");
    let application = |postcode: &str| PermitApplication {
        case_ref: "HV-2026-000001".into(),
        applicant_name: "Minta Márta".into(),
        address: ParkingAddress { postcode: postcode.into(), city: "Budapest".into(), street: "Szamos utca 1.".into() },
        plate: "ABC-123".into(),
        valid_from: "2026-12-02".into(),
    };
    let called = h.runtime().parking_pre_check(h.plugin(), h.context(), application("1126")).await;
    let outcome = called.result.expect("answered");
    assert!(outcome.eligible);
    assert_eq!(outcome.zone.as_deref(), Some("B"));
    assert_eq!(called.logs.len(), 1, "its log line arrived through the 0.1.0 log interface");
    let refused = h.runtime().parking_pre_check(h.plugin(), h.context(), application("9999")).await.result.expect("answered");
    assert_eq!((refused.eligible, refused.reasons), (false, vec!["9999 is outside the zones".to_owned()]));
    let permit = h.runtime().parking_submit(h.plugin(), h.context(), application("1126")).await.result.expect("answered");
    assert_eq!(
        (permit.permit_id.as_str(), permit.state, permit.valid_until.as_deref()),
        ("P-ABC-123", PermitState::Issued, Some("2027-12-31"))
    );
    let status = h.runtime().parking_status(h.plugin(), h.context(), "P-ABC-123".into()).await.result.expect("answered");
    assert_eq!(status.state, PermitState::Revoked);
}

#[tokio::test]
async fn the_template_builds_into_a_working_plugin() {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/template");
    let out = build_components(&template).expect("the template builds for wasm32-wasip2");
    let h = Harness::load(template.join("plugin.toml"), out.join("my_plugin.wasm"))
        .expect("the template loads")
        .with("base-url", "https://api.example.hu/")
        .with("api-key", "test-key");
    h.check_config().expect("the template's configuration fits its schema");
    h.reply("GET", "/addresses/1126", 200, r#"{"exists": true}"#);
    let address = Address { postcode: "1126".into(), city: "Budapest".into(), street: "Szamos utca 1.".into() };
    let called = h.runtime().check_address(h.plugin(), h.context(), address).await;
    assert!(called.result.expect("answered").exists);
    assert_eq!(h.requests()[0].header("authorization"), Some("Bearer test-key"));
}
