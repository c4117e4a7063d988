//! Cases: submission with gapless numbers and an acknowledgement in the outbox, automated
//! decisions with their rule trace, the payment-confirmed interface, the clerks' workflow
//! with four eyes, and every bad input the issue lists (the domain against a real database).

use anyhow::Result;
use chrono::{Duration, NaiveDate, Utc};
use kapu_calendar::Calendar;
use kapu_cases::{CaseError, CaseState, Clerk, DecisionOutcome, Filer, FixedFacts, Identification, Notice, Once, Submission};
use kapu_clients::organisation::{AddressKind, NewMandate, NewOrganisation};
use kapu_clients::{Access, NaturalIdentity, NewPerson};
use kapu_core::Refusal;
use kapu_core::TenantTx;
use kapu_crypto::Keyring;
use kapu_testkit::{Kit, TestTenant, workspace_root};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

pub(crate) const NOTICE: Notice<'static> = Notice { tenant_name: "Ügyes Önkormányzat", cases_link: "http://ugyes.localhost/ugyeim" };

/// A kit with a tenant that has the demo tenant's case types (shared with `local_systems`).
pub(crate) struct Env {
    pub(crate) kit: Kit,
    pub(crate) t: TestTenant,
    pub(crate) calendar: Calendar,
    pub(crate) facts: FixedFacts,
}

impl Env {
    pub(crate) async fn start(slug: &str) -> Result<Env> {
        let kit = Kit::start().await?;
        let t = kit.tenant(slug, "Ügyes Önkormányzat").await?;
        let mut facts = FixedFacts::default();
        facts.insert(
            slug,
            "parking-permit",
            json!({ "existing_permits": 0, "parking": { "eligible": true, "zone": "XII-1", "reasons": "" }, "vehicle": { "owner_is_applicant": true, "keeper_is_applicant": true, "max_mass_kg": 1800 } }),
        );
        facts.insert(slug, "official-certificate", json!({ "tax": { "debt": 0, "registered": true } }));
        facts.insert(slug, "public-space-use", json!({ "location": { "zone": "II" } }));
        let env = Env { kit, t, calendar: Calendar::hungary(), facts };
        let dir = workspace_root().join("tenants/hegyvidek/case-types");
        let loaded = kapu_cases::load_folder(&dir, Utc::now().date_naive()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut tx = env.tx().await?;
        for ct in &loaded {
            kapu_cases::save_version(&mut tx, &ct.case_type, "test", Utc::now()).await?;
        }
        kapu_cases::set_number_prefix(&mut tx, "HV").await?;
        tx.commit().await?;
        Ok(env)
    }

    pub(crate) async fn tx(&self) -> Result<TenantTx> {
        Ok(self.kit.db.tenant_tx(&self.t.tenant).await?)
    }

    pub(crate) async fn ring(&self, tx: &mut TenantTx) -> Result<Arc<Keyring>> {
        Ok(self.kit.crypto.keyring(tx.conn(), self.t.slug()).await?)
    }

    /// A portal account at `level`, linked to a person living at `postcode`.
    pub(crate) async fn person(&self, email: &str, postcode: &str, level: Identification) -> Result<Filer> {
        let mut tx = self.tx().await?;
        let ring = self.ring(&mut tx).await?;
        let actor = kapu_audit::Actor { id: None, label: "test".into() };
        let client = kapu_clients::create_person(
            &mut tx,
            &ring,
            Access { actor: &actor, reason: "test" },
            NewPerson {
                email: Some(email.into()),
                identity: NaturalIdentity {
                    family_name: "Kiss".into(),
                    given_name: "Anna".into(),
                    birth_name: None,
                    mother_birth_name: "Nagy Éva".into(),
                    birth_place: "Budapest".into(),
                    birth_date: NaiveDate::from_ymd_opt(1980, 5, 17).unwrap(),
                },
                id_document: None,
                addresses: vec![kapu_clients::organisation::Address {
                    kind: AddressKind::Permanent,
                    postcode: postcode.into(),
                    city: "Budapest".into(),
                    street: "Böszörményi út 23.".into(),
                }],
                phone: None,
                resident_card: None,
            },
            Utc::now(),
        )
        .await?;
        let account = self.account(&mut tx, email, Some(client.id), level).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn account(&self, tx: &mut TenantTx, email: &str, client: Option<Uuid>, level: Identification) -> Result<Filer> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO client_account (id, client_id, email, display_name, password_hash, email_verified_at, identification_level, created_at)
             VALUES ($1, $2, $3, 'Kiss Anna', 'x', now(), $4, now())",
        )
        .bind(id)
        .bind(client)
        .bind(email)
        .bind(level.as_str())
        .execute(tx.conn())
        .await?;
        Ok(Filer { account_id: id, email: email.into(), display_name: "Kiss Anna".into(), level, client_id: client, acting_for: None })
    }

