//! Personal data: audited access, the hash chain, encryption at rest and key rotation.

use anyhow::Result;
use kapu_testkit::Kit;
use reqwest::Method;
use serde_json::json;

const MOTHER: &str = "Szentgyörgyi Ilona";
const DOCUMENT: &str = "987654XY";

async fn make_client(admin: &kapu_testkit::Client) -> Result<String> {
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({
                "email": "toth.gizella@example.hu",
                "identity": { "family_name": "Tóth", "given_name": "Gizella", "birth_name": "Kerekes Gizella", "mother_birth_name": MOTHER,
                              "birth_place": "Szekszárd", "birth_date": "1961-03-09" },
                "id_document": DOCUMENT,
                "addresses": [{ "kind": "permanent", "postcode": "7100", "city": "Szekszárd", "street": "Garay tér 18." }]
            })),
            &[("x-access-reason", "személyes azonosítás az ügyfélszolgálaton")],
        )
        .await?;
    r.expect_status(201)?;
    Ok(r.json()["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn staff_access_is_audited_in_a_verifiable_chain() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("naplo", "Napló").await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    let id = make_client(&admin).await?;

    let r = clerk.get(&format!("/api/v1/clients/{id}")).await?;
    assert_eq!(r.json()["errors"][0]["field"], "X-Access-Reason", "no access without a stated purpose");
    let r =
        clerk.send(Method::GET, &format!("/api/v1/clients/{id}"), None, &[("x-access-reason", "parkolási kérelem ellenőrzése")]).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["identity"]["mother_birth_name"], MOTHER);
    // Browsers send the purpose percent-encoded; it is recorded decoded.
    let r = clerk
        .send(
            Method::GET,
            &format!("/api/v1/clients?id_document={}", "987654 xy"),
            None,
            &[("x-access-reason", "keres%C3%A9s az %C5%B1rlapon")],
        )
        .await?;
    assert_eq!(r.json()["clients"][0]["id"], id.as_str(), "the blind index finds the client by document number");

    let log = admin.get(&format!("/api/v1/audit?client={id}")).await?.json();
    let recs = log["records"].as_array().unwrap();
    let actions: Vec<&str> = recs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["client.read", "client.read", "client.create"]);
    assert_eq!(recs[0]["reason"], "keresés az űrlapon");
    assert!(recs[1]["actor"].as_str().unwrap().contains(&t.clerk_email), "who");
    assert_eq!(recs[1]["subject_client_id"], id.as_str(), "whom");
    assert_eq!(recs[1]["reason"], "parkolási kérelem ellenőrzése", "why");
    assert!(recs[1]["at"].is_string(), "when");
    assert!(!log.to_string().contains(MOTHER), "the log holds field names, not values");
    let v = admin.get("/api/v1/audit/verify").await?.json();
    assert_eq!((v["intact"].as_bool(), v["records"].as_i64()), (Some(true), Some(3)));

    // Append-only: the tenant's own role cannot change a record.
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let err = sqlx::query("UPDATE audit_record SET reason = 'más' WHERE seq = 2").execute(tx.conn()).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    drop(tx);

    // Tampering past the trigger (as the database superuser) is found by verification.
    let su = kit.superuser().await?;
    let schema = t.tenant.slug.schema();
    sqlx::raw_sql(&format!(
        "ALTER TABLE {schema}.audit_record DISABLE TRIGGER USER; UPDATE {schema}.audit_record SET reason = 'semmi' WHERE seq = 2;"
    ))
    .execute(&su)
    .await?;
    let v = admin.get("/api/v1/audit/verify").await?.json();
    assert_eq!((v["intact"].as_bool(), v["broken_at"].as_i64()), (Some(false), Some(2)), "{v}");
    let out = kit.kapu_command().args(["audit", "verify", "--tenant", t.slug()]).output().await?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at record 2"), "{}", String::from_utf8_lossy(&out.stdout));
    // Removing the newest record is found too (the head remembers the tip).
    sqlx::raw_sql(&format!("UPDATE {schema}.audit_record SET reason = 'parkolási kérelem ellenőrzése' WHERE seq = 2; DELETE FROM {schema}.audit_record WHERE seq = 3;"))
        .execute(&su)
        .await?;
    let v = admin.get("/api/v1/audit/verify").await?.json();
    assert_eq!((v["intact"].as_bool(), v["broken_at"].as_i64()), (Some(false), Some(3)), "{v}");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_database_dump_holds_no_plaintext_personal_data() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("titok", "Titok").await?;
    let admin = kit.admin(&t).await?;
    let id = make_client(&admin).await?;
    let bin = kapu_pgcluster_bin("pg_dump");
    let out = tokio::process::Command::new(&bin).arg("--no-owner").arg(&kit.admin_database_url).output().await?;
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains(&id), "the dump holds the client row");
    for secret in [MOTHER, "Szentgy", DOCUMENT, "Kerekes Gizella", "Szekszárd", "1961-03-09", "Gizella", "Garay tér"] {
        assert!(!dump.contains(secret), "the dump must not hold {secret:?} in plaintext");
    }
    assert!(dump.contains("toth.gizella@example.hu"), "contact e-mail is not in the sensitive class and stays searchable");
    kit.stop().await;
    Ok(())
}

