//! Sealed values are bound to their place (tenant, table, row, column) and wrapped keys to
//! their tenant; data sealed the old way moves to that binding with `kapu tenant
//! rotate-key`; queued e-mails (reset and confirmation links) are sealed too.

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use kapu_crypto::{CryptoError, Keyring};
use kapu_testkit::{Kit, KitOptions, PASSWORD, TestTenant};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const MOTHER: &str = "Balogh Veronika";

async fn make_client(admin: &kapu_testkit::Client, family: &str, document: &str) -> Result<Uuid> {
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({
                "email": format!("{}@example.hu", family.to_lowercase()),
                "identity": { "family_name": family, "given_name": "Ilona", "birth_name": format!("{family} Ilona"), "mother_birth_name": MOTHER,
                              "birth_place": "Pécs", "birth_date": "1972-05-14" },
                "id_document": document,
                "addresses": [{ "kind": "permanent", "postcode": "7621", "city": "Pécs", "street": "Király utca 1." }]
            })),
            &[("x-access-reason", "ügyfélfelvétel")],
        )
        .await?;
    r.expect_status(201)?;
    Ok(r.json()["id"].as_str().context("an id")?.parse()?)
}

async fn read_client(kit: &Kit, t: &TestTenant, id: Uuid) -> Result<Result<kapu_clients::Client, kapu_clients::ClientError>> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let actor = kapu_audit::Actor { id: None, label: "test".into() };
    let access = kapu_clients::Access { actor: &actor, reason: "binding check" };
    let c = kapu_clients::get(&mut tx, &ring, access, id, Utc::now()).await.map(|c| c.expect("the client exists"));
    drop(tx);
    Ok(c)
}

