//! The queue system at the counters, against the Q-Fusion simulator over HTTP through the
//! tenant's qfusion plugin: a ticket issued for a client, called to a counter by the counter
//! terminal, read from the event feed by the worker's job and shown as the client's card to
//! the clerk at that counter only; the clerk's own "call next"; an outage that leaves the feed
//! visibly behind, after which the call arrives exactly once; a tenant without a queue plugin.

use std::time::Duration;

use anyhow::Result;
use kapu_sim::qfusion::{self, QFusionSim};
use kapu_testkit::{Client, Kit, KitOptions, TestTenant, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const WHY: (&str, &str) = ("x-access-reason", "ügyfélfogadás");
const SITE: &str = "teszt-hivatal-1";
const TOKEN: &str = "teszt-qfusion-token";

async fn with_queue(kit: &Kit, t: &TestTenant) -> Result<QFusionSim> {
    let sim = qfusion::start(0, SITE, TOKEN).await?;
    kit.install_plugin(t, "qfusion", &[("base-url", &sim.url()), ("site", SITE), ("token", TOKEN)]).await?;
    Ok(sim)
}

async fn client(admin: &Client, family: &str, given: &str) -> Result<String> {
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({ "identity": { "family_name": family, "given_name": given, "mother_birth_name": "Kovács Ilona",
                                        "birth_place": "Budapest", "birth_date": "1980-05-17" } })),
            &[WHY],
        )
        .await?;
    r.expect_status(201)?;
    Ok(r.json()["id"].as_str().unwrap_or_default().to_owned())
}

/// A second clerk of the tenant, signed in.
async fn another_clerk(kit: &Kit, t: &TestTenant, admin: &Client, email: &str) -> Result<Client> {
    let password = "Zold-Pult-Hivo-Kulcs-7391";
    admin
        .post("/api/v1/staff", &json!({ "email": email, "display_name": "Ötödik Ablak", "role": "clerk", "password": password }))
        .await?
        .expect_status(201)?;
    let mut c = kit.client(t.slug());
    c.login(email, password).await?.expect_status(200)?;
    Ok(c)
}

async fn sit(clerk: &Client, counter: &str) -> Result<()> {
    let r = clerk.send(Method::PUT, "/api/v1/queue/counter", Some(&json!({ "counter": counter })), &[]).await?;
    r.expect_status(200)?;
    assert_eq!(r.json()["counter"], counter);
    Ok(())
}

/// The counter terminal's "next" button in the simulator.
async fn terminal_calls_next(sim: &QFusionSim, counter: &str) -> Result<Value> {
    let r = reqwest::Client::new().post(format!("{}/sim/counters/{counter}/call-next", sim.url())).send().await?;
    assert_eq!(r.status(), 200, "somebody waits");
    Ok(r.json().await?)
}

async fn counter(clerk: &Client) -> Result<Value> {
    let r = clerk.get("/api/v1/queue/counter").await?;
    r.expect_status(200)?;
    Ok(r.json())
}

/// The counter page once the feed has read every event the queue system has.
async fn caught_up(clerk: &Client, sim: &QFusionSim) -> Result<Value> {
    eventually(Duration::from_secs(20), "the feed to read every event", || async {
        let page = counter(clerk).await?;
        let read = page["feed"]["cursor"].as_u64() == Some(sim.events().len() as u64);
        Ok((read && page["feed"]["behind"] == false).then_some(page))
    })
    .await
}

