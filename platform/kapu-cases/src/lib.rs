//! Case types (ügytípusok) as tenant configuration.
//!
//! Each tenant defines its case types as TOML files, one per case type
//! (`tenants/<slug>/case-types/<code>.toml`), with example cases beside them
//! (`<code>.examples.toml`). A definition holds the form, who may apply and at which
//! identification level, the fee, the pre-checks and decision rules (in CEL, evaluated
//! by the `cel` crate), the statutory deadline and the decision templates.
//!
//! - [`check_definition`] parses and checks a file; every problem comes with file, line
//!   and path (`rules[1].when`).
//! - [`validate_form`] checks submitted values against the form, per field.
//! - [`evaluate`] runs the pre-checks, the fee and the decision rules, with a trace.
//! - [`save_version`] stores a definition as a new version unless it is unchanged;
//!   versions are never changed afterwards, so a case keeps the version it started under.

mod check;
mod definition;
mod examples;
mod form;
mod location;
mod rules;
mod store;

pub use check::{CaseType, check_definition, is_code};
pub use definition::{
    ApplicantKind, ChoiceOption, Deadline, DecisionRule, Definition, FactDecl, FactKind, FeeKind, FeeRule, Field, FieldKind,
    Identification, Limit, Precheck, RuleOutcome,
};
pub use examples::{Example, ExampleRun, Expect, LoadedCaseType, load_folder, parse_examples, run_example};
pub use form::{Address, FieldProblem, normalise_registration, validate_form};
pub use location::DefinitionError;
pub use rules::{Applicant, Evaluation, FeeAssessment, Outcome, RESERVED_NAMES, RuleInput, RuleTrace, evaluate};
pub use store::{
    CaseTypeError, CaseTypeSummary, SavedVersion, StoredVersion, check_form_version, get_version, list_case_types, save_version,
};

#[cfg(test)]
mod tests;
