//! Plugins per tenant: installed and configured from the command line, secrets sealed at
//! rest, called over real HTTP against the registry simulator, failures recorded for the
//! tenant's admin, and nothing shared between tenants.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::Result;
use kapu_core::TenantSlug;
use kapu_plugins::installation::Plugins;
use kapu_plugins::registry::{Address, Document, DocumentKind, PersonCheck, PersonQuery};
use kapu_plugins::{Limits, PluginError, Runtime};
use kapu_testkit::{Kit, workspace_root};

fn components() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| kapu_plugins::harness::build_components(workspace_root().join("plugins")).expect("the plugins build"))
}

async fn run(kit: &Kit, args: &[&str], env: &[(&str, &str)]) -> Result<(bool, String, String)> {
    let mut cmd = kit.kapu_command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await?;
    Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
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
        address: Some(Address { postcode: "1126".into(), city: "Budapest".into(), street: "Böszörményi út 23-25.".into() }),
    }
}

#[tokio::test]
async fn tenants_install_configure_and_call_their_own_plugins() -> Result<()> {
    let kit = Kit::start().await?;
    let a = kit.tenant("plug-a", "A").await?;
    let b = kit.tenant("plug-b", "B").await?;
    let wasm = components().join("registry.wasm");
    let wasm = wasm.to_str().unwrap();
    let manifest = "plugins/registry/plugin.toml";
    let sim = kit.registry.url();

    for t in [a.slug(), b.slug()] {
        let (ok, out, err) = run(&kit, &["plugin", "install", "--tenant", t, "--manifest", manifest, "--component", wasm], &[]).await?;
        assert!(ok && out.contains("Installed registry 0.1.0 (registry world, SDK 0.2.0)"), "{out}{err}");
        assert!(out.contains("Configure it before use"), "{out}");
    }
    // A configures the simulator with the right key, B with a wrong one.
    let (ok, out, err) = run(
        &kit,
        &[
            "plugin",
            "configure",
            "--tenant",
            a.slug(),
            "registry",
            "--set",
            &format!("base-url={sim}"),
            "--set-from-env",
            "api-key=SZL_KEY",
        ],
        &[("SZL_KEY", kit.registry.api_key())],
    )
    .await?;
    assert!(ok && out.contains("secrets set: api-key"), "{out}{err}");
    let (ok, _, err) = run(
        &kit,
        &["plugin", "configure", "--tenant", b.slug(), "registry", "--set", &format!("base-url={sim}"), "--set", "api-key=b-wrong-key"],
        &[],
    )
    .await?;
    assert!(ok, "{err}");
    let (ok, out, _) = run(&kit, &["plugin", "list", "--tenant", a.slug()], &[]).await?;
    assert!(ok && out.contains("registry") && out.contains("configured") && !out.contains("NOT"), "{out}");

    // The key is sealed at rest: not in the row's plain columns, not in the ciphertext.
    let su = kit.superuser().await?;
    let (config, sealed): (serde_json::Value, Vec<u8>) =
        sqlx::query_as("SELECT config, secrets_enc FROM t_plug_a.plugin_installation WHERE name = 'registry'").fetch_one(&su).await?;
    assert_eq!(config["base-url"], sim.as_str());
    assert!(config.get("api-key").is_none());
    let key = kit.registry.api_key().as_bytes();
    assert!(!sealed.windows(key.len()).any(|w| w == key), "the key is not stored in clear");

    // Calls: A's plugin reaches the simulator over HTTP and answers; B's fails on its own key.
    let network = kapu_plugins::NetworkPolicy::strict().allowing_list(kapu_testkit::KIT_PLUGIN_ALLOW).map_err(anyhow::Error::msg)?;
    let runtime = Arc::new(Runtime::new(Limits { network, ..Limits::default() }, None)?);
    let plugins = Plugins::new(kit.db.clone(), kit.crypto.clone(), runtime.clone());
    let slug_a = TenantSlug::parse(a.slug())?;
    let slug_b = TenantSlug::parse(b.slug())?;
    let before = kit.registry.queries().await;
    let (plugin, ctx) = plugins.context(&slug_a, "registry").await?;
    let called = runtime.check_person(&plugin, ctx, minta()).await;
    assert_eq!(called.result?.check, PersonCheck::Match);
    assert_eq!(kit.registry.queries().await, before + 1, "the check went to the simulator");
    let mut wrong = minta();
    wrong.mother_birth_name = "Kovacs Ilona".into();
    let (plugin, ctx) = plugins.context(&slug_a, "registry").await?;
    let called = runtime.check_person(&plugin, ctx, wrong).await;
    assert_eq!(called.result?.check, PersonCheck::Mismatch(vec!["mother-birth-name".into()]));

    let e = plugins.check_person(&slug_b, "registry", minta(), chrono::Utc::now()).await.expect_err("B's key is wrong");
    assert_eq!(e.code(), "plugin-failed-config");
    assert!(e.to_string().contains("refused the API key (401"), "{e}");
    // The failure was recorded for B's admin by the call itself.
    let (ok, out, _) = run(&kit, &["plugin", "errors", "--tenant", b.slug(), "registry"], &[]).await?;
    assert!(ok && out.contains("check-person") && out.contains("plugin-failed-config"), "{out}");
    let (ok, out, _) = run(&kit, &["plugin", "errors", "--tenant", a.slug(), "registry"], &[]).await?;
    assert!(ok && out.contains("No failed calls"), "A sees none of B's failures: {out}");

    // B's role cannot read A's plugin rows, even by naming A's schema.
    let mut tx = kit.db.tenant_tx_for(&slug_b).await?;
    let denied = sqlx::query("SELECT config FROM t_plug_a.plugin_installation").fetch_all(tx.conn()).await;
    assert!(denied.is_err(), "tenant B's role is refused A's table");
    drop(tx);

    // Removing the plugin removes its configuration; calling it then says so.
    let (ok, _, err) = run(&kit, &["plugin", "remove", "--tenant", b.slug(), "registry"], &[]).await?;
    assert!(ok, "{err}");
    let gone = plugins.context(&slug_b, "registry").await.err().expect("removed");
    assert!(matches!(gone, PluginError::NotInstalled(_)), "{gone}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM t_plug_b.plugin_call_error").fetch_one(&su).await?;
    assert_eq!(left, 0, "its error record went with it");
    Ok(())
}

