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
    let runtime = Arc::new(Runtime::new(Limits::default(), None)?);
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
