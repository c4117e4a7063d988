//! Checking a definition file: syntax, structure, every field's settings, and the rules.

use std::collections::HashSet;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::definition::{Definition, FeeKind, Field, FieldKind};
use crate::form::date_limit;
use crate::location::{DefinitionError, Located};
use crate::rules::{RESERVED_NAMES, check_expressions, fact_trees};

/// A definition that passed every check, with its source and content hash.
#[derive(Clone, Debug)]
pub struct CaseType {
    /// The parsed definition.
    pub definition: Definition,
    /// The file's text, as stored with its version.
    pub source: String,
    /// SHA-256 of the source: an unchanged file makes no new version.
    pub content_hash: [u8; 32],
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase()) && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
}

/// Whether `s` can be a case type's code: lowercase letters and digits in hyphenated parts.
pub fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 60 && s.split('-').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// Checks a definition file. `file` is its name (`parking-permit.toml`), used in errors
/// and compared with the code; `today` resolves date limits in the samples. Every problem
/// is reported, each with file, line and path.
pub fn check_definition(file: &str, source: &str, today: NaiveDate) -> Result<CaseType, Vec<DefinitionError>> {
    let loc = Located::parse(file, source).map_err(|e| vec![e])?;
    let def: Definition = loc.deserialize().map_err(|e| vec![e])?;
    let mut errs: Vec<(String, String)> = Vec::new();
    let mut e = |path: &str, m: String| errs.push((path.to_owned(), m));

    if !is_code(&def.code) {
        e("code", format!("{:?} is not a code: use lowercase letters and digits in parts joined by hyphens", def.code));
    } else if let Some(stem) = file.strip_suffix(".toml")
        && stem != def.code
    {
        e("code", format!("the code {:?} must match the file name, {stem}.toml", def.code));
    }
    if def.name.trim().is_empty() || def.name.len() > 200 {
        e("name", "must be 1 to 200 characters".into());
    }
    if def.applicants.is_empty() {
        e("applicants", "say who may apply: person, organisation, representative".into());
    }
    let mut seen = HashSet::new();
    for (i, a) in def.applicants.iter().enumerate() {
        if !seen.insert(*a) {
            e(&format!("applicants[{i}]"), "is listed twice".into());
        }
    }
    if !(1..=365).contains(&def.deadline.days) {
        e("deadline.days", "must be 1 to 365 days".into());
    }
    for (k, v) in &def.constants {
        if !is_ident(k) {
            e(&format!("constants.{k}"), "names are lowercase letters, digits and underscores".into());
        }
        if has_float(v) {
            e(&format!("constants.{k}"), "write decimal numbers as strings, e.g. \"12.5\", so that they stay exact".into());
        }
    }
    let mut fact_names = HashSet::new();
    for (i, f) in def.facts.iter().enumerate() {
        let p = format!("facts[{i}].name");
        if !f.name.split('.').all(is_ident) {
            e(&p, format!("{:?} is not a name: use lowercase parts joined by dots, e.g. vehicle.owner_is_applicant", f.name));
        } else if RESERVED_NAMES.contains(&f.name.split('.').next().unwrap_or("")) {
            e(&p, format!("{:?} starts with a name the platform supplies ({})", f.name, RESERVED_NAMES.join(", ")));
        }
        if !f.values.is_empty() && f.kind != crate::FactKind::String {
            e(&format!("facts[{i}].values"), "only string facts list their values".into());
        }
        if !fact_names.insert(f.name.as_str()) {
            e(&p, "is declared twice".into());
        }
    }
    if let Err((i, m)) = fact_trees(&def.facts) {
        e(&format!("facts[{i}].name"), m);
    }
    if def.fields.is_empty() {
        e("fields", "a form needs at least one field".into());
    }
    check_fields(&def.fields, "fields", today, &mut e);
    let mut names = HashSet::new();
    for (i, p) in def.prechecks.iter().enumerate() {
        if p.name.trim().is_empty() || !names.insert(p.name.as_str()) {
            e(&format!("prechecks[{i}].name"), "needs a name of its own".into());
        }
        if p.message.trim().is_empty() {
            e(&format!("prechecks[{i}].message"), "tell the applicant why they cannot apply".into());
        }
    }
    let mut names = HashSet::new();
    for (i, r) in def.rules.iter().enumerate() {
        if r.name.trim().is_empty() || !names.insert(r.name.as_str()) {
            e(&format!("rules[{i}].name"), "needs a name of its own".into());
        }
        if r.reason.trim().is_empty() {
            e(&format!("rules[{i}].reason"), "state the reason the decision gives".into());
        }
    }
    if let Some(fee) = &def.fee {
        match (&fee.amount, &fee.rule) {
            (Some(_), Some(_)) => e("fee", "give either a fixed amount or a rule, not both".into()),
            (None, None) => e("fee", "give a fixed amount or a rule".into()),
            (Some(a), None) => match a.decimal() {
                Some(d) if !d.is_sign_negative() && d.normalize().scale() <= 2 => {}
                _ => e("fee.amount", format!("{:?} is not an amount of forints", a.0)),
            },
            (None, Some(_)) => {}
        }
        if let Some(r) = &fee.vat_rate {
            if fee.kind == FeeKind::ProceduralDuty {
                e("fee.vat_rate", "a procedural duty (illeték) carries no VAT".into());
            } else if !matches!(r.decimal().map(|d| d.normalize().to_string()).as_deref(), Some("0" | "5" | "18" | "27")) {
                e("fee.vat_rate", format!("{:?} is not a Hungarian VAT rate (0, 5, 18 or 27 per cent)", r.0));
            }
        }
    }
    for key in ["grant", "refuse"] {
        if !def.templates.contains_key(key) {
            e("templates", format!("a {key} decision template is missing"));
        }
    }
    for (k, t) in &def.templates {
        if k != "grant" && k != "refuse" {
            e(&format!("templates.{k}"), "templates are named after outcomes: grant or refuse".into());
            continue;
        }
        let mut env = minijinja::Environment::new();
        if let Err(err) = env.add_template_owned(k.clone(), t.clone()) {
            let at = err.line().map(|l| format!(" (line {l} of the template)")).unwrap_or_default();
            e(&format!("templates.{k}"), format!("{}{at}", err.detail().unwrap_or("template syntax error")));
        }
    }
    if errs.is_empty() {
        errs.extend(check_expressions(&def, today));
    }
    if !errs.is_empty() {
        return Err(errs.into_iter().map(|(p, m)| loc.error(&p, m)).collect());
    }
    let content_hash: [u8; 32] = Sha256::digest(source.as_bytes()).into();
    Ok(CaseType { definition: def, source: source.to_owned(), content_hash })
}

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

