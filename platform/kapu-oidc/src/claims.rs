//! Claims by scope, for the userinfo endpoint.
//!
//! `openid`: `sub` (the account id). `profile`: `name`. `email`: `email`,
//! `email_verified`. `address`, `phone` and `kapu_identity` come from the client record the
//! account is linked to once identified (in person or through KAÜ); reading it is a read of
//! personal data and is audited like any other, naming the relying party. `kapu_identity`
//! always carries `kapu_identification_level`, and, when identified, the natural identity
//! data: `family_name`, `given_name`, `birthdate`, `kapu_birth_name`,
//! `kapu_mother_birth_name`, `kapu_birth_place`.

use chrono::{DateTime, Utc};
use kapu_clients::account::Account;
use kapu_clients::organisation::AddressKind;
use kapu_core::TenantTx;
use kapu_crypto::Keyring;
use serde_json::{Map, Value, json};

use crate::OidcError;
use crate::flow::AccessGrant;

/// The claims `grant` may see of `account` when none of them comes from the client record
/// (so nothing personal is read and no audit record is due); `None` when some do, and
/// [`userinfo`] must be asked in a transaction.
pub fn without_record(account: &Account, grant: &AccessGrant) -> Option<Value> {
    let has = |s: &str| grant.scopes.iter().any(|g| g == s);
    let wants_record = has("address") || has("phone") || has("kapu_identity");
    (!(wants_record && account.client_id.is_some())).then(|| Value::Object(account_claims(account, grant)))
}

fn account_claims(account: &Account, grant: &AccessGrant) -> Map<String, Value> {
    let has = |s: &str| grant.scopes.iter().any(|g| g == s);
    let mut c = Map::new();
    c.insert("sub".into(), json!(account.id.to_string()));
    if has("profile") {
        c.insert("name".into(), json!(account.display_name));
    }
    if has("email") {
        c.insert("email".into(), json!(account.email));
        c.insert("email_verified".into(), json!(account.email_verified_at.is_some()));
    }
    if has("kapu_identity") {
        c.insert("kapu_identification_level".into(), json!(account.level));
    }
    c
}

/// The claims `grant` may see. `None` when the account no longer exists.
pub async fn userinfo(tx: &mut TenantTx, ring: &Keyring, grant: &AccessGrant, now: DateTime<Utc>) -> Result<Option<Value>, OidcError> {
    let Some(account) = kapu_clients::account::get_account(tx, grant.account).await? else { return Ok(None) };
    let has = |s: &str| grant.scopes.iter().any(|g| g == s);
    let mut c = account_claims(&account, grant);
    let wants_record = has("address") || has("phone") || has("kapu_identity");
    if let (true, Some(client_id)) = (wants_record, account.client_id) {
        let actor = kapu_audit::Actor { id: None, label: format!("relying party {} (OpenID Connect)", grant.client_id) };
        let reason = format!("released to the relying party with the client's consent, scopes: {}", grant.scopes.join(" "));
        let access = kapu_clients::Access { actor: &actor, reason: &reason };
        if let Some(client) = kapu_clients::get(tx, ring, access, client_id, now).await? {
            if has("address") {
                let chosen = client.addresses.iter().find(|a| a.kind == AddressKind::Permanent).or_else(|| client.addresses.first());
                if let Some(a) = chosen {
                    c.insert(
                        "address".into(),
                        json!({
                            "formatted": format!("{} {}, {}", a.postcode, a.city, a.street),
                            "street_address": a.street,
                            "locality": a.city,
                            "postal_code": a.postcode,
                            "country": "HU",
                        }),
                    );
                }
            }
            if let (true, Some(p)) = (has("phone"), &client.phone) {
                c.insert("phone_number".into(), json!(p));
            }
            if has("kapu_identity") {
                let id = &client.identity;
                c.insert("family_name".into(), json!(id.family_name));
                c.insert("given_name".into(), json!(id.given_name));
                c.insert("birthdate".into(), json!(id.birth_date.format("%Y-%m-%d").to_string()));
                c.insert(
                    "kapu_birth_name".into(),
                    json!(id.birth_name.as_deref().unwrap_or(&format!("{} {}", id.family_name, id.given_name))),
                );
                c.insert("kapu_mother_birth_name".into(), json!(id.mother_birth_name));
                c.insert("kapu_birth_place".into(), json!(id.birth_place));
            }
        }
    }
    Ok(Some(Value::Object(c)))
}
