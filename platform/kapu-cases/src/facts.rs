//! Where the facts a case type's rules read come from: registries and connectors, behind
//! [`FactSource`]. Facts that are not available hand the case to a clerk.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::definition::FactDecl;
use crate::rules::Applicant;

/// What a fact source is asked.
#[derive(Clone, Copy, Debug)]
pub struct FactQuery<'a> {
    /// The tenant's slug.
    pub tenant: &'a str,
    /// The case type's code.
    pub code: &'a str,
    /// The facts the case type declares.
    pub declared: &'a [FactDecl],
    /// The validated form values.
    pub application: &'a Value,
    /// Who applies.
    pub applicant: &'a Applicant,
    /// The applicant's name.
    pub applicant_name: &'a str,
    /// When the application is submitted (a source that records something stamps it so).
    pub now: DateTime<Utc>,
}

/// Supplies the facts a case type declares (`vehicle.max_mass_kg`, `tax.debt`, …) as a
/// JSON object. A source that cannot answer returns what it has; the rules then refer
/// the case to a clerk, saying which facts were missing.
#[async_trait::async_trait]
pub trait FactSource: Send + Sync + std::fmt::Debug {
    /// The facts for one application.
    async fn facts(&self, query: FactQuery<'_>) -> Value;
}

/// No registry connected: every case whose rules need facts goes to a clerk.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFacts;

#[async_trait::async_trait]
impl FactSource for NoFacts {
    async fn facts(&self, _: FactQuery<'_>) -> Value {
        Value::Object(serde_json::Map::new())
    }
}

/// The same facts for every application of a case type, per tenant: a stand-in for the
/// registries in the demo and the tests (`[facts.<code>]` in a tenant's `demo.toml`),
/// until connectors supply them.
#[derive(Clone, Debug, Default)]
pub struct FixedFacts {
    by_case_type: BTreeMap<(String, String), Value>,
}

impl FixedFacts {
    /// Adds a tenant's facts for a case type.
    pub fn insert(&mut self, tenant: &str, code: &str, facts: Value) {
        self.by_case_type.insert((tenant.to_owned(), code.to_owned()), facts);
    }
}

#[async_trait::async_trait]
impl FactSource for FixedFacts {
    async fn facts(&self, q: FactQuery<'_>) -> Value {
        self.by_case_type.get(&(q.tenant.to_owned(), q.code.to_owned())).cloned().unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    }
}