#[tokio::test]
async fn the_clerk_at_the_called_counter_sees_the_clients_card() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..Default::default() }).await?;
    let t = kit.tenant("ablak", "Ablak Város").await?;
    let sim = with_queue(&kit, &t).await?;
    let admin = kit.admin(&t).await?;
    let marta = client(&admin, "Minta", "Márta").await?;
    let at3 = kit.clerk(&t).await?;
    let at5 = another_clerk(&kit, &t, &admin, "otodik@ablak.test").await?;
    sit(&at3, "3").await?;
    sit(&at5, "5").await?;
    let bad = at3.send(Method::PUT, "/api/v1/queue/counter", Some(&json!({ "counter": "ablak 3" })), &[]).await?;
    assert_eq!((bad.status, bad.json()["errors"][0]["field"].as_str()), (422, Some("counter")));

    // Reception issues a ticket from the client's card; a bad client or service leaves nothing behind.
    let tickets_asked = || sim.received().iter().filter(|r| r.method == "POST" && r.path == "/qfusion/v1/tickets").count();
    let r = at3.post("/api/v1/queue/tickets", &json!({ "service": "A", "client_id": "00000000-0000-4000-8000-000000000000" })).await?;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (422, Some("client_id")));
    assert_eq!(tickets_asked(), 0, "the queue system is not asked for a ticket for nobody");
    let r = at3.post("/api/v1/queue/tickets", &json!({ "service": "Z", "client_id": marta })).await?;
    assert_eq!((r.status, r.problem().as_deref()), (502, Some("local-system-failed")));
    assert!(r.json()["detail"].as_str().unwrap_or_default().contains("UNKNOWN_SERVICE"), "{}", r.text);
    let r = at3.post("/api/v1/queue/tickets", &json!({ "service": "A", "client_id": marta })).await?;
    r.expect_status(201)?;
    let ticket = r.json();
    assert_eq!((ticket["display_number"].as_str(), ticket["client_id"].as_str()), (Some("A001"), Some(marta.as_str())));
    let walk_in = at3.post("/api/v1/queue/tickets", &json!({ "service": "B" })).await?;
    walk_in.expect_status(201)?;
    assert_eq!(walk_in.json()["display_number"], "B001");

    // The counter terminal at window 3 calls the next client; the feed job brings the call.
    let called = terminal_calls_next(&sim, "3").await?;
    assert_eq!(called["ticket"]["ticketId"], ticket["ticket_id"]);
    let page = eventually(Duration::from_secs(20), "the call at counter 3", || async {
        let page = counter(&at3).await?;
        Ok((!page["calls"].as_array().map(Vec::is_empty).unwrap_or(true)).then_some(page))
    })
    .await?;
    let call = &page["calls"][0];
    assert_eq!((call["display_number"].as_str(), call["counter"].as_str()), (Some("A001"), Some("3")));
    assert_eq!((call["has_client"].as_bool(), call["from_button"].as_bool()), (Some(true), Some(false)));
    let card = at3.get(&format!("/api/v1/queue/calls/{}/card", call["id"])).await?;
    card.expect_status(200)?;
    let card = card.json();
    assert_eq!((card["client"]["family_name"].as_str(), card["client"]["given_name"].as_str()), (Some("Minta"), Some("Márta")));
    assert_eq!(card["client"]["id"], marta.as_str());
    assert!(card["client"]["identification_level"].is_null(), "no portal account");
    assert_eq!(card["client"]["open_cases"], json!([]));

    // The clerk at counter 5 gets neither the call nor the card.
    assert_eq!(counter(&at5).await?["calls"], json!([]));
    let other = at5.get(&format!("/api/v1/queue/calls/{}/card", call["id"])).await?;
    assert_eq!((other.status, other.problem().as_deref()), (404, Some("not-found")));

    // Opening the card is an audited read of the client: who, whom, why.
    let log = admin.get(&format!("/api/v1/audit?client={marta}")).await?.json();
    let recs = log["records"].as_array().cloned().unwrap_or_default();
    let read: Vec<&Value> = recs.iter().filter(|r| r["action"] == "client.read").collect();
    assert_eq!(read.len(), 1, "{log}");
    assert!(read[0]["actor"].as_str().unwrap_or_default().contains(&t.clerk_email));
    assert_eq!(read[0]["reason"], "ügyfélhívó: a(z) A001 sorszám hívása a(z) 3. ablakhoz");
    assert!(recs.iter().any(|r| r["action"] == "queue.ticket_issued"), "{log}");

    // The clerk at counter 5 presses "call next": the walk-in ticket, no client, shown at once.
    let r = at5.post("/api/v1/queue/counter/call-next", &json!({})).await?;
    r.expect_status(200)?;
    let own = r.json()["call"].clone();
    assert_eq!(
        (own["display_number"].as_str(), own["counter"].as_str(), own["from_button"].as_bool()),
        (Some("B001"), Some("5"), Some(true))
    );
    assert_eq!(own["has_client"], false);
    let card = at5.get(&format!("/api/v1/queue/calls/{}/card", own["id"])).await?;
    card.expect_status(200)?;
    assert!(card.json()["client"].is_null(), "a ticket with no client shows just the number");
    // Its event from the feed is matched with it, not shown again.
    let page = caught_up(&at5, &sim).await?;
    assert_eq!(page["calls"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(counter(&at3).await?["calls"].as_array().map(Vec::len), Some(1));
    // Nobody waits any more.
    let r = at5.post("/api/v1/queue/counter/call-next", &json!({})).await?;
    r.expect_status(200)?;
    assert!(r.json()["call"].is_null());

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_queue_system_outage_leaves_the_feed_behind_and_the_call_arrives_once() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..Default::default() }).await?;
    let t = kit.tenant("kiesik", "Kiesik Község").await?;
    let sim = with_queue(&kit, &t).await?;
    let admin = kit.admin(&t).await?;
    let marta = client(&admin, "Minta", "Márta").await?;
    let clerk = kit.clerk(&t).await?;
    sit(&clerk, "3").await?;
    clerk.post("/api/v1/queue/tickets", &json!({ "service": "C", "client_id": marta })).await?.expect_status(201)?;
    let before = caught_up(&clerk, &sim).await?;
    assert!(before["feed"]["last_success_at"].is_string() && before["feed"]["last_error"].is_null(), "{before}");

    // Q-Fusion goes down for its next four requests, and the ticket is called meanwhile.
    let outage =
        reqwest::Client::new().post(format!("{}/sim/outage", sim.url())).json(&json!({ "status": 503, "count": 4 })).send().await?;
    assert_eq!(outage.status(), 204);
    terminal_calls_next(&sim, "3").await?;
    let behind = eventually(Duration::from_secs(20), "the feed to fall behind", || async {
        let page = counter(&clerk).await?;
        Ok((page["feed"]["behind"] == true).then_some(page))
    })
    .await?;
    let error = behind["feed"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("Q-Fusion failed (503, MAINTENANCE"), "{behind}");
    assert!(behind["feed"]["last_error_at"].is_string() && behind["feed"]["scheduled"] == true, "{behind}");
    assert!(behind["feed"]["failures"].as_i64().unwrap_or(0) >= 1);
    assert_eq!(behind["calls"], json!([]), "the call has not reached Kapu");
    // The plugin's admin sees the failed reads too.
    let errors = admin.get("/api/v1/plugins/qfusion/errors").await?.json();
    assert!(errors.to_string().contains("events"), "{errors}");

    // After the outage the call arrives, exactly once, and the feed is up to date again.
    let page = caught_up(&clerk, &sim).await?;
    let calls = page["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 1, "{page}");
    assert_eq!((calls[0]["display_number"].as_str(), calls[0]["has_client"].as_bool()), (Some("C001"), Some(true)));
    assert_eq!(page["feed"]["failures"], 0);
    let reads = sim.received().iter().filter(|r| r.path.starts_with("/qfusion/v1/events")).count();
    assert!(reads >= 5, "four failed reads and one after ({reads})");
    let card = clerk.get(&format!("/api/v1/queue/calls/{}/card", calls[0]["id"])).await?;
    card.expect_status(200)?;
    assert_eq!(card.json()["client"]["family_name"], "Minta");

    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn without_a_queue_plugin_the_counter_page_says_so_and_nothing_is_polled() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..Default::default() }).await?;
    let t = kit.tenant("nincssor", "Nincs Sor Falu").await?;
    let admin = kit.admin(&t).await?;
    let clerk = kit.clerk(&t).await?;
    let page = counter(&clerk).await?;
    assert_eq!(page, json!({ "plugin": null, "counter": null, "feed": null, "calls": [] }));
    let r = clerk.send(Method::PUT, "/api/v1/queue/counter", Some(&json!({ "counter": "3" })), &[]).await?;
    assert_eq!((r.status, r.problem().as_deref()), (409, Some("not-configured")));
    assert!(r.json()["detail"].as_str().unwrap_or_default().contains("plugins/qfusion"), "{}", r.text);
    let r = clerk.post("/api/v1/queue/tickets", &json!({ "service": "A" })).await?;
    assert_eq!((r.status, r.problem().as_deref()), (409, Some("not-configured")));
    let r = clerk.post("/api/v1/queue/counter/call-next", &json!({})).await?;
    assert_eq!(r.status, 409);
    let jobs = admin.get("/api/v1/jobs").await?.json();
    assert!(!jobs.to_string().contains("queue.feed"), "no feed job: {jobs}");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_card_shows_the_identification_level_and_the_open_cases() -> Result<()> {
    let mut facts = kapu_cases::FixedFacts::default();
    facts.insert("kartya", "public-space-use", json!({ "location": { "zone": "II" } }));
    let kit = Kit::start_with(KitOptions { worker: true, facts: Some(std::sync::Arc::new(facts)), ..Default::default() }).await?;
    let t = kit.tenant("kartya", "Kártya Község").await?;
    let sim = with_queue(&kit, &t).await?;
    // A resident identified through KAÜ files a public-space use permit on the portal.
    let email = crate::cases::portal_resident(&kit, &t).await?;
    let (portal, base) = crate::cases::portal_client(&kit, &t, &email).await?;
    let page = portal.get(format!("{base}/ugyintezes/public-space-use")).send().await?.text().await?;
    let day = |d: i64| (chrono::Utc::now() + chrono::Duration::days(d)).date_naive().to_string();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(2000, b'0');
    let form = reqwest::multipart::Form::new()
        .text("csrf", crate::cases::hidden(&page, "csrf"))
        .text("once", crate::cases::hidden(&page, "once"))
        .text("form_version", "1")
        .text("action", "submit")
        .text("purpose", "scaffolding")
        .text("location.postcode", "1122")
        .text("location.city", "Budapest")
        .text("location.street", "Városmajor utca 14.")
        .text("area_m2", "12")
        .text("from", day(10))
        .text("to", day(19))
        .text("objects[0].description", "állvány")
        .text("objects[0].count", "1")
        .part("site_plan", reqwest::multipart::Part::bytes(pdf).file_name("terv.pdf").mime_str("application/pdf")?);
    let r = portal.post(format!("{base}/ugyintezes/public-space-use")).multipart(form).send().await?;
    assert_eq!(r.status(), 303, "the case is filed");
    let clerk = kit.clerk(&t).await?;
    let case = clerk.get("/api/v1/cases").await?.json()["cases"][0].clone();
    assert!(case["number"].as_str().is_some_and(|n| n.starts_with("HV-")), "{case}");
    let found =
        clerk.send(Method::GET, "/api/v1/clients?family_name=Hegyi&given_name=Lakos&birth_date=1975-04-02", None, &[WHY]).await?.json();
    let client_id = found["clients"][0]["id"].as_str().unwrap_or_default().to_owned();

    sit(&clerk, "3").await?;
    clerk.post("/api/v1/queue/tickets", &json!({ "service": "D", "client_id": client_id })).await?.expect_status(201)?;
    terminal_calls_next(&sim, "3").await?;
    let page = eventually(Duration::from_secs(20), "the call at counter 3", || async {
        let page = counter(&clerk).await?;
        Ok((!page["calls"].as_array().map(Vec::is_empty).unwrap_or(true)).then_some(page))
    })
    .await?;
    let card = clerk.get(&format!("/api/v1/queue/calls/{}/card", page["calls"][0]["id"])).await?.json();
    assert_eq!(card["call"]["display_number"], "D001");
    assert_eq!((card["client"]["family_name"].as_str(), card["client"]["given_name"].as_str()), (Some("Hegyi"), Some("Lakos")));
    assert_eq!(card["client"]["identification_level"], "kau");
    let open = card["client"]["open_cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(open.len(), 1, "{card}");
    assert_eq!((open[0]["number"].as_str(), open[0]["case_type"].as_str()), (case["number"].as_str(), Some("public-space-use")));
    sim.shutdown().await;
    kit.stop().await;
    Ok(())
}