fn kapu_pgcluster_bin(name: &str) -> std::path::PathBuf {
    kapu_pgcluster::find_binaries().map(|d| d.join(name)).ok().filter(|p| p.exists()).unwrap_or_else(|| name.into())
}

#[tokio::test]
async fn data_and_master_keys_rotate() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("kulcs", "Kulcs").await?;
    let admin = kit.admin(&t).await?;
    let id = make_client(&admin).await?;
    let version = |kit: &Kit| {
        let tenant = t.tenant.clone();
        let db = kit.db.clone();
        async move {
            let mut tx = db.tenant_tx(&tenant).await?;
            let blob: Vec<u8> = sqlx::query_scalar("SELECT identity_enc FROM client").fetch_one(tx.conn()).await?;
            anyhow::Ok(u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
        }
    };
    assert_eq!(version(&kit).await?, 1);
    let out = kit.kapu_command().args(["tenant", "rotate-key", t.slug()]).output().await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The client's identity, document number and address, and the admin's TOTP secret.
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 value(s) re-sealed"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(version(&kit).await?, 2);

    // A new master key: re-wrap with the old one still accepted, then only the new one works.
    let new_master = kapu_crypto::MasterKey::generate_base64();
    let out = kit
        .kapu_command()
        .env("KAPU_MASTER_KEY", &new_master)
        .env("KAPU_OLD_MASTER_KEYS", &kit.master_key)
        .args(["keys", "rewrap"])
        .output()
        .await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let crypto = kapu_crypto::Crypto::new(kapu_crypto::MasterKey::from_base64(&new_master)?, vec![]);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = crypto.keyring(tx.conn(), t.slug()).await?;
    let actor = kapu_audit::Actor { id: None, label: "test".into() };
    let c = kapu_clients::get(
        &mut tx,
        &ring,
        kapu_clients::Access { actor: &actor, reason: "rotation check" },
        id.parse()?,
        chrono::Utc::now(),
    )
    .await?;
    assert_eq!(c.unwrap().identity.mother_birth_name, MOTHER);
    drop(tx);
    let stale = kapu_crypto::Crypto::new(kapu_crypto::MasterKey::from_base64(&kit.master_key)?, vec![]);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    assert!(stale.keyring(tx.conn(), t.slug()).await.is_err(), "the old master key alone no longer opens the data keys");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_purpose_with_control_characters_is_recorded_exactly_and_the_chain_verifies() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("vezerlo", "Vezérlő").await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    let id = make_client(&admin).await?;

    // U+001A (which sea-query's quoting turned into "z"), a backslash, quotes, a newline, a
    // tab, ESC and `$$`: percent-encoded as a browser sends them, recorded decoded.
    let encoded = "ok%1Az%5C%27%22%0A%09%1B%24%24%08v%C3%A9ge";
    let purpose = "ok\u{1a}z\\'\"\n\t\u{1b}$$\u{8}vége";
    let r = clerk.send(Method::GET, &format!("/api/v1/clients/{id}"), None, &[("x-access-reason", encoded)]).await?;
    r.expect_status(200)?;
    let log = admin.get(&format!("/api/v1/audit?client={id}")).await?.json();
    assert_eq!(log["records"][0]["reason"], purpose, "the purpose is stored byte for byte: {log}");
    let v = admin.get("/api/v1/audit/verify").await?.json();
    assert_eq!((v["intact"].as_bool(), v["records"].as_i64()), (Some(true), Some(2)), "{v}");
    let out = kit.kapu_command().args(["audit", "verify", "--tenant", t.slug()]).output().await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact, 2 record(s)"), "{}", String::from_utf8_lossy(&out.stdout));

    // NUL cannot be stored: the read is refused with a specific problem, and neither the
    // access nor a record of it happens.
    let r = clerk.send(Method::GET, &format!("/api/v1/clients/{id}"), None, &[("x-access-reason", "nul%00here")]).await?;
    assert_eq!((r.status, r.problem().as_deref()), (422, Some("unstorable-value")), "{}", r.text);
    assert!(!r.text.contains("Gizella"), "{}", r.text);
    let v = admin.get("/api/v1/audit/verify").await?.json();
    assert_eq!((v["intact"].as_bool(), v["records"].as_i64()), (Some(true), Some(2)), "nothing was recorded: {v}");
    // Through a path that binds its values (PostgreSQL refuses the NUL itself), the same.
    let r = admin
        .post(
            "/api/v1/staff",
            &json!({ "email": "nul@vezerlo.test", "display_name": "Nul\u{0}Név", "role": "clerk", "password": "Nul-Karakter-Jelszo-1" }),
        )
        .await?;
    assert_eq!((r.status, r.problem().as_deref()), (422, Some("unstorable-value")), "{}", r.text);
    let staff = admin.get("/api/v1/staff").await?.text;
    assert!(!staff.contains("nul@vezerlo.test"), "{staff}");
    kit.stop().await;
    Ok(())
}
