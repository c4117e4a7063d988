//! The registry (SZL) simulator over real HTTP, with reqwest as the client.

use anyhow::{Context, Result};
use kapu_sim::registry::{self, DocumentKind, RegistrySim};
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY: &str = "teszt-kulcs";

/// Minta Márta exactly as registered.
fn minta_marta() -> Value {
    json!({
        "csaladi_nev": "Minta", "utonev": "Márta", "szuletesi_nev": "Minta Márta", "anyja_neve": "Kovács Ilona",
        "szuletesi_hely": "Budapest", "szuletesi_ido": "1980-05-17",
        "okmany": {"tipus": "szemelyi_igazolvany", "szam": "123456AB"},
        "lakcim": {"iranyitoszam": "1126", "telepules": "Budapest", "kozterulet": "Böszörményi út 23-25."}
    })
}

/// Próba Péter exactly as registered (his identity card expired on 2020-06-30).
fn proba_peter() -> Value {
    json!({
        "csaladi_nev": "Próba", "utonev": "Péter", "szuletesi_nev": "Próba Péter", "anyja_neve": "Szabó Erzsébet",
        "szuletesi_hely": "Debrecen", "szuletesi_ido": "1975-11-02",
        "okmany": {"tipus": "szemelyi_igazolvany", "szam": "654321CD"},
        "lakcim": {"iranyitoszam": "4025", "telepules": "Debrecen", "kozterulet": "Piac utca 1."}
    })
}

fn check_url(sim: &RegistrySim) -> String {
    format!("{}/szl/v1/szemelyazonosito-ellenorzes", sim.url())
}

/// Posts `body` with the right key; returns the status and the JSON answer.
async fn check(sim: &RegistrySim, body: &Value) -> Result<(StatusCode, Value)> {
    let response = reqwest::Client::new().post(check_url(sim)).bearer_auth(KEY).json(body).send().await?;
    Ok((response.status(), response.json().await?))
}

/// Posts `body` and expects 200; returns `eredmeny` and `elteresek`.
async fn answer(sim: &RegistrySim, body: &Value) -> Result<(String, Vec<String>)> {
    let (status, answer) = check(sim, body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["lekerdezes_azonosito"].as_str().context("no lekerdezes_azonosito")?;
    uuid::Uuid::parse_str(id).context("lekerdezes_azonosito is not a UUID")?;
    let result = answer["eredmeny"].as_str().context("no eredmeny")?.to_owned();
    let differences = serde_json::from_value(answer["elteresek"].clone()).context("no elteresek")?;
    Ok((result, differences))
}

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let (last, parents) = path.split_last().map(|(l, p)| (*l, p)).unwrap_or(("", &[]));
    let mut target = &mut body;
    for key in parents {
        target = &mut target[*key];
    }
    target[last] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove(key);
    }
    body
}

