//! In-person identification against the central registry simulator (SZL), through the
//! tenant's registry plugin.

use anyhow::Result;
use kapu_testkit::Kit;
use reqwest::Method;
use serde_json::json;

const WHY: (&str, &str) = ("x-access-reason", "személyes azonosítás az ügyfélszolgálaton");

async fn person(
    admin: &kapu_testkit::Client,
    mother: &str,
    family: &str,
    given: &str,
    born: &str,
    date: &str,
    address: serde_json::Value,
) -> Result<String> {
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({ "identity": { "family_name": family, "given_name": given, "mother_birth_name": mother, "birth_place": born, "birth_date": date },
                          "addresses": [address] })),
            &[WHY],
        )
        .await?;
    r.expect_status(201)?;
    Ok(r.json()["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_clerk_identifies_a_client_in_person() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("szemelyes", "Személyes Város").await?;
    kit.install_registry_plugin(&t).await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    let home = json!({ "kind": "permanent", "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23-25" });
    let marta = person(&admin, "Kovács Ilona", "Minta", "Márta", "Budapest", "1980-05-17", home.clone()).await?;
    let wrong_mother = person(&admin, "Kovács Irén", "Minta", "Márta", "Budapest", "1980-05-17", home).await?;

    // A portal account to raise.
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    sqlx::query("INSERT INTO client_account (id, email, display_name, password_hash, email_verified_at, created_at) VALUES (gen_random_uuid(), 'minta.marta@example.hu', 'Minta Márta', 'x', now(), now())")
        .execute(tx.conn())
        .await?;
    tx.commit().await?;

    let identify = |id: &str, number: &str, account: Option<&str>| {
        let body = json!({ "document_kind": "identity_card", "document_number": number, "account_email": account });
        let path = format!("/api/v1/clients/{id}/identify");
        let clerk = clerk.clone();
        async move { clerk.send(Method::POST, &path, Some(&body), &[WHY]).await }
    };
    // A mismatch names the differing field and changes nothing.
    let r = identify(&wrong_mother, "123456 AB", Some("minta.marta@example.hu")).await?;
    r.expect_status(200)?;
    assert_eq!((r.json()["outcome"].as_str(), r.json()["fields"].clone()), (Some("mismatch"), json!(["mother_birth_name"])));
    let level = |email: &'static str| {
        let db = kit.db.clone();
        let tenant = t.tenant.clone();
        async move {
            let mut tx = db.tenant_tx(&tenant).await?;
            let l: (String, Option<uuid::Uuid>) =
                sqlx::query_as("SELECT identification_level, client_id FROM client_account WHERE email = $1")
                    .bind(email)
                    .fetch_one(tx.conn())
                    .await?;
            anyhow::Ok(l)
        }
    };
    assert_eq!(level("minta.marta@example.hu").await?, ("registered".to_owned(), None));
    // An unknown document is not found; still nothing changes.
    assert_eq!(identify(&marta, "999999ZZ", None).await?.json()["outcome"], "not_found");
    // The right person: identified, document recorded, account linked and raised.
    let r = identify(&marta, "123456 AB", Some("minta.marta@example.hu")).await?;
    assert_eq!((r.json()["outcome"].as_str(), r.json()["account_linked"].as_bool()), (Some("identified"), Some(true)), "{}", r.text);
    let (lvl, linked) = level("minta.marta@example.hu").await?;
    assert_eq!((lvl.as_str(), linked.map(|u| u.to_string())), ("in_person", Some(marta.clone())));
    let got = clerk.send(Method::GET, &format!("/api/v1/clients/{marta}"), None, &[WHY]).await?.json();
    assert_eq!(got["id_document"], "123456AB");
    // An expired document is named as such.
    let pp = person(
        &admin,
        "Szabó Erzsébet",
        "Próba",
        "Péter",
        "Debrecen",
        "1975-11-02",
        json!({ "kind": "permanent", "postcode": "4025", "city": "Debrecen", "street": "Piac utca 1." }),
    )
    .await?;
    let r = identify(&pp, "654321CD", None).await?;
    assert_eq!((r.json()["outcome"].as_str(), r.json()["fields"].clone()), (Some("mismatch"), json!(["document_validity"])));
    // Every check is audited, with its result.
    let log = admin.get(&format!("/api/v1/audit?client={marta}")).await?.json();
    let identifies: Vec<&serde_json::Value> =
        log["records"].as_array().unwrap().iter().filter(|r| r["action"] == "client.identify").collect();
    assert_eq!(identifies.len(), 2);
    assert_eq!(identifies[0]["details"]["result"]["outcome"], "identified");
    assert!(kit.registry.queries().await >= 4, "every check asked the registry over HTTP");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn without_a_registry_plugin_the_check_says_what_to_do() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("nincs-plugin", "Plugin Nélküli Város").await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    let home = json!({ "kind": "permanent", "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23-25" });
    let marta = person(&admin, "Kovács Ilona", "Minta", "Márta", "Budapest", "1980-05-17", home).await?;
    let path = format!("/api/v1/clients/{marta}/identify");
    let body = json!({ "document_kind": "identity_card", "document_number": "123456AB" });
    let before = kit.registry.queries().await;
    let r = clerk.send(Method::POST, &path, Some(&body), &[WHY]).await?;
    r.expect_status(409)?;
    assert_eq!(r.json()["type"], "urn:kapu:problem:not-configured");
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("no registry plugin is installed") && detail.contains("kapu plugin install"), "{detail}");

    // Installed with a wrong key: the registry refuses, the clerk gets a 503, nothing changes,
    // and the admin finds the failed call among the plugin's errors.
    kit.install_plugin(&t, "registry", &[("base-url", &kit.registry.url()), ("api-key", "rossz-kulcs")]).await?;
    let r = clerk.send(Method::POST, &path, Some(&body), &[WHY]).await?;
    r.expect_status(503)?;
    assert_eq!(kit.registry.queries().await, before, "no check was answered");
    let got = clerk.send(Method::GET, &format!("/api/v1/clients/{marta}"), None, &[WHY]).await?.json();
    assert_eq!(got["id_document"], serde_json::Value::Null);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM plugin_call_error WHERE plugin = 'registry'").fetch_all(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(codes, vec!["plugin-failed-config".to_owned()]);
    kit.stop().await;
    Ok(())
}
