//! Client accounts on the citizen portal: self-registration, e-mail verification, sign-in,
//! sessions and password reset. An account is at identification level `registered` until
//! the client identifies in person or through the national login (KAÜ).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Duration, Utc};
use kapu_core::{Refusal, Statement, TenantTx};
use kapu_crypto::password::{DUMMY_HASH, hash_password, verify_password};
use kapu_mail::OutgoingMail;
use rand::RngCore;
use sea_query::{Alias, Expr, Query, SelectStatement};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::{ClientError, invalid};

/// How strongly a client has proved who they are; case types require a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentificationLevel {
    /// E-mail address verified only.
    Registered,
    /// Identified in person at the office, with an ID document.
    InPerson,
    /// Identified through the national login (KAÜ / Ügyfélkapu+).
    Kau,
}

impl IdentificationLevel {
    fn parse(s: &str) -> Self {
        match s {
            "in_person" => Self::InPerson,
            "kau" => Self::Kau,
            _ => Self::Registered,
        }
    }
}

/// A client account.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    /// Id.
    pub id: Uuid,
    /// Sign-in e-mail.
    pub email: String,
    /// Name shown on the portal.
    pub display_name: String,
    /// Identification level.
    pub level: IdentificationLevel,
    /// When the e-mail address was confirmed.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The client record the account is linked to once identified.
    #[serde(skip)]
    pub client_id: Option<Uuid>,
}

/// A registration form's content.
#[derive(Clone, Debug)]
pub struct Registration {
    /// Name.
    pub display_name: String,
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// The portal's links and name, for the e-mails.
pub struct Mailing<'a> {
    /// The municipality's name.
    pub tenant_name: &'a str,
    /// Builds the link that carries a one-time token to a portal path.
    pub link: &'a (dyn Fn(&str, &str) -> String + Sync),
    /// The tenant's keyring, which seals the queued e-mails (they carry the links).
    pub ring: &'a kapu_crypto::Keyring,
}

fn valid_email(e: &str) -> bool {
    e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
}

/// Checks a new password: at least 10 characters and not guessable by zxcvbn (score 3 of 4
/// or better, given the person's own e-mail and name). Errors carry a code the portal words.
pub fn check_password(password: &str, inputs: &[&str]) -> Result<(), ClientError> {
    if password.chars().count() < 10 {
        return Err(invalid("password", Refusal::TooShort { min: 10 }));
    }
    if password.chars().count() > 256 {
        return Err(invalid("password", Refusal::too_long(256)));
    }
    let mut words: Vec<&str> = inputs.to_vec();
    words.extend(inputs.iter().flat_map(|i| i.split(['@', '.', ' ', '-'])));
    if (zxcvbn::zxcvbn(password, &words).score() as u8) < 3 {
        return Err(invalid("password", Refusal::WeakPassword));
    }
    Ok(())
}

fn token() -> (String, Vec<u8>) {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let t = B64URL.encode(b);
    let h = Sha256::digest(t.as_bytes()).to_vec();
    (t, h)
}