#[tokio::test]
async fn the_registered_data_matches() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    assert_eq!(sim.url(), format!("http://127.0.0.1:{}", sim.addr.port()));
    assert_eq!(answer(&sim, &minta_marta()).await?, ("egyezik".to_owned(), vec![]));

    // Case, spacing and the address's trailing dot are ignored; a null birth name is
    // "csaladi_nev utonev"; a null address is not compared.
    let loose = json!({
        "csaladi_nev": "  MINTA ", "utonev": "márta", "szuletesi_nev": null, "anyja_neve": "kovács   ilona",
        "szuletesi_hely": "budapest", "szuletesi_ido": "1980-05-17",
        "okmany": {"tipus": "szemelyi_igazolvany", "szam": "123456ab"},
        "lakcim": {"iranyitoszam": " 1126", "telepules": "BUDAPEST", "kozterulet": "böszörményi  út 23-25"}
    });
    assert_eq!(answer(&sim, &loose).await?, ("egyezik".to_owned(), vec![]));
    assert_eq!(answer(&sim, &with(minta_marta(), &["lakcim"], Value::Null)).await?, ("egyezik".to_owned(), vec![]));

    // A temporary address matches too.
    let horvath = json!({
        "csaladi_nev": "Horváth", "utonev": "Gábor", "szuletesi_nev": null, "anyja_neve": "Fekete Mária",
        "szuletesi_hely": "Pécs", "szuletesi_ido": "1992-12-24",
        "okmany": {"tipus": "vezetoi_engedely", "szam": "PA123456"},
        "lakcim": {"iranyitoszam": "7621", "telepules": "Pécs", "kozterulet": "Király utca 15. 2. em. 4."}
    });
    assert_eq!(answer(&sim, &horvath).await?, ("egyezik".to_owned(), vec![]));

    assert_eq!(sim.queries().await, 4);
    let counted: Value = reqwest::get(format!("{}/sim/queries", sim.url())).await?.error_for_status()?.json().await?;
    assert_eq!(counted, json!({"queries": 4}));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_mismatch_names_the_differing_fields_in_order() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    let body = with(minta_marta(), &["anyja_neve"], json!("Kovacs Ilona"));
    let body = with(body, &["lakcim", "kozterulet"], json!("Böszörményi út 25."));
    let body = with(body, &["szuletesi_ido"], json!("1980-05-18"));
    let body = with(body, &["utonev"], json!("Marta"));
    assert_eq!(
        answer(&sim, &body).await?,
        ("elter".to_owned(), ["utonev", "anyja_neve", "szuletesi_ido", "lakcim"].map(str::to_owned).to_vec())
    );

    // A null birth name defaults to "Minta Marta" here, which differs as well.
    let body = with(with(minta_marta(), &["utonev"], json!("Marta")), &["szuletesi_nev"], Value::Null);
    assert_eq!(answer(&sim, &body).await?, ("elter".to_owned(), vec!["utonev".to_owned(), "szuletesi_nev".to_owned()]));

    // A married name: Nagy Zsófia Anna was born Kovács Zsófia Anna.
    let nagy = json!({
        "csaladi_nev": "Nagy", "utonev": "Zsófia Anna", "szuletesi_nev": null, "anyja_neve": "Tóth Katalin",
        "szuletesi_hely": "Szeged", "szuletesi_ido": "1988-03-09",
        "okmany": {"tipus": "utlevel", "szam": "BE1234567"}, "lakcim": null
    });
    assert_eq!(answer(&sim, &nagy).await?, ("elter".to_owned(), vec!["szuletesi_nev".to_owned()]));
    let nagy = with(nagy, &["szuletesi_nev"], json!("Kovács Zsófia Anna"));
    assert_eq!(answer(&sim, &nagy).await?, ("egyezik".to_owned(), vec![]));
    Ok(())
}

#[tokio::test]
async fn an_unknown_document_finds_no_one() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    let body = with(minta_marta(), &["okmany", "szam"], json!("999999ZZ"));
    assert_eq!(answer(&sim, &body).await?, ("nincs_talalat".to_owned(), vec![]));
    // The right number as another kind of document is no one's either.
    let body = with(minta_marta(), &["okmany", "tipus"], json!("utlevel"));
    assert_eq!(answer(&sim, &body).await?, ("nincs_talalat".to_owned(), vec![]));
    assert_eq!(sim.queries().await, 2);
    Ok(())
}

