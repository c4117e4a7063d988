//! Each tenant as an OpenID Provider: the authorization-code flow with PKCE and consent,
//! tokens checked by `jsonwebtoken` against the published JWKS, userinfo, refresh rotation
//! with reuse detection, revocation, introspection, key rotation, RP-initiated logout, every
//! refused input, and tenant isolation of tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Utc;
use kapu_testkit::{Kit, TestTenant};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "Zöld-Kerítés-Alatt-Hét-Macska";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const LOGOUT_REDIRECT: &str = "http://127.0.0.1:9/signed-out";

/// Makes a portal account with a confirmed e-mail address.
async fn citizen(kit: &Kit, t: &TestTenant, name: &str, email: &str) -> Result<uuid::Uuid> {
    let token = Mutex::new(String::new());
    let link = |_: &str, tok: &str| {
        if !tok.is_empty() {
            *token.lock().unwrap() = tok.to_owned();
        }
        String::new()
    };
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let mailing = kapu_clients::account::Mailing { tenant_name: &t.tenant.name, link: &link, ring: &ring };
    let reg = kapu_clients::account::Registration { display_name: name.into(), email: email.into(), password: PASSWORD.into() };
    kapu_clients::account::register(&mut tx, reg, &mailing, Utc::now()).await?;
    let tok = token.lock().unwrap().clone();
    let account = kapu_clients::account::verify_email(&mut tx, &tok, Utc::now()).await?;
    tx.commit().await?;
    Ok(account.id)
}

/// A person's browser: cookies kept, redirects not followed.
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(kit: &Kit, slug: &str) -> Self {
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: format!("{}/t/{slug}", kit.base) }
    }

    async fn get(&self, url: &str) -> Result<(u16, Option<String>, String)> {
        let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.origin()) };
        let r = self.http.get(url).send().await?;
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        Ok((r.status().as_u16(), loc, r.text().await?))
    }

    async fn post(&self, path: &str, form: &[(String, String)]) -> Result<(u16, Option<String>, String)> {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.origin()) };
        let r = self.http.post(url).form(form).send().await?;
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        Ok((r.status().as_u16(), loc, r.text().await?))
    }

    fn origin(&self) -> &str {
        let i = self.base.find("/t/").unwrap();
        &self.base[..i]
    }

    /// Signs in through the portal's form.
    async fn sign_in(&self, email: &str) -> Result<()> {
        self.sign_in_as(email, PASSWORD).await
    }

    /// Signs in through the portal's form with `password`.
    async fn sign_in_as(&self, email: &str, password: &str) -> Result<()> {
        let (_, _, page) = self.get(&format!("{}/belepes", self.base)).await?;
        let csrf = hidden(&page, "csrf");
        let form = vec![("csrf".into(), csrf), ("email".into(), email.into()), ("password".into(), password.into())];
        let (status, loc, _) = self.post(&format!("{}/belepes", self.base), &form).await?;
        if status != 303 {
            bail!("sign-in failed: {status} {loc:?}");
        }
        Ok(())
    }
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().replace("&amp;", "&").replace("&#x2f;", "/")
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|r| {
            let (name, rest) = r.split_once("\" value=\"")?;
            let value = rest.split('"').next()?;
            Some((name.to_owned(), decode_html(value)))
        })
        .collect()
}

fn decode_html(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn query(url: &str) -> HashMap<String, String> {
    let u = reqwest::Url::parse(url).unwrap();
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn pkce() -> (String, String) {
    let verifier = B64URL.encode(rand_bytes());
    let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, x) in uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).enumerate() {
        b[i] = *x;
    }
    b
}

struct Rp {
    client_id: String,
    secret: Option<String>,
}

async fn register_rp(admin: &kapu_testkit::Client, body: Value) -> Result<Rp> {
    let r = admin.post("/api/v1/oidc/clients", &body).await?;
    r.expect_status(201)?;
    let v = r.json();
    Ok(Rp { client_id: v["client_id"].as_str().unwrap().to_owned(), secret: v["client_secret"].as_str().map(str::to_owned) })
}

fn confidential(name: &str) -> Value {
    json!({
        "name": name, "kind": "confidential", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [LOGOUT_REDIRECT],
        "allowed_scopes": ["openid", "profile", "email", "kapu_identity"],
    })
}

