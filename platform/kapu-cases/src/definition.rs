//! The case type definition format: one TOML file per case type.
//!
//! The types here are exactly what the file may contain (unknown keys are refused). The
//! semantic checks and the rule compilation live in [`crate::check`].

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A case type as its file defines it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Stable code, lowercase with hyphens; the file is `<code>.toml`.
    pub code: String,
    /// Name shown to clients and staff (Hungarian).
    pub name: String,
    /// What the case type is for.
    #[serde(default)]
    pub description: String,
    /// The identification level an applicant needs.
    pub identification: Identification,
    /// Who may apply.
    pub applicants: Vec<ApplicantKind>,
    /// The statutory deadline for deciding (ügyintézési határidő).
    pub deadline: Deadline,
    /// Named values the rules may read as `constants.<name>` (rates, limits).
    #[serde(default)]
    pub constants: BTreeMap<String, serde_json::Value>,
    /// Facts that the caller supplies from registries and connectors.
    #[serde(default)]
    pub facts: Vec<FactDecl>,
    /// The application form.
    pub fields: Vec<Field>,
    /// Conditions checked when an application starts; one failing makes it ineligible.
    #[serde(default)]
    pub prechecks: Vec<Precheck>,
    /// The fee, if the case costs something.
    #[serde(default)]
    pub fee: Option<FeeRule>,
    /// Decision rules, in order: the first whose condition holds decides.
    #[serde(default)]
    pub rules: Vec<DecisionRule>,
    /// Decision templates (minijinja) by outcome: `grant` and `refuse`.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
}

/// Identification levels, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identification {
    /// E-mail address verified.
    Registered,
    /// Identified in person with an ID document.
    InPerson,
    /// Identified through KAÜ.
    Kau,
}

impl Identification {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::InPerson => "in_person",
            Self::Kau => "kau",
        }
    }
}

/// Who may file an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// A natural person for themselves.
    Person,
    /// An organisation.
    Organisation,
    /// A representative for a person or organisation.
    Representative,
}

/// The statutory deadline.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// How many days.
    pub days: u16,
    /// Count working days instead of calendar days.
    #[serde(default)]
    pub working_days: bool,
}

impl Deadline {
    /// The last day of the deadline for a case that started on `start`. Working days follow
    /// the Hungarian calendar (weekends, public holidays and the decreed rearranged days),
    /// which fails for a year whose decree is not on file rather than guess.
    pub fn due(
        &self,
        start: chrono::NaiveDate,
        calendar: &kapu_calendar::Calendar,
    ) -> Result<chrono::NaiveDate, kapu_calendar::CalendarError> {
        if self.working_days {
            calendar.add_working_days(start, u32::from(self.days))
        } else {
            Ok(start + chrono::Days::new(u64::from(self.days)))
        }
    }
}

/// A fact the rules need from outside the form (a registry, a connector).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FactDecl {
    /// Dotted name as the rules read it, e.g. `vehicle.owner_is_applicant`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FactKind,
    /// What it means and where it comes from.
    #[serde(default)]
    pub description: String,
    /// For string facts: the values it can take (rules may look them up in tables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The type of a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// true or false.
    Bool,
    /// A whole number.
    Int,
    /// Text.
    String,
    /// A calendar date.
    Date,
}

/// One form field.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Name in submitted data and rules: lowercase letters, digits, underscores.
    pub name: String,
    /// Label on the form.
    pub label: String,
    /// Help text under the field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Must be given (for `boolean`: must be ticked).
    #[serde(default)]
    pub required: bool,
    /// Text: shortest length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Text: longest length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Text: a regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Number, money: digits after the decimal point (default 0 for numbers, 2 for money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    /// Number, money: smallest value; date: earliest (`today`, `today+3`, `2026-01-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Limit>,
    /// Number, money: largest value; date: latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Limit>,
    /// Choice: the options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// File: accepted media types, e.g. `application/pdf`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<String>,
    /// File: largest size of one file in kilobytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_kb: Option<u32>,
    /// File, group: fewest items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// File, group: most items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Group: the fields of one item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
}

/// Form field types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A number; whole unless `decimals` is set.
    Number,
    /// An amount of forints.
    Money,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A tick box.
    Boolean,
    /// One of `options`.
    Choice,
    /// A Hungarian postal address: postcode, settlement, street and number.
    Address,
    /// A Hungarian vehicle registration number (`ABC-123` or `AA BB-123`).
    VehicleRegistration,
    /// Uploaded files.
    File,
    /// A repeatable group of fields.
    Group,
}

impl FieldKind {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Money => "money",
            Self::Date => "date",
            Self::Boolean => "boolean",
            Self::Choice => "choice",
            Self::Address => "address",
            Self::VehicleRegistration => "vehicle_registration",
            Self::File => "file",
            Self::Group => "group",
        }
    }
}

/// One option of a choice field.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Submitted value.
    pub value: String,
    /// Shown text.
    pub label: String,
}

/// A pre-check: its condition must hold for the application to be accepted.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Precheck {
    /// Name shown in traces.
    pub name: String,
    /// CEL condition that must be true.
    pub when: String,
    /// What the applicant is told when it is false.
    pub message: String,
}

/// Whether a fee is a procedural duty or a service fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// Illeték: a procedural duty, never subject to VAT.
    ProceduralDuty,
    /// Díj: a fee for a service, possibly with VAT.
    ServiceFee,
}

impl FeeKind {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProceduralDuty => "procedural_duty",
            Self::ServiceFee => "service_fee",
        }
    }
}

/// How the fee is set: a fixed amount or a CEL expression.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    /// Duty or service fee.
    pub kind: FeeKind,
    /// A fixed net amount in forints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Limit>,
    /// A CEL expression giving the net amount: an int of forints or a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// VAT rate in percent (service fees only): 0, 5, 18 or 27.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<Limit>,
}

/// What a decision rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Grant automatically.
    Grant,
    /// Refuse automatically.
    Refuse,
    /// Hand to a clerk.
    Refer,
}

/// One decision rule.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRule {
    /// Name shown in traces.
    pub name: String,
    /// CEL condition.
    pub when: String,
    /// What it decides.
    pub outcome: RuleOutcome,
    /// The reason, as the decision states it.
    pub reason: String,
}

/// A number or date limit as written: an integer or a string (decimals stay exact as
/// strings; floats are refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit(pub String);

impl Limit {
    /// As a decimal number, if it is one.
    pub fn decimal(&self) -> Option<Decimal> {
        self.0.trim().replace(',', ".").parse().ok()
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string such as \"12.5\" or \"today+3\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
                Ok(Limit(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
                Ok(Limit(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Limit, E> {
                Err(E::custom(format!("write {v} as a string, \"{v}\", so that it stays exact")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Limit, E> {
                Ok(Limit(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}