#[tokio::test]
async fn an_expired_document_is_reported() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    assert_eq!(answer(&sim, &proba_peter()).await?, ("elter".to_owned(), vec!["okmany_ervenyesseg".to_owned()]));
    let body = with(proba_peter(), &["szuletesi_hely"], json!("Nyíregyháza"));
    assert_eq!(answer(&sim, &body).await?, ("elter".to_owned(), vec!["szuletesi_hely".to_owned(), "okmany_ervenyesseg".to_owned()]));
    Ok(())
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_refused() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    let client = reqwest::Client::new();
    let requests = [
        client.post(check_url(&sim)).json(&minta_marta()),
        client.post(check_url(&sim)).bearer_auth("rossz-kulcs").json(&minta_marta()),
        client.post(check_url(&sim)).bearer_auth(registry::DEFAULT_API_KEY).json(&minta_marta()),
        client.post(check_url(&sim)).basic_auth(KEY, Some(KEY)).json(&minta_marta()),
        // The key is checked before the body.
        client.post(check_url(&sim)).body("{"),
    ];
    for request in requests {
        let response = request.send().await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers().get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer realm=\"szl\""[..]));
        let body: Value = response.json().await?;
        assert_eq!(body["hiba"], "jogosulatlan", "{body}");
        assert!(body["uzenet"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    assert_eq!(sim.queries().await, 0);

    let default = registry::start(0, registry::DEFAULT_API_KEY).await?;
    let response = client.post(check_url(&default)).bearer_auth("kapu-demo-szl-key").json(&minta_marta()).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_malformed_request_is_refused() -> Result<()> {
    let sim = registry::start(0, KEY).await?;
    let client = reqwest::Client::new();
    let post_raw = |body: &'static str, content_type: &'static str| {
        client.post(check_url(&sim)).bearer_auth(KEY).header("content-type", content_type).body(body).send()
    };
    let mut refused: Vec<(String, reqwest::Response)> = vec![
        ("not JSON".to_owned(), post_raw("{\"csaladi_nev\": ", "application/json").await?),
        ("not an object".to_owned(), post_raw("[1, 2]", "application/json").await?),
        ("not application/json".to_owned(), post_raw("csaladi_nev=Minta", "application/x-www-form-urlencoded").await?),
    ];
    let bodies = [
        ("anyja_neve", without(minta_marta(), "anyja_neve")),
        ("szuletesi_nev", without(minta_marta(), "szuletesi_nev")),
        ("lakcim", without(minta_marta(), "lakcim")),
        ("csaladi_nev", with(minta_marta(), &["csaladi_nev"], Value::Null)),
        ("utonev", with(minta_marta(), &["utonev"], json!("  "))),
        ("szuletesi_hely", with(minta_marta(), &["szuletesi_hely"], json!(42))),
        ("szuletesi_ido", with(minta_marta(), &["szuletesi_ido"], json!("1980.05.17"))),
        ("szuletesi_ido", with(minta_marta(), &["szuletesi_ido"], json!("1980-5-17"))),
        ("szuletesi_ido", with(minta_marta(), &["szuletesi_ido"], json!("1980-02-30"))),
        ("okmany", with(minta_marta(), &["okmany"], Value::Null)),
        ("okmany.tipus", with(minta_marta(), &["okmany", "tipus"], json!("lakcimkartya"))),
        ("okmany.szam", with(minta_marta(), &["okmany"], json!({"tipus": "utlevel"}))),
        ("lakcim.telepules", with(minta_marta(), &["lakcim", "telepules"], Value::Null)),
    ];
    for (field, body) in bodies {
        let response = client.post(check_url(&sim)).bearer_auth(KEY).json(&body).send().await?;
        refused.push((field.to_owned(), response));
    }
    for (what, response) in refused {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = response.json().await?;
        assert_eq!(body["hiba"], "hibas_keres", "{what}: {body}");
        let message = body["uzenet"].as_str().context("no uzenet")?;
        if !what.contains(' ') {
            assert!(message.contains(&what), "{what}: {message}");
        }
    }
    assert_eq!(sim.queries().await, 0);

    let unknown = client.get(format!("{}/szl/v1/nincs-ilyen", sim.url())).send().await?;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let wrong_method = client.get(check_url(&sim)).bearer_auth(KEY).send().await?;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    let huge =
        client.post(check_url(&sim)).bearer_auth(KEY).json(&with(minta_marta(), &["utonev"], json!("x".repeat(100_000)))).send().await?;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    Ok(())
}

#[tokio::test]
async fn the_test_persons_are_listed() -> Result<()> {
    let persons = registry::test_persons();
    assert!(persons.len() >= 5);
    let minta = persons.iter().find(|p| p.family_name == "Minta").context("no Minta Márta")?;
    assert_eq!(minta.documents[0].kind, DocumentKind::IdentityCard);
    assert_eq!(
        minta.to_string(),
        "Minta Márta (born Minta Márta, 1980-05-17 Budapest, mother Kovács Ilona); \
         szemelyi_igazolvany 123456AB valid until 2031-01-01; permanent address 1126 Budapest, Böszörményi út 23-25."
    );
    assert!(persons.iter().any(|p| p.permanent_address.is_none() && p.temporary_address.is_some()));

    let sim = registry::start(0, KEY).await?;
    assert_eq!(sim.api_key(), KEY);
    assert_eq!(sim.endpoints()[0].to_string(), format!("registry http://{}", sim.addr));
    let listed: Value = reqwest::get(format!("{}/sim/persons", sim.url())).await?.error_for_status()?.json().await?;
    assert_eq!(listed.as_array().map(Vec::len), Some(persons.len()));
    assert_eq!(listed[0]["documents"][0], json!({"kind": "szemelyi_igazolvany", "number": "123456AB", "valid_until": "2031-01-01"}));
    Ok(())
}
