//! Server-side validation of submitted form values against a case type's fields.

use chrono::NaiveDate;
use kapu_core::Refusal;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::definition::{Field, FieldKind, Limit};

/// One field's problem in submitted values (or supplied facts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field's path, e.g. `periods[1].from`.
    pub path: String,
    /// What is wrong, as a code with its arguments (`code`, `args`).
    #[serde(flatten)]
    pub reason: Refusal,
}

impl FieldProblem {
    /// A problem at `path`.
    pub fn new(path: &str, reason: Refusal) -> Self {
        Self { path: path.to_owned(), reason }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// A Hungarian postal address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Four-digit postcode.
    pub postcode: String,
    /// Settlement.
    pub city: String,
    /// Public place and house number.
    pub street: String,
}

impl Address {
    /// The Budapest district (1 to 23) the postcode belongs to, or 0 outside Budapest:
    /// Budapest postcodes are `1DDx` with the district in the middle two digits.
    pub fn district(&self) -> u32 {
        let p = self.postcode.trim();
        if p.len() == 4 && p.starts_with('1') && p.chars().all(|c| c.is_ascii_digit()) {
            let d: u32 = p[1..3].parse().unwrap_or(0);
            if (1..=23).contains(&d) {
                return d;
            }
        }
        0
    }
}

/// Normalises a Hungarian vehicle registration number: `ABC-123` (the format until 2022)
/// or `AA BB-123` (since 2022); spaces, hyphens and case in the input do not matter.
pub fn normalise_registration(input: &str) -> Option<String> {
    let s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect::<String>().to_uppercase();
    let (letters, digits) = s.split_at(s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len()));
    if digits.len() != 3 || !digits.chars().all(|c| c.is_ascii_digit()) || !letters.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    match letters.len() {
        3 => Some(format!("{letters}-{digits}")),
        4 => Some(format!("{} {}-{digits}", &letters[..2], &letters[2..])),
        _ => None,
    }
}

/// Resolves a date limit: `today`, `today+N`, `today-N` or `YYYY-MM-DD`.
pub(crate) fn date_limit(l: &Limit, today: NaiveDate) -> Option<NaiveDate> {
    let s = l.0.trim();
    if let Some(rest) = s.strip_prefix("today") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Some(today);
        }
        let (sign, n) = rest.split_at(1);
        let n: u64 = n.trim().parse().ok()?;
        return match sign {
            "+" => today.checked_add_days(chrono::Days::new(n)),
            "-" => today.checked_sub_days(chrono::Days::new(n)),
            _ => None,
        };
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().replace(' ', "").replace(',', ".").parse().ok(),
        _ => None,
    }
}

/// Checks submitted values against the form. Returns the normalised values (trimmed
/// text, canonical registration numbers, numbers as JSON integers or decimal strings,
/// addresses with their district) or every problem, each with its field's path.
pub fn validate_form(fields: &[Field], input: &Value, today: NaiveDate) -> Result<Value, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let out = validate_object(fields, input, "", today, &mut problems);
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn validate_object(fields: &[Field], input: &Value, path: &str, today: NaiveDate, problems: &mut Vec<FieldProblem>) -> Value {
    let join = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    let Some(obj) = input.as_object() else {
        problems.push(FieldProblem::new(if path.is_empty() { "application" } else { path }, Refusal::NotAnObject));
        return Value::Null;
    };
    for k in obj.keys() {
        if !fields.iter().any(|f| &f.name == k) {
            problems.push(FieldProblem::new(&join(k), Refusal::UnknownField { known: fields.iter().map(|f| f.name.clone()).collect() }));
        }
    }
    let mut out = Map::new();
    for f in fields {
        let p = join(&f.name);
        let v = obj.get(&f.name).unwrap_or(&Value::Null);
        if let Some(x) = validate_field(f, v, &p, today, problems) {
            out.insert(f.name.clone(), x);
        }
    }
    Value::Object(out)
}