#[tokio::test]
async fn bad_plugins_and_configurations_are_refused_with_specific_messages() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("plug-bad", "Bad").await?;
    let wasm = components().join("registry.wasm");
    let wasm = wasm.to_str().unwrap();
    let dir = tempfile::tempdir()?;
    let manifest = std::fs::read_to_string(workspace_root().join("plugins/registry/plugin.toml"))?;
    let write = |name: &str, text: &str| -> Result<String> {
        let p = dir.path().join(name);
        std::fs::write(&p, text)?;
        Ok(p.to_str().unwrap().to_owned())
    };
    let future = write("future.toml", &manifest.replace("sdk = \"0.2.0\"", "sdk = \"0.9.0\""))?;
    let garbage = write("garbage.wasm", "this is not a component")?;
    let good = write("plugin.toml", &manifest)?;
    let install = |m: String, c: String, extra: Vec<&'static str>| {
        let kit = &kit;
        let slug = t.slug().to_owned();
        async move {
            let mut args = vec!["plugin", "install", "--tenant", &slug, "--manifest", &m, "--component", &c];
            args.extend(extra);
            run(kit, &args, &[]).await
        }
    };
    let (ok, _, err) = install(future, wasm.to_owned(), vec![]).await?;
    assert!(!ok && err.contains("needs SDK version 0.9.0, which this platform does not run (supported: 0.1.0, 0.2.0)"), "{err}");
    let (ok, _, err) = install(good.clone(), garbage, vec![]).await?;
    assert!(!ok && err.contains("does not start with the WebAssembly magic number"), "{err}");
    let (ok, _, err) = install(good.clone(), wasm.to_owned(), vec!["--sha256", "00"]).await?;
    assert!(!ok && err.contains("differs from the expected 00"), "{err}");
    let (ok, out, _) = run(&kit, &["plugin", "list", "--tenant", t.slug()], &[]).await?;
    assert!(ok && out.contains("No plugins installed"), "nothing was left behind: {out}");

    let (ok, _, err) = install(good, wasm.to_owned(), vec![]).await?;
    assert!(ok, "{err}");
    let configure = |sets: &'static [&'static str]| {
        let kit = &kit;
        let slug = t.slug().to_owned();
        async move {
            let mut args = vec!["plugin", "configure", "--tenant", slug.as_str(), "registry"];
            for s in sets {
                args.push("--set");
                args.push(s);
            }
            run(kit, &args, &[]).await
        }
    };
    for (sets, expected) in [
        (&["api-key=k"][..], "base-url is required"),
        (&["base-url=https://evil.example/", "api-key=k"][..], "points at evil.example, which the plugin's manifest does not allow"),
        (&["base-url=http://127.0.0.1/", "api-key=k", "colour=red"][..], "colour is not a setting of registry"),
    ] {
        let (ok, _, err) = configure(sets).await?;
        assert!(!ok && err.contains(expected), "{err} should contain {expected}");
    }
    let (ok, out, _) = run(&kit, &["plugin", "list", "--tenant", t.slug()], &[]).await?;
    assert!(ok && out.contains("NOT CONFIGURED"), "refused configurations left nothing behind: {out}");
    Ok(())
}

