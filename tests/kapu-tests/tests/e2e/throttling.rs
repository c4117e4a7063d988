//! Throttling that slows guessing and floods without locking anyone out or telling which
//! accounts exist. Clients present other networks by connecting from other loopback
//! addresses (127.0.0.1 and 127.0.9.1 are different /24s); the server takes the address
//! from the connection.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kapu_testkit::{Kit, KitOptions, PASSWORD, Reply};
use serde_json::json;

const HOME: &str = "127.0.0.1";
const ATTACKER: &str = "127.0.9.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn retry_after(r: &Reply) -> u64 {
    r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("a Retry-After header: {r:?}"))
}

/// What an answer tells a client: status, problem type, title and detail (the request id
/// aside, which differs on every request).
fn outward(r: &Reply) -> (u16, Option<String>, String, String) {
    let j = r.json();
    (r.status, r.problem(), j["title"].as_str().unwrap_or("").to_owned(), j["detail"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn an_attackers_network_waits_while_the_victim_signs_in_from_another() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("ostrom", "Ostrom").await?;
    let mut attacker = kit.client(t.slug()).from_address(ip(ATTACKER));
    for i in 0..5 {
        let r = attacker.login(&t.clerk_email, &format!("Talan-Ez-Lesz-{i}")).await?;
        assert_eq!(r.problem().as_deref(), Some("invalid-credentials"), "guess {i}: {}", r.text);
    }
    // The attacker's network now waits, even with the right password.
    let r = attacker.login(&t.clerk_email, PASSWORD).await?;
    assert_eq!((r.status, r.problem().as_deref()), (429, Some("too-many-attempts")), "{}", r.text);
    let wait = retry_after(&r);
    assert!((1..=15).contains(&wait), "the first wait is short: {wait} s");
    // The clerk signs in from the office as usual: nobody can lock an account.
    let mut clerk = kit.client(t.slug()).from_address(ip(HOME));
    clerk.login(&t.clerk_email, PASSWORD).await?.expect_status(200)?;
    clerk.get("/api/v1/me").await?.expect_status(200)?;
    // …and that does not free the attacker's network.
    assert_eq!(attacker.login(&t.clerk_email, PASSWORD).await?.status, 429);
    // Nothing in the table names the account or the network.
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key FROM throttle").fetch_all(tx.conn()).await?;
    assert!(!keys.is_empty());
    for k in &keys {
        let text = String::from_utf8_lossy(k);
        assert!(!text.contains("ostrom") && !text.contains("127.0"), "{text}");
        assert_eq!(k.len(), 32, "an HMAC, not the address");
    }
    drop(tx);

    // Operators are throttled the same way, in the platform schema.
    let (op, _) = kit.operator().await?;
    let mut op_attacker = kit.platform_client().from_address(ip(ATTACKER));
    for _ in 0..5 {
        assert_eq!(op_attacker.platform_login(&op, "Nem-Ez-A-Jelszo-2026").await?.status, 401);
    }
    assert_eq!(op_attacker.platform_login(&op, PASSWORD).await?.status, 429);
    kit.platform_client().from_address(ip(HOME)).platform_login(&op, PASSWORD).await?.expect_status(200)?;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_and_known_accounts_get_the_same_answer_in_the_same_time() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("egyforma", "Egyforma").await?;
    let unknown = "senki.sem@egyforma.test";
    // Warm up (the first requests open connections and load keys).
    kit.client(t.slug()).from_address(ip("127.0.3.1")).login("melegites@egyforma.test", "x").await?;

    let mut known_times = Vec::new();
    let mut unknown_times = Vec::new();
    let mut answers = Vec::new();
    // Interleaved, so load on the machine falls on both alike; four tries each, under the limit.
    for i in 0..4 {
        for (email, times) in [(&t.clerk_email, &mut known_times), (&unknown.to_owned(), &mut unknown_times)] {
            let mut c = kit.client(t.slug()).from_address(ip("127.0.4.1"));
            let started = Instant::now();
            let r = c.login(email, &format!("Rossz-Jelszo-{i}")).await?;
            times.push(started.elapsed());
            answers.push(outward(&r));
        }
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "every answer alike: {answers:?}");
    assert_eq!(answers[0].1.as_deref(), Some("invalid-credentials"));
    known_times.sort();
    unknown_times.sort();
    let (k, u) = (known_times[1].as_secs_f64(), unknown_times[1].as_secs_f64());
    // Both run argon2id once; without the dummy hash the unknown one would take a fraction.
    assert!(u > k * 0.5 && u < k * 2.0, "known {k:.3} s, unknown {u:.3} s");

    // Past the limit the answers are alike too.
    for email in [&t.clerk_email, &unknown.to_owned()] {
        let mut c = kit.client(t.slug()).from_address(ip("127.0.4.1"));
        let r = c.login(email, "Rossz-Jelszo-5").await?;
        assert_eq!(r.problem().as_deref(), Some("invalid-credentials"));
        let r = c.login(email, "Rossz-Jelszo-6").await?;
        assert_eq!((r.status, r.problem().as_deref()), (429, Some("too-many-attempts")), "{email}");
    }
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn password_reset_mails_stop_after_the_limit_for_known_and_unknown_addresses() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("arviz", "Árvíz").await?;
    let c = kit.client(t.slug());
    let mut refusals = Vec::new();
    for email in [t.clerk_email.clone(), "nincs.ilyen@arviz.test".into()] {
        for _ in 0..3 {
            c.post("/api/v1/auth/password-reset", &json!({ "email": email })).await?.expect_status(202)?;
        }
        let r = c.post("/api/v1/auth/password-reset", &json!({ "email": email.to_uppercase() })).await?;
        assert_eq!((r.status, r.problem().as_deref()), (429, Some("too-many-emails")), "{}", r.text);
        assert!(retry_after(&r) > 60, "a wait of minutes");
        refusals.push((r.status, r.problem(), r.json()["title"].clone()));
    }
    assert_eq!(refusals[0], refusals[1], "the same refusal whether or not the account exists");
    // Three e-mails reached the clerk, and no more were queued.
    let msgs = kit.mail.wait_for_messages(3, Duration::from_secs(20)).await.context("three reset e-mails")?;
    assert!(msgs.iter().all(|m| m.rcpt_to.iter().any(|to| to.contains(&t.clerk_email))), "{msgs:?}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (resets, mails): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM password_reset), (SELECT count(*) FROM job WHERE kind = $1)")
            .bind(kapu_mail::SEND_JOB)
            .fetch_one(tx.conn())
            .await?;
    assert_eq!((resets, mails), (3, 3), "the refused request stored no token and queued no e-mail");
    kit.stop().await;
    Ok(())
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
}

fn browser(from: &str) -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).local_address(ip(from)).build().unwrap()
}

