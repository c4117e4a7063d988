//! The parking system's pre-check as a fact source: when an application of a parking case
//! type starts, its `parking.*` facts come from the tenant's parking plugin.

use std::sync::Arc;

use kapu_cases::{FactQuery, FactSource};
use kapu_core::TenantSlug;
use kapu_plugins::World;
use kapu_plugins::installation::Plugins;
use serde_json::{Value, json};

use crate::is_parking;
use crate::tasks::permit_application;

/// Facts from `inner`, with the `parking.*` facts of a parking case type (see
/// [`is_parking`]) from the tenant's parking plugin's pre-check: `parking.eligible` (bool),
/// `parking.zone` (text, empty outside the zones) and `parking.reasons` (text: the
/// system's reasons, `CODE: message`, joined by `; `). The case type's pre-checks read them
/// and tell the applicant why not.
///
/// Where the tenant has a parking plugin, the `parking` facts come only from it: if the
/// pre-check fails (the system is down), they are missing and the rules hand the case to a
/// clerk. A tenant without one keeps `inner`'s.
#[derive(Clone)]
pub struct ParkingPrecheck {
    inner: Arc<dyn FactSource>,
    plugins: Plugins,
}

impl std::fmt::Debug for ParkingPrecheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkingPrecheck").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl ParkingPrecheck {
    /// `inner`'s facts, with the parking pre-check's through `plugins`.
    pub fn new(inner: Arc<dyn FactSource>, plugins: Plugins) -> Self {
        Self { inner, plugins }
    }

    async fn precheck(&self, q: &FactQuery<'_>) -> Option<Result<Value, ()>> {
        let slug = TenantSlug::parse(q.tenant).ok()?;
        let name = match self.plugins.of_world(&slug, World::Parking).await {
            Ok(Some(name)) => name,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(tenant = q.tenant, error = %e, "could not look up the parking plugin");
                return Some(Err(()));
            }
        };
        // Nothing is recorded by a pre-check; the case has no number yet.
        let Some(application) = permit_application("előzetes ellenőrzés", q.applicant_name, q.application) else {
            return Some(Err(()));
        };
        let called = match self.plugins.context(&slug, &name).await {
            Ok((plugin, ctx)) => self.plugins.runtime().parking_pre_check(&plugin, ctx, application).await.result,
            Err(e) => Err(e),
        };
        match called {
            Ok(o) => Some(Ok(json!({
                "eligible": o.eligible,
                "zone": o.zone.unwrap_or_default(),
                "reasons": o.reasons.join("; "),
            }))),
            Err(e) => {
                self.plugins.record_failure(&slug, &name, "pre-check", &e, q.now).await;
                Some(Err(()))
            }
        }
    }
}

#[async_trait::async_trait]
impl FactSource for ParkingPrecheck {
    async fn facts(&self, q: FactQuery<'_>) -> Value {
        let mut facts = self.inner.facts(q).await;
        if !is_parking(q.declared) {
            return facts;
        }
        let Some(checked) = self.precheck(&q).await else { return facts };
        if let Some(map) = facts.as_object_mut() {
            match checked {
                Ok(parking) => {
                    map.insert("parking".into(), parking);
                }
                Err(()) => {
                    map.remove("parking");
                }
            }
        }
        facts
    }
}
