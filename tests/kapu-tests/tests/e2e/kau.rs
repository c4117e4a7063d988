//! National login (KAÜ): the real portal as a SAML service provider against the real KAÜ
//! simulator (`kapu_sim::kau`) over HTTP. The browser's part is played by an HTTP client
//! that follows the redirect to the simulator, picks a test person on its login page and
//! posts the response the page carries to the portal. The simulator's test variants make
//! the responses the portal must refuse.

use anyhow::{Context, Result, bail};
use kapu_sim::kau::KauSim;
use kapu_testkit::{Kit, PASSWORD, TestTenant};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
}

fn form_action(html: &str) -> String {
    html.split("method=\"post\" action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().replace("&amp;", "&")
}

/// A tenant that trusts the simulator.
async fn tenant_with_kau(kit: &Kit, sim: &KauSim, slug: &str, name: &str) -> Result<TestTenant> {
    let t = kit.tenant(slug, name).await?;
    let mut tenant = t.tenant.clone();
    tenant.settings = serde_json::json!({ "kau": sim.tenant_settings() });
    let mut tx = kit.db.platform_tx().await?;
    kapu_core::update_tenant(tx.conn(), &tenant).await?;
    tx.commit().await?;
    Ok(TestTenant { tenant, ..t })
}

/// What the simulator's page posts to the portal.
struct Posted {
    acs: String,
    saml_response: String,
}

/// Starts a KAÜ sign-in on the portal and answers it on the simulator's login page.
async fn answer(c: &reqwest::Client, base: &str, person: usize, method: &str, variant: &str) -> Result<Posted> {
    let r = c.get(format!("{base}/kau/belepes")).send().await?;
    if r.status().as_u16() != 303 {
        bail!("expected a redirect to KAÜ, got {}: {}", r.status(), r.text().await?);
    }
    let sso = r.headers()["location"].to_str()?.to_owned();
    assert!(sso.contains("SAMLRequest=") && sso.contains("Signature=") && sso.contains("SigAlg="), "a signed redirect: {sso}");
    let r = c.get(&sso).send().await?;
    let status = r.status().as_u16();
    let page = r.text().await?;
    if status != 200 {
        bail!("the KAÜ login page: {status}: {page}");
    }
    assert!(page.contains("Tesztszemély") && page.contains("Minta Márta"), "{page}");
    let ticket = hidden(&page, "ticket");
    let sim_base = sso.split("/kau/sso").next().unwrap_or_default().to_owned();
    let person = person.to_string();
    let r = c
        .post(format!("{sim_base}/kau/login"))
        .form(&[("ticket", ticket.as_str()), ("person", &person), ("method", method), ("variant", variant)])
        .send()
        .await?;
    let page = r.text().await?;
    let saml_response = hidden(&page, "SAMLResponse");
    if saml_response.is_empty() {
        bail!("no SAMLResponse on the simulator's page: {page}");
    }
    Ok(Posted { acs: form_action(&page), saml_response })
}

async fn post_to_acs(c: &reqwest::Client, posted: &Posted) -> Result<(u16, String, String)> {
    // Like a browser posting the simulator's form: a cross-site POST.
    let r = c
        .post(&posted.acs)
        .header("origin", "http://kau.simulator.invalid")
        .header("sec-fetch-site", "cross-site")
        .form(&[("SAMLResponse", posted.saml_response.as_str())])
        .send()
        .await?;
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Ok((status, location, r.text().await?))
}

async fn counts(kit: &Kit, t: &TestTenant) -> Result<(i64, i64, i64, i64)> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let row = sqlx::query_as(
        "SELECT (SELECT count(*) FROM client), (SELECT count(*) FROM client_account), (SELECT count(*) FROM client_session),
                (SELECT count(*) FROM kau_assertion_seen)",
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(row)
}

#[tokio::test]
async fn a_person_signs_in_with_kau_and_is_identified() -> Result<()> {
    let kit = Kit::start().await?;
    let sim = kapu_sim::kau::start(0).await?;
    let t = tenant_with_kau(&kit, &sim, "kaufalu", "KAÜ Falu").await?;
    let base = format!("{}/t/kaufalu", kit.base);

    // The portal's sign-in page offers the national login.
    let login = browser().get(format!("{base}/belepes")).send().await?.text().await?;
    assert!(login.contains("id=\"kau-login\"") && login.contains("/kau/belepes\">Belépés KAÜ-val</a>"), "{login}");

    // The service provider's metadata: its entity ID is its own URL; the key is made once.
    let md = browser().get(format!("{base}/kau/metadata")).send().await?;
    assert_eq!(md.headers()["content-type"], "application/samlmetadata+xml");
    let md = md.text().await?;
    assert!(md.contains(&format!("entityID=\"{base}/kau/metadata\"")) && md.contains(&format!("Location=\"{base}/kau/acs\"")), "{md}");
    assert!(md.contains("Name=\"anyjaNeve\"") && md.contains("AuthnRequestsSigned=\"true\""), "{md}");
    let again = browser().get(format!("{base}/kau/metadata")).send().await?.text().await?;
    assert_eq!(md, again, "the same key on every call");

    // Minta Márta signs in through the simulator with Ügyfélkapu+.
    let c = browser();
    let posted = answer(&c, &base, 0, "ugyfelkapu_plus", "normal").await?;
    assert_eq!(posted.acs, format!("{base}/kau/acs"));
    let (status, location, body) = post_to_acs(&c, &posted).await?;
    assert_eq!((status, location.as_str()), (303, "/t/kaufalu/profil"), "{body}");
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Minta Márta") && profile.contains("minta.marta@example.hu"), "{profile}");
    assert!(profile.contains("Ügyfélkapu+ (KAÜ) azonosítással azonosított"), "{profile}");
    assert_eq!(counts(&kit, &t).await?, (1, 1, 1, 1));

    // The client record holds the asserted natural identity data, sealed.
    let clerk = kit.clerk(&t).await?;
    let found = clerk
        .send(
            reqwest::Method::GET,
            "/api/v1/clients?family_name=Minta&given_name=M%C3%A1rta&birth_date=1980-05-17",
            None,
            &[("x-access-reason", "KAU test")],
        )
        .await?
        .json();
    let client = &found["clients"][0];
    assert_eq!(client["identity"]["mother_birth_name"], "Kovács Ilona", "{found}");
    assert_eq!(client["identity"]["birth_place"], "Budapest");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let (level, audited): (String, i64) = sqlx::query_as(
        "SELECT identification_level, (SELECT count(*) FROM audit_record WHERE action = 'client.identify_kau') FROM client_account",
    )
    .fetch_one(tx.conn())
    .await?;
    assert_eq!((level.as_str(), audited), ("kau", 1));
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT private_key_enc FROM kau_sp_key").fetch_one(tx.conn()).await?;
    assert!(!String::from_utf8_lossy(&sealed).contains("BEGIN") && sealed.len() > 1000, "the SP key is stored sealed");
    drop(tx);

    // Signing in again finds the same client and account.
    let c2 = browser();
    let (status, _, _) = post_to_acs(&c2, &answer(&c2, &base, 0, "dap", "normal").await?).await?;
    assert_eq!(status, 303);
    assert_eq!(counts(&kit, &t).await?, (1, 1, 2, 2));

    // A registered account raises its level by identifying through KAÜ: it is linked to the
    // client KAÜ describes, and keeps its own e-mail address and password.
    let email = "zsofi@example.hu";
    {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let hash = kapu_crypto::password::hash_password(PASSWORD.into()).await?;
        sqlx::query("INSERT INTO client_account (id, email, display_name, password_hash, email_verified_at, created_at) VALUES ($1, $2, 'Zsófi', $3, now(), now())")
            .bind(uuid::Uuid::now_v7())
            .bind(email)
            .bind(hash)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
    }
    let c3 = browser();
    let page = c3.get(format!("{base}/belepes")).send().await?.text().await?;
    let csrf = hidden(&page, "csrf");
    let r = c3.post(format!("{base}/belepes")).form(&[("csrf", csrf.as_str()), ("email", email), ("password", PASSWORD)]).send().await?;
    assert_eq!(r.status().as_u16(), 303);
    let profile = c3.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Regisztrált") && profile.contains("Azonosítás KAÜ-val"), "{profile}");
    let (status, _, body) = post_to_acs(&c3, &answer(&c3, &base, 2, "eszemelyi", "normal").await?).await?;
    assert_eq!(status, 303, "{body}");
    let profile = c3.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Ügyfélkapu+ (KAÜ) azonosítással azonosított") && profile.contains(email), "{profile}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let linked: (String, bool) = sqlx::query_as("SELECT identification_level, client_id IS NOT NULL FROM client_account WHERE email = $1")
        .bind(email)
        .fetch_one(tx.conn())
        .await?;
    assert_eq!(linked, ("kau".to_owned(), true));
    drop(tx);
    assert_eq!(counts(&kit, &t).await?.0, 2, "Nagy Zsófia Anna's client record was created");

    // While signed in as her, KAÜ asserting another person is refused, and nothing changes.
    let before = counts(&kit, &t).await?;
    let (status, _, body) = post_to_acs(&c3, &answer(&c3, &base, 3, "dap", "normal").await?).await?;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("kau_other_person") && body.contains("másik személyhez tartozik"), "{body}");
    assert_eq!(counts(&kit, &t).await?, before);

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_responses_are_each_refused_with_their_reason_and_change_nothing() -> Result<()> {
    let kit = Kit::start().await?;
    let sim = kapu_sim::kau::start(0).await?;
    let t = tenant_with_kau(&kit, &sim, "szigoru", "Szigorú Város").await?;
    let base = format!("{}/t/szigoru", kit.base);
    let cases = [
        ("ugyfelkapu_plus", "unsigned", "kau_unsigned", "nincs aláírva"),
        ("ugyfelkapu_plus", "forged", "kau_bad_signature", "nem a KAÜ tanúsítványával"),
        ("ugyfelkapu_plus", "tampered", "kau_bad_signature", "aláírás után módosították"),
        ("ugyfelkapu_plus", "wrapped", "kau_wrapping", "aláírás-becsomagolás"),
        ("ugyfelkapu_plus", "wrong_audience", "kau_wrong_audience", "másik szolgáltatónak szól"),
        ("ugyfelkapu_plus", "wrong_destination", "kau_wrong_destination", "másik címre szól"),
        ("ugyfelkapu_plus", "expired", "kau_expired", "érvényessége lejárt"),
        ("ugyfelkapu_plus", "not_yet_valid", "kau_not_yet_valid", "még nem érvényes"),
        ("ugyfelkapu_plus", "cancelled", "kau_status", "nem azonosította"),
        ("jelszo", "normal", "kau_assurance", "alacsonyabb a szükségesnél"),
    ];
    for (method, variant, code, words) in cases {
        let c = browser();
        let posted = answer(&c, &base, 0, method, variant).await.with_context(|| variant.to_owned())?;
        let (status, _, body) = post_to_acs(&c, &posted).await?;
        assert_eq!(status, 400, "{variant}: {body}");
        assert!(body.contains(&format!("<code id=\"kau-code\">{code}</code>")) && body.contains(words), "{variant}: {body}");
        assert!(body.contains("semmit nem változtattunk"), "{body}");
        assert_eq!(counts(&kit, &t).await?, (0, 0, 0, 0), "{variant} changed something");
    }

    // Malformed SAML: each gets its own words on a readable page.
    let acs = format!("{base}/kau/acs");
    for (form, words) in [
        (vec![], "hibás formátumú"),
        (vec![("SAMLResponse", "ez nem base64!")], "hibás formátumú"),
        (vec![("SAMLResponse", "PGZvbz4=")], "hibás formátumú"),
        (vec![("SAMLResponse", "PCFET0NUWVBFIHg+PHg+PC94Pg==")], "hibás formátumú"),
    ] {
        let r = browser().post(&acs).form(&form).send().await?;
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let body = r.text().await?;
        assert!(body.contains("kau_malformed") && body.contains(words), "{body}");
    }
    assert_eq!(counts(&kit, &t).await?, (0, 0, 0, 0));

    // A response meant for this tenant is refused by another that trusts the same KAÜ.
    let other = tenant_with_kau(&kit, &sim, "szomszed", "Szomszéd Község").await?;
    let c = browser();
    let posted = answer(&c, &base, 0, "ugyfelkapu_plus", "normal").await?;
    let stolen = Posted { acs: format!("{}/t/szomszed/kau/acs", kit.base), saml_response: posted.saml_response.clone() };
    let (status, _, body) = post_to_acs(&browser(), &stolen).await?;
    assert_eq!(status, 400);
    assert!(body.contains("kau_wrong_destination") || body.contains("kau_wrong_audience"), "{body}");
    assert_eq!(counts(&kit, &other).await?, (0, 0, 0, 0));

    // The same response, replayed after its use, is refused.
    let (status, _, _) = post_to_acs(&c, &posted).await?;
    assert_eq!(status, 303);
    let (status, _, body) = post_to_acs(&browser(), &posted).await?;
    assert_eq!(status, 400);
    assert!(body.contains("kau_replayed") && body.contains("már felhasználták"), "{body}");
    assert_eq!(counts(&kit, &t).await?, (1, 1, 1, 1));

    // A response to a request that is no longer pending (expired here) is refused.
    let c = browser();
    let posted = answer(&c, &base, 1, "ugyfelkapu_plus", "normal").await?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    sqlx::query("UPDATE kau_request SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL").execute(tx.conn()).await?;
    tx.commit().await?;
    let (status, _, body) = post_to_acs(&c, &posted).await?;
    assert_eq!(status, 400);
    assert!(body.contains("kau_unknown_request"), "{body}");
    assert_eq!(counts(&kit, &t).await?, (1, 1, 1, 1));

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_response_posted_by_another_browser_is_refused_against_login_csrf() -> Result<()> {
    let kit = Kit::start().await?;
    let sim = kapu_sim::kau::start(0).await?;
    let t = tenant_with_kau(&kit, &sim, "csrfvar", "CSRF Vár").await?;
    let base = format!("{}/t/csrfvar", kit.base);

    // The start of a sign-in binds it to the browser: a short-lived HttpOnly cookie for the
    // national login's paths only.
    let r = browser().get(format!("{base}/kau/belepes")).send().await?;
    let cookie = r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("kapu_kau="));
    let cookie = cookie.context("a binding cookie")?;
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/t/csrfvar/kau/") && cookie.contains("Max-Age=900"), "{cookie}");

    // The attacker answers a sign-in they started, with their own valid response, and makes
    // a victim's browser post it: once without any binding cookie, once with the cookie of
    // a sign-in the victim started in their own browser.
    let attacker = browser();
    let posted = answer(&attacker, &base, 0, "ugyfelkapu_plus", "normal").await?;
    let victim = browser();
    let victims_own = answer(&victim, &base, 1, "ugyfelkapu_plus", "normal").await?;
    for c in [browser(), victim.clone()] {
        let (status, location, body) = post_to_acs(&c, &posted).await?;
        assert_eq!((status, location.as_str()), (400, ""), "{body}");
        assert!(body.contains("<code id=\"kau-code\">kau_other_browser</code>"), "{body}");
        assert!(body.contains("másik böngészőben indított belépéshez tartozik") && body.contains("semmit nem változtattunk"), "{body}");
        assert_eq!(counts(&kit, &t).await?, (0, 0, 0, 0), "a refused response changes nothing");
        let profile = c.get(format!("{base}/profil")).send().await?;
        assert_eq!(profile.status().as_u16(), 303, "the victim is not signed in");
    }

    // Nothing was used up: the browser that started each sign-in completes it.
    let (status, location, body) = post_to_acs(&victim, &victims_own).await?;
    assert_eq!((status, location.as_str()), (303, "/t/csrfvar/profil"), "{body}");
    let profile = victim.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("(KAÜ)"), "{profile}");
    let (status, location, body) = post_to_acs(&attacker, &posted).await?;
    assert_eq!((status, location.as_str()), (303, "/t/csrfvar/profil"), "{body}");
    assert_eq!(counts(&kit, &t).await?, (2, 2, 2, 2));

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_tenant_without_kau_says_so() -> Result<()> {
    let kit = Kit::start().await?;
    kit.tenant("nincs", "Nincs KAÜ").await?;
    let r = browser().get(format!("{}/t/nincs/kau/belepes", kit.base)).send().await?;
    assert_eq!(r.status().as_u16(), 404);
    let body = r.text().await?;
    assert!(body.contains("kau_not_configured") && body.contains("nincs beállítva"), "{body}");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_tenant_folder_names_its_kau_identity_provider() -> Result<()> {
    let kit = Kit::start().await?;
    let sim = kapu_sim::kau::start(0).await?;
    let run = |args: Vec<String>| {
        let mut cmd = kit.kapu_command();
        cmd.args(args);
        async move {
            let out = cmd.output().await?;
            anyhow::Ok((out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned()))
        }
    };
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("kaumappa");
    std::fs::create_dir(&folder)?;
    let toml = format!(
        "slug = \"kaumappa\"\nname = \"KAÜ Mappa\"\n\n[kau]\nidp_entity_id = \"{}\"\nidp_sso_url = \"{}\"\nidp_certificate = \"kau-idp.pem\"\n",
        sim.entity_id(),
        sim.sso_url()
    );
    std::fs::write(folder.join("tenant.toml"), &toml)?;

    // A certificate that is not one is refused, naming the field, and nothing is created.
    std::fs::write(folder.join("kau-idp.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")?;
    let (ok, err) = run(vec!["tenant".into(), "apply".into(), folder.display().to_string()]).await?;
    assert!(!ok && err.contains("kau:") && err.contains("X.509"), "{err}");
    let mut conn = kit.db.pool().acquire().await?;
    assert!(kapu_core::find_tenant_by_slug(&mut conn, "kaumappa").await?.is_none());
    drop(conn);

    std::fs::write(folder.join("kau-idp.pem"), sim.certificate_pem())?;
    let (ok, err) = run(vec!["tenant".into(), "apply".into(), folder.display().to_string()]).await?;
    assert!(ok, "{err}");
    let base = format!("{}/t/kaumappa", kit.base);
    let c = browser();
    let (status, location, body) = post_to_acs(&c, &answer(&c, &base, 4, "eszemelyi", "normal").await?).await?;
    assert_eq!((status, location.as_str()), (303, "/t/kaumappa/profil"), "{body}");
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Szűcs Ödön") && profile.contains("(KAÜ)"), "{profile}");

    // Export writes the identity provider back as a folder.
    let out = dir.path().join("export");
    let (ok, err) = run(vec!["tenant".into(), "export".into(), "kaumappa".into(), out.display().to_string()]).await?;
    assert!(ok, "{err}");
    let exported = std::fs::read_to_string(out.join("tenant.toml"))?;
    assert!(exported.contains("[kau]") && exported.contains(&sim.sso_url()), "{exported}");
    assert_eq!(std::fs::read_to_string(out.join("kau-idp.pem"))?, sim.certificate_pem());

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

/// Runs a command-line tool; returns whether it succeeded and what it printed.
async fn tool(program: &str, args: &[&str]) -> Result<(bool, String)> {
    let out = tokio::process::Command::new(program).args(args).output().await.with_context(|| format!("running {program}"))?;
    Ok((out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))))
}

fn pem(der_b64: &str) -> String {
    let lines: Vec<String> = der_b64.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

#[tokio::test]
async fn the_signatures_verify_with_openssl_and_xmlsec1() -> Result<()> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let kit = Kit::start().await?;
    let sim = kapu_sim::kau::start(0).await?;
    tenant_with_kau(&kit, &sim, "eszkoz", "Eszköz Falva").await?;
    let base = format!("{}/t/eszkoz", kit.base);
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name).display().to_string();

    // The SP's redirect signature, checked by openssl with the certificate in its metadata.
    let md = browser().get(format!("{base}/kau/metadata")).send().await?.text().await?;
    let cert = md.split("<ds:X509Certificate>").nth(1).and_then(|r| r.split('<').next()).context("a certificate in the metadata")?;
    std::fs::write(path("sp.pem"), pem(cert))?;
    let r = browser().get(format!("{base}/kau/belepes")).send().await?;
    let location = r.headers()["location"].to_str()?.to_owned();
    let query = location.split_once('?').map(|(_, q)| q).context("a query")?;
    let (signed, signature) = query.split_once("&Signature=").context("a signature")?;
    let signature: String = url_decode(signature);
    std::fs::write(path("signed.txt"), signed)?;
    std::fs::write(path("signature.bin"), b64.decode(signature)?)?;
    let (ok, out) = tool("openssl", &["x509", "-in", &path("sp.pem"), "-pubkey", "-noout", "-out", &path("sp-pub.pem")]).await?;
    assert!(ok, "{out}");
    let (ok, out) =
        tool("openssl", &["dgst", "-sha256", "-verify", &path("sp-pub.pem"), "-signature", &path("signature.bin"), &path("signed.txt")])
            .await?;
    assert!(ok && out.contains("Verified OK"), "{out}");

    // The simulator's response, checked by xmlsec1 with the IdP's certificate: the response
    // and, on its own, the assertion.
    std::fs::write(path("idp.pem"), sim.certificate_pem())?;
    let c = browser();
    let posted = answer(&c, &base, 0, "ugyfelkapu_plus", "normal").await?;
    let xml = String::from_utf8(b64.decode(&posted.saml_response)?)?;
    std::fs::write(path("response.xml"), &xml)?;
    let id_attrs = [
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    ];
    let verify = |file: String| {
        let mut args = vec!["--verify".to_owned(), "--pubkey-cert-pem".to_owned(), path("idp.pem")];
        args.extend(id_attrs.iter().map(|s| (*s).to_owned()));
        args.push(file);
        args
    };
    let args = verify(path("response.xml"));
    let (ok, out) = tool("xmlsec1", &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    assert!(ok && out.contains("OK"), "{out}");
    let start = xml.find("<saml:Assertion").context("an assertion")?;
    let end = xml.find("</saml:Assertion>").context("its end")? + "</saml:Assertion>".len();
    std::fs::write(path("assertion.xml"), &xml[start..end])?;
    let args = verify(path("assertion.xml"));
    let (ok, out) = tool("xmlsec1", &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    assert!(ok && out.contains("OK"), "{out}");
    // The same tool refuses the altered one.
    std::fs::write(path("altered.xml"), xml.replace("Kovács Ilona", "Hamis Anna"))?;
    let args = verify(path("altered.xml"));
    let (ok, out) = tool("xmlsec1", &args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    assert!(!ok, "{out}");

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

fn url_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}