/// The plugins API as the tenant admin uses it (the admin UI's page calls the same).
#[tokio::test]
async fn the_admin_installs_configures_and_removes_plugins_over_the_api() -> Result<()> {
    use base64::Engine;
    use reqwest::Method;
    use serde_json::json;

    let kit = Kit::start().await?;
    let t = kit.tenant("plug-api", "API Város").await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    assert_eq!(admin.get("/api/v1/plugins").await?.json(), json!({ "plugins": [] }));
    clerk.get("/api/v1/plugins").await?.expect_status(403)?;

    let manifest = std::fs::read_to_string(workspace_root().join("plugins/registry/plugin.toml"))?;
    let component = base64::engine::general_purpose::STANDARD.encode(std::fs::read(components().join("registry.wasm"))?);
    let install = |manifest: String, component: String| {
        let admin = admin.clone();
        async move { admin.send(Method::POST, "/api/v1/plugins", Some(&json!({ "manifest": manifest, "component": component })), &[]).await }
    };
    // Bad uploads are refused by field, and leave nothing behind.
    let field_of = |r: &kapu_testkit::Reply| (r.json()["type"].clone(), r.json()["errors"][0]["field"].clone());
    let r = install(manifest.replace("sdk = \"0.2.0\"", "sdk = \"0.9.0\""), component.clone()).await?;
    r.expect_status(422)?;
    assert_eq!(field_of(&r), (json!("urn:kapu:problem:validation"), json!("manifest")));
    assert!(r.json()["detail"].as_str().unwrap_or_default().contains("needs SDK version 0.9.0"), "{}", r.text);
    let r = install(manifest.clone(), base64::engine::general_purpose::STANDARD.encode("not a component")).await?;
    r.expect_status(422)?;
    assert_eq!(field_of(&r).1, "component");
    let r = install(manifest.clone(), "%%%".into()).await?;
    r.expect_status(422)?;
    assert_eq!(field_of(&r).1, "component");
    assert_eq!(admin.get("/api/v1/plugins").await?.json()["plugins"], json!([]));

    let r = install(manifest.clone(), component.clone()).await?;
    r.expect_status(201)?;
    let p = r.json();
    assert_eq!(
        (p["name"].as_str(), p["world"].as_str(), p["sdk"].as_str(), p["status"].as_str()),
        (Some("registry"), Some("registry"), Some("0.2.0"), Some("not_configured"))
    );
    let settings: Vec<(String, String, bool)> = p["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["kind"].as_str().unwrap().to_owned(), s["required"].as_bool().unwrap()))
        .collect();
    assert!(
        settings.contains(&("api-key".into(), "secret".into(), true)) && settings.contains(&("base-url".into(), "url".into(), true)),
        "{settings:?}"
    );

    // A configuration that does not match the schema: every bad setting is named.
    let configure = |values: serde_json::Value| {
        let admin = admin.clone();
        async move { admin.send(Method::PUT, "/api/v1/plugins/registry/config", Some(&json!({ "values": values })), &[]).await }
    };
    let r = configure(json!({ "base-url": "https://evil.example/", "colour": "red", "vehicle-url": "nem url" })).await?;
    r.expect_status(422)?;
    let mut fields: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    fields.sort();
    assert_eq!(fields, vec!["values.api-key", "values.base-url", "values.colour", "values.vehicle-url"]);
    assert!(r.text.contains("points at evil.example, which the plugin's manifest does not allow"), "{}", r.text);

    let key = kit.registry.api_key().to_owned();
    let r = configure(json!({ "base-url": kit.registry.url(), "api-key": key })).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["status"], "configured");
    let api_key = r.json()["settings"].as_array().unwrap().iter().find(|s| s["name"] == "api-key").cloned().unwrap();
    assert_eq!((api_key["set"].clone(), api_key["value"].clone()), (json!(true), json!(null)));
    assert!(!r.text.contains(&key), "the secret is never returned");
    assert!(!admin.get("/api/v1/plugins").await?.text.contains(&key));
    // Editing the other settings keeps the stored secret.
    let r = configure(json!({ "base-url": format!("{}/", kit.registry.url()) })).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["status"], "configured");

    // The in-person check now goes through it.
    let why = ("x-access-reason", "személyes azonosítás");
    let client = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({ "identity": { "family_name": "Minta", "given_name": "Márta", "mother_birth_name": "Kovács Ilona", "birth_place": "Budapest", "birth_date": "1980-05-17" },
                          "addresses": [{ "kind": "permanent", "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23-25." }] })),
            &[why],
        )
        .await?;
    let id = client.json()["id"].as_str().unwrap().to_owned();
    let identify = json!({ "document_kind": "identity_card", "document_number": "123456AB" });
    let r = clerk.send(Method::POST, &format!("/api/v1/clients/{id}/identify"), Some(&identify), &[why]).await?;
    assert_eq!(r.json()["outcome"], "identified", "{}", r.text);

    // A wrong key: the call fails, and the admin reads why.
    configure(json!({ "base-url": kit.registry.url(), "api-key": "rossz" })).await?.expect_status(200)?;
    clerk.send(Method::POST, &format!("/api/v1/clients/{id}/identify"), Some(&identify), &[why]).await?.expect_status(503)?;
    let errors = admin.get("/api/v1/plugins/registry/errors").await?.json();
    assert_eq!(errors["errors"][0]["function"], "check-person");
    assert_eq!(errors["errors"][0]["code"], "plugin-failed-config");
    assert!(errors["errors"][0]["message"].as_str().unwrap().contains("refused the API key (401"), "{errors}");
    assert_eq!(admin.get("/api/v1/plugins/registry").await?.json()["last_error"]["code"], "plugin-failed-config");

    // Removal, and the audit trail of every change (without the secrets).
    admin.send(Method::DELETE, "/api/v1/plugins/registry", None, &[]).await?.expect_status(204)?;
    let r = admin.get("/api/v1/plugins/registry").await?;
    r.expect_status(404)?;
    assert_eq!(r.json()["type"], "urn:kapu:problem:not-found");
    admin.send(Method::DELETE, "/api/v1/plugins/registry", None, &[]).await?.expect_status(404)?;
    let log = admin.get("/api/v1/audit").await?;
    let records = log.json()["records"].clone();
    let actions: Vec<&str> =
        records.as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).filter(|a| a.starts_with("plugin.")).collect();
    assert_eq!(actions, vec!["plugin.remove", "plugin.configure", "plugin.configure", "plugin.configure", "plugin.install"]);
    assert!(!log.text.contains(&key) && !log.text.contains("rossz"), "no secret in the audit log");
    kit.stop().await;
    Ok(())
}

