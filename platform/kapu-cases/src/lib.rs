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
//! - [`attachments`] keeps the files of drafts and cases in the object store in step with
//!   the database: staged while they stream, moved after the commit, a quota per account.
//! - [`DecidedHandler`] issues a decided case's decision through `kapu-delivery`;
//!   [`CaseDeliveries`] moves the case to delivered when the decision is delivered.

pub mod attachments;
mod case;
mod check;
mod definition;
mod examples;
mod facts;
mod form;
mod handling;
mod issuing;
mod location;
mod outbox;
mod rules;
mod settings;
mod store;
mod workflow;

pub use case::{
    ANSWER, APPLICATION, CaseError, DECIDED_JOB, DECISION_DATA, DECISION_TEXT, Draft, Filer, INPUTS, Notice, Once, PaymentApplied, SEALED,
    Submission, Submitted, get_draft, lock_draft, number_prefix, payment_confirmed, save_draft, set_number_prefix, submit,
};
pub use check::{CaseType, check_definition, is_code};
pub use definition::{
    ApplicantKind, ChoiceOption, Deadline, DecisionRule, Definition, FactDecl, FactKind, FeeKind, FeeRule, Field, FieldKind,
    Identification, Limit, Precheck, RuleOutcome,
};
pub use examples::{Example, ExampleRun, Expect, LoadedCaseType, load_folder, parse_examples, run_example};
pub use facts::{FactQuery, FactSource, FixedFacts, NoFacts};
pub use form::{Address, FieldProblem, check_files, normalise_registration, validate_form};
pub use handling::{
    CASE_RETENTION_REASON, CaseDetail, CaseEvent, CaseSummary, Clerk, DecisionOutcome, DecisionView, OwnCase, StateName, Worklist,
    answer_information, approve, assign, cases_of_account, decision_document_data, draft_decision, get_case, history, open_cases_of_client,
    own_case, prepare_erasure, reject, request_information, send_to_signatory, withdraw, worklist,
};
pub use issuing::{
    CaseDeliveries, DecidedHandler, DecisionSettings, IssuedDecision, IssuingStatus, LEGAL_REMEDY, issue_decision_of, issued_decision,
};
pub use location::DefinitionError;
pub use outbox::{
    CaseRecord, GRANTED_JOB, LOCAL_ATTEMPTS, PAID_JOB, PAYMENT_DUE_JOB, SUBMITTED_JOB, case_by_number, case_record, declared_facts,
};
pub use rules::{Applicant, Evaluation, FeeAssessment, Outcome, RESERVED_NAMES, RuleInput, RuleTrace, evaluate};
pub use settings::SettingsError;
pub use store::{
    CaseTypeError, CaseTypeSummary, SavedVersion, StoredVersion, check_form_version, get_version, list_case_types, save_version,
};

pub use workflow::{CaseActor, CaseState};

#[cfg(test)]
mod tests;
