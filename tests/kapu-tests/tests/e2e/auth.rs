//! Staff sign-in: cookies, TOTP, throttling, CSRF, expiry, permissions, password reset.

use std::time::Duration;

use anyhow::Result;
use kapu_testkit::{Kit, KitOptions, PASSWORD, eventually, totp_code};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn clerk_signs_in_with_a_safe_cookie() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("suti", "Süti").await?;
    let mut c = kit.client(t.slug());
    let r = c.login(&t.clerk_email, PASSWORD).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["mfa"], "passed");
    let cookie = r.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/t/suti/"] {
        assert!(cookie.contains(flag), "{cookie} has {flag}");
    }
    assert!(!cookie.contains("Secure"), "no Secure flag over plain HTTP: {cookie}");
    assert_eq!(c.get("/api/v1/me").await?.json()["staff"]["email"], t.clerk_email.as_str());
    // Permissions are checked in one place: a clerk may not read the audit log.
    let r = c.get("/api/v1/audit").await?;
    assert_eq!((r.status, r.problem().as_deref()), (403, Some("forbidden")));
    kit.stop().await;
    Ok(())
}

/// `/me` lists what the session may do, exactly `Role::permits` for its role (the staff app
/// shows and hides its pages by this list and keeps no role table of its own).
#[tokio::test]
async fn me_lists_the_permissions_of_the_role() -> Result<()> {
    use kapu_staff::Role;
    let kit = Kit::start().await?;
    let t = kit.tenant("jogok", "Jogok Község").await?;
    let permitted = |role: Role| serde_json::to_value(role.permissions().collect::<Vec<_>>()).unwrap_or_default();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|p| p.as_str().map(str::to_owned)).collect()
    };
    let clerk = kit.clerk(&t).await?.get("/api/v1/me").await?.json()["permissions"].clone();
    assert_eq!(clerk, permitted(Role::Clerk));
    let clerk = names(&clerk);
    assert!(clerk.iter().any(|p| p == "read_clients") && clerk.iter().any(|p| p == "handle_cases"), "{clerk:?}");
    assert!(!clerk.iter().any(|p| p == "view_audit" || p == "manage_staff" || p == "manage_tenants"), "{clerk:?}");
    let admin = kit.admin(&t).await?.get("/api/v1/me").await?.json()["permissions"].clone();
    assert_eq!(admin, permitted(Role::Admin));
    let admin = names(&admin);
    for p in ["read_clients", "manage_staff", "view_audit", "manage_jobs", "manage_relying_parties", "manage_plugins"] {
        assert!(admin.iter().any(|a| a == p), "admin lacks {p}: {admin:?}");
    }
    assert!(!admin.iter().any(|p| p == "manage_tenants"), "{admin:?}");
    // Before the second factor the session may do nothing, and says so.
    let mut half = kit.client(t.slug());
    assert_eq!(half.login(&t.admin_email, PASSWORD).await?.json()["mfa"], "required");
    let me = half.get("/api/v1/me").await?;
    assert_eq!((me.status, me.json()["permissions"].clone()), (200, json!([])));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn admins_must_pass_totp_and_codes_work_once() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("totp", "TOTP").await?;
    let mut c = kit.client(t.slug());
    let r = c.login(&t.admin_email, PASSWORD).await?;
    assert_eq!(r.json()["mfa"], "required");
    let r = c.get("/api/v1/overview").await?;
    assert_eq!((r.status, r.problem().as_deref()), (403, Some("mfa-required")));
    let r = c.post("/api/v1/auth/totp", &json!({ "code": "000000" })).await?;
    if r.status != 401 {
        // 000000 happened to be the right code; astronomically rare but not impossible.
        assert_eq!(r.status, 200);
    } else {
        assert_eq!(r.problem().as_deref(), Some("invalid-totp"));
        let ok = c.totp(&t.admin_totp).await?;
        assert_eq!(ok.json()["mfa"], "passed");
    }
    let o = c.get("/api/v1/overview").await?;
    o.expect_status(200)?;
    assert_eq!(o.json()["tenant"]["name"], "TOTP");
    assert_eq!(o.json()["staff_count"], 2);
    // A second session cannot reuse the code just used.
    let mut c2 = kit.client(t.slug());
    c2.login(&t.admin_email, PASSWORD).await?;
    let mut used_refused = false;
    for offset in [0, 1] {
        let r = c2.post("/api/v1/auth/totp", &json!({ "code": totp_code(&t.admin_totp, offset) })).await?;
        if r.status == 401 {
            used_refused = true;
        }
    }
    assert!(used_refused, "a code already used in its step is refused");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn admin_without_totp_must_enrol() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("beiratkozas", "Beiratkozás").await?;
    let admin = kit.admin(&t).await?;
    let r = admin
        .post("/api/v1/staff", &json!({ "email": "uj.admin@beiratkozas.test", "display_name": "Új Admin", "role": "admin", "password": "Masodik-Admin-Jelszo-1" }))
        .await?;
    r.expect_status(201)?;
    let mut c = kit.client(t.slug());
    let r = c.login("uj.admin@beiratkozas.test", "Masodik-Admin-Jelszo-1").await?;
    assert_eq!(r.json()["mfa"], "enrol");
    assert_eq!(c.get("/api/v1/overview").await?.status, 403);
    let e = c.post("/api/v1/auth/totp/enrol", &json!({})).await?;
    e.expect_status(200)?;
    let uri = e.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = kapu_testkit_secret(e.json()["secret"].as_str().unwrap());
    let r = c.post("/api/v1/auth/totp/enrol/confirm", &json!({ "code": totp_code(&secret, 0) })).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["mfa"], "passed");
    c.get("/api/v1/overview").await?.expect_status(200)?;
    // Weak passwords and duplicate e-mails are refused with specific problems.
    let weak = admin
        .post("/api/v1/staff", &json!({ "email": "gyenge@beiratkozas.test", "display_name": "X", "role": "clerk", "password": "rovid" }))
        .await?;
    assert_eq!((weak.status, weak.json()["errors"][0]["field"].as_str()), (422, Some("password")));
    let dup = admin
        .post(
            "/api/v1/staff",
            &json!({ "email": "UJ.ADMIN@beiratkozas.test", "display_name": "X", "role": "clerk", "password": "Harmadik-Jelszo-2026" }),
        )
        .await?;
    assert_eq!(dup.problem().as_deref(), Some("conflict"));
    kit.stop().await;
    Ok(())
}