async fn issue_token(
    tx: &mut TenantTx,
    account: Uuid,
    purpose: &str,
    valid_for: Duration,
    now: DateTime<Utc>,
) -> Result<String, ClientError> {
    let (t, h) = token();
    sqlx::query("INSERT INTO client_token (token_hash, account_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(h)
        .bind(account)
        .bind(purpose)
        .bind(now)
        .bind(now + valid_for)
        .execute(tx.conn())
        .await?;
    Ok(t)
}

async fn send(tx: &mut TenantTx, mailing: &Mailing<'_>, to: &str, subject: String, text: String) -> Result<(), ClientError> {
    let mail = OutgoingMail { to: to.to_owned(), subject, text, html: None, message_id: format!("<{}@kapu>", Uuid::now_v7()) };
    let job = kapu_mail::MailJob::seal(mailing.ring, &mail)?;
    kapu_jobs::enqueue(tx, kapu_jobs::NewJob::new(kapu_mail::SEND_JOB, &job)).await?;
    Ok(())
}

/// Registers an account and e-mails the verification link, in the caller's transaction.
/// An address that already has an account gets a notice instead, and the caller answers
/// the same either way, so the form does not reveal who is registered.
pub async fn register(tx: &mut TenantTx, reg: Registration, mailing: &Mailing<'_>, now: DateTime<Utc>) -> Result<(), ClientError> {
    let name = reg.display_name.trim();
    let email = reg.email.trim();
    if name.is_empty() {
        return Err(invalid("display_name", Refusal::Required));
    }
    if name.chars().count() > 100 {
        return Err(invalid("display_name", Refusal::too_long(100)));
    }
    if !valid_email(email) {
        return Err(invalid("email", Refusal::InvalidEmail));
    }
    check_password(&reg.password, &[email, name, mailing.tenant_name])?;
    let existing: Option<(Uuid, String)> = sqlx::query_as("SELECT id, display_name FROM client_account WHERE lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(tx.conn())
        .await?;
    if let Some((_, existing_name)) = existing {
        // Hash anyway, so the answer takes as long as for a new address (and fails as a new
        // address's would).
        hash_password(reg.password).await?;
        let link = (mailing.link)("belepes", "");
        let text = format!(
            "Kedves {existing_name}!\n\nValaki ezzel az e-mail-címmel próbált regisztrálni a(z) {t} e-ügyintézési portálján. \
             Önnek már van fiókja: belépni itt tud: {link}\nHa elfelejtette a jelszavát, kérjen újat a belépési oldalon.\n\n---\n\n\
             Someone tried to register with this address on the {t} portal. You already have an account; sign in here: {link}\n",
            t = mailing.tenant_name
        );
        return send(tx, mailing, email, format!("{}: már van fiókja / you already have an account", mailing.tenant_name), text).await;
    }
    let id = Uuid::now_v7();
    let hash = hash_password(reg.password).await?;
    sqlx::query("INSERT INTO client_account (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(email)
        .bind(name)
        .bind(hash)
        .bind(now)
        .execute(tx.conn())
        .await?;
    let t = issue_token(tx, id, "verify_email", Duration::hours(24), now).await?;
    let link = (mailing.link)("email-megerosites", &t);
    let text = format!(
        "Kedves {name}!\n\nKöszönjük, hogy regisztrált a(z) {tn} e-ügyintézési portálján. E-mail-címe megerősítéséhez \
         nyissa meg 24 órán belül az alábbi hivatkozást:\n{link}\n\nHa nem Ön regisztrált, hagyja figyelmen kívül ezt a levelet.\n\n---\n\n\
         Dear {name},\n\nThank you for registering on the {tn} portal. To confirm your e-mail address, open this link within 24 hours:\n{link}\n",
        tn = mailing.tenant_name
    );
    send(tx, mailing, email, format!("{}: e-mail-cím megerősítése / confirm your e-mail address", mailing.tenant_name), text).await
}

async fn use_token(tx: &mut TenantTx, token: &str, purpose: &str, now: DateTime<Utc>) -> Result<Uuid, ClientError> {
    let h = Sha256::digest(token.as_bytes()).to_vec();
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE client_token SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING account_id",
    )
    .bind(h)
    .bind(purpose)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    id.ok_or_else(|| invalid("token", Refusal::InvalidLink))
}

const SELECT: &str = "SELECT id, email, display_name, identification_level, email_verified_at, client_id FROM client_account";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    email: String,
    display_name: String,
    identification_level: String,
    email_verified_at: Option<DateTime<Utc>>,
    client_id: Option<Uuid>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            level: IdentificationLevel::parse(&r.identification_level),
            email_verified_at: r.email_verified_at,
            client_id: r.client_id,
        }
    }
}

/// Confirms an e-mail address with the link's token; a used or expired link is refused.
pub async fn verify_email(tx: &mut TenantTx, token: &str, now: DateTime<Utc>) -> Result<Account, ClientError> {
    let id = use_token(tx, token, "verify_email", now).await?;
    sqlx::query("UPDATE client_account SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    let row: AccountRow = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_one(tx.conn()).await?;
    Ok(row.into())
}

/// A signed-in client.
#[derive(Clone, Debug)]
pub struct ClientSession {
    /// The account.
    pub account: Account,
    /// Forms must echo this token.
    pub csrf_token: String,
    /// When the client signed in.
    pub signed_in_at: DateTime<Utc>,
    /// The client this representative acts for now, under a mandate; `None`: for themselves.
    pub acting_for: Option<Uuid>,
    token_hash: Vec<u8>,
}

/// What a sign-in attempt ended in.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the cookie gets the token.
    SignedIn(String, ClientSession),
    /// Wrong e-mail or password (not told apart).
    InvalidCredentials,
    /// Right password, but the e-mail address is not confirmed yet.
    Unverified,
}

