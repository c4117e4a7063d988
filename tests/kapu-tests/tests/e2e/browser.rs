//! The browser tests (tests/browser, headless Chromium) against the real server.

use std::process::Stdio;

use anyhow::{Result, bail};
use kapu_testkit::{Kit, PASSWORD, workspace_root};

#[tokio::test]
async fn browser_suite_passes_against_the_real_server() -> Result<()> {
    let root = workspace_root();
    let browser = root.join("tests/browser");
    if !browser.join("node_modules").exists() {
        bail!("run `npm ci --prefix tests/browser` first (the test script does)");
    }
    if !root.join("admin-ui/dist/index.html").exists() {
        bail!("build the admin UI first: `npm ci --prefix admin-ui && npm run build --prefix admin-ui` (the test script does)");
    }
    // A worker sends the portal's confirmation e-mails into the SMTP simulator.
    // Tenant A's case types read fixed facts, standing in for the registries.
    let mut facts = kapu_cases::FixedFacts::default();
    facts.insert(
        "bongeszo-a",
        "parking-permit",
        serde_json::json!({ "existing_permits": 0, "parking": { "eligible": true, "zone": "XII-1", "reasons": "" },
        "vehicle": { "owner_is_applicant": true, "keeper_is_applicant": true, "max_mass_kg": 1800 } }),
    );
    facts.insert("bongeszo-a", "official-certificate", serde_json::json!({ "tax": { "debt": 0, "registered": true } }));
    facts.insert("bongeszo-a", "public-space-use", serde_json::json!({ "location": { "zone": "II" } }));
    // The worker issues decided cases' decisions, sealed and time-stamped by a TSA simulator.
    let pki = kapu_documents::pki::TestPki::generate("Böngésző A Község", chrono::Utc::now())?;
    let tsa = kapu_sim::tsa::start(0, std::sync::Arc::new(pki.tsa_signer()?)).await?;
    let delivery = kapu::wiring::DeliveryConfig::new(format!("http://{}/tsa", tsa.addr), Some(pki.ca_cert.clone()), "");
    let kit = Kit::start_with(kapu_testkit::KitOptions {
        worker: true,
        facts: Some(std::sync::Arc::new(facts)),
        delivery: Some(delivery),
        ..Default::default()
    })
    .await?;
    // Chromium resolves *.localhost to loopback, so tenant A is also reached by its host.
    let a = kit.tenant_with_domains("bongeszo-a", "Böngésző A Község", vec!["bongeszo-a.localhost".into()]).await?;
    crate::delivery::install_seal(&kit, &a, &pki).await?;
    let citizen = crate::cases::portal_resident(&kit, &a).await?;
    let payments = crate::cases::confirm_payments(&kit, &a);
    let port = kit.base.rsplit(':').next().unwrap_or_default().to_owned();
    let b = kit.tenant("bongeszo-b", "Böngésző B Város").await?;
    // Tenant A trusts a KAÜ simulator (the national login tests).
    let kau = kapu_sim::kau::start(0).await?;
    let mut with_kau = a.tenant.clone();
    with_kau.settings["kau"] = kau.tenant_settings();
    let mut tx = kit.db.platform_tx().await?;
    kapu_core::update_tenant(tx.conn(), &with_kau).await?;
    tx.commit().await?;
    // Tenant A checks identities through its registry plugin; the plugins page installs
    // Citynform, configured for its simulator.
    kit.install_registry_plugin(&a).await?;
    let citynform = kapu_sim::citynform::start(0, "bongeszo-citynform-kulcs").await?;
    // Tenant A files its cases in DMS One; it has no finance plugin.
    let dmsone = kapu_sim::dmsone::start(0, kapu_sim::dmsone::DEFAULT_USERNAME, kapu_sim::dmsone::DEFAULT_PASSWORD).await?;
    let dmsone_url = dmsone.url();
    kit.install_plugin(
        &a,
        "dmsone",
        &[("base-url", &dmsone_url), ("username", kapu_sim::dmsone::DEFAULT_USERNAME), ("password", kapu_sim::dmsone::DEFAULT_PASSWORD)],
    )
    .await?;
    let citynform_component = kapu_testkit::plugin_components().join("citynform.wasm");
    // Tenant A's counters are called by the Q-Fusion simulator through the qfusion plugin; the
    // counter page test issues a ticket for this client and sees her card when it is called.
    let qfusion = kapu_sim::qfusion::start(0, "bongeszo-hivatal", "bongeszo-qfusion-token").await?;
    kit.install_plugin(&a, "qfusion", &[("base-url", &qfusion.url()), ("site", "bongeszo-hivatal"), ("token", "bongeszo-qfusion-token")])
        .await?;
    kit.admin(&a)
        .await?
        .send(
            reqwest::Method::POST,
            "/api/v1/clients",
            Some(&serde_json::json!({ "identity": { "family_name": "Hívó", "given_name": "Hanna", "mother_birth_name": "Kovács Ilona",
                                                    "birth_place": "Budapest", "birth_date": "1975-03-02" } })),
            &[("x-access-reason", "böngészőteszt: ügyfélhívó")],
        )
        .await?
        .expect_status(201)?;
    let (op_email, op_secret) = kit.operator().await?;
    let b32 = |s: &[u8]| kapu_testkit::TestTenant { admin_totp: s.to_vec(), ..a.clone() }.admin_totp_base32();
    let out = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-concurrency=1")
        .arg(&browser)
        .current_dir(&root)
        .env("KAPU_BASE_URL", &kit.base)
        .env("KAPU_TENANT_A", a.slug())
        .env("KAPU_TENANT_B", b.slug())
        .env("KAPU_MAILBOX_URL", kit.mail.http_url())
        .env("KAPU_KAU_URL", kau.url())
        .env("KAPU_TENANT_A_HOST", format!("bongeszo-a.localhost:{port}"))
        .env("KAPU_TENANT_A_NAME", &a.tenant.name)
        .env("KAPU_TENANT_B_NAME", &b.tenant.name)
        .env("KAPU_ADMIN_EMAIL", &a.admin_email)
        .env("KAPU_ADMIN_PASSWORD", PASSWORD)
        .env("KAPU_ADMIN_TOTP_SECRET", a.admin_totp_base32())
        .env("KAPU_CLERK_EMAIL", &a.clerk_email)
        .env("KAPU_CLERK_PASSWORD", PASSWORD)
        .env("KAPU_CITIZEN_EMAIL", &citizen)
        .env("KAPU_CITIZEN_PASSWORD", PASSWORD)
        .env("KAPU_OPERATOR_EMAIL", &op_email)
        .env("KAPU_OPERATOR_PASSWORD", PASSWORD)
        .env("KAPU_OPERATOR_TOTP_SECRET", b32(&op_secret))
        .env("KAPU_CITYNFORM_MANIFEST", root.join("plugins/citynform/plugin.toml"))
        .env("KAPU_CITYNFORM_COMPONENT", &citynform_component)
        .env("KAPU_CITYNFORM_URL", citynform.url())
        .env("KAPU_CITYNFORM_KEY", citynform.api_key())
        .env("KAPU_QFUSION_URL", qfusion.url())
        .env("KAPU_TENANT_B_CLERK_EMAIL", &b.clerk_email)
        .stdin(Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "the browser suite failed (output above)");
    assert!(stdout.contains("# fail 0"), "node reported failures");
    // A skipped test is a test that did not run: the suite fails instead (tests/browser/README.md).
    assert!(stdout.contains("# skipped 0") && stdout.contains("# todo 0"), "node skipped tests (output above)");
    payments.abort();
    tsa.shutdown().await;
    kau.shutdown().await;
    citynform.shutdown().await;
    qfusion.shutdown().await;
    dmsone.shutdown().await;
    kit.stop().await;
    Ok(())
}