fn authorize_url(b: &Browser, rp: &Rp, scope: &str, challenge: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut u = reqwest::Url::parse(&format!("{}/oidc/authorize", b.base)).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", &rp.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", scope)
            .append_pair("state", "st-123")
            .append_pair("nonce", "n-456");
        if let Some(c) = challenge {
            q.append_pair("code_challenge", c).append_pair("code_challenge_method", "S256");
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

/// Runs authorize (signed in already) through consent; returns the redirect's query.
async fn get_code(b: &Browser, url: &str) -> Result<HashMap<String, String>> {
    let (status, loc, page) = b.get(url).await?;
    let loc = match status {
        200 => {
            assert!(page.contains("<form method=\"post\""), "a consent page: {page}");
            let mut form = hidden_fields(&page);
            form.push(("decision".into(), "allow".into()));
            let (status, loc, body) = b.post(&format!("{}/oidc/consent", b.base), &form).await?;
            assert_eq!(status, 303, "{body}");
            loc.context("redirect")?
        }
        303 => loc.context("redirect")?,
        s => bail!("authorize answered {s}: {page}"),
    };
    assert!(loc.starts_with(REDIRECT), "{loc}");
    Ok(query(&loc))
}

async fn token(kit: &Kit, slug: &str, rp: &Rp, form: &[(&str, &str)]) -> Result<(u16, Value)> {
    let mut req = reqwest::Client::new().post(format!("{}/t/{slug}/oidc/token", kit.base)).form(form);
    if let Some(s) = &rp.secret {
        req = req.basic_auth(&rp.client_id, Some(s));
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    assert_eq!(r.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    Ok((status, r.json().await?))
}

async fn exchange(kit: &Kit, slug: &str, rp: &Rp, code: &str, verifier: &str) -> Result<(u16, Value)> {
    token(
        kit,
        slug,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", &rp.client_id),
        ],
    )
    .await
}

async fn userinfo(kit: &Kit, slug: &str, access: &str) -> Result<(u16, Value)> {
    let r = reqwest::Client::new().get(format!("{}/t/{slug}/oidc/userinfo", kit.base)).bearer_auth(access).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn introspect(kit: &Kit, slug: &str, rp: &Rp, tok: &str) -> Result<Value> {
    let r = reqwest::Client::new()
        .post(format!("{}/t/{slug}/oidc/introspect", kit.base))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", tok)])
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(r.json().await?)
}

/// Verifies an ID token with `jsonwebtoken` against the tenant's published JWKS.
async fn verify_id_token(kit: &Kit, slug: &str, id_token: &str, aud: &str) -> Result<Value> {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/t/{slug}/oidc/jwks", kit.base)).await?.json().await?;
    let header = jsonwebtoken::decode_header(id_token)?;
    let kid = header.kid.context("kid")?;
    let jwk = jwks.find(&kid).with_context(|| format!("kid {kid} is published"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[format!("{}/t/{slug}", kit.base)]);
    Ok(jsonwebtoken::decode::<Value>(id_token, &key, &v)?.claims)
}

fn err(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_citizen_signs_in_to_a_relying_party_with_code_pkce_and_consent() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("opa", "Opa Város").await?;
    let account = citizen(&kit, &t, "Kiss Anna", "anna@example.hu").await?;
    let admin = kit.admin(&t).await?;
    let rp = register_rp(&admin, confidential("Parkolás app")).await?;
    assert!(rp.client_id.starts_with("rp_") && rp.secret.as_deref().is_some_and(|s| s.len() >= 43));

    // Discovery names this tenant's issuer and both algorithms.
    let d: Value = reqwest::get(format!("{}/t/opa/.well-known/openid-configuration", kit.base)).await?.json().await?;
    assert_eq!(d["issuer"], format!("{}/t/opa", kit.base));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256", "ES256"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));

    // Not signed in: to the sign-in form, which then returns to the request.
    let b = Browser::new(&kit, "opa");
    let (verifier, challenge) = pkce();
    let url = authorize_url(&b, &rp, "openid profile email", Some(&challenge), &[]);
    let (status, loc, _) = b.get(&url).await?;
    assert_eq!(status, 303);
    let loc = loc.unwrap();
    assert!(loc.starts_with("/t/opa/belepes?next="), "{loc}");
    let (_, _, login_page) = b.get(&loc).await?;
    let next = hidden(&login_page, "next");
    assert!(next.starts_with("/t/opa/oidc/authorize?"), "{next}");
    let form = vec![
        ("csrf".into(), hidden(&login_page, "csrf")),
        ("next".into(), next.clone()),
        ("email".into(), "anna@example.hu".into()),
        ("password".into(), PASSWORD.into()),
    ];
    let (status, back, _) = b.post("/t/opa/belepes", &form).await?;
    assert_eq!((status, back.as_deref()), (303, Some(next.as_str())));

    // The consent page names the application and what it asks for.
    let (status, _, consent) = b.get(&next).await?;
    assert_eq!(status, 200);
    assert!(consent.contains("Parkolás app") && consent.contains("E-mail-címe") == consent.contains("E-mail-címe"));
    assert!(consent.contains("Az e-mail-címe") && consent.contains("A neve"), "{consent}");
    let q = get_code(&b, &next).await?;
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], format!("{}/t/opa", kit.base));

    let (status, tokens) = exchange(&kit, "opa", &rp, &q["code"], &verifier).await?;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email");
    let claims = verify_id_token(&kit, "opa", tokens["id_token"].as_str().unwrap(), &rp.client_id).await?;
    assert_eq!(claims["sub"], account.to_string());
    assert_eq!(claims["nonce"], "n-456");
    let at_hash = B64URL.encode(&Sha256::digest(tokens["access_token"].as_str().unwrap().as_bytes())[..16]);
    assert_eq!(claims["at_hash"], at_hash);

    let (status, info) = userinfo(&kit, "opa", tokens["access_token"].as_str().unwrap()).await?;
    assert_eq!(status, 200);
    assert_eq!(info, json!({ "sub": account.to_string(), "name": "Kiss Anna", "email": "anna@example.hu", "email_verified": true }));

    // Consent is remembered: the next authorization goes straight back with a code.
    let (v2, c2) = pkce();
    let (status, loc, _) = b.get(&authorize_url(&b, &rp, "openid email", Some(&c2), &[])).await?;
    assert_eq!(status, 303);
    let q2 = query(&loc.unwrap());
    let (status, t2) = exchange(&kit, "opa", &rp, &q2["code"], &v2).await?;
    assert_eq!(status, 200);
    assert_eq!(t2["scope"], "openid email");

    // kapu_identity: the identification level (no client record linked yet).
    let (v3, c3) = pkce();
    let q3 = get_code(&b, &authorize_url(&b, &rp, "openid kapu_identity", Some(&c3), &[])).await?;
    let (_, t3) = exchange(&kit, "opa", &rp, &q3["code"], &v3).await?;
    let (_, info) = userinfo(&kit, "opa", t3["access_token"].as_str().unwrap()).await?;
    assert_eq!(info, json!({ "sub": account.to_string(), "kapu_identification_level": "registered" }));

    // Introspection by a confidential client.
    let i = introspect(&kit, "opa", &rp, tokens["access_token"].as_str().unwrap()).await?;
    assert_eq!(i["active"], true);
    assert_eq!(i["sub"], account.to_string());
    assert_eq!(i["client_id"], rp.client_id);
    assert_eq!(i["iss"], format!("{}/t/opa", kit.base));

    // Refresh rotates; the used refresh token then counts as stolen and kills the grant.
    let rt1 = tokens["refresh_token"].as_str().unwrap();
    let (status, r2) = token(&kit, "opa", &rp, &[("grant_type", "refresh_token"), ("refresh_token", rt1)]).await?;
    assert_eq!(status, 200, "{r2}");
    assert_ne!(r2["refresh_token"], tokens["refresh_token"]);
    verify_id_token(&kit, "opa", r2["id_token"].as_str().unwrap(), &rp.client_id).await?;
    let (status, reuse) = token(&kit, "opa", &rp, &[("grant_type", "refresh_token"), ("refresh_token", rt1)]).await?;
    assert_eq!((status, err(&reuse)), (400, "invalid_grant"));
    assert!(reuse["error_description"].as_str().unwrap().contains("already used"), "{reuse}");
    let (status, dead) =
        token(&kit, "opa", &rp, &[("grant_type", "refresh_token"), ("refresh_token", r2["refresh_token"].as_str().unwrap())]).await?;
    assert_eq!((status, err(&dead)), (400, "invalid_grant"), "the rotated token died with the grant");
    assert_eq!(userinfo(&kit, "opa", r2["access_token"].as_str().unwrap()).await?.0, 401);
    assert_eq!(userinfo(&kit, "opa", tokens["access_token"].as_str().unwrap()).await?.0, 401);

    // Revocation of a refresh token (RFC 7009) ends its grant; introspection says inactive.
    let rt = t2["refresh_token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/t/opa/oidc/revoke", kit.base))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", rt), ("token_type_hint", "refresh_token")])
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let (status, revoked) = token(&kit, "opa", &rp, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await?;
    assert_eq!((status, err(&revoked)), (400, "invalid_grant"));
    assert!(revoked["error_description"].as_str().unwrap().contains("revoked"));
    assert_eq!(introspect(&kit, "opa", &rp, t2["access_token"].as_str().unwrap()).await?, json!({ "active": false }));
    assert_eq!(introspect(&kit, "opa", &rp, "not-a-token").await?, json!({ "active": false }));

    // RP-initiated logout with the ID token as hint returns to the registered address.
    let (status, loc, _) = b
        .get(&format!(
            "{}/oidc/logout?id_token_hint={}&post_logout_redirect_uri={LOGOUT_REDIRECT}&state=bye",
            b.base,
            t3["id_token"].as_str().unwrap()
        ))
        .await?;
    assert_eq!(status, 303);
    assert_eq!(loc.as_deref(), Some(format!("{LOGOUT_REDIRECT}?state=bye").as_str()));
    let (status, loc, _) = b.get(&authorize_url(&b, &rp, "openid", Some(&challenge), &[("prompt", "none")])).await?;
    assert_eq!(status, 303);
    assert_eq!(query(&loc.unwrap())["error"], "login_required", "the portal session ended");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn every_bad_input_gets_its_own_error_and_changes_nothing() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("opb", "Opb Falu").await?;
    citizen(&kit, &t, "Nagy Béla", "bela@example.hu").await?;
    let admin = kit.admin(&t).await?;
    let rp = register_rp(&admin, confidential("Sport app")).await?;
    let public = register_rp(
        &admin,
        json!({ "name": "Mobil app", "kind": "public", "redirect_uris": [REDIRECT], "allowed_scopes": ["openid", "email"] }),
    )
    .await?;
    assert!(public.secret.is_none());
    let b = Browser::new(&kit, "opb");
    b.sign_in("bela@example.hu").await?;
    let (verifier, challenge) = pkce();

    // Pages for people when the relying party cannot be trusted with a redirect.
    let unknown = Rp { client_id: "rp_nobody".into(), secret: None };
    let (status, loc, page) = b.get(&authorize_url(&b, &unknown, "openid", Some(&challenge), &[])).await?;
    assert_eq!((status, loc), (400, None));
    assert!(page.contains("nincs nyilvántartva"), "{page}");
    let bad_redirect = authorize_url(&b, &rp, "openid", Some(&challenge), &[]).replace("callback", "evil");
    let (status, loc, page) = b.get(&bad_redirect).await?;
    assert_eq!((status, loc), (400, None));
    assert!(page.contains("visszatérési címet"), "{page}");

    // Errors sent back to the relying party, with state.
    for (who, scope, extra, code) in [
        (&public, "openid", vec![], "invalid_request"),
        (&rp, "openid", vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], "invalid_request"),
        (&rp, "openid address", vec![], "invalid_scope"),
        (&rp, "profile", vec![], "invalid_scope"),
        (&rp, "openid", vec![("response_type", "token")], "unsupported_response_type"),
    ] {
        let mut url = authorize_url(&b, who, scope, None, &extra);
        if extra.iter().any(|(k, _)| *k == "response_type") {
            url = url.replacen("response_type=code&", "", 1);
        }
        let (status, loc, _) = b.get(&url).await?;
        assert_eq!(status, 303, "{url}");
        let q = query(&loc.unwrap());
        assert_eq!((q["error"].as_str(), q["state"].as_str()), (code, "st-123"), "{url}");
    }
    // Refusing consent.
    let (_, _, consent) = b.get(&authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
    let mut form = hidden_fields(&consent);
    form.push(("decision".into(), "deny".into()));
    let (_, loc, _) = b.post("/t/opb/oidc/consent", &form).await?;
    assert_eq!(query(&loc.unwrap())["error"], "access_denied");
    // A consent post without the session's token is refused.
    let forged: Vec<_> =
        hidden_fields(&consent).into_iter().filter(|(k, _)| k != "csrf").chain([("decision".into(), "allow".into())]).collect();
    assert_eq!(b.post("/t/opb/oidc/consent", &forged).await?.0, 403);

    let q = get_code(&b, &authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
    let code = q["code"].as_str();

    // Token endpoint refusals; none of them uses up the code.
    let wrong_secret = Rp { client_id: rp.client_id.clone(), secret: Some("wrong".into()) };
    let (status, e) = exchange(&kit, "opb", &wrong_secret, code, &verifier).await?;
    assert_eq!((status, err(&e)), (401, "invalid_client"));
    let (status, e) = exchange(&kit, "opb", &rp, code, &pkce().0).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));
    assert!(e["error_description"].as_str().unwrap().contains("code_verifier does not match"), "{e}");
    let (status, e) = token(
        &kit,
        "opb",
        &rp,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://127.0.0.1:9/other"), ("code_verifier", &verifier)],
    )
    .await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));
    assert!(e["error_description"].as_str().unwrap().contains("redirect_uri"), "{e}");
    let (status, e) = exchange(&kit, "opb", &public, code, &verifier).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"), "another client's code");
    let (status, e) = token(&kit, "opb", &rp, &[("grant_type", "password"), ("username", "x")]).await?;
    assert_eq!((status, err(&e)), (400, "unsupported_grant_type"));
    let (status, e) = token(&kit, "opb", &rp, &[("grant_type", "refresh_token"), ("refresh_token", "forged")]).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));

    // The right verifier still works; a replay is refused and revokes what the code gave.
    let (status, tokens) = exchange(&kit, "opb", &rp, code, &verifier).await?;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&kit, "opb", access).await?.0, 200);
    let (status, e) = exchange(&kit, "opb", &rp, code, &verifier).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));
    assert!(e["error_description"].as_str().unwrap().contains("already used"), "{e}");
    assert_eq!(userinfo(&kit, "opb", access).await?.0, 401);

    // An expired code.
    let (v, c) = pkce();
    let q = get_code(&b, &authorize_url(&b, &rp, "openid", Some(&c), &[])).await?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    sqlx::query("UPDATE oidc_code SET expires_at = now() - interval '1 second' WHERE used_at IS NULL").execute(tx.conn()).await?;
    tx.commit().await?;
    let (status, e) = exchange(&kit, "opb", &rp, &q["code"], &v).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));
    assert!(e["error_description"].as_str().unwrap().contains("expired"), "{e}");

    // Userinfo without a token or with a wrong one.
    let r = reqwest::get(format!("{}/t/opb/oidc/userinfo", kit.base)).await?;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers()["www-authenticate"].to_str()?.starts_with("Bearer"));
    let r = reqwest::Client::new().get(format!("{}/t/opb/oidc/userinfo", kit.base)).bearer_auth("forged").send().await?;
    assert!(r.headers()["www-authenticate"].to_str()?.contains("invalid_token"));

    // Registration refusals are problems on the API.
    for (body, field) in [
        (
            json!({ "name": "X", "kind": "public", "redirect_uris": ["http://example.com/cb"], "allowed_scopes": ["openid"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "X", "kind": "public", "redirect_uris": ["https://example.com/cb#x"], "allowed_scopes": ["openid"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "X", "kind": "public", "redirect_uris": ["https://example.com/cb"], "allowed_scopes": ["email"] }),
            "allowed_scopes",
        ),
        (
            json!({ "name": "X", "kind": "public", "redirect_uris": ["https://example.com/cb"], "allowed_scopes": ["openid", "root"] }),
            "allowed_scopes",
        ),
        (json!({ "name": " ", "kind": "public", "redirect_uris": ["https://example.com/cb"], "allowed_scopes": ["openid"] }), "name"),
    ] {
        let r = admin.post("/api/v1/oidc/clients", &body).await?;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.problem().as_deref(), Some("validation"));
        assert_eq!(r.json()["errors"][0]["field"], field);
    }
    assert_eq!(admin.get("/api/v1/oidc/clients").await?.json()["relying_parties"].as_array().unwrap().len(), 2);
    let clerk = kit.clerk(&t).await?;
    assert_eq!(clerk.get("/api/v1/oidc/clients").await?.status, 403);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_code_exchanged_twice_at_once_gives_tokens_once_and_the_replay_revokes_them() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("ope", "Ope Falu").await?;
    citizen(&kit, &t, "Tóth Éva", "eva@example.hu").await?;
    let admin = kit.admin(&t).await?;
    let rp = register_rp(&admin, confidential("Menza app")).await?;
    let b = Browser::new(&kit, "ope");
    b.sign_in("eva@example.hu").await?;
    for round in 0..5 {
        let (verifier, challenge) = pkce();
        let q = get_code(&b, &authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
        let code = q["code"].as_str();
        let (first, second) = tokio::join!(exchange(&kit, "ope", &rp, code, &verifier), exchange(&kit, "ope", &rp, code, &verifier));
        let mut answers = [first?, second?];
        answers.sort_by_key(|(status, _)| *status);
        let [(ok, tokens), (refused, e)] = answers;
        assert_eq!((ok, refused, err(&e)), (200, 400, "invalid_grant"), "round {round}: {tokens} {e}");
        assert!(e["error_description"].as_str().unwrap().contains("already used"), "{e}");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&kit, "ope", access).await?.0, 401, "round {round}: the second use revoked the tokens of the first");
    }
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn tokens_of_one_tenant_are_refused_by_another_and_keys_rotate() -> Result<()> {
    let kit = Kit::start().await?;
    let ta = kit.tenant("opc", "Opc").await?;
    let tb = kit.tenant("opd", "Opd").await?;
    citizen(&kit, &ta, "Kovács Éva", "eva@example.hu").await?;
    let admin = kit.admin(&ta).await?;
    let rpa = register_rp(&admin, confidential("App A")).await?;
    let mut es = confidential("App A ES");
    es["id_token_alg"] = json!("ES256");
    let rpa_es = register_rp(&admin, es).await?;
    let rpb = register_rp(&kit.admin(&tb).await?, confidential("App B")).await?;

    let b = Browser::new(&kit, "opc");
    b.sign_in("eva@example.hu").await?;
    let (v, c) = pkce();
    let q = get_code(&b, &authorize_url(&b, &rpa, "openid email", Some(&c), &[])).await?;
    let (_, tokens) = exchange(&kit, "opc", &rpa, &q["code"], &v).await?;
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    // Introspection answers only the client the token was issued to.
    assert_eq!(introspect(&kit, "opc", &rpa, access).await?["active"], true);
    assert_eq!(introspect(&kit, "opc", &rpa_es, access).await?, json!({ "active": false }), "another client's access token");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&kit, "opc", &rpa, refresh).await?["active"], true);
    assert_eq!(introspect(&kit, "opc", &rpa_es, refresh).await?, json!({ "active": false }), "another client's refresh token");

    // Tenant B knows nothing of tenant A's tokens, codes or keys.
    assert_eq!(userinfo(&kit, "opd", access).await?.0, 401);
    assert_eq!(introspect(&kit, "opd", &rpb, access).await?, json!({ "active": false }));
    let (status, e) = exchange(&kit, "opd", &rpb, &q["code"], &v).await?;
    assert_eq!((status, err(&e)), (400, "invalid_grant"));
    let (status, e) = exchange(&kit, "opd", &rpa, &q["code"], &v).await?;
    assert_eq!((status, err(&e)), (401, "invalid_client"), "A's client is unknown at B");
    assert!(verify_id_token(&kit, "opd", id_token, &rpa.client_id).await.is_err(), "B's JWKS does not verify A's ID token");
    assert!(verify_id_token(&kit, "opc", id_token, &rpa.client_id).await.is_ok());

    // ES256 for the client that asked for it.
    let (v, c) = pkce();
    let q = get_code(&b, &authorize_url(&b, &rpa_es, "openid", Some(&c), &[])).await?;
    let (_, es_tokens) = exchange(&kit, "opc", &rpa_es, &q["code"], &v).await?;
    let es_id = es_tokens["id_token"].as_str().unwrap();
    assert_eq!(jsonwebtoken::decode_header(es_id)?.alg, jsonwebtoken::Algorithm::ES256);
    verify_id_token(&kit, "opc", es_id, &rpa_es.client_id).await?;

    // Rotation: new tokens carry the new kid; the old key stays published for old tokens.
    let old_kid = jsonwebtoken::decode_header(id_token)?.kid.unwrap();
    let r = admin.post("/api/v1/oidc/keys/rotate", &json!({})).await?;
    r.expect_status(200)?;
    let new_kids: Vec<String> = serde_json::from_value(r.json()["active_kids"].clone())?;
    assert_eq!(new_kids.len(), 2);
    assert!(!new_kids.contains(&old_kid));
    let (v, c) = pkce();
    let q = get_code(&b, &authorize_url(&b, &rpa, "openid", Some(&c), &[])).await?;
    let (_, fresh) = exchange(&kit, "opc", &rpa, &q["code"], &v).await?;
    let fresh_kid = jsonwebtoken::decode_header(fresh["id_token"].as_str().unwrap())?.kid.unwrap();
    assert!(new_kids.contains(&fresh_kid));
    verify_id_token(&kit, "opc", id_token, &rpa.client_id).await.context("the old token still verifies")?;
    let jwks: Value = reqwest::get(format!("{}/t/opc/oidc/jwks", kit.base)).await?.json().await?;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    // Once the old tokens have expired, a later rotation drops the old keys.
    let mut tx = kit.db.tenant_tx(&ta.tenant).await?;
    sqlx::query("UPDATE oidc_signing_key SET retired_at = now() - interval '1 hour' WHERE retired_at IS NOT NULL")
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    admin.post("/api/v1/oidc/keys/rotate", &json!({})).await?.expect_status(200)?;
    let jwks: Value = reqwest::get(format!("{}/t/opc/oidc/jwks", kit.base)).await?.json().await?;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 4);
    assert!(!kids.contains(&old_kid.as_str()));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_relying_party_we_did_not_write_signs_in_through_chromium() -> Result<()> {
    let root = kapu_testkit::workspace_root();
    let browser = root.join("tests/browser");
    if !browser.join("node_modules/openid-client").exists() {
        bail!("run `npm ci --prefix tests/browser` first (the test script does)");
    }
    let kit = Kit::start().await?;
    let t = kit.tenant("interop", "Interop Község").await?;
    citizen(&kit, &t, "Interop Ilona", "ilona@example.hu").await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let rp_base = format!("http://127.0.0.1:{port}");
    let admin = kit.admin(&t).await?;
    let rp = register_rp(
        &admin,
        json!({
            "name": "Interop RP", "kind": "confidential", "redirect_uris": [format!("{rp_base}/callback")],
            "post_logout_redirect_uris": [format!("{rp_base}/signed-out")], "allowed_scopes": ["openid", "profile", "email"],
        }),
    )
    .await?;
    let out = tokio::process::Command::new("node")
        .arg("--test")
        .arg(browser.join("dedicated/oidc-interop.mjs"))
        .current_dir(&root)
        .env("KAPU_OIDC_ISSUER", format!("{}/t/interop", kit.base))
        .env("KAPU_OIDC_CLIENT_ID", &rp.client_id)
        .env("KAPU_OIDC_CLIENT_SECRET", rp.secret.as_deref().unwrap())
        .env("KAPU_OIDC_RP_PORT", port.to_string())
        .env("KAPU_OIDC_EMAIL", "ilona@example.hu")
        .env("KAPU_OIDC_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("# pass 1") && stdout.contains("# fail 0"), "the interop test failed (output above)");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_browser_app_signs_in_as_a_public_client_across_origins() -> Result<()> {
    let root = kapu_testkit::workspace_root();
    let browser = root.join("tests/browser");
    if !browser.join("node_modules/oidc-client-ts").exists() {
        bail!("run `npm ci --prefix tests/browser` first (the test script does)");
    }
    let kit = Kit::start().await?;
    let t = kit.tenant("spa", "Spa Község").await?;
    citizen(&kit, &t, "Spa Sára", "sara@example.hu").await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let app = format!("http://127.0.0.1:{port}");
    let admin = kit.admin(&t).await?;
    let rp = register_rp(
        &admin,
        json!({ "name": "Menza app", "kind": "public", "redirect_uris": [format!("{app}/")], "allowed_scopes": ["openid", "profile", "email"] }),
    )
    .await?;
    assert!(rp.secret.is_none(), "a public client has no secret");

    // The preflight a browser sends before userinfo with a bearer token: any origin, no cookies.
    let pre = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/t/spa/oidc/userinfo", kit.base))
        .header("Origin", &app)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await?;
    assert!(pre.status().is_success(), "{}", pre.status());
    let h = |n: &str| pre.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    assert_eq!(h("access-control-allow-origin"), "*");
    assert!(h("access-control-allow-headers").contains("authorization"), "{}", h("access-control-allow-headers"));
    assert!(h("access-control-allow-credentials").is_empty(), "cookies are never allowed across origins");
    // The pages people are sent to are not opened to other origins' scripts.
    let page = reqwest::Client::new().get(format!("{}/t/spa/oidc/authorize", kit.base)).header("Origin", &app).send().await?;
    assert!(page.headers().get("access-control-allow-origin").is_none());

    let out = tokio::process::Command::new("node")
        .arg("--test")
        .arg(browser.join("dedicated/oidc-spa.mjs"))
        .current_dir(&root)
        .env("KAPU_SPA_ISSUER", format!("{}/t/spa", kit.base))
        .env("KAPU_SPA_CLIENT_ID", &rp.client_id)
        .env("KAPU_SPA_PORT", port.to_string())
        .env("KAPU_SPA_EMAIL", "sara@example.hu")
        .env("KAPU_SPA_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("# pass 1") && stdout.contains("# fail 0"),
        "the browser app test failed (output above)"
    );
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_identified_citizen_releases_natural_identity_data_and_address_and_the_release_is_audited() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("kelet", "Kelet Község").await?;
    // A resident identified through KAÜ: her account is linked to a client record.
    let email = crate::cases::portal_resident(&kit, &t).await?;
    let admin = kit.admin(&t).await?;
    let rp = register_rp(
        &admin,
        json!({
            "name": "Menza", "kind": "confidential", "redirect_uris": [REDIRECT],
            "allowed_scopes": ["openid", "profile", "address", "phone", "kapu_identity"],
        }),
    )
    .await?;
    let b = Browser::new(&kit, "kelet");
    b.sign_in_as(&email, kapu_testkit::PASSWORD).await?;
    let (verifier, challenge) = pkce();
    let url = authorize_url(&b, &rp, "openid address phone kapu_identity", Some(&challenge), &[]);
    let (_, _, consent) = b.get(&url).await?;
    assert!(consent.contains("Menza"), "{consent}");
    let q = get_code(&b, &url).await?;
    let (status, tokens) = exchange(&kit, "kelet", &rp, &q["code"], &verifier).await?;
    assert_eq!(status, 200, "{tokens}");
    let (status, info) = userinfo(&kit, "kelet", tokens["access_token"].as_str().unwrap()).await?;
    assert_eq!(status, 200);
    let sub = info["sub"].as_str().unwrap().to_owned();
    assert_eq!(
        info,
        json!({
            "sub": sub,
            "kapu_identification_level": "kau",
            "family_name": "Hegyi", "given_name": "Lakos", "birthdate": "1975-04-02",
            "kapu_birth_name": "Hegyi Lakos", "kapu_mother_birth_name": "Völgyi Vera", "kapu_birth_place": "Budapest",
            "address": {
                "formatted": "1126 Budapest, Böszörményi út 23.", "street_address": "Böszörményi út 23.",
                "locality": "Budapest", "postal_code": "1126", "country": "HU",
            },
        }),
        "no phone number is on record, so none is released"
    );

    // The release is a read of personal data: audited, naming the relying party and the scopes.
    let clerk = kit.clerk(&t).await?;
    let found = clerk
        .send(
            reqwest::Method::GET,
            "/api/v1/clients?family_name=Hegyi&given_name=Lakos&birth_date=1975-04-02",
            None,
            &[("x-access-reason", "audit check")],
        )
        .await?
        .json();
    let client = found["clients"][0]["id"].as_str().unwrap().to_owned();
    let log = admin.get(&format!("/api/v1/audit?client={client}")).await?.json();
    let released = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["actor"].as_str().is_some_and(|a| a.contains(&rp.client_id)))
        .cloned()
        .expect("an audit record naming the relying party");
    assert_eq!(released["action"], "client.read");
    assert!(released["reason"].as_str().unwrap().contains("address phone kapu_identity"), "{released}");

    // Without those scopes nothing personal is read.
    let (v2, c2) = pkce();
    let q2 = get_code(&b, &authorize_url(&b, &rp, "openid profile", Some(&c2), &[])).await?;
    let (_, t2) = exchange(&kit, "kelet", &rp, &q2["code"], &v2).await?;
    let (_, info) = userinfo(&kit, "kelet", t2["access_token"].as_str().unwrap()).await?;
    assert_eq!(info, json!({ "sub": sub, "name": "Hegyi Lakos" }));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_deleted_relying_party_gets_no_code_and_no_tokens_though_it_was_read_lately() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("opd", "Opd Falu").await?;
    citizen(&kit, &t, "Kiss Ádám", "adam@example.hu").await?;
    let admin = kit.admin(&t).await?;
    let b = Browser::new(&kit, "opd");
    b.sign_in("adam@example.hu").await?;

    for by_api in [true, false] {
        let rp = register_rp(&admin, confidential("Parkolás app")).await?;
        // Consent, a first code and its exchange: the provider has read the party now, and
        // the next code comes by the one-round-trip way.
        let (verifier, challenge) = pkce();
        let q = get_code(&b, &authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
        assert_eq!(exchange(&kit, "opd", &rp, &q["code"], &verifier).await?.0, 200);
        let (verifier, challenge) = pkce();
        let (status, loc, _) = b.get(&authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
        assert_eq!(status, 303, "consent is on record, so the code comes at once");
        let pending = query(&loc.context("redirect")?)["code"].clone();

        if by_api {
            let path = format!("/api/v1/oidc/clients/{}", rp.client_id);
            assert_eq!(admin.send(reqwest::Method::DELETE, &path, None, &[]).await?.status, 204);
        } else {
            // Deleted by another server process, whose cache this one does not share.
            let mut tx = kit.db.tenant_tx(&t.tenant).await?;
            sqlx::query("DELETE FROM oidc_client WHERE client_id = $1").bind(&rp.client_id).execute(tx.conn()).await?;
            tx.commit().await?;
        }

        let (_, challenge) = pkce();
        let (status, loc, page) = b.get(&authorize_url(&b, &rp, "openid email", Some(&challenge), &[])).await?;
        assert_eq!((status, loc), (400, None), "by API: {by_api}");
        assert!(page.contains("nincs nyilvántartva"), "{page}");
        let (status, e) = exchange(&kit, "opd", &rp, &pending, &verifier).await?;
        assert_eq!((status, err(&e)), (401, "invalid_client"), "by API: {by_api}: {e}");
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM oidc_grant WHERE client_id = $1").bind(&rp.client_id).fetch_one(tx.conn()).await?;
        tx.commit().await?;
        assert_eq!(left, 0, "by API: {by_api}: no grant outlives its party");
    }
    kit.stop().await;
    Ok(())
}