/// Session lifetime for clients.
pub const SESSION_TTL: Duration = Duration::hours(2);
/// A session unused for this long has ended.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);

#[derive(sqlx::FromRow)]
struct SignInRow {
    id: Uuid,
    password_hash: String,
    email_verified_at: Option<DateTime<Utc>>,
}

/// Checks e-mail and password and opens a session. Throttling is the caller's
/// (`kapu-throttle`); an unknown e-mail costs the same password hashing as a known one.
pub async fn sign_in(tx: &mut TenantTx, email: &str, password: &str, now: DateTime<Utc>) -> Result<SignIn, ClientError> {
    let row: Option<SignInRow> =
        sqlx::query_as("SELECT id, password_hash, email_verified_at FROM client_account WHERE lower(email) = lower($1)")
            .bind(email.trim())
            .fetch_optional(tx.conn())
            .await?;
    let Some(SignInRow { id, password_hash: hash, email_verified_at: verified }) = row else {
        verify_password(password.to_owned(), DUMMY_HASH.to_owned()).await;
        return Ok(SignIn::InvalidCredentials);
    };
    if !verify_password(password.to_owned(), hash).await {
        return Ok(SignIn::InvalidCredentials);
    }
    if verified.is_none() {
        return Ok(SignIn::Unverified);
    }
    let (t, session) = open_session(tx, id, now).await?;
    Ok(SignIn::SignedIn(t, session))
}

async fn open_session(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<(String, ClientSession), ClientError> {
    let (t, h) = token();
    let (csrf, _) = token();
    sqlx::query("INSERT INTO client_session (token_hash, account_id, csrf_token, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $4)")
        .bind(&h)
        .bind(id)
        .bind(&csrf)
        .bind(now)
        .bind(now + SESSION_TTL)
        .execute(tx.conn())
        .await?;
    let account: AccountRow = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_one(tx.conn()).await?;
    Ok((t, ClientSession { account: account.into(), csrf_token: csrf, signed_in_at: now, acting_for: None, token_hash: h }))
}

/// A password hash no password matches: accounts opened through the national login have no
/// password until their holder sets one with the reset link.
const NO_PASSWORD: &str = "!national-login";

/// What the national login (KAÜ) asserted about the person signing in.
#[derive(Clone, Debug)]
pub struct NationalLogin {
    /// Natural identity data.
    pub identity: crate::NaturalIdentity,
    /// The e-mail address the national login holds for the person.
    pub email: String,
    /// The name to show.
    pub display_name: String,
    /// The assurance level (authentication context class) it was asserted at.
    pub assurance: String,
}

/// What a national sign-in did besides signing in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NationalOutcome {
    /// A client record was created from the asserted data.
    pub client_created: bool,
    /// A portal account was opened.
    pub account_created: bool,
}

fn same_name(a: &str, b: &str) -> bool {
    crate::normalize_name(a) == crate::normalize_name(b)
}