/// A hostile plugin under a strict operator policy, with names resolved by the DNS simulator:
/// a request to a name that resolves to loopback is refused, recorded for the tenant's admin
/// with its own code, and the local server it aimed at sees no connection. A manifest that
/// lists an IP address is refused at install.
#[tokio::test]
async fn a_refused_request_is_recorded_for_the_admin_and_nothing_is_fetched() -> Result<()> {
    use kapu_plugins::installation;
    let kit = Kit::start().await?;
    let t = kit.tenant("plug-net", "Net").await?;
    let secret = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = secret.local_addr()?.port();
    let zone = std::collections::HashMap::from([(
        "sneaky.hostile.test".to_owned(),
        kapu_sim::dns::Entry { addresses: vec!["127.0.0.1".parse()?], mx: vec![] },
    )]);
    let dns = kapu_sim::dns::start(0, zone).await?;
    let network = kapu_plugins::NetworkPolicy::strict().with_name_servers(vec![dns.addr]);
    let runtime = Arc::new(Runtime::new(Limits { network, ..Limits::default() }, None)?);
    let manifest = std::fs::read_to_string(workspace_root().join("plugins/testing/hostile/plugin.toml"))?;
    let component = std::fs::read(components().join("hostile.wasm"))?;
    let now = chrono::Utc::now();
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let literal = manifest.replace("\"*.hostile.test\"", "\"*.hostile.test\", \"127.0.0.1\"");
    let e = installation::install(&mut tx, &runtime, &literal, &component, None, now).await.expect_err("an IP address is refused");
    assert_eq!(e.code(), "plugin-manifest-invalid");
    assert!(
        e.to_string().contains("127.0.0.1 is an IP address, which the operator's network policy (KAPU_PLUGIN_ALLOW) does not allow"),
        "{e}"
    );
    installation::install(&mut tx, &runtime, &manifest, &component, None, now).await?;
    tx.commit().await?;

    let plugins = Plugins::new(kit.db.clone(), kit.crypto.clone(), runtime.clone());
    let slug = TenantSlug::parse(t.slug())?;
    let e = plugins
        .find_vehicle(&slug, "hostile", format!("forbidden http://sneaky.hostile.test:{port}/steal"), None, now)
        .await
        .expect_err("refused");
    assert_eq!(e.code(), "plugin-network-denied");
    let mut tx = kit.db.tenant_tx_for(&slug).await?;
    let recorded = installation::errors(&mut tx, "hostile", 10).await?;
    drop(tx);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].function.as_str(), recorded[0].code.as_str()), ("find-vehicle", "plugin-network-denied"));
    assert_eq!(
        recorded[0].message,
        format!(
            "the plugin tried to reach sneaky.hostile.test:{port}, which the operator's network policy does not allow: 127.0.0.1 is a loopback address"
        )
    );
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(300), secret.accept()).await;
    assert!(accepted.is_err(), "nothing reached the local server");
    assert!(dns.queries().iter().any(|(name, _)| name == "sneaky.hostile.test"), "the name was resolved by the DNS simulator");
    Ok(())
}
