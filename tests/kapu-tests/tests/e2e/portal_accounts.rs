//! Client self-registration on the portal: forms, e-mail confirmation over SMTP, sign-in,
//! the profile page, sign-out and password reset.

use std::time::Duration;

use anyhow::{Context, Result};
use kapu_testkit::{Kit, KitOptions};

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn post(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<(u16, reqwest::header::HeaderMap, String)> {
    let r = c.post(url).form(form).send().await?;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Ok((status, headers, r.text().await?))
}

async fn mail_link(kit: &Kit, n: usize, path: &str) -> Result<String> {
    let msgs = kit.mail.wait_for_messages(n, Duration::from_secs(20)).await.context("the e-mail arrives")?;
    let msg = kit.mail.message(msgs[n - 1].id).await.context("message")?;
    let text = msg.text.unwrap_or_default();
    text.split_whitespace().find(|w| w.contains(path)).map(str::to_owned).with_context(|| format!("a {path} link in: {text}"))
}

#[tokio::test]
async fn a_citizen_registers_confirms_signs_in_and_resets_the_password() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("lakos", "Lakos Község").await?;
    kit.tenant("masik", "Másik Város").await?;
    let base = format!("{}/t/lakos", kit.base);
    let c = browser();

    let page = c.get(format!("{base}/regisztracio")).send().await?.text().await?;
    assert!(page.contains("<html lang=\"hu\">") && page.contains("<h1>Regisztráció</h1>"));
    let csrf = hidden(&page, "csrf");
    assert!(!csrf.is_empty());
    let email = "kiss.anna@example.hu";

    // A guessable password is refused on its field, and nothing is created.
    let (status, _, html) = post(
        &c,
        &format!("{base}/regisztracio"),
        &[("csrf", &csrf), ("display_name", "Kiss Anna"), ("email", email), ("password", "password123")],
    )
    .await?;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"password-error\"") && html.contains("túl könnyen kitalálható") && html.contains("href=\"#password\""),
        "{html}"
    );
    assert!(html.contains("value=\"kiss.anna@example.hu\"") && !html.contains("password123"), "keeps what was typed, except the password");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (accounts, jobs): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM client_account), (SELECT count(*) FROM job)").fetch_one(tx.conn()).await?;
    assert_eq!((accounts, jobs), (0, 0));
    drop(tx);
    // A post without the form's token is refused.
    let (status, _, _) = post(
        &browser(),
        &format!("{base}/regisztracio"),
        &[("display_name", "X"), ("email", "x@example.hu"), ("password", "Zold-Kerites-Alatt-Het-Macska")],
    )
    .await?;
    assert_eq!(status, 403);

    let password = "Zöld-Kerítés-Alatt-Hét-Macska";
    let (status, _, html) = post(
        &c,
        &format!("{base}/regisztracio"),
        &[("csrf", &csrf), ("display_name", "Kiss Anna"), ("email", email), ("password", password)],
    )
    .await?;
    assert_eq!(status, 200);
    assert!(html.contains("Nézze meg a postafiókját"));
    let confirm = mail_link(&kit, 1, "/t/lakos/email-megerosites?token=").await?;

    // Not confirmed yet: the right password is told so; a wrong one is not.
    let (status, _, html) = post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 403);
    assert!(html.contains("erősítse meg az e-mail-címét"));
    let (status, _, html) =
        post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", "Rossz-Jelszo-Valami-2026")]).await?;
    assert_eq!(status, 401);
    assert!(html.contains("hibás"));

    let r = c.get(&confirm).send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("E-mail-cím megerősítve"));
    let again = c.get(&confirm).send().await?;
    assert_eq!(again.status(), 400, "a confirmation link works once");

    let (status, headers, _) = post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/t/lakos/profil");
    let set = headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|v| v.starts_with("kapu_client=")).unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/t/lakos/"), "{set}");
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Kiss Anna") && profile.contains(email) && profile.contains("Regisztrált"), "{profile}");

    // The same cookie means nothing to another municipality.
    let session = set.split(';').next().unwrap().to_owned();
    let other = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let r = other.get(format!("{}/t/masik/profil", kit.base)).header("cookie", &session).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/t/masik/belepes");

    // Registering the address again answers the same, and mails the owner instead.
    let (status, _, html) = post(
        &c,
        &format!("{base}/regisztracio"),
        &[("csrf", &csrf), ("display_name", "Valaki Más"), ("email", "KISS.ANNA@example.hu"), ("password", password)],
    )
    .await?;
    assert_eq!((status, html.contains("Nézze meg a postafiókját")), (200, true));
    let notice = kit.mail.wait_for_messages(2, Duration::from_secs(20)).await.context("notice")?;
    assert!(notice[1].subject.as_deref().unwrap_or("").contains("már van fiókja"));

    // Sign-out needs the session's token.
    let profile_csrf = hidden(&profile, "csrf");
    let (status, _, _) = post(&c, &format!("{base}/kijelentkezes"), &[("csrf", "hamis")]).await?;
    assert_eq!(status, 403);
    let (status, _, _) = post(&c, &format!("{base}/kijelentkezes"), &[("csrf", &profile_csrf)]).await?;
    assert_eq!(status, 303);
    assert_eq!(c.get(format!("{base}/profil")).send().await?.status(), 303, "signed out");

    // Password reset by e-mail; a weak new password is refused, a strong one works once.
    let (status, _, html) = post(&c, &format!("{base}/elfelejtett-jelszo"), &[("csrf", &csrf), ("email", email)]).await?;
    assert_eq!((status, html.contains("Nézze meg a postafiókját")), (200, true));
    let reset = mail_link(&kit, 3, "/t/lakos/jelszo-visszaallitas?token=").await?;
    let form = c.get(&reset).send().await?.text().await?;
    let token = hidden(&form, "token");
    assert!(form.contains(&format!("href=\"?token={token}&amp;lang=en\"")), "the language switch keeps the token: {form}");
    let (status, _, html) =
        post(&c, &format!("{base}/jelszo-visszaallitas"), &[("csrf", &csrf), ("token", &token), ("password", "kiss.anna@example.hu")])
            .await?;
    assert_eq!(status, 422, "{html}");
    let (status, _, html) = post(
        &c,
        &format!("{base}/jelszo-visszaallitas"),
        &[("csrf", &csrf), ("token", &token), ("password", "Piros-Villamos-Megy-A-Hidon")],
    )
    .await?;
    assert_eq!((status, html.contains("Jelszó megváltoztatva")), (200, true));
    let (status, _, _) =
        post(&c, &format!("{base}/jelszo-visszaallitas"), &[("csrf", &csrf), ("token", &token), ("password", "Masik-Piros-Villamos-Megy")])
            .await?;
    assert_eq!(status, 400, "the reset link works once");
    let (status, _, _) =
        post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", "Piros-Villamos-Megy-A-Hidon")]).await?;
    assert_eq!(status, 303);
    // In English on request.
    let en = c.get(format!("{base}/belepes?lang=en")).send().await?.text().await?;
    assert!(en.contains("<html lang=\"en\">") && en.contains("<h1>Sign in</h1>"));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_client_downloads_their_data_and_erases_the_account() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant("adatok", "Adatok Városa").await?;
    let base = format!("{}/t/adatok", kit.base);
    let c = browser();
    let csrf = hidden(&c.get(format!("{base}/regisztracio")).send().await?.text().await?, "csrf");
    let (email, password) = ("torlendo.tamas@example.hu", "Sárga-Léggömb-Száll-Az-Égen");
    post(
        &c,
        &format!("{base}/regisztracio"),
        &[("csrf", &csrf), ("display_name", "Törlendő Tamás"), ("email", email), ("password", password)],
    )
    .await?;
    let confirm = mail_link(&kit, 1, "/t/adatok/email-megerosites?token=").await?;
    assert_eq!(c.get(&confirm).send().await?.status(), 200);
    let (status, _, _) = post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 303);

    let r = c.get(format!("{base}/adataim-letoltese")).send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str()?.contains("attachment"));
    let data: serde_json::Value = r.json().await?;
    assert_eq!(data["account"]["email"], email);
    assert_eq!(data["account"]["display_name"], "Törlendő Tamás");
    assert_eq!(data["account"]["identification_level"], "registered");
    assert_eq!(data["sessions"].as_array().map(Vec::len), Some(1));

    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    let session_csrf = hidden(&profile, "csrf");
    let (status, _, html) = post(&c, &format!("{base}/fiok-torlese"), &[("csrf", &session_csrf), ("password", "nem-ez-a-jelszo")]).await?;
    assert_eq!(status, 403);
    assert!(html.contains("nem töröltük"));
    let (status, _, html) = post(&c, &format!("{base}/fiok-torlese"), &[("csrf", &session_csrf), ("password", password)]).await?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Fiókját töröltük") && html.contains("hozzáférések naplója"), "says what was kept and why: {html}");

    // Gone: no sign-in, no account, no e-mail to the address left in the queue.
    let (status, _, _) = post(&c, &format!("{base}/belepes"), &[("csrf", &csrf), ("email", email), ("password", password)]).await?;
    assert_eq!(status, 401);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (accounts, mails): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM client_account), (SELECT count(*) FROM job WHERE payload::text LIKE '%torlendo%')")
            .fetch_one(tx.conn())
            .await?;
    assert_eq!((accounts, mails), (0, 0));
    let erased: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_record WHERE action = 'client.erase'").fetch_one(tx.conn()).await?;
    assert_eq!(erased, 1, "the erasure itself is recorded");
    kit.stop().await;
    Ok(())
}