async fn post(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<(u16, Option<String>, String)> {
    let r = c.post(url).form(form).send().await?;
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((status, retry, r.text().await?))
}

async fn csrf(c: &reqwest::Client, url: &str) -> Result<String> {
    Ok(hidden(&c.get(url).send().await?.text().await?, "csrf"))
}

#[tokio::test]
async fn portal_floods_stop_and_a_guessers_network_waits_while_the_citizen_signs_in() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("zsilip", "Zsilip").await?;
    let base = format!("{}/t/zsilip", kit.base);
    let home = browser(HOME);
    let token = csrf(&home, &format!("{base}/regisztracio")).await?;
    let (email, password) = ("vedett.vera@example.hu", "Kek-Hajo-Usz-A-Tavon-Este");
    let register = |email: &'static str| {
        let (home, token, base) = (home.clone(), token.clone(), base.clone());
        async move {
            post(
                &home,
                &format!("{base}/regisztracio"),
                &[("csrf", &token), ("display_name", "Védett Vera"), ("email", email), ("password", password)],
            )
            .await
        }
    };
    // Registering one address again and again: the confirmation, then two "you already have
    // an account" notices, then a refusal; no fourth e-mail.
    for _ in 0..3 {
        assert_eq!(register(email).await?.0, 200);
    }
    let (status, retry, html) = register(email).await?;
    assert_eq!(status, 429, "{html}");
    assert!(retry.is_some() && html.contains("túl sok levelet"), "{html}");
    let msgs = kit.mail.wait_for_messages(3, Duration::from_secs(20)).await.context("three e-mails")?;
    let confirm = kit.mail.message(msgs[0].id).await.context("confirmation")?.text.unwrap_or_default();
    let link = confirm.split_whitespace().find(|w| w.contains("email-megerosites?token=")).context("link")?.to_owned();
    assert_eq!(home.get(&link).send().await?.status(), 200);

    // A reset for the same address is over budget too, and answers exactly as for an
    // address nobody has (whose budget runs out after three).
    let (status, _, for_known) = post(&home, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &token), ("email", email)]).await?;
    assert_eq!(status, 429);
    for _ in 0..3 {
        let (status, _, _) = post(&home, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &token), ("email", "senki@example.hu")]).await?;
        assert_eq!(status, 200);
    }
    let (status, _, for_unknown) =
        post(&home, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &token), ("email", "senki@example.hu")]).await?;
    assert_eq!((status, &for_unknown), (429, &for_known));

    // One network asking for resets to many addresses is stopped after twenty.
    let flood = browser("127.0.5.1");
    let flood_token = csrf(&flood, &format!("{base}/elfelejtett-jelszo")).await?;
    for i in 0..20 {
        let (status, _, _) =
            post(&flood, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &flood_token), ("email", &format!("cel{i}@example.hu"))])
                .await?;
        assert_eq!(status, 200, "request {i}");
    }
    let (status, _, _) =
        post(&flood, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &flood_token), ("email", "cel20@example.hu")]).await?;
    assert_eq!(status, 429, "the twenty-first from one network");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM job WHERE kind = $1").bind(kapu_mail::SEND_JOB).fetch_one(tx.conn()).await?;
    assert_eq!(queued, 3, "only the three e-mails to the citizen were ever queued");
    drop(tx);

    // Guessing the citizen's password from one network slows that network only.
    let guesser = browser(ATTACKER);
    let guess_token = csrf(&guesser, &format!("{base}/belepes")).await?;
    for i in 0..5 {
        let (status, _, _) =
            post(&guesser, &format!("{base}/belepes"), &[("csrf", &guess_token), ("email", email), ("password", &format!("Talan-{i}-Ez"))])
                .await?;
        assert_eq!(status, 401);
    }
    let (status, retry, html) =
        post(&guesser, &format!("{base}/belepes"), &[("csrf", &guess_token), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 429, "{html}");
    assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| (1..=15).contains(&s))));
    let (status, _, _) = post(&home, &format!("{base}/belepes"), &[("csrf", &token), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 303, "the citizen signs in from home");
    kit.stop().await;
    Ok(())
}