fn validate_field(f: &Field, v: &Value, p: &str, today: NaiveDate, problems: &mut Vec<FieldProblem>) -> Option<Value> {
    let mut err = |m: Refusal| {
        problems.push(FieldProblem::new(p, m));
        None
    };
    if matches!(f.kind, FieldKind::Boolean) {
        return match v {
            Value::Null if f.required => err(Refusal::MustBeTicked),
            Value::Null => Some(json!(false)),
            Value::Bool(true) => Some(json!(true)),
            Value::Bool(false) if f.required => err(Refusal::MustBeTicked),
            Value::Bool(false) => Some(json!(false)),
            _ => err(Refusal::NotABoolean),
        };
    }
    if matches!(f.kind, FieldKind::File | FieldKind::Group) {
        let items = match v {
            Value::Null => Vec::new(),
            Value::Array(a) => a.clone(),
            _ => return err(Refusal::NotAList),
        };
        let min = f.min_items.unwrap_or(u32::from(f.required)) as usize;
        if items.len() < min {
            return err(Refusal::TooFew { min: min as u32 });
        }
        if let Some(max) = f.max_items
            && items.len() > max as usize
        {
            return err(Refusal::TooMany { max });
        }
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let ip = format!("{p}[{i}]");
            if f.kind == FieldKind::Group {
                out.push(validate_object(&f.fields, it, &ip, today, problems));
            } else if let Some(file) = validate_file(f, it, &ip, problems) {
                out.push(file);
            }
        }
        return Some(Value::Array(out));
    }
    if is_empty(v) {
        return if f.required { err(Refusal::Required) } else { None };
    }
    match f.kind {
        FieldKind::Text => {
            let Some(s) = v.as_str() else { return err(Refusal::WrongType { expected: "text".into() }) };
            let s = s.trim();
            let len = s.chars().count() as u32;
            if let Some(min) = f.min_length
                && len < min
            {
                return err(Refusal::TooShort { min });
            }
            if let Some(max) = f.max_length
                && len > max
            {
                return err(Refusal::TooLong { max });
            }
            if let Some(pat) = &f.pattern
                && let Ok(re) = regex::Regex::new(&format!("^(?:{pat})$"))
                && !re.is_match(s)
            {
                return err(Refusal::InvalidPattern);
            }
            Some(json!(s))
        }
        FieldKind::Number | FieldKind::Money => {
            let Some(d) = decimal_of(v) else { return err(Refusal::NotANumber) };
            let decimals = f.decimals.unwrap_or(if f.kind == FieldKind::Money { 2 } else { 0 });
            if d.normalize().scale() > decimals {
                return err(if decimals == 0 { Refusal::NotAWholeNumber } else { Refusal::TooManyDecimals { max: decimals } });
            }
            if let Some(min) = f.min.as_ref().and_then(Limit::decimal)
                && d < min
            {
                return err(Refusal::BelowMinimum { min: min.normalize().to_string() });
            }
            if let Some(max) = f.max.as_ref().and_then(Limit::decimal)
                && d > max
            {
                return err(Refusal::AboveMaximum { max: max.normalize().to_string() });
            }
            if f.kind == FieldKind::Number && decimals == 0 {
                let Ok(i) = i64::try_from(d.normalize().mantissa()) else {
                    return err(Refusal::AboveMaximum { max: i64::MAX.to_string() });
                };
                Some(json!(i))
            } else {
                Some(json!(d.normalize().to_string()))
            }
        }
        FieldKind::Date => {
            let Some(d) = v.as_str().and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()) else {
                return err(Refusal::NotADate);
            };
            if let Some(min) = f.min.as_ref().and_then(|l| date_limit(l, today))
                && d < min
            {
                return err(Refusal::TooEarly { min: min.format("%Y-%m-%d").to_string() });
            }
            if let Some(max) = f.max.as_ref().and_then(|l| date_limit(l, today))
                && d > max
            {
                return err(Refusal::TooLate { max: max.format("%Y-%m-%d").to_string() });
            }
            Some(json!(d.format("%Y-%m-%d").to_string()))
        }
        FieldKind::Choice => {
            let options = || Refusal::NotInList { allowed: f.options.iter().map(|o| o.value.clone()).collect() };
            let Some(s) = v.as_str() else { return err(options()) };
            if !f.options.iter().any(|o| o.value == s) {
                return err(options());
            }
            Some(json!(s))
        }
        FieldKind::VehicleRegistration => {
            let Some(s) = v.as_str() else { return err(Refusal::WrongType { expected: "text".into() }) };
            match normalise_registration(s) {
                Some(r) => Some(json!(r)),
                None => err(Refusal::InvalidRegistrationNumber),
            }
        }
        FieldKind::Address => {
            let a: Address = match serde_json::from_value(v.clone()) {
                Ok(a) => a,
                Err(_) => return err(Refusal::IncompleteAddress),
            };
            let mut ok = true;
            let pc = a.postcode.trim();
            if !(pc.len() == 4 && pc.chars().all(|c| c.is_ascii_digit()) && !pc.starts_with('0')) {
                problems.push(FieldProblem::new(&format!("{p}.postcode"), Refusal::InvalidPostcode));
                ok = false;
            }
            if a.city.trim().is_empty() {
                problems.push(FieldProblem::new(&format!("{p}.city"), Refusal::Required));
                ok = false;
            }
            if a.street.trim().is_empty() {
                problems.push(FieldProblem::new(&format!("{p}.street"), Refusal::Required));
                ok = false;
            }
            ok.then(|| json!({"postcode": pc, "city": a.city.trim(), "street": a.street.trim()}))
        }
        FieldKind::Boolean | FieldKind::File | FieldKind::Group => None,
    }
}

/// Checks the files a draft lists as submission would (type, size, how many per field), but
/// not whether a required file is missing yet: a draft may be incomplete, never invalid.
pub fn check_files(fields: &[Field], input: &Value) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for f in fields.iter().filter(|f| f.kind == FieldKind::File) {
        let items = match input.get(&f.name) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(a)) => a,
            Some(_) => {
                problems.push(FieldProblem::new(&f.name, Refusal::NotAList));
                continue;
            }
        };
        if let Some(max) = f.max_items
            && items.len() > max as usize
        {
            problems.push(FieldProblem::new(&f.name, Refusal::TooMany { max }));
        }
        for (i, it) in items.iter().enumerate() {
            validate_file(f, it, &format!("{}[{i}]", f.name), &mut problems);
        }
    }
    problems
}