fn kapu_testkit_secret(b32: &str) -> Vec<u8> {
    // RFC 4648 base32 without padding, as authenticator apps take it.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in b32.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            out.push((bits >> (n - 8)) as u8);
            n -= 8;
        }
    }
    out
}

#[tokio::test]
async fn repeated_failures_slow_that_network_but_lock_nobody_out() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("zar", "Zár").await?;
    let mut c = kit.client(t.slug());
    for _ in 0..5 {
        let r = c.login(&t.clerk_email, "Rossz-Jelszo-Ismetelve").await?;
        assert_eq!(r.problem().as_deref(), Some("invalid-credentials"), "{}", r.text);
    }
    // Even the right password waits, from this network.
    let r = c.login(&t.clerk_email, PASSWORD).await?;
    assert_eq!((r.status, r.problem().as_deref()), (429, Some("too-many-attempts")), "{}", r.text);
    assert!(r.header("retry-after").is_some());
    // An unknown account answers exactly like a wrong password.
    let r = c.login("senki@zar.test", PASSWORD).await?;
    assert_eq!(r.problem().as_deref(), Some("invalid-credentials"));
    // From another network the clerk signs in: the account itself is never locked.
    let mut elsewhere = kit.client(t.slug()).from_address("127.0.8.1".parse()?);
    elsewhere.login(&t.clerk_email, PASSWORD).await?.expect_status(200)?;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn csrf_and_expiry_are_enforced() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("csrf", "CSRF").await?;
    let c = kit.clerk(&t).await?;
    let mut no_token = c.clone();
    no_token.csrf = None;
    let r = no_token.post("/api/v1/auth/logout", &json!({})).await?;
    assert_eq!((r.status, r.problem().as_deref()), (403, Some("csrf")));
    let mut forged = c.clone();
    forged.csrf = Some("forged-token".into());
    assert_eq!(forged.post("/api/v1/auth/logout", &json!({})).await?.problem().as_deref(), Some("csrf"));
    let r = c.send(Method::POST, "/api/v1/auth/logout", Some(&json!({})), &[("origin", "https://evil.example")]).await?;
    assert_eq!(r.problem().as_deref(), Some("csrf"), "a cross-site origin is refused even with the token");
    // Expire the session in the database: the next request is unauthenticated.
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    sqlx::query("UPDATE staff_session SET expires_at = now() - interval '1 second'").execute(tx.conn()).await?;
    tx.commit().await?;
    let r = c.get("/api/v1/me").await?;
    assert_eq!((r.status, r.problem().as_deref()), (401, Some("unauthenticated")));
    // Sign-out with the right token ends the session.
    let c = kit.clerk(&t).await?;
    assert_eq!(c.post("/api/v1/auth/logout", &json!({})).await?.status, 204);
    assert_eq!(c.get("/api/v1/me").await?.status, 401);
    kit.stop().await;
    Ok(())
}