/// Every sealed value of the tenant, as (table, column, row, first byte).
async fn sealed_formats(kit: &Kit, t: &TestTenant) -> Result<Vec<(String, String, String, u8)>> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let mut out = Vec::new();
    for c in kapu::keys::tenant_columns() {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as(&format!(r#"SELECT "{}"::text, "{}" FROM "{}" WHERE "{}" IS NOT NULL"#, c.key, c.column, c.table, c.column))
                .fetch_all(tx.conn())
                .await?;
        out.extend(rows.into_iter().map(|(row, blob)| (c.table.to_owned(), c.column.to_owned(), row, blob[0])));
    }
    Ok(out)
}

/// Rewrites the tenant's sealed values, its queued mails and its wrapped keys the way
/// Kapu wrote them before values were bound to their place (format 1). Returns how many
/// values and mails were rewritten.
async fn downgrade(kit: &Kit, t: &TestTenant) -> Result<usize> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring: std::sync::Arc<Keyring> = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let mut n = 0;
    for c in kapu::keys::tenant_columns() {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as(&format!(r#"SELECT "{}"::text, "{}" FROM "{}" WHERE "{}" IS NOT NULL"#, c.key, c.column, c.table, c.column))
                .fetch_all(tx.conn())
                .await?;
        for (row, blob) in rows {
            let plain = ring.open(&c.at(&row), &blob)?;
            let old = ring.seal_v1(c.legacy.context("a format-1 context")?, &plain)?;
            sqlx::query(&format!(r#"UPDATE "{}" SET "{}" = $2 WHERE "{}"::text = $1"#, c.table, c.column, c.key))
                .bind(&row)
                .bind(old)
                .execute(tx.conn())
                .await?;
            n += 1;
        }
    }
    let mails: Vec<(i64, Value)> = sqlx::query_as("SELECT id, payload FROM job WHERE kind = 'mail.send'").fetch_all(tx.conn()).await?;
    for (id, payload) in mails {
        let mail = kapu_mail::MailJob::open(&ring, &payload)?;
        sqlx::query("UPDATE job SET payload = $2 WHERE id = $1").bind(id).bind(serde_json::to_value(&mail)?).execute(tx.conn()).await?;
        n += 1;
    }
    kit.crypto.downgrade_keys_v1(tx.conn(), t.slug()).await?;
    tx.commit().await?;
    kit.crypto.forget(t.slug());
    Ok(n)
}

async fn wrapped_formats(kit: &Kit, t: &TestTenant) -> Result<Vec<u8>> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let w: Vec<Vec<u8>> = sqlx::query_scalar("SELECT wrapped FROM data_key ORDER BY version").fetch_all(tx.conn()).await?;
    Ok(w.iter().map(|b| b[0]).collect())
}

#[tokio::test]
async fn format_1_data_moves_to_its_place_with_rotate_key_and_then_cannot_be_moved() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("kotes", "Kötés").await?;
    let admin = kit.admin(&t).await?;
    let a = make_client(&admin, "Fekete", "111111AA").await?;
    let b = make_client(&admin, "Fehér", "222222BB").await?;
    // A reset e-mail waits in the queue (no worker runs yet).
    let c = kit.client(t.slug());
    assert_eq!(c.post("/api/v1/auth/password-reset", &json!({ "email": t.clerk_email })).await?.status, 202);

    // The data as Kapu wrote it before: format 1, keys wrapped without their tenant.
    let rewritten = downgrade(&kit, &t).await?;
    // Two clients with identity, document and address each, the admin's TOTP secret, one mail.
    assert_eq!(rewritten, 2 * 3 + 1 + 1);
    assert!(sealed_formats(&kit, &t).await?.iter().all(|f| f.3 == 1));
    assert!(wrapped_formats(&kit, &t).await?.iter().all(|f| *f == 1));
    assert_eq!(read_client(&kit, &t, a).await??.identity.mother_birth_name, MOTHER, "format 1 still opens");

    let out = kit.kapu_command().args(["tenant", "rotate-key", t.slug()]).output().await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("data key 2 is active; 8 value(s) re-sealed"), "{stdout}");
    kit.crypto.forget(t.slug());

    // Everything is in format 2 and reads back: through the domain, the API and a TOTP sign-in.
    let formats = sealed_formats(&kit, &t).await?;
    assert_eq!(formats.len(), 7);
    assert!(formats.iter().all(|f| f.3 == 2), "{formats:?}");
    assert!(wrapped_formats(&kit, &t).await?.iter().all(|f| *f == 2));
    assert_eq!(read_client(&kit, &t, a).await??.id_document.as_deref(), Some("111111AA"));
    let admin = kit.admin(&t).await?;
    let r = admin.send(Method::GET, &format!("/api/v1/clients/{b}"), None, &[("x-access-reason", "ellenőrzés")]).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["identity"]["family_name"], "Fehér");
    // The queued mail is sealed now, and still goes out with its link.
    let su = kit.superuser().await?;
    let payload: String = sqlx::query_scalar("SELECT payload::text FROM t_kotes.job WHERE kind = 'mail.send'").fetch_one(&su).await?;
    assert!(!payload.contains(&t.clerk_email) && !payload.contains("token"), "{payload}");
    let mut worker = kit
        .kapu_command()
        .args(["worker", "--poll-seconds", "0.2", "--smtp-port"])
        .arg(kit.smtp.port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let msgs = kit.mail.wait_for_messages(1, Duration::from_secs(30)).await.context("the queued reset e-mail arrives")?;
    worker.start_kill()?;
    worker.wait().await?;
    assert_eq!(msgs[0].rcpt_to, vec![t.clerk_email.clone()]);
    let text = kit.mail.message(msgs[0].id).await.context("the message")?.text.unwrap_or_default();
    assert!(text.contains("token="), "{text}");

    // A value copied to another row does not open there.
    sqlx::query("UPDATE t_kotes.client SET identity_enc = (SELECT identity_enc FROM t_kotes.client WHERE id = $1) WHERE id = $2")
        .bind(a)
        .bind(b)
        .execute(&su)
        .await?;
    match read_client(&kit, &t, b).await? {
        Err(kapu_clients::ClientError::Crypto(CryptoError::Tampered)) => {}
        other => panic!("a copied identity must not open: {:?}", other.map(|c| c.identity.family_name)),
    }
    assert_eq!(read_client(&kit, &t, a).await??.identity.family_name, "Fekete", "the original still opens");
    // Nor in another column of its own row.
    sqlx::query("UPDATE t_kotes.client SET id_document_enc = identity_enc WHERE id = $1").bind(a).execute(&su).await?;
    assert!(matches!(read_client(&kit, &t, a).await?, Err(kapu_clients::ClientError::Crypto(CryptoError::Tampered))));

    // The data keys copied into another tenant's table do not unwrap there.
    let other = kit.tenant("masik", "Másik").await?;
    sqlx::query("DELETE FROM t_masik.data_key").execute(&su).await?;
    sqlx::query("INSERT INTO t_masik.data_key SELECT * FROM t_kotes.data_key").execute(&su).await?;
    su.close().await;
    kit.crypto.forget(other.slug());
    let mut tx = kit.db.tenant_tx(&other.tenant).await?;
    match kit.crypto.keyring(tx.conn(), other.slug()).await {
        Err(e @ CryptoError::ForeignDataKey { .. }) => assert!(e.to_string().contains("copied from another tenant"), "{e}"),
        other => panic!("a key copied from another tenant must not unwrap: {other:?}"),
    }
    drop(tx);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn reset_and_confirmation_links_wait_sealed_in_the_job_table() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("lepecso", "Lépcső").await?;
    // A staff password reset, through the API.
    let c = kit.client(t.slug());
    assert_eq!(c.post("/api/v1/auth/password-reset", &json!({ "email": t.clerk_email })).await?.status, 202);
    // A portal registration, whose e-mail carries the confirmation link.
    let citizen = "kovacs.lili@example.hu";
    let token = Mutex::new(String::new());
    let link = |_: &str, tok: &str| {
        *token.lock().unwrap() = tok.to_owned();
        format!("http://lepecso.test/megerosites?token={tok}")
    };
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let mailing = kapu_clients::account::Mailing { tenant_name: &t.tenant.name, link: &link, ring: &ring };
    let reg = kapu_clients::account::Registration { display_name: "Kovács Lili".into(), email: citizen.into(), password: PASSWORD.into() };
    kapu_clients::account::register(&mut tx, reg, &mailing, Utc::now()).await?;
    tx.commit().await?;
    let confirmation = token.lock().unwrap().clone();
    assert!(!confirmation.is_empty());

    let msgs = kit.mail.wait_for_messages(2, Duration::from_secs(30)).await.context("both e-mails arrive")?;
    let mut texts = Vec::new();
    for m in &msgs {
        texts.push(kit.mail.message(m.id).await.context("the message")?.text.unwrap_or_default());
    }
    let reset = texts
        .iter()
        .find_map(|t| t.split("token=").nth(1).filter(|_| t.contains("reset")).and_then(|s| s.split_whitespace().next()))
        .context("the reset link")?
        .to_owned();
    assert!(texts.iter().any(|t| t.contains(&confirmation)), "the confirmation link arrives");

    let su = kit.superuser().await?;
    let rows: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM t_lepecso.job WHERE kind = 'mail.send'").fetch_all(&su).await?;
    su.close().await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for secret in [reset.as_str(), confirmation.as_str(), t.clerk_email.as_str(), citizen, "token=", "Kovács"] {
            assert!(!row.contains(secret), "the job table must not hold {secret:?}: {row}");
        }
    }
    kit.stop().await;
    Ok(())
}