/// Signs a person in with what the national login asserted: finds the client with the same
/// natural identity data (or registers one), links the portal account (the one that was
/// signed in when the login began, else the one linked to the client, else the one with the
/// asserted e-mail address, else a new one), raises it to level `kau` and opens a session.
/// An account already linked to another client is refused. Audited as `client.identify_kau`.
pub async fn sign_in_national(
    tx: &mut TenantTx,
    ring: &kapu_crypto::Keyring,
    login: &NationalLogin,
    link_account: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(String, ClientSession, NationalOutcome), ClientError> {
    let person = crate::NewPerson {
        email: Some(login.email.clone()),
        identity: login.identity.clone(),
        id_document: None,
        addresses: Vec::new(),
        phone: None,
        resident_card: None,
    };
    crate::validate(&person, now)?;
    if !valid_email(&login.email) {
        return Err(invalid("email", Refusal::InvalidEmail));
    }
    let i = &login.identity;
    let index = crate::identity_index(ring, &i.family_name, &i.given_name, i.birth_date);
    let rows: Vec<crate::ClientRow> =
        sqlx::query_as(&format!("{} WHERE kind = 'person' AND identity_bidx = $1 ORDER BY created_at", crate::SELECT))
            .bind(index)
            .fetch_all(tx.conn())
            .await?;
    let mut client_id = None;
    for row in rows {
        let c = crate::open(ring, row)?;
        if same_name(&c.identity.mother_birth_name, &i.mother_birth_name) && same_name(&c.identity.birth_place, &i.birth_place) {
            client_id = Some(c.id);
            break;
        }
    }
    let actor = kapu_audit::Actor { id: None, label: "national login (KAÜ)".into() };
    let access = crate::Access { actor: &actor, reason: "the person identified themself through the national login (KAÜ)" };
    let client_created = client_id.is_none();
    let client_id = match client_id {
        Some(id) => id,
        None => crate::create_person(tx, ring, access.clone(), person, now).await?.id,
    };
    let linked_to = |found: Option<Uuid>| found.is_some_and(|c| c != client_id);
    let mut account = None;
    if let Some(a) = link_account {
        let row: Option<Option<Uuid>> =
            sqlx::query_scalar("SELECT client_id FROM client_account WHERE id = $1 FOR UPDATE").bind(a).fetch_optional(tx.conn()).await?;
        if let Some(current) = row {
            if linked_to(current) {
                return Err(invalid("account", Refusal::KauOtherPerson));
            }
            account = Some(a);
        }
    }
    if account.is_none() {
        account = sqlx::query_scalar("SELECT id FROM client_account WHERE client_id = $1 ORDER BY created_at LIMIT 1 FOR UPDATE")
            .bind(client_id)
            .fetch_optional(tx.conn())
            .await?;
    }
    if account.is_none() {
        let row: Option<(Uuid, Option<Uuid>, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT id, client_id, email_verified_at FROM client_account WHERE lower(email) = lower($1) FOR UPDATE")
                .bind(login.email.trim())
                .fetch_optional(tx.conn())
                .await?;
        if let Some((id, current, verified)) = row {
            if linked_to(current) {
                return Err(invalid("email", Refusal::KauEmailTaken));
            }
            if verified.is_none() {
                // Whoever registered the address without confirming it does not get the
                // identified account: their password goes.
                sqlx::query("UPDATE client_account SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(NO_PASSWORD)
                    .execute(tx.conn())
                    .await?;
            }
            account = Some(id);
        }
    }
    let account_created = account.is_none();
    let id = match account {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO client_account (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(login.email.trim())
                .bind(login.display_name.trim())
                .bind(NO_PASSWORD)
                .bind(now)
                .execute(tx.conn())
                .await?;
            id
        }
    };
    sqlx::query(
        "UPDATE client_account SET client_id = $2, identification_level = 'kau', email_verified_at = COALESCE(email_verified_at, $3)
         WHERE id = $1",
    )
    .bind(id)
    .bind(client_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let outcome = NationalOutcome { client_created, account_created };
    crate::audit(
        tx,
        &access,
        "client.identify_kau",
        Some(client_id),
        serde_json::json!({ "account_id": id, "assurance": login.assurance, "client_created": client_created, "account_created": account_created }),
        now,
    )
    .await?;
    let (t, session) = open_session(tx, id, now).await?;
    Ok((t, session, outcome))
}

/// The live session a cookie's token belongs to, if any.
pub async fn authenticate(tx: &mut TenantTx, token: &str, now: DateTime<Utc>) -> Result<Option<ClientSession>, ClientError> {
    let h = Sha256::digest(token.as_bytes()).to_vec();
    type Row = (Uuid, String, Option<Uuid>, DateTime<Utc>, DateTime<Utc>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT account_id, csrf_token, acting_for_client_id, created_at, last_seen_at FROM client_session
         WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
    )
    .bind(&h)
    .bind(now)
    .bind(now - IDLE_TIMEOUT)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, csrf, acting_for, signed_in_at, last_seen_at)) = row else { return Ok(None) };
    if last_seen_at < now - Duration::minutes(1) {
        sqlx::query("UPDATE client_session SET last_seen_at = $2 WHERE token_hash = $1").bind(&h).bind(now).execute(tx.conn()).await?;
    }
    let account: AccountRow = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_one(tx.conn()).await?;
    Ok(Some(ClientSession { account: account.into(), csrf_token: csrf, signed_in_at, acting_for, token_hash: h }))
}

/// The statement that reads the live session of a cookie's token with its account, for a
/// one-round-trip read ([`kapu_core::Db::tenant_read_all`]); [`session_from`] reads its rows.
/// It is what [`authenticate`] reads, so a request that needs the session and other reads
/// sends them all in one message.
pub fn session_statement(token: &str, now: DateTime<Utc>) -> Statement {
    Statement::new(
        "SELECT s.csrf_token, s.acting_for_client_id, s.created_at, s.last_seen_at,
                a.id, a.email, a.display_name, a.identification_level, a.email_verified_at, a.client_id
         FROM client_session s JOIN client_account a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        live_session_values(token, now),
    )
}

/// A sub-select of the live session whose token's hash is `$1` at the time `$2`, with the
/// idle cut-off `$3` ([`live_session_values`] gives the three): its `account_id` and
/// `signed_in_at`. For another module's statement that acts only for a signed-in person, so
/// that checking the session and acting take one round trip.
#[macro_export]
macro_rules! live_session_sql {
    () => {
        "SELECT account_id, created_at AS signed_in_at FROM client_session
         WHERE token_hash = CAST($1 AS bytea) AND expires_at > CAST($2 AS timestamptz) AND last_seen_at > CAST($3 AS timestamptz)"
    };
}

/// The values of `$1`–`$3` in [`live_session_sql!`].
pub fn live_session_values(token: &str, now: DateTime<Utc>) -> [sea_query::Value; 3] {
    [Sha256::digest(token.as_bytes()).to_vec().into(), now.into(), (now - IDLE_TIMEOUT).into()]
}

/// The statement that refreshes a live session's idle timer when that is due (at most once a
/// minute) and does nothing otherwise, for a message that also reads the session.
pub fn touch_statement(token: &str, now: DateTime<Utc>) -> Statement {
    Statement::new(
        "UPDATE client_session SET last_seen_at = $2
         WHERE token_hash = $1 AND last_seen_at < $3 AND last_seen_at > $4 AND expires_at > $2",
        [Sha256::digest(token.as_bytes()).to_vec().into(), now.into(), (now - Duration::minutes(1)).into(), (now - IDLE_TIMEOUT).into()],
    )
}

/// The session in the rows of [`session_statement`], and the statement that refreshes its
/// idle timer when that is due (at most once a minute), to send with the request's write.
pub fn session_from(rows: &[PgRow], token: &str, now: DateTime<Utc>) -> Result<Option<(ClientSession, Option<Statement>)>, ClientError> {
    let Some(r) = rows.first() else { return Ok(None) };
    let token_hash = Sha256::digest(token.as_bytes()).to_vec();
    let last_seen_at: DateTime<Utc> = r.try_get(3)?;
    let touch = (last_seen_at < now - Duration::minutes(1)).then(|| touch_statement(token, now));
    let account = AccountRow {
        id: r.try_get(4)?,
        email: r.try_get(5)?,
        display_name: r.try_get(6)?,
        identification_level: r.try_get(7)?,
        email_verified_at: r.try_get(8)?,
        client_id: r.try_get(9)?,
    };
    let session = ClientSession {
        account: account.into(),
        csrf_token: r.try_get(0)?,
        acting_for: r.try_get(1)?,
        signed_in_at: r.try_get(2)?,
        token_hash,
    };
    Ok(Some((session, touch)))
}

/// The statement that reads the account whose id the query `id` selects (the caller's
/// sub-query), for a one-round-trip read; [`account_from`] reads its rows.
pub fn account_statement(id: SelectStatement) -> Statement {
    let cols = ["id", "email", "display_name", "identification_level", "email_verified_at", "client_id"];
    let q = Query::select()
        .columns(cols.map(Alias::new))
        .from(Alias::new("client_account"))
        .and_where(Expr::col(Alias::new("id")).in_subquery(id))
        .to_owned();
    Statement::query(&q)
}

/// The account in the rows of [`account_statement`].
pub fn account_from(rows: &[PgRow]) -> Result<Option<Account>, ClientError> {
    Ok(rows.first().map(AccountRow::from_row).transpose()?.map(Into::into))
}

/// An account by id.
pub async fn get_account(tx: &mut TenantTx, id: Uuid) -> Result<Option<Account>, ClientError> {
    let row: Option<AccountRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(tx.conn()).await?;
    Ok(row.map(Into::into))
}

/// Switches whom the session acts for: `Some(principal)` needs a mandate valid on `today`;
/// `None` goes back to acting for oneself.
pub async fn act_for(
    tx: &mut TenantTx,
    session: &mut ClientSession,
    principal: Option<Uuid>,
    today: chrono::NaiveDate,
) -> Result<(), ClientError> {
    if let Some(p) = principal {
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM mandate WHERE representative_account_id = $1 AND principal_client_id = $2 AND revoked_at IS NULL
             AND valid_from <= $3 AND (valid_until IS NULL OR valid_until >= $3))",
        )
        .bind(session.account.id)
        .bind(p)
        .bind(today)
        .fetch_one(tx.conn())
        .await?;
        if !held {
            return Err(invalid("principal", Refusal::NoMandate));
        }
    }
    sqlx::query("UPDATE client_session SET acting_for_client_id = $2 WHERE token_hash = $1")
        .bind(&session.token_hash)
        .bind(principal)
        .execute(tx.conn())
        .await?;
    session.acting_for = principal;
    Ok(())
}