/// Backdates the (only) session's last request by `minutes`, if given; returns its time.
async fn session_idle_since(db: &kapu_core::Db, tenant: &kapu_core::Tenant, minutes: Option<i32>) -> Result<chrono::DateTime<chrono::Utc>> {
    let mut tx = db.tenant_tx(tenant).await?;
    if let Some(m) = minutes {
        sqlx::query("UPDATE staff_session SET last_seen_at = now() - make_interval(mins => $1)").bind(m).execute(tx.conn()).await?;
    }
    let at = sqlx::query_scalar("SELECT last_seen_at FROM staff_session").fetch_one(tx.conn()).await?;
    tx.commit().await?;
    Ok(at)
}

#[tokio::test]
async fn reading_keeps_a_session_alive_and_idle_sessions_end() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("tetlen", "Tétlen Város").await?;
    let c = kit.clerk(&t).await?;
    let (db, tenant) = (&kit.db, &t.tenant);
    // Idle for 20 of the 30 minutes allowed: /me (read in one round trip) still answers and
    // restarts the idle timer.
    let before = session_idle_since(db, tenant, Some(20)).await?;
    assert_eq!(c.get("/api/v1/me").await?.status, 200);
    let after = session_idle_since(db, tenant, None).await?;
    assert!(after - before >= chrono::Duration::minutes(19), "the idle timer restarted: {before} -> {after}");
    // Idle for longer than allowed: the session is over, for reads and writes alike.
    session_idle_since(db, tenant, Some(31)).await?;
    let r = c.get("/api/v1/me").await?;
    assert_eq!((r.status, r.problem().as_deref()), (401, Some("unauthenticated")));
    assert_eq!(c.post("/api/v1/auth/logout", &json!({})).await?.status, 401);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn password_reset_goes_out_by_smtp() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("jelszo", "Jelszó Város").await?;
    let c = kit.client(t.slug());
    assert_eq!(c.post("/api/v1/auth/password-reset", &json!({ "email": t.clerk_email })).await?.status, 202);
    assert_eq!(
        c.post("/api/v1/auth/password-reset", &json!({ "email": "senki@jelszo.test" })).await?.status,
        202,
        "no account enumeration"
    );
    let msgs = kit.mail.wait_for_messages(1, Duration::from_secs(20)).await.expect("the reset e-mail arrives");
    assert_eq!(msgs.len(), 1, "only the real account gets mail");
    assert_eq!(msgs[0].rcpt_to, vec![t.clerk_email.clone()]);
    assert!(msgs[0].subject.as_deref().unwrap().contains("jelszó visszaállítása"));
    let full = kit.mail.message(msgs[0].id).await.unwrap();
    let text = full.text.unwrap();
    let token = text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let r = c.post("/api/v1/auth/password-reset/confirm", &json!({ "token": token, "password": "Uj-Jelszo-Tavasz-2027" })).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let mut s = kit.client(t.slug());
    s.login(&t.clerk_email, "Uj-Jelszo-Tavasz-2027").await?.expect_status(200)?;
    assert_eq!(s.login(&t.clerk_email, PASSWORD).await?.status, 401);
    let again = c.post("/api/v1/auth/password-reset/confirm", &json!({ "token": token, "password": "Masik-Jelszo-Tavasz-2027" })).await?;
    assert_eq!((again.status, again.json()["errors"][0]["field"].as_str()), (422, Some("token")));
    // The job that sent it is done.
    let done = eventually(Duration::from_secs(5), "the mail job to be done", || async {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let s: Option<String> = sqlx::query_scalar("SELECT state FROM job ORDER BY id LIMIT 1").fetch_optional(tx.conn()).await?;
        tx.commit().await?;
        Ok(s.filter(|s| s == "done"))
    })
    .await?;
    assert_eq!(done, "done");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn operators_sign_in_on_the_platform() -> Result<()> {
    let kit = Kit::start().await?;
    kit.tenant("egy", "Egy").await?;
    kit.tenant("ketto", "Kettő").await?;
    let (email, secret) = kit.operator().await?;
    let mut p = kit.platform_client();
    assert_eq!(p.platform_login(&email, PASSWORD).await?.json()["mfa"], "required");
    assert_eq!(p.get("/api/v1/platform/tenants").await?.status, 403);
    p.platform_totp(&secret).await?;
    let list = p.get("/api/v1/platform/tenants").await?.json();
    let slugs: Vec<&str> = list["tenants"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["egy", "ketto"]);
    // The operator's cookie means nothing to a tenant.
    let mut as_tenant = kit.client("egy");
    as_tenant.cookie = p.cookie.clone();
    assert_eq!(as_tenant.get("/api/v1/me").await?.status, 401);
    kit.stop().await;
    Ok(())
}