    pub(crate) async fn submit(&self, filer: &Filer, sub: &Submission) -> Result<Result<kapu_cases::Submitted, CaseError>> {
        let mut tx = self.tx().await?;
        let ring = self.ring(&mut tx).await?;
        let r = kapu_cases::submit(&mut tx, &ring, &self.calendar, &self.facts, filer, sub, &NOTICE, Utc::now()).await;
        if r.is_ok() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(r)
    }

    pub(crate) async fn staff(&self, email: &str) -> Result<Clerk> {
        let mut tx = self.tx().await?;
        let id: Uuid = sqlx::query_scalar("SELECT id FROM staff WHERE email = $1").bind(email).fetch_one(tx.conn()).await?;
        tx.commit().await?;
        Ok(Clerk { id, email: email.into() })
    }

    pub(crate) async fn scalar<T>(&self, sql: &str, id: Uuid) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut tx = self.tx().await?;
        let v: T = sqlx::query_scalar(sql).bind(id).fetch_one(tx.conn()).await?;
        tx.commit().await?;
        Ok(v)
    }
}

pub(crate) fn today() -> String {
    (Utc::now() + Duration::hours(1)).date_naive().to_string()
}

pub(crate) fn parking(key: &str, vehicle: &str, postcode: &str) -> Submission {
    Submission {
        code: "parking-permit".into(),
        form_version: 1,
        values: json!({ "vehicle": vehicle, "address": { "postcode": postcode, "city": "Budapest", "street": "Böszörményi út 23." },
                        "valid_from": today(), "declaration": true }),
        once: Once::Key(key.into()),
    }
}

pub(crate) fn year() -> i32 {
    use chrono::Datelike;
    (Utc::now() + Duration::hours(1)).year()
}