/// Ends a session.
pub async fn sign_out(tx: &mut TenantTx, session: &ClientSession) -> Result<(), ClientError> {
    sqlx::query("DELETE FROM client_session WHERE token_hash = $1").bind(&session.token_hash).execute(tx.conn()).await?;
    Ok(())
}

/// E-mails a password reset link when the address has an account; silent otherwise.
pub async fn request_password_reset(tx: &mut TenantTx, email: &str, mailing: &Mailing<'_>, now: DateTime<Utc>) -> Result<(), ClientError> {
    let row: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, email, display_name FROM client_account WHERE lower(email) = lower($1)")
            .bind(email.trim())
            .fetch_optional(tx.conn())
            .await?;
    let Some((id, to, name)) = row else { return Ok(()) };
    let t = issue_token(tx, id, "reset_password", Duration::hours(1), now).await?;
    let link = (mailing.link)("jelszo-visszaallitas", &t);
    let text = format!(
        "Kedves {name}!\n\nÚj jelszó beállításához nyissa meg egy órán belül az alábbi hivatkozást:\n{link}\n\n\
         Ha nem Ön kérte, hagyja figyelmen kívül ezt a levelet.\n\n---\n\nDear {name},\n\nTo set a new password, open this link within one hour:\n{link}\n"
    );
    send(tx, mailing, &to, format!("{}: jelszó visszaállítása / password reset", mailing.tenant_name), text).await
}