fn check_fields(fields: &[Field], path: &str, today: NaiveDate, e: &mut impl FnMut(&str, String)) {
    let mut names = HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let at = |k: &str| format!("{p}.{k}");
        if !is_ident(&f.name) {
            e(&at("name"), format!("{:?} is not a field name: use lowercase letters, digits and underscores", f.name));
        } else if !names.insert(f.name.as_str()) {
            e(&at("name"), format!("another field is already called {:?}", f.name));
        }
        if f.label.trim().is_empty() {
            e(&at("label"), "a field needs a label".into());
        }
        let kind = f.kind;
        let only = |what: &str, kinds: &[FieldKind]| -> Option<String> {
            (!kinds.contains(&kind)).then(|| {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                format!("{what} applies only to {} fields, not to {}", names.join(" and "), kind.as_str())
            })
        };
        use FieldKind::*;
        let mut not_for = |key: &str, present: bool, kinds: &[FieldKind]| {
            if present && let Some(m) = only(key, kinds) {
                e(&at(key), m);
            }
        };
        not_for("min_length", f.min_length.is_some(), &[Text]);
        not_for("max_length", f.max_length.is_some(), &[Text]);
        not_for("pattern", f.pattern.is_some(), &[Text]);
        not_for("decimals", f.decimals.is_some(), &[Number, Money]);
        not_for("min", f.min.is_some(), &[Number, Money, Date]);
        not_for("max", f.max.is_some(), &[Number, Money, Date]);
        not_for("options", !f.options.is_empty(), &[Choice]);
        not_for("accept", !f.accept.is_empty(), &[File]);
        not_for("max_size_kb", f.max_size_kb.is_some(), &[File]);
        not_for("min_items", f.min_items.is_some(), &[File, Group]);
        not_for("max_items", f.max_items.is_some(), &[File, Group]);
        not_for("fields", !f.fields.is_empty(), &[Group]);
        if let Some(pat) = &f.pattern
            && let Err(err) = regex::Regex::new(pat)
        {
            e(&at("pattern"), format!("not a regular expression: {err}"));
        }
        if let (Some(a), Some(b)) = (f.min_length, f.max_length)
            && a > b
        {
            e(&at("min_length"), "is larger than max_length".into());
        }
        if kind == Money && f.decimals.is_some_and(|d| d > 2) {
            e(&at("decimals"), "forint amounts have at most two decimals".into());
        }
        if kind == Number && f.decimals.is_some_and(|d| d > 6) {
            e(&at("decimals"), "at most 6 decimals".into());
        }
        match kind {
            Number | Money => {
                for (k, l) in [("min", &f.min), ("max", &f.max)] {
                    if let Some(l) = l
                        && l.decimal().is_none()
                    {
                        e(&at(k), format!("{:?} is not a number", l.0));
                    }
                }
                if let (Some(a), Some(b)) = (f.min.as_ref().and_then(|l| l.decimal()), f.max.as_ref().and_then(|l| l.decimal()))
                    && a > b
                {
                    e(&at("min"), "is larger than max".into());
                }
            }
            Date => {
                for (k, l) in [("min", &f.min), ("max", &f.max)] {
                    if let Some(l) = l
                        && date_limit(l, today).is_none()
                    {
                        e(&at(k), format!("{:?} is not a date limit: use today, today+N, today-N or YYYY-MM-DD", l.0));
                    }
                }
            }
            Choice => {
                if f.options.is_empty() {
                    e(&at("options"), "a choice needs options".into());
                }
                let mut values = HashSet::new();
                for (j, o) in f.options.iter().enumerate() {
                    if o.value.trim().is_empty() || !values.insert(o.value.as_str()) {
                        e(&format!("{p}.options[{j}].value"), "needs a value of its own".into());
                    }
                }
            }
            File => {
                if f.accept.is_empty() {
                    e(&at("accept"), "say which media types are accepted, e.g. [\"application/pdf\", \"image/jpeg\"]".into());
                }
                for (j, a) in f.accept.iter().enumerate() {
                    let ok = a.split_once('/').is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !a.contains(' '));
                    if !ok {
                        e(&format!("{p}.accept[{j}]"), format!("{a:?} is not a media type such as application/pdf"));
                    }
                }
                if f.max_size_kb.is_none() {
                    e(&at("max_size_kb"), "say how large a file may be, in kilobytes".into());
                }
            }
            Group => {
                if f.fields.is_empty() {
                    e(&at("fields"), "a group needs fields".into());
                }
                check_fields(&f.fields, &at("fields"), today, e);
            }
            _ => {}
        }
        if let (Some(a), Some(b)) = (f.min_items, f.max_items)
            && a > b
        {
            e(&at("min_items"), "is larger than max_items".into());
        }
    }
}