fn validate_file(f: &Field, v: &Value, p: &str, problems: &mut Vec<FieldProblem>) -> Option<Value> {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("").trim();
    let ct = v.get("content_type").and_then(Value::as_str).unwrap_or("").trim().to_ascii_lowercase();
    let size = v.get("size").and_then(Value::as_u64);
    let (Some(size), false, false) = (size, name.is_empty(), ct.is_empty()) else {
        problems.push(FieldProblem::new(p, Refusal::NotAFile));
        return None;
    };
    if !f.accept.iter().any(|a| a.eq_ignore_ascii_case(&ct)) {
        problems.push(FieldProblem::new(p, Refusal::FileType { file: name.into(), content_type: ct.clone(), accepted: f.accept.clone() }));
        return None;
    }
    if let Some(kb) = f.max_size_kb
        && size > u64::from(kb) * 1024
    {
        problems.push(FieldProblem::new(p, Refusal::FileTooLarge { file: name.into(), max_kb: u64::from(kb) }));
        return None;
    }
    Some(json!({"name": name, "content_type": ct, "size": size}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations() {
        assert_eq!(normalise_registration("abc123").as_deref(), Some("ABC-123"));
        assert_eq!(normalise_registration("ABC-123").as_deref(), Some("ABC-123"));
        assert_eq!(normalise_registration("aa bb-123").as_deref(), Some("AA BB-123"));
        assert_eq!(normalise_registration("AABB123").as_deref(), Some("AA BB-123"));
        assert_eq!(normalise_registration("AB-123"), None);
        assert_eq!(normalise_registration("ABC-12"), None);
        assert_eq!(normalise_registration("ÁBC-123"), None);
        assert_eq!(normalise_registration("ABCDE-123"), None);
    }

    #[test]
    fn districts() {
        let a = |pc: &str| Address { postcode: pc.into(), city: "Budapest".into(), street: "x".into() }.district();
        assert_eq!(a("1126"), 12);
        assert_eq!(a("1011"), 1);
        assert_eq!(a("1239"), 23);
        assert_eq!(a("2000"), 0);
        assert_eq!(a("1x26"), 0);
    }

    #[test]
    fn draft_files_are_checked_like_submitted_ones_but_may_be_missing() {
        let f: Field = toml::from_str(
            r#"name = "site_plan"
               label = "Helyszínrajz"
               type = "file"
               required = true
               accept = ["application/pdf"]
               max_size_kb = 10
               max_items = 2"#,
        )
        .unwrap();
        let fields = [f];
        let file = |name: &str, ct: &str, size: u64| json!({ "name": name, "content_type": ct, "size": size, "stored": "0-x" });
        assert!(check_files(&fields, &json!({})).is_empty(), "a required file may be missing from a draft");
        assert!(check_files(&fields, &json!({ "site_plan": [file("a.pdf", "application/pdf", 10 * 1024)] })).is_empty());
        let p = check_files(&fields, &json!({ "site_plan": [file("a.docx", "application/zip", 100)] }));
        assert_eq!(
            p,
            vec![FieldProblem::new(
                "site_plan[0]",
                Refusal::FileType {
                    file: "a.docx".into(),
                    content_type: "application/zip".into(),
                    accepted: vec!["application/pdf".into()]
                }
            )]
        );
        let p = check_files(&fields, &json!({ "site_plan": [file("a.pdf", "application/pdf", 10 * 1024 + 1)] }));
        assert_eq!(p, vec![FieldProblem::new("site_plan[0]", Refusal::FileTooLarge { file: "a.pdf".into(), max_kb: 10 })]);
        let three = json!({ "site_plan": [file("a.pdf", "application/pdf", 1), file("b.pdf", "application/pdf", 1), file("c.pdf", "application/pdf", 1)] });
        assert_eq!(check_files(&fields, &three), vec![FieldProblem::new("site_plan", Refusal::TooMany { max: 2 })]);
        // The same values fail submission the same way.
        let submitted = validate_form(&fields, &json!({ "site_plan": [file("a.docx", "application/zip", 100)] }), NaiveDate::MIN);
        assert_eq!(submitted.unwrap_err(), check_files(&fields, &json!({ "site_plan": [file("a.docx", "application/zip", 100)] })));
    }

    #[test]
    fn date_limits() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(date_limit(&Limit("today+3".into()), today), NaiveDate::from_ymd_opt(2026, 3, 5));
        assert_eq!(date_limit(&Limit("today".into()), today), Some(today));
        assert_eq!(date_limit(&Limit("2026-01-01".into()), today), NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(date_limit(&Limit("tomorrow".into()), today), None);
    }
}