/// Behind a reverse proxy every request comes from the proxy's address. With the proxy
/// trusted (`KAPU_TRUSTED_PROXIES`) the guesser's forwarded address waits while a citizen
/// behind the same proxy signs in; a client that is not a trusted proxy cannot escape its
/// backoff by sending the header itself.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled() -> Result<()> {
    let proxies = kapu_http::client_ip::TrustedProxies::parse(HOME).map_err(anyhow::Error::msg)?;
    let kit = Kit::start_with(KitOptions { trusted_proxies: proxies, ..KitOptions::default() }).await?;
    let t = kit.tenant("proxy", "Proxy").await?;
    let login = |c: &kapu_testkit::Client, forwarded: &str, password: &str| {
        let body = json!({ "email": t.clerk_email, "password": password });
        let forwarded = forwarded.to_owned();
        let c = c.clone();
        async move { c.send(reqwest::Method::POST, "/api/v1/auth/login", Some(&body), &[("x-forwarded-for", &forwarded)]).await }
    };
    let proxy = kit.client(t.slug()).from_address(ip(HOME));
    for i in 0..5 {
        let r = login(&proxy, "198.51.100.7", &format!("Talan-Ez-Lesz-{i}")).await?;
        assert_eq!(r.problem().as_deref(), Some("invalid-credentials"), "guess {i}: {}", r.text);
    }
    let r = login(&proxy, "198.51.100.7", PASSWORD).await?;
    assert_eq!((r.status, r.problem().as_deref()), (429, Some("too-many-attempts")), "the guesser's address waits: {}", r.text);
    // A citizen of another network, behind the same proxy, signs in.
    login(&proxy, "203.0.113.9", PASSWORD).await?.expect_status(200)?;

    // Not a trusted proxy: its own address counts, whatever header it sends.
    let direct = kit.client(t.slug()).from_address(ip(ATTACKER));
    for i in 0..5 {
        let r = login(&direct, &format!("192.0.2.{i}"), &format!("Talan-Ez-Lesz-{i}")).await?;
        assert_eq!(r.problem().as_deref(), Some("invalid-credentials"), "guess {i}: {}", r.text);
    }
    let r = login(&direct, "192.0.2.200", PASSWORD).await?;
    assert_eq!(r.status, 429, "a forged X-Forwarded-For does not free the network: {}", r.text);
    kit.stop().await;
    Ok(())
}
