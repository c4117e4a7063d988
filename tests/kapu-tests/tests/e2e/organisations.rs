//! Organisations with checked tax numbers, personal addresses, and mandates under which a
//! signed-in representative switches whom they act for on the portal.

use anyhow::Result;
use kapu_testkit::Kit;
use reqwest::Method;
use serde_json::json;

const WHY: (&str, &str) = ("x-access-reason", "képviselet rögzítése");

#[tokio::test]
async fn representatives_act_for_organisations_under_a_mandate() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("ceges", "Céges Város").await?;
    let admin = kit.admin(&t).await?;
    let org = |tax: &str| {
        json!({ "name": "Hegyvidéki Pékség Kft.", "tax_number": tax, "registration_number": "01-09-123456",
                                  "seat": { "kind": "seat", "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 1." } })
    };
    let r = admin.send(Method::POST, "/api/v1/organisations", Some(&org("10773382-2-44")), &[WHY]).await?;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (422, Some("tax_number")));
    assert_eq!(r.json()["errors"][0]["code"], "tax_number_check_digit", "{}", r.text);
    let r = admin.send(Method::POST, "/api/v1/organisations", Some(&org("10773381 2 44")), &[WHY]).await?;
    r.expect_status(201)?;
    assert_eq!(r.json()["tax_number"], "10773381-2-44");
    let org_id = r.json()["id"].as_str().unwrap().to_owned();
    let dup = admin.send(Method::POST, "/api/v1/organisations", Some(&org("10773381-2-44")), &[WHY]).await?;
    assert!(dup.status == 422 && dup.json()["errors"][0]["code"] == "taken", "{}", dup.text);
    let got = admin.send(Method::GET, &format!("/api/v1/organisations/{org_id}"), None, &[WHY]).await?.json();
    assert_eq!(got["seat"]["city"], "Budapest");

    // A person with addresses and a resident card; the card number is unique.
    let person = |card: &str| {
        json!({ "identity": { "family_name": "Szép", "given_name": "Ilona", "mother_birth_name": "Kovács Mária",
        "birth_place": "Győr", "birth_date": "1984-02-29" }, "resident_card": card, "phone": "+36 30 123 4567",
        "addresses": [{ "kind": "permanent", "postcode": "1122", "city": "Budapest", "street": "Városmajor utca 12." }] })
    };
    let r = admin.send(Method::POST, "/api/v1/clients", Some(&person("HK-000123")), &[WHY]).await?;
    r.expect_status(201)?;
    assert_eq!(r.json()["addresses"][0]["street"], "Városmajor utca 12.");
    let r = admin.send(Method::POST, "/api/v1/clients", Some(&person("HK-000123")), &[WHY]).await?;
    assert_eq!(r.json()["errors"][0]["field"], "resident_card");

    // A confirmed client account for the representative.
    let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let base = format!("{}/t/ceges", kit.base);
    let form = c.get(format!("{base}/regisztracio")).send().await?.text().await?;
    let csrf = form.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let password = "Kék-Busz-Megy-A-Hegyre-Fel";
    let r = c
        .post(format!("{base}/regisztracio"))
        .form(&[("csrf", csrf.as_str()), ("display_name", "Nagy Péter"), ("email", "nagy.peter@example.hu"), ("password", password)])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let account: uuid::Uuid =
        sqlx::query_scalar("UPDATE client_account SET email_verified_at = now() RETURNING id").fetch_one(tx.conn()).await?;
    tx.commit().await?;

    let mandate = |scope: serde_json::Value| json!({ "principal_client_id": org_id, "representative_account_id": account, "scope": scope, "valid_from": "2020-01-01" });
    let r = admin.send(Method::POST, "/api/v1/mandates", Some(&mandate(json!([]))), &[WHY]).await?;
    assert_eq!(r.json()["errors"][0]["field"], "scope");
    let r = admin.send(Method::POST, "/api/v1/mandates", Some(&mandate(json!(["*"]))), &[WHY]).await?;
    r.expect_status(201)?;
    let mandate_id = r.json()["id"].as_str().unwrap().to_owned();

    // The representative chooses to act for the organisation.
    let r = c
        .post(format!("{base}/belepes"))
        .form(&[("csrf", csrf.as_str()), ("email", "nagy.peter@example.hu"), ("password", password)])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("Kinek a nevében jár el") && profile.contains("Hegyvidéki Pékség Kft."), "{profile}");
    assert!(!profile.contains("id=\"acting-now\""));
    let session_csrf = profile.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = c.post(format!("{base}/kepviselet")).form(&[("csrf", session_csrf.as_str()), ("principal", org_id.as_str())]).send().await?;
    assert_eq!(r.status(), 303);
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(profile.contains("id=\"acting-now\"") && profile.contains("<strong>Hegyvidéki Pékség Kft.</strong>"), "{profile}");
    // Without a mandate, no switch.
    let stranger = uuid::Uuid::now_v7().to_string();
    let r = c.post(format!("{base}/kepviselet")).form(&[("csrf", session_csrf.as_str()), ("principal", stranger.as_str())]).send().await?;
    assert_eq!(r.status(), 403);

    // Revoking the mandate ends the representation.
    assert_eq!(admin.send(Method::POST, &format!("/api/v1/mandates/{mandate_id}/revoke"), Some(&json!({})), &[WHY]).await?.status, 204);
    let profile = c.get(format!("{base}/profil")).send().await?.text().await?;
    assert!(!profile.contains("Hegyvidéki Pékség Kft."), "{profile}");
    let log = admin.get(&format!("/api/v1/audit?client={org_id}")).await?.json();
    let actions: Vec<&str> = log["records"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["mandate.revoke", "mandate.grant", "client.read", "client.create"]);
    kit.stop().await;
    Ok(())
}