/// A value PostgreSQL cannot store exactly (NUL) posted from a portal form: the browser gets a
/// page in its language that says so, not a problem document, and nothing is created.
#[tokio::test]
async fn an_unstorable_value_gets_a_page_in_the_visitors_language() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("nulla", "Nulla Község").await?;
    let base = format!("{}/t/nulla", kit.base);
    for (lang, heading) in [("hu", "A megadott adat nem tárolható"), ("en", "A value cannot be stored")] {
        let c = browser();
        let page = c.get(format!("{base}/regisztracio?lang={lang}")).send().await?.text().await?;
        let csrf = hidden(&page, "csrf");
        let r = c
            .post(format!("{base}/regisztracio"))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .form(&[
                ("csrf", csrf.as_str()),
                ("display_name", "Nul\u{0}Anna"),
                ("email", "nul@example.hu"),
                ("password", "Zöld-Kerítés-Alatt-Hét-Macska"),
            ])
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 422);
        let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let html = r.text().await?;
        assert!(ct.starts_with("text/html"), "{ct}: {html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")) && html.contains(&format!("<h1>{heading}</h1>")), "{html}");
        assert!(!html.contains("urn:kapu:problem"), "{html}");
    }
    // An API client still gets the problem document.
    let c = browser();
    let page = c.get(format!("{base}/regisztracio")).send().await?.text().await?;
    let (status, headers, body) = post(
        &c,
        &format!("{base}/regisztracio"),
        &[
            ("csrf", &hidden(&page, "csrf")),
            ("display_name", "Nul\u{0}Anna"),
            ("email", "nul@example.hu"),
            ("password", "Zöld-Kerítés-Alatt-Hét-Macska"),
        ],
    )
    .await?;
    assert_eq!((status, headers.get("content-type").and_then(|v| v.to_str().ok())), (422, Some("application/problem+json")), "{body}");
    assert!(body.contains("urn:kapu:problem:unstorable-value"), "{body}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (accounts, jobs): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM client_account), (SELECT count(*) FROM job)").fetch_one(tx.conn()).await?;
    assert_eq!((accounts, jobs), (0, 0), "nothing was created");
    drop(tx);
    kit.stop().await;
    Ok(())
}