#[tokio::test]
async fn a_parking_permit_is_numbered_decided_automatically_and_acknowledged() -> Result<()> {
    let env = Env::start("ugyes").await?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;

    let first = env.submit(&anna, &parking("k1", "aa bb-123", "1126")).await??;
    assert_eq!(first.number, format!("HV-{}-000001", year()));
    assert_eq!(first.state, CaseState::Decided, "first permit: free, granted by the rules");
    assert!(first.created);

    // The same key again gives the same case and nothing new.
    let again = env.submit(&anna, &parking("k1", "aa bb-123", "1126")).await??;
    assert_eq!((again.case_id, again.created), (first.case_id, false));

    // A submission that is rolled back gives its number back: no gap.
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    let rolled =
        kapu_cases::submit(&mut tx, &ring, &env.calendar, &env.facts, &anna, &parking("k2", "ABC-123", "1126"), &NOTICE, Utc::now())
            .await?;
    assert_eq!(rolled.number, format!("HV-{}-000002", year()));
    tx.rollback().await?;
    let second = env.submit(&anna, &parking("k3", "ABC-124", "1126")).await??;
    assert_eq!(second.number, format!("HV-{}-000002", year()));

    // The acknowledgement and the case.decided job are in the outbox.
    // The mails wait sealed, found by the blind index of their recipient.
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    let payloads: Vec<Value> =
        sqlx::query_scalar("SELECT payload FROM job WHERE kind = 'mail.send' AND payload->>'to_index' = $1 ORDER BY id")
            .bind(kapu_mail::recipient_index(&ring, "anna@example.hu"))
            .fetch_all(tx.conn())
            .await?;
    assert_eq!(payloads.len(), 2, "one acknowledgement per case");
    assert!(!payloads[0].to_string().contains("anna@example.hu"), "{}", payloads[0]);
    let mail = kapu_mail::MailJob::open(&ring, &payloads[0])?;
    assert_eq!(mail.to, "anna@example.hu");
    assert!(mail.subject.contains(&first.number), "{}", mail.subject);
    let decided: Vec<Value> =
        sqlx::query_scalar("SELECT payload FROM job WHERE kind = 'case.decided' ORDER BY id").fetch_all(tx.conn()).await?;
    assert_eq!(decided, [json!({ "case_id": first.case_id }), json!({ "case_id": second.case_id })]);
    // Form values are sealed at rest.
    let raw: Vec<u8> =
        sqlx::query_scalar(r#"SELECT application_enc FROM "case" WHERE id = $1"#).bind(first.case_id).fetch_one(tx.conn()).await?;
    assert!(!String::from_utf8_lossy(&raw).contains("AA BB-123"));
    tx.commit().await?;

    // A clerk sees the rule trace, the history and the decision text; the read is audited.
    let clerk = env.staff(&env.t.clerk_email).await?;
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    let d = kapu_cases::get_case(&mut tx, &ring, &clerk, first.case_id, Utc::now()).await?;
    tx.commit().await?;
    let ev = d.evaluation.unwrap();
    assert_eq!((ev["outcome"].as_str(), ev["decided_by"].as_str()), (Some("grant"), Some("first permit")));
    let rules: Vec<(&str, bool)> =
        ev["rules"].as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap(), r["matched"].as_bool().unwrap())).collect();
    assert_eq!(
        rules,
        [("vehicle too heavy", false), ("permits used up", false), ("not the applicant's vehicle", false), ("first permit", true)]
    );
    assert_eq!(d.inputs["facts"]["existing_permits"], 0);
    assert_eq!(d.application["vehicle"], "AA BB-123");
    let states: Vec<&str> = d.history.iter().map(|e| e.to_state.as_str()).collect();
    assert_eq!(states, ["submitted", "decided"]);
    assert_eq!(d.history[1].actor_label, "rules");
    let decision = d.decision.unwrap();
    assert!(decision.automatic);
    assert!(decision.text.as_deref().unwrap().contains("AA BB-123 forgalmi rendszámú gépjárműre lakossági várakozási hozzájárulást adok"));
    assert!(decision.text.as_deref().unwrap().contains("Kiss Anna"));
    assert!(decision.text.as_deref().unwrap().contains("A hozzájárulás díjmentes."));
    let audited: i64 =
        env.scalar("SELECT count(*) FROM audit_record WHERE action = 'case.read' AND details->>'case' = $1::text", first.case_id).await?;
    assert_eq!(audited, 1);
    env.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_submissions_are_refused_with_clear_messages_and_leave_nothing() -> Result<()> {
    let env = Env::start("rossz").await?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;

    // Invalid values, a missing declaration: every field named.
    let mut bad = parking("b1", "B-AB 1234", "1126");
    bad.values["valid_from"] = json!("2020-01-01");
    bad.values.as_object_mut().unwrap().remove("declaration");
    let Err(CaseError::Invalid(problems)) = env.submit(&anna, &bad).await? else { panic!("invalid values are refused") };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["vehicle", "valid_from", "declaration"]);
    assert_eq!(problems[0].reason, Refusal::InvalidRegistrationNumber, "{problems:?}");

    // A public-space application without its site plan, and with a Word file or an oversize one.
    let space = |site_plan: Value| Submission {
        code: "public-space-use".into(),
        form_version: 1,
        values: json!({ "purpose": "scaffolding", "location": { "postcode": "1122", "city": "Budapest", "street": "Városmajor utca 14." },
                        "area_m2": 12, "from": (Utc::now() + Duration::days(10)).date_naive().to_string(),
                        "to": (Utc::now() + Duration::days(19)).date_naive().to_string(),
                        "objects": [{ "description": "állvány", "count": 1 }], "site_plan": site_plan }),
        once: Once::Key(Uuid::now_v7().to_string()),
    };
    let in_person = env.person("bela@example.hu", "1122", Identification::InPerson).await?;
    let expect_invalid = |r: Result<kapu_cases::Submitted, CaseError>, path: &str, code: &str| match r {
        Err(CaseError::Invalid(p)) => assert!(p.iter().any(|p| p.path == path && p.reason.code() == code), "{p:?}"),
        other => panic!("expected invalid {path}, got {other:?}"),
    };
    expect_invalid(env.submit(&in_person, &space(json!([]))).await?, "site_plan", "too_few");
    let word = json!([{ "name": "terv.docx", "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "size": 1000 }]);
    expect_invalid(env.submit(&in_person, &space(word)).await?, "site_plan[0]", "file_type");
    let huge = json!([{ "name": "terv.pdf", "content_type": "application/pdf", "size": 20 * 1024 * 1024 }]);
    expect_invalid(env.submit(&in_person, &space(huge)).await?, "site_plan[0]", "file_too_large");

    // A resident of another district: the pre-check's own message.
    let other = env.person("cecil@example.hu", "1027", Identification::Kau).await?;
    match env.submit(&other, &parking("b2", "ABC-123", "1027")).await? {
        Err(CaseError::Ineligible { rule, message }) => {
            assert_eq!(rule, "resident in the district");
            assert!(message.contains("XII. kerületben lakóhellyel rendelkezők"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Too weak an identification for an official certificate.
    let cert = Submission {
        code: "official-certificate".into(),
        form_version: 1,
        values: json!({ "purpose": "loan", "copies": 1 }),
        once: Once::Key("c1".into()),
    };
    match env.submit(&in_person, &cert).await? {
        Err(CaseError::Ineligible { rule, .. }) => assert_eq!(rule, "identification"),
        other => panic!("{other:?}"),
    }

    // A representative acting for an organisation without a mandate.
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    let actor = kapu_audit::Actor { id: None, label: "test".into() };
    let org = kapu_clients::organisation::create_organisation(
        &mut tx,
        &ring,
        Access { actor: &actor, reason: "test" },
        NewOrganisation {
            name: "Állvány Kft.".into(),
            tax_number: "10773381-2-44".into(),
            registration_number: None,
            seat: None,
            email: None,
            phone: None,
        },
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let mut rep = in_person.clone();
    rep.acting_for = Some(org.id);
    match env.submit(&rep, &space(json!([{ "name": "terv.pdf", "content_type": "application/pdf", "size": 1000 }]))).await? {
        Err(e @ CaseError::NoMandate { .. }) => assert!(e.to_string().contains("no valid mandate"), "{e}"),
        other => panic!("{other:?}"),
    }

    // A form filled in under version 1 after version 2 came into force.
    let mut tx = env.tx().await?;
    let source = std::fs::read_to_string(workspace_root().join("tenants/hegyvidek/case-types/parking-permit.toml"))?;
    let changed = kapu_cases::check_definition("parking-permit.toml", &source.replace("= 10000", "= 12000"), Utc::now().date_naive())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    kapu_cases::save_version(&mut tx, &changed, "test", Utc::now()).await?;
    tx.commit().await?;
    match env.submit(&anna, &parking("b3", "ABC-123", "1126")).await? {
        Err(e @ CaseError::CaseType(kapu_cases::CaseTypeError::StaleVersion { .. })) => {
            assert!(e.to_string().contains("but version 2 is in force now; reload the form"), "{e}")
        }
        other => panic!("{other:?}"),
    }

    // Nothing was made: no case, no number used, no mail.
    let mut tx = env.tx().await?;
    let cases: i64 = sqlx::query_scalar(r#"SELECT count(*) FROM "case""#).fetch_one(tx.conn()).await?;
    let counters: i64 = sqlx::query_scalar("SELECT count(*) FROM case_number_counter").fetch_one(tx.conn()).await?;
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM job WHERE kind = 'case.decided' OR payload->>'subject' LIKE '%ügyszám%'")
        .fetch_one(tx.conn())
        .await?;
    tx.commit().await?;
    assert_eq!((cases, counters, jobs), (0, 0, 0));

    // With a mandate for the case type, the representative files for the organisation.
    let admin = env.staff(&env.t.admin_email).await?;
    let mut tx = env.tx().await?;
    let actor = kapu_audit::Actor { id: Some(admin.id), label: admin.email.clone() };
    kapu_clients::organisation::grant_mandate(
        &mut tx,
        Access { actor: &actor, reason: "test" },
        NewMandate {
            principal_client_id: org.id,
            representative_account_id: rep.account_id,
            scope: vec!["public-space-use".into()],
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            valid_until: None,
        },
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let filed = env.submit(&rep, &space(json!([{ "name": "terv.pdf", "content_type": "application/pdf", "size": 1000 }]))).await??;
    assert_eq!(filed.state, CaseState::AwaitingPayment);
    assert_eq!(filed.fee_gross, Some(Decimal::from(12000)), "12 m² × 10 days × 100 Ft in zone II");
    let principal: Option<Uuid> = env.scalar(r#"SELECT principal_client_id FROM "case" WHERE id = $1"#, filed.case_id).await?;
    assert_eq!(principal, Some(org.id));
    env.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn payment_confirmed_moves_a_case_on_once_and_only_for_the_exact_fee() -> Result<()> {
    let env = Env::start("fizet").await?;
    let anna = env.person("anna@example.hu", "1126", Identification::Kau).await?;
    let cert = Submission {
        code: "official-certificate".into(),
        form_version: 1,
        values: json!({ "purpose": "loan", "copies": 1 }),
        once: Once::Key("c1".into()),
    };
    let filed = env.submit(&anna, &cert).await??;
    assert_eq!((filed.state, filed.fee_gross), (CaseState::AwaitingPayment, Some(Decimal::from(3000))));

    let pay = |amount: i64, reference: &'static str| {
        let env = &env;
        let id = filed.case_id;
        async move {
            let mut tx = env.tx().await?;
            let ring = env.ring(&mut tx).await?;
            let r = kapu_cases::payment_confirmed(&mut tx, &ring, id, Decimal::from(amount), reference, Utc::now()).await;
            tx.commit().await?;
            anyhow::Ok(r)
        }
    };
    match pay(2999, "REF-1").await? {
        Err(e @ CaseError::WrongAmount { .. }) => assert_eq!(e.to_string(), "the payment of 2999 Ft does not match the fee of 3000 Ft"),
        other => panic!("{other:?}"),
    }
    let state: String = env.scalar(r#"SELECT state FROM "case" WHERE id = $1"#, filed.case_id).await?;
    assert_eq!(state, "awaiting_payment", "a wrong amount changes nothing");

    let done = pay(3000, "REF-1").await??;
    assert_eq!((done.state, done.changed), (CaseState::Decided, true), "no tax debt: the certificate is granted automatically");
    let again = pay(3000, "REF-1").await??;
    assert_eq!((again.state, again.changed), (CaseState::Decided, false), "the same event twice is idempotent");
    assert!(matches!(pay(3000, "REF-2").await?, Err(CaseError::AlreadyPaid(r)) if r == "REF-1"));
    let decided: i64 =
        env.scalar("SELECT count(*) FROM job WHERE kind = 'case.decided' AND payload->>'case_id' = $1::text", filed.case_id).await?;
    assert_eq!(decided, 1);

    // A case without a fee cannot be paid.
    let free = env.submit(&anna, &parking("p1", "ABC-123", "1126")).await??;
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    let r = kapu_cases::payment_confirmed(&mut tx, &ring, free.case_id, Decimal::ZERO, "REF-3", Utc::now()).await;
    assert!(matches!(r, Err(CaseError::NotAllowed { from: CaseState::Decided, .. })), "{r:?}");
    env.kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_clerk_asks_for_information_and_a_second_clerk_approves_the_decision() -> Result<()> {
    let env = Env::start("negyszem").await?;
    let bela = env.person("bela@example.hu", "1122", Identification::InPerson).await?;
    let sub = Submission {
        code: "public-space-use".into(),
        form_version: 1,
        values: json!({ "purpose": "scaffolding", "location": { "postcode": "1122", "city": "Budapest", "street": "Városmajor utca 14." },
                        "area_m2": 12, "from": (Utc::now() + Duration::days(10)).date_naive().to_string(),
                        "to": (Utc::now() + Duration::days(19)).date_naive().to_string(),
                        "objects": [{ "description": "állvány", "count": 1 }],
                        "site_plan": [{ "name": "terv.pdf", "content_type": "application/pdf", "size": 1000 }] }),
        once: Once::Key("s1".into()),
    };
    let filed = env.submit(&bela, &sub).await??;
    let mut tx = env.tx().await?;
    let ring = env.ring(&mut tx).await?;
    kapu_cases::payment_confirmed(&mut tx, &ring, filed.case_id, Decimal::from(12000), "REF-9", Utc::now()).await?;
    tx.commit().await?;

    let drafter = env.staff(&env.t.clerk_email).await?;
    let signatory = env.staff(&env.t.admin_email).await?;
    let id = filed.case_id;
    let now = Utc::now();
    let mut tx = env.tx().await?;
    let list = kapu_cases::worklist(&mut tx, &kapu_cases::Worklist { state: Some(CaseState::InReview), ..Default::default() }, now).await?;
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert!(!list[0].overdue);
    let due_before = list[0].due_date.unwrap();
    kapu_cases::assign(&mut tx, &drafter, id, Some(drafter.id), now).await?;
    let r =
        kapu_cases::request_information(&mut tx, &drafter, id, "Kérjük, küldje meg a tulajdonosi hozzájárulást.", now.date_naive(), now)
            .await;
    assert!(matches!(r, Err(CaseError::BadInput { field: "due", .. })), "{r:?}");
    kapu_cases::request_information(
        &mut tx,
        &drafter,
        id,
        "Kérjük, küldje meg a tulajdonosi hozzájárulást.",
        (now + Duration::days(8)).date_naive(),
        now,
    )
    .await?;
    // While the client is asked, a decision cannot be drafted.
    let r = kapu_cases::draft_decision(&mut tx, &ring, &drafter, id, DecisionOutcome::Grant, "Rendben.", now).await;
    assert!(matches!(r, Err(CaseError::NotAllowed { from: CaseState::AwaitingInformation, .. })), "{r:?}");
    tx.commit().await?;

    // The client answers three days later; the deadline moves by the paused days.
    let later = now + Duration::days(3);
    let mut tx = env.tx().await?;
    let own = kapu_cases::own_case(&mut tx, bela.account_id, id, later).await?;
    assert!(own.information_request.as_deref().unwrap().contains("tulajdonosi hozzájárulást"));
    let stranger = Uuid::now_v7();
    let r = kapu_cases::answer_information(&mut tx, &ring, &env.calendar, stranger, id, "x", later).await;
    assert!(matches!(r, Err(CaseError::NotFound)), "only the filer answers");
    kapu_cases::answer_information(&mut tx, &ring, &env.calendar, bela.account_id, id, "Csatoltam a hozzájárulást.", later).await?;
    tx.commit().await?;
    let due_after: NaiveDate = env.scalar(r#"SELECT due_date FROM "case" WHERE id = $1"#, id).await?;
    assert_eq!(due_after, due_before + chrono::Days::new(3), "calendar-day deadline paused for three days");

    let mut tx = env.tx().await?;
    let text = kapu_cases::draft_decision(&mut tx, &ring, &drafter, id, DecisionOutcome::Grant, "A feltételek teljesülnek.", later).await?;
    assert!(text.contains("Városmajor utca 14.") && text.contains("Közterület-használati díj: 12000 Ft."), "{text}");
    assert!(matches!(kapu_cases::send_to_signatory(&mut tx, &drafter, id, drafter.id, later).await, Err(CaseError::FourEyes)));
    kapu_cases::send_to_signatory(&mut tx, &drafter, id, signatory.id, later).await?;
    assert!(matches!(kapu_cases::approve(&mut tx, &drafter, id, later).await, Err(CaseError::FourEyes)), "the drafter cannot approve");
    kapu_cases::approve(&mut tx, &signatory, id, later).await?;
    let r = kapu_cases::reject(&mut tx, &drafter, id, "késő", later).await;
    assert!(matches!(r, Err(CaseError::NotAllowed { from: CaseState::Decided, .. })), "{r:?}");
    let detail = kapu_cases::get_case(&mut tx, &ring, &drafter, id, later).await?;
    tx.commit().await?;
    let steps: Vec<(String, String)> = detail.history.iter().map(|e| (e.to_state.clone(), e.actor_label.clone())).collect();
    let step = |s: &str, a: &str| (s.to_owned(), a.to_owned());
    assert_eq!(
        steps,
        [
            step("submitted", "client"),
            step("awaiting_payment", "rules"),
            step("awaiting_payment", "payments"),
            step("in_review", "rules"),
            step("awaiting_information", &drafter.email),
            step("in_review", "client"),
            step("in_review", &drafter.email),
            step("in_review", &drafter.email),
            step("decided", &signatory.email),
        ]
    );
    let decision = detail.decision.unwrap();
    assert_eq!((decision.drafted_by, decision.approved_by, decision.automatic), (Some(drafter.id), Some(signatory.id), false));
    assert_eq!(detail.information_answer.as_deref(), Some("Csatoltam a hozzájárulást."));

    let mut tx = env.tx().await?;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_record WHERE action LIKE 'case.%' ORDER BY seq").fetch_all(tx.conn()).await?;
    let decided: i64 = sqlx::query_scalar("SELECT count(*) FROM job WHERE kind = 'case.decided'").fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(
        actions,
        ["case.assign", "case.request_information", "case.draft_decision", "case.send_to_signatory", "case.approve", "case.read"]
    );
    assert_eq!(decided, 1);

    // The same through the API: the worklist filters, the detail, and problems for refused actions.
    let api = env.kit.clerk(&env.t).await?;
    let list = api.get("/api/v1/cases?state=decided").await?;
    list.expect_status(200)?;
    assert_eq!(list.json()["cases"][0]["number"], filed.number.as_str());
    assert_eq!(api.get("/api/v1/cases?state=in_review").await?.json()["cases"], json!([]));
    let bad = api.get("/api/v1/cases?state=closed").await?;
    assert_eq!((bad.status, bad.json()["errors"][0]["field"].as_str()), (422, Some("state")));
    let d = api.get(&format!("/api/v1/cases/{id}")).await?;
    d.expect_status(200)?;
    assert_eq!(d.json()["history"].as_array().unwrap().len(), 9);
    assert_eq!(d.json()["decision"]["approved_by"], signatory.id.to_string());
    let again = api.post(&format!("/api/v1/cases/{id}/approve"), &json!({})).await?;
    assert_eq!((again.status, again.problem().as_deref()), (409, Some("conflict")));
    let handlers = api.get("/api/v1/case-handlers").await?.json();
    assert_eq!(handlers["handlers"].as_array().unwrap().len(), 2, "the clerk and the admin");
    env.kit.stop().await;
    Ok(())
}

/// For the browser suite: tenant `t` gets the demo case types (numbered `HV-…`) and a
/// resident of district XII identified through KAÜ with a portal account; returns its e-mail.
pub(crate) async fn portal_resident(kit: &Kit, t: &TestTenant) -> Result<String> {
    let dir = workspace_root().join("tenants/hegyvidek/case-types");
    let loaded = kapu_cases::load_folder(&dir, Utc::now().date_naive()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    for ct in &loaded {
        kapu_cases::save_version(&mut tx, &ct.case_type, "test", Utc::now()).await?;
    }
    kapu_cases::set_number_prefix(&mut tx, "HV").await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    let actor = kapu_audit::Actor { id: None, label: "test".into() };
    let email = "lakos@example.hu";
    let client = kapu_clients::create_person(
        &mut tx,
        &ring,
        Access { actor: &actor, reason: "test" },
        NewPerson {
            email: Some(email.into()),
            identity: NaturalIdentity {
                family_name: "Hegyi".into(),
                given_name: "Lakos".into(),
                birth_name: None,
                mother_birth_name: "Völgyi Vera".into(),
                birth_place: "Budapest".into(),
                birth_date: NaiveDate::from_ymd_opt(1975, 4, 2).unwrap(),
            },
            id_document: None,
            addresses: vec![kapu_clients::organisation::Address {
                kind: AddressKind::Permanent,
                postcode: "1126".into(),
                city: "Budapest".into(),
                street: "Böszörményi út 23.".into(),
            }],
            phone: None,
            resident_card: None,
        },
        Utc::now(),
    )
    .await?;
    let hash = kapu_crypto::password::hash_password(kapu_testkit::PASSWORD.into()).await?;
    sqlx::query(
        "INSERT INTO client_account (id, client_id, email, display_name, password_hash, email_verified_at, identification_level, created_at)
         VALUES ($1, $2, $3, 'Hegyi Lakos', $4, now(), 'kau', now())",
    )
    .bind(Uuid::now_v7())
    .bind(client.id)
    .bind(email)
    .bind(hash)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(email.into())
}

/// Stands in for the payments issue: confirms, through `payment_confirmed`, every case of
/// tenant `t` that awaits its fee, as a bank statement would. It looks whenever a job is
/// queued for the tenant (a case that starts waiting for its fee queues `case.payment_due`
/// in the same transaction), woken by the job queue's notification.
pub(crate) fn confirm_payments(kit: &Kit, t: &TestTenant) -> tokio::task::JoinHandle<()> {
    let (db, crypto, tenant) = (kit.db.clone(), kit.crypto.clone(), t.tenant.clone());
    tokio::spawn(async move {
        let listening = async {
            let mut l = sqlx::postgres::PgListener::connect_with(db.pool()).await?;
            l.listen(kapu_jobs::CHANNEL).await?;
            anyhow::Ok(l)
        };
        let mut listener = match listening.await {
            Ok(l) => l,
            Err(e) => return eprintln!("payment simulator: cannot listen for jobs: {e}"),
        };
        loop {
            // Listening first, then looking: a case filed in between is seen either way.
            let round = async {
                let mut tx = db.tenant_tx(&tenant).await?;
                let ring = crypto.keyring(tx.conn(), tenant.slug.as_str()).await?;
                let due: Vec<(Uuid, Decimal)> =
                    sqlx::query_as(r#"SELECT id, fee_gross FROM "case" WHERE state = 'awaiting_payment'"#).fetch_all(tx.conn()).await?;
                for (id, fee) in due {
                    kapu_cases::payment_confirmed(&mut tx, &ring, id, fee, &format!("SIM-{id}"), Utc::now()).await?;
                }
                tx.commit().await?;
                anyhow::Ok(())
            };
            if let Err(e) = round.await {
                eprintln!("payment simulator: {e}");
            }
            loop {
                match listener.recv().await {
                    Ok(n) if n.payload() == tenant.slug.as_str() => break,
                    Ok(_) => {}
                    Err(e) => return eprintln!("payment simulator: the job notifications stopped: {e}"),
                }
            }
        }
    })
}

/// A signed-in portal client (cookie store) for tenant `t`.
pub(crate) async fn portal_client(kit: &Kit, t: &TestTenant, email: &str) -> Result<(reqwest::Client, String)> {
    let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let base = format!("{}/t/{}", kit.base, t.slug());
    let form = c.get(format!("{base}/belepes")).send().await?.text().await?;
    let csrf = form.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = c
        .post(format!("{base}/belepes"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", kapu_testkit::PASSWORD)])
        .send()
        .await?;
    assert_eq!(r.status(), 303, "signed in");
    Ok((c, base))
}

pub(crate) fn hidden(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\"")).nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_portal_form_refuses_bad_files_and_stale_forms_and_submits_once() -> Result<()> {
    let mut facts = FixedFacts::default();
    facts.insert("portal", "public-space-use", json!({ "location": { "zone": "II" } }));
    let kit = Kit::start_with(kapu_testkit::KitOptions { facts: Some(Arc::new(facts)), ..Default::default() }).await?;
    let t = kit.tenant("portal", "Portál Község").await?;
    let email = portal_resident(&kit, &t).await?;
    let (c, base) = portal_client(&kit, &t, &email).await?;

    let page = c.get(format!("{base}/ugyintezes/public-space-use")).send().await?.text().await?;
    assert!(page.contains("<label for=\"f-area_m2\">"), "a labelled field per definition field");
    let (csrf, once) = (hidden(&page, "csrf"), hidden(&page, "once"));
    let form_once = |file: Option<(&str, Vec<u8>)>, version: &str, once: &str| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("once", once.to_owned())
            .text("form_version", version.to_owned())
            .text("action", "submit")
            .text("purpose", "scaffolding")
            .text("location.postcode", "1122")
            .text("location.city", "Budapest")
            .text("location.street", "Városmajor utca 14.")
            .text("area_m2", "12")
            .text("from", (Utc::now() + Duration::days(10)).date_naive().to_string())
            .text("to", (Utc::now() + Duration::days(19)).date_naive().to_string())
            .text("objects[0].description", "állvány")
            .text("objects[0].count", "1");
        if let Some((name, bytes)) = file {
            f = f.part("site_plan", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/pdf").unwrap());
        }
        f
    };
    let form = |file: Option<(&str, Vec<u8>)>, version: &str| form_once(file, version, &once);
    let post = |f: reqwest::multipart::Form| c.post(format!("{base}/ugyintezes/public-space-use")).multipart(f).send();
    let pdf = |size: usize| {
        let mut b = b"%PDF-1.7\n".to_vec();
        b.resize(size, b'0');
        b
    };

    // No site plan: the summary links to the file input, which is marked invalid.
    let r = post(form(None, "1")).await?;
    assert_eq!(r.status(), 422);
    let html = r.text().await?;
    assert!(html.contains("<a href=\"#f-site_plan\">Helyszínrajz: Adjon meg legalább egyet</a>"), "{html}");
    assert!(html.contains("id=\"f-site_plan\"") && html.contains("aria-invalid=\"true\""), "{html}");
    // A zip (a Word file) named .pdf and declared as PDF: refused by its content.
    let r = post(form(Some(("terv.pdf", b"PK\x03\x04 a word file".to_vec())), "1")).await?;
    assert!(r.text().await?.contains("terv.pdf: ilyen típusú fájlt nem fogadunk el"));
    // Over the definition's 10240 kB.
    let r = post(form(Some(("terv.pdf", pdf(10 * 1024 * 1024 + 1))), "1")).await?;
    assert!(r.text().await?.contains("terv.pdf nagyobb, mint 10240 kB"));

    // Twice the same form: one case.
    let first = post(form(Some(("terv.pdf", pdf(2000))), "1")).await?;
    assert_eq!(first.status(), 303);
    let second = post(form(Some(("terv.pdf", pdf(2000))), "1")).await?;
    assert_eq!(second.status(), 303);
    let loc = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(loc(&first), loc(&second));
    let case_page = c.get(format!("{}{}", kit.base, loc(&first))).send().await?.text().await?;
    assert!(case_page.contains(&format!("HV-{}-000001", year())) && case_page.contains("12000 Ft"), "{case_page}");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let cases: i64 = sqlx::query_scalar(r#"SELECT count(*) FROM "case""#).fetch_one(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(cases, 1);
    // The file is in the attachment store under the case.
    let id = loc(&first).split('/').nth(4).unwrap().split('?').next().unwrap().to_owned();
    let stored = kit.attachments.path().join(format!("portal/cases/{id}/site_plan/0-terv.pdf"));
    assert_eq!(std::fs::metadata(&stored)?.len(), 2000);

    // A form filled in under version 1 after version 2 came into force.
    let source = std::fs::read_to_string(workspace_root().join("tenants/hegyvidek/case-types/public-space-use.toml"))?;
    let v2 =
        kapu_cases::check_definition("public-space-use.toml", &source.replace("max_days = 180", "max_days = 90"), Utc::now().date_naive())
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    kapu_cases::save_version(&mut tx, &v2, "test", Utc::now()).await?;
    tx.commit().await?;
    let r = post(form_once(Some(("terv.pdf", pdf(2000))), "1", "another-form")).await?;
    assert_eq!(r.status(), 422);
    assert!(r.text().await?.contains("Az űrlap időközben megváltozott; töltse ki újra a jelenlegi változatot."));
    kit.stop().await;
    Ok(())
}
