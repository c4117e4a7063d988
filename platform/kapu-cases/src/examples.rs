//! Example cases shipped beside a definition (`<code>.examples.toml`) and the folder of
//! a tenant's case types, as `kapu tenant apply` and `kapu tenant test` read it.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::check::{CaseType, check_definition};
use crate::definition::Limit;
use crate::form::{FieldProblem, validate_form};
use crate::location::{DefinitionError, Located};
use crate::rules::{Applicant, Evaluation, RuleInput, evaluate};

/// An examples file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplesFile {
    /// The examples.
    #[serde(default)]
    pub example: Vec<Example>,
}

/// One example case and what it must come to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// What it shows.
    pub name: String,
    /// The day it is evaluated on, `YYYY-MM-DD` (default: the day of the run).
    #[serde(default)]
    pub today: Option<String>,
    /// Who applies.
    pub applicant: Applicant,
    /// The submitted form values.
    #[serde(default = "empty_object")]
    pub application: serde_json::Value,
    /// The facts from registries and connectors.
    #[serde(default = "empty_object")]
    pub facts: serde_json::Value,
    /// What must come out.
    pub expect: Expect,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// An example's expected result.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `grant`, `refuse`, `refer`, `ineligible`, or `invalid` (the form is refused).
    pub outcome: String,
    /// The rule or pre-check that decides.
    #[serde(default)]
    pub rule: Option<String>,
    /// The net fee in forints.
    #[serde(default)]
    pub fee: Option<Limit>,
    /// For `invalid`: the paths of the fields with problems.
    #[serde(default)]
    pub invalid: Vec<String>,
}

/// What running one example gave.
#[derive(Clone, Debug, Serialize)]
pub struct ExampleRun {
    /// The example's name.
    pub name: String,
    /// `invalid` or the evaluation's outcome.
    pub outcome: String,
    /// The form's problems, when invalid.
    pub problems: Vec<FieldProblem>,
    /// The evaluation, when the form was valid.
    pub evaluation: Option<Evaluation>,
    /// How the result differs from the expectation; empty when it passed.
    pub mismatches: Vec<String>,
}

