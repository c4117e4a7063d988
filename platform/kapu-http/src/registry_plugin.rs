//! The central registry as the in-person identification sees it, reached through the tenant's
//! installed registry plugin (`plugins/registry` for SZL) hosted by `kapu-plugins`.

use chrono::{DateTime, Utc};
use kapu_clients::identification::{DocumentKind, Registry, RegistryAnswer, RegistryError, RegistryQuery};
use kapu_core::TenantSlug;
use kapu_plugins::installation::Plugins;
use kapu_plugins::registry::{self as reg, PersonCheck};
use kapu_plugins::{PluginError, World};

/// What to do when a tenant has no registry plugin.
pub const NO_REGISTRY_PLUGIN: &str = "no registry plugin is installed for this municipality, so identities cannot be checked \
    against the central registry: a tenant admin installs the registry plugin (plugins/registry, for SZL) and configures its \
    base URL and API key under Plugins in the admin UI, or with `kapu plugin install` and `kapu plugin configure`";

/// [`Registry`] through each tenant's registry plugin; failed calls are recorded for the
/// tenant's admin by the host.
#[derive(Clone)]
pub struct PluginRegistry(pub Plugins);

fn query(q: &RegistryQuery) -> reg::PersonQuery {
    reg::PersonQuery {
        family_name: q.family_name.clone(),
        given_name: q.given_name.clone(),
        birth_name: q.birth_name.clone(),
        mother_birth_name: q.mother_birth_name.clone(),
        birth_place: q.birth_place.clone(),
        birth_date: q.birth_date.format("%Y-%m-%d").to_string(),
        document: reg::Document {
            kind: match q.document.kind {
                DocumentKind::IdentityCard => reg::DocumentKind::IdentityCard,
                DocumentKind::Passport => reg::DocumentKind::Passport,
                DocumentKind::DrivingLicence => reg::DocumentKind::DrivingLicence,
            },
            number: q.document.number.clone(),
        },
        address: q.address.as_ref().map(|a| reg::Address { postcode: a.postcode.clone(), city: a.city.clone(), street: a.street.clone() }),
    }
}

#[async_trait::async_trait]
impl Registry for PluginRegistry {
    async fn check(&self, tenant: &TenantSlug, q: &RegistryQuery, now: DateTime<Utc>) -> Result<RegistryAnswer, RegistryError> {
        let failed = |e: PluginError| RegistryError::Failed(e.to_string());
        let Some(name) = self.0.of_world(tenant, World::Registry).await.map_err(failed)? else {
            return Err(RegistryError::NotConfigured(NO_REGISTRY_PLUGIN.to_owned()));
        };
        match self.0.check_person(tenant, &name, query(q), now).await {
            // The plugin's contract names fields in kebab case; the API in snake case.
            Ok(answer) => Ok(match answer.check {
                PersonCheck::Match => RegistryAnswer::Match,
                PersonCheck::Mismatch(fields) => RegistryAnswer::Mismatch(fields.iter().map(|f| f.replace('-', "_")).collect()),
                PersonCheck::NotFound => RegistryAnswer::NotFound,
            }),
            Err(PluginError::NotInstalled(_)) => Err(RegistryError::NotConfigured(NO_REGISTRY_PLUGIN.to_owned())),
            Err(e @ PluginError::Config(_)) => Err(RegistryError::NotConfigured(format!(
                "the registry plugin {name} is not configured ({e}): a tenant admin configures it under Plugins in the admin UI"
            ))),
            Err(e) => Err(failed(e)),
        }
    }
}