/// Sets a new password with a reset link's token; ends every session of the account.
/// A reset also confirms the address, since the link arrived there.
pub async fn reset_password(tx: &mut TenantTx, token: &str, password: &str, now: DateTime<Utc>) -> Result<(), ClientError> {
    let h = Sha256::digest(token.as_bytes()).to_vec();
    let owner: Option<(String, String)> = sqlx::query_as(
        "SELECT a.email, a.display_name FROM client_token t JOIN client_account a ON a.id = t.account_id
         WHERE t.token_hash = $1 AND t.purpose = 'reset_password' AND t.used_at IS NULL AND t.expires_at > $2",
    )
    .bind(&h)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let (email, name) = owner.ok_or_else(|| invalid("token", Refusal::InvalidLink))?;
    check_password(password, &[&email, &name])?;
    let id = use_token(tx, token, "reset_password", now).await?;
    let hash = hash_password(password.to_owned()).await?;
    sqlx::query("UPDATE client_account SET password_hash = $2, email_verified_at = COALESCE(email_verified_at, $3) WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM client_session WHERE account_id = $1").bind(id).execute(tx.conn()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_strength() {
        let code = |r: Result<(), ClientError>| match r {
            Err(ClientError::Invalid { reason, .. }) => reason.code(),
            _ => "ok",
        };
        assert_eq!(code(check_password("rovid", &[])), "too_short");
        assert_eq!(code(check_password("password123", &[])), "weak_password");
        assert_eq!(code(check_password("kovacs.janos@example.hu", &["kovacs.janos@example.hu", "Kovács János"])), "weak_password");
        assert_eq!(code(check_password("Zöld-Kerítés-Alatt-Hét-Macska", &["anna@example.hu"])), "ok");
    }

    #[test]
    fn levels_are_ordered() {
        assert!(IdentificationLevel::Registered < IdentificationLevel::InPerson);
        assert!(IdentificationLevel::InPerson < IdentificationLevel::Kau);
    }
}

/// Everything held about an account's holder, machine-readable (GDPR Art. 15 and 20).
pub async fn export(
    tx: &mut TenantTx,
    ring: &kapu_crypto::Keyring,
    session: &ClientSession,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, ClientError> {
    let id = session.account.id;
    let (client_id, created_at): (Option<Uuid>, DateTime<Utc>) =
        sqlx::query_as("SELECT client_id, created_at FROM client_account WHERE id = $1").bind(id).fetch_one(tx.conn()).await?;
    let client = match client_id {
        Some(cid) => {
            let actor = kapu_audit::Actor { id: None, label: "the client (data export)".into() };
            crate::get(tx, ring, crate::Access { actor: &actor, reason: "GDPR Art. 15 access request by the client" }, cid, now).await?
        }
        None => None,
    };
    let sessions: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        sqlx::query_as("SELECT created_at, last_seen_at FROM client_session WHERE account_id = $1 ORDER BY created_at")
            .bind(id)
            .fetch_all(tx.conn())
            .await?;
    let mandates = crate::organisation::mandates_of(tx, ring, id, now.date_naive()).await?;
    let access_log = match client_id {
        Some(cid) => kapu_audit::list(tx, Some(cid), None, 500).await?,
        None => Vec::new(),
    };
    Ok(serde_json::json!({
        "exported_at": now,
        "account": {
            "id": id,
            "email": session.account.email,
            "display_name": session.account.display_name,
            "identification_level": session.account.level,
            "email_verified_at": session.account.email_verified_at,
            "created_at": created_at,
        },
        "client": client,
        "sessions": sessions.iter().map(|(c, l)| serde_json::json!({ "created_at": c, "last_seen_at": l })).collect::<Vec<_>>(),
        "mandates_held": mandates,
        "staff_access_to_your_data": access_log.iter().map(|r| serde_json::json!({
            "at": r.at, "who": r.actor, "what": r.action, "why": r.reason,
        })).collect::<Vec<_>>(),
    }))
}

/// What an erasure removed and what it had to keep.
#[derive(Clone, Debug, Serialize)]
pub struct Erasure {
    /// What was deleted or anonymised.
    pub removed: Vec<&'static str>,
    /// What was kept, each with the reason.
    pub kept: Vec<(&'static str, &'static str)>,
    /// The records other domains keep under a legal retention rule (cases, issued
    /// documents), each naming what and why.
    pub retained: Vec<Retained>,
}

/// Records that a legal retention rule keeps despite an erasure request, as the domain that
/// owns them reports them (e.g. the client's filed cases, the decisions issued to them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retained {
    /// What is kept, e.g. `cases HV-2026-000001, HV-2026-000002`.
    pub what: String,
    /// Why, naming the rule.
    pub why: String,
    /// Whether these records refer to the client record, which is then kept too.
    pub needs_client_record: bool,
}

/// Erases an account after the holder confirmed with their password (GDPR Art. 17): the
/// account, sessions, links, mandates held, queued e-mails to the address and, when no
/// retention rule keeps it, the linked client record. The audit log is kept: it names only
/// ids and states who accessed the data, which the office must be able to show. `retained`
/// are the records other domains keep (see [`Retained`]); they are reported as kept.
pub async fn erase(
    tx: &mut TenantTx,
    ring: &kapu_crypto::Keyring,
    session: &ClientSession,
    password: &str,
    retained: Vec<Retained>,
    now: DateTime<Utc>,
) -> Result<Erasure, ClientError> {
    let id = session.account.id;
    let (hash, email, client_id): (String, String, Option<Uuid>) =
        sqlx::query_as("SELECT password_hash, email, client_id FROM client_account WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
    if !verify_password(password.to_owned(), hash).await {
        return Err(invalid("password", Refusal::WrongPassword));
    }
    let mut removed = vec!["account", "sessions", "e-mail links"];
    sqlx::query("DELETE FROM client_session WHERE account_id = $1").bind(id).execute(tx.conn()).await?;
    sqlx::query("DELETE FROM client_token WHERE account_id = $1").bind(id).execute(tx.conn()).await?;
    let mandates =
        sqlx::query("DELETE FROM mandate WHERE representative_account_id = $1").bind(id).execute(tx.conn()).await?.rows_affected();
    if mandates > 0 {
        removed.push("mandates held");
    }
    // Sealed mails are found by the blind index of their recipient; mails queued before
    // mails were sealed by their plain address.
    let mails = sqlx::query("DELETE FROM job WHERE kind = $1 AND (payload->>'to_index' = $3 OR lower(payload->>'to') = lower($2))")
        .bind(kapu_mail::SEND_JOB)
        .bind(&email)
        .bind(kapu_mail::recipient_index(ring, &email))
        .execute(tx.conn())
        .await?
        .rows_affected();
    if mails > 0 {
        removed.push("e-mails sent or queued to the address");
    }
    sqlx::query("DELETE FROM client_account WHERE id = $1").bind(id).execute(tx.conn()).await?;
    let records_need_client = retained.iter().any(|r| r.needs_client_record);
    if let Some(cid) = client_id {
        let principal_of: i64 =
            sqlx::query_scalar("SELECT count(*) FROM mandate WHERE principal_client_id = $1").bind(cid).fetch_one(tx.conn()).await?;
        if principal_of == 0 && !records_need_client {
            sqlx::query("DELETE FROM client WHERE id = $1").bind(cid).execute(tx.conn()).await?;
            removed.push("client record with identity data and addresses");
        }
    }
    let actor = kapu_audit::Actor { id: None, label: "the client (erasure request)".into() };
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent {
            actor: &actor,
            action: "client.erase",
            subject_client_id: client_id,
            reason: "GDPR Art. 17 erasure request by the client",
            details: serde_json::json!({ "removed": removed, "retained": retained.iter().map(|r| &r.what).collect::<Vec<_>>() }),
        },
        now,
    )
    .await?;
    let mut kept = vec![(
        "audit_log",
        "the record of staff access to your data: it holds ids, not your data, and the office must be able to account for every access",
    )];
    if client_id.is_some() && !removed.contains(&"client record with identity data and addresses") {
        if records_need_client {
            kept.push(("client_record", "the case files kept for you (below) refer to it; it is kept as long as they are"));
        } else {
            kept.push(("client_record", "you are named in a mandate another client relies on; it is erased when that mandate ends"));
        }
    }
    Ok(Erasure { removed, kept, retained })
}

/// Whether a client record exists (for a system that addresses a document to it; reads no
/// personal data, so it is not audited).
pub async fn client_exists(tx: &mut TenantTx, client_id: Uuid) -> Result<bool, ClientError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM client WHERE id = $1)").bind(client_id).fetch_one(tx.conn()).await?)
}

/// The highest identification level among the portal accounts linked to a client; `None`
/// when no account is linked. Reads no personal data, so it is not audited.
pub async fn identification_level_of(tx: &mut TenantTx, client_id: Uuid) -> Result<Option<IdentificationLevel>, ClientError> {
    let levels: Vec<String> = sqlx::query_scalar("SELECT identification_level FROM client_account WHERE client_id = $1")
        .bind(client_id)
        .fetch_all(tx.conn())
        .await?;
    Ok(levels.iter().map(|l| IdentificationLevel::parse(l)).max())
}

/// The address to notify a client at: the confirmed e-mail address of a portal account
/// linked to the client (the most recently created), else the client record's own address.
pub async fn contact_email(tx: &mut TenantTx, client_id: Uuid) -> Result<Option<String>, ClientError> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM (
             SELECT email, 0 AS rank, created_at FROM client_account WHERE client_id = $1 AND email_verified_at IS NOT NULL
             UNION ALL SELECT email, 1, created_at FROM client WHERE id = $1 AND email IS NOT NULL
         ) e ORDER BY rank, created_at DESC LIMIT 1",
    )
    .bind(client_id)
    .fetch_optional(tx.conn())
    .await?)
}