impl ExampleRun {
    /// Whether the example came out as expected.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Parses an examples file, with located errors.
pub fn parse_examples(file: &str, text: &str) -> Result<Vec<Example>, DefinitionError> {
    let loc = Located::parse(file, text)?;
    let parsed: ExamplesFile = loc.deserialize()?;
    for (i, ex) in parsed.example.iter().enumerate() {
        if let Some(t) = &ex.today
            && NaiveDate::parse_from_str(t, "%Y-%m-%d").is_err()
        {
            return Err(loc.error(&format!("example[{i}].today"), format!("{t:?} is not a date (YYYY-MM-DD)")));
        }
        if !["grant", "refuse", "refer", "ineligible", "invalid"].contains(&ex.expect.outcome.as_str()) {
            return Err(loc.error(
                &format!("example[{i}].expect.outcome"),
                format!("{:?} is not an outcome: grant, refuse, refer, ineligible or invalid", ex.expect.outcome),
            ));
        }
    }
    Ok(parsed.example)
}

/// Runs one example: validates its form, evaluates the rules, compares with `expect`.
pub fn run_example(ct: &CaseType, ex: &Example, default_today: NaiveDate) -> ExampleRun {
    let today = ex.today.as_deref().and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()).unwrap_or(default_today);
    let mut mismatches = Vec::new();
    let (outcome, problems, evaluation) = match validate_form(&ct.definition.fields, &ex.application, today) {
        Err(problems) => ("invalid".to_owned(), problems, None),
        Ok(values) => {
            let input = RuleInput { application: &values, applicant: &ex.applicant, facts: &ex.facts, today };
            match evaluate(&ct.definition, &input) {
                Ok(ev) => (ev.outcome.as_str().to_owned(), Vec::new(), Some(ev)),
                Err(problems) => ("invalid".to_owned(), problems, None),
            }
        }
    };
    if outcome != ex.expect.outcome {
        let detail = match (&evaluation, problems.is_empty()) {
            (Some(ev), _) => format!(" ({})", ev.reason),
            (None, false) => format!(" ({})", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
            (None, true) => String::new(),
        };
        mismatches.push(format!("expected {}, got {outcome}{detail}", ex.expect.outcome));
    }
    if let (Some(want), Some(ev)) = (&ex.expect.rule, &evaluation)
        && ev.decided_by.as_deref() != Some(want.as_str())
    {
        mismatches.push(format!(
            "expected rule {want:?} to decide, but {} did",
            ev.decided_by.as_deref().map_or("none".to_owned(), |r| format!("{r:?}"))
        ));
    }
    if let Some(want) = &ex.expect.fee {
        let got = evaluation.as_ref().and_then(|e| e.fee.as_ref()).map(|f| f.net);
        match (want.decimal(), got) {
            (Some(w), Some(g)) if w == g => {}
            (w, g) => mismatches.push(format!(
                "expected a fee of {} Ft, got {}",
                w.map_or(want.0.clone(), |d| d.to_string()),
                g.map_or("none".to_owned(), |d| format!("{d} Ft"))
            )),
        }
    }
    if !ex.expect.invalid.is_empty() {
        let got: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in &ex.expect.invalid {
            if !got.contains(&want.as_str()) {
                mismatches.push(format!("expected a problem with {want}, got problems with [{}]", got.join(", ")));
            }
        }
    }
    ExampleRun { name: ex.name.clone(), outcome, problems, evaluation, mismatches }
}

/// One case type file of a folder, checked, with its examples if it has any.
#[derive(Clone, Debug)]
pub struct LoadedCaseType {
    /// The file's name.
    pub file: String,
    /// The checked definition.
    pub case_type: CaseType,
    /// The examples file's name and examples.
    pub examples: Option<(String, Vec<Example>)>,
}

/// Reads and checks every case type in a folder (`<code>.toml`, with examples in
/// `<code>.examples.toml`). Every problem of every file is reported.
pub fn load_folder(dir: &Path, today: NaiveDate) -> Result<Vec<LoadedCaseType>, Vec<DefinitionError>> {
    let io = |file: &str, e: std::io::Error| DefinitionError {
        file: file.to_owned(),
        line: None,
        path: String::new(),
        message: format!("cannot read it: {e}"),
    };
    let entries = std::fs::read_dir(dir).map_err(|e| vec![io(&dir.display().to_string(), e)])?;
    let mut errors = Vec::new();
    let mut names = Vec::new();
    for entry in entries {
        // An entry that cannot be read would otherwise be a case type silently left out.
        match entry {
            Ok(e) => names.push(e.file_name().to_string_lossy().into_owned()),
            Err(e) => errors.push(io(&dir.display().to_string(), e)),
        }
    }
    names.retain(|n| n.ends_with(".toml"));
    names.sort();
    let mut loaded = Vec::new();
    for name in names.iter().filter(|n| !n.ends_with(".examples.toml")) {
        let text = match std::fs::read_to_string(dir.join(name)) {
            Ok(t) => t,
            Err(e) => {
                errors.push(io(name, e));
                continue;
            }
        };
        let ct = match check_definition(name, &text, today) {
            Ok(ct) => ct,
            Err(mut e) => {
                errors.append(&mut e);
                continue;
            }
        };
        let ex_name = format!("{}.examples.toml", name.trim_end_matches(".toml"));
        let examples = if names.contains(&ex_name) {
            match std::fs::read_to_string(dir.join(&ex_name)).map_err(|e| io(&ex_name, e)).and_then(|t| parse_examples(&ex_name, &t)) {
                Ok(ex) => Some((ex_name, ex)),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        } else {
            None
        };
        loaded.push(LoadedCaseType { file: name.clone(), case_type: ct, examples });
    }
    for name in names.iter().filter(|n| n.ends_with(".examples.toml")) {
        let def = format!("{}.toml", name.trim_end_matches(".examples.toml"));
        if !names.contains(&def) {
            errors.push(DefinitionError {
                file: name.clone(),
                line: None,
                path: String::new(),
                message: format!("examples without a definition: {def} does not exist"),
            });
        }
    }
    if errors.is_empty() { Ok(loaded) } else { Err(errors) }
}
