//! Rules in CEL: what they can read, how they are checked when a definition is saved, and
//! how they are evaluated with a trace of which rule decided.
//!
//! The `cel` crate parses and interprets CEL but has no type checker. A definition is
//! therefore checked by compiling every expression and evaluating it against two typed
//! samples built from the declarations (the form's fields, the facts, the applicant):
//! one with every field filled in, one with optional fields left out and lists empty.
//! An unknown name, a field that does not exist, a type mismatch or a result of the
//! wrong type is reported with the rule's path.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Env, Program, Value};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::definition::{Definition, FactDecl, FactKind, FeeKind, Field, FieldKind, Identification, RuleOutcome};
use crate::form::{Address, FieldProblem};
use kapu_core::Refusal;

/// The names every rule can read besides the declared facts.
pub const RESERVED_NAMES: [&str; 4] = ["application", "applicant", "today", "constants"];

/// A CEL type as the rules see it.
#[derive(Clone, Debug)]
pub(crate) enum Ty {
    Bool,
    Int,
    Double,
    String,
    Date,
    List(Box<Ty>),
    Map(Vec<(String, Ty)>),
}

fn field_ty(f: &Field) -> Ty {
    match f.kind {
        FieldKind::Text | FieldKind::Choice | FieldKind::VehicleRegistration => Ty::String,
        FieldKind::Number if f.decimals.unwrap_or(0) == 0 => Ty::Int,
        FieldKind::Number | FieldKind::Money => Ty::Double,
        FieldKind::Date => Ty::Date,
        FieldKind::Boolean => Ty::Bool,
        FieldKind::Address => address_ty(),
        FieldKind::File => {
            Ty::List(Box::new(Ty::Map(vec![("name".into(), Ty::String), ("content_type".into(), Ty::String), ("size".into(), Ty::Int)])))
        }
        FieldKind::Group => Ty::List(Box::new(Ty::Map(f.fields.iter().map(|s| (s.name.clone(), field_ty(s))).collect()))),
    }
}

fn address_ty() -> Ty {
    Ty::Map(vec![("postcode".into(), Ty::String), ("city".into(), Ty::String), ("street".into(), Ty::String), ("district".into(), Ty::Int)])
}

fn fact_ty(k: FactKind) -> Ty {
    match k {
        FactKind::Bool => Ty::Bool,
        FactKind::Int => Ty::Int,
        FactKind::String => Ty::String,
        FactKind::Date => Ty::Date,
    }
}

/// The facts as a tree of roots, e.g. `vehicle` → `{owner_is_applicant: bool}`.
#[derive(Clone, Debug)]
pub(crate) enum FactTree {
    Leaf(Ty, Vec<String>),
    Node(BTreeMap<String, FactTree>),
}

/// Groups dotted fact names into trees by their first segment. Returns the name of a fact
/// that conflicts with another (`a` and `a.b`) as an error.
pub(crate) fn fact_trees(facts: &[FactDecl]) -> Result<BTreeMap<String, FactTree>, (usize, String)> {
    let mut roots: BTreeMap<String, FactTree> = BTreeMap::new();
    for (i, f) in facts.iter().enumerate() {
        let segs: Vec<&str> = f.name.split('.').collect();
        let mut map = &mut roots;
        for (j, seg) in segs.iter().enumerate() {
            let last = j + 1 == segs.len();
            if last {
                if map.contains_key(*seg) {
                    return Err((i, format!("`{}` is declared twice, or also as the start of another fact", f.name)));
                }
                map.insert((*seg).to_owned(), FactTree::Leaf(fact_ty(f.kind), f.values.clone()));
            } else {
                let entry = map.entry((*seg).to_owned()).or_insert_with(|| FactTree::Node(BTreeMap::new()));
                match entry {
                    FactTree::Node(m) => map = m,
                    FactTree::Leaf(..) => {
                        return Err((i, format!("`{}` extends `{seg}`, which is declared as a fact of its own", f.name)));
                    }
                }
            }
        }
    }
    Ok(roots)
}

fn tree_ty(t: &FactTree) -> Ty {
    match t {
        FactTree::Leaf(ty, _) => ty.clone(),
        FactTree::Node(m) => Ty::Map(m.iter().map(|(k, v)| (k.clone(), tree_ty(v))).collect()),
    }
}

fn map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let m: HashMap<Key, Value> = entries.into_iter().map(|(k, v)| (Key::String(Arc::new(k)), v)).collect();
    Value::Map(Map { map: Arc::new(m) })
}

fn date_value(d: NaiveDate) -> Value {
    Value::Timestamp(chrono::Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)).fixed_offset())
}

/// Which typed sample to build: everything filled in, or the sparse one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    Full,
    Sparse,
}

fn sample_of(ty: &Ty, s: Sample, today: NaiveDate) -> Value {
    match (ty, s) {
        (Ty::Bool, Sample::Full) => Value::Bool(true),
        (Ty::Bool, Sample::Sparse) => Value::Bool(false),
        (Ty::Int, Sample::Full) => Value::Int(1),
        (Ty::Int, Sample::Sparse) => Value::Int(0),
        (Ty::Double, Sample::Full) => Value::Float(1.0),
        (Ty::Double, Sample::Sparse) => Value::Float(0.0),
        (Ty::String, Sample::Full) => Value::String(Arc::new("x".into())),
        (Ty::String, Sample::Sparse) => Value::String(Arc::new(String::new())),
        (Ty::Date, _) => date_value(today),
        (Ty::List(item), Sample::Full) => Value::List(Arc::new(vec![sample_of(item, s, today)])),
        (Ty::List(_), Sample::Sparse) => Value::List(Arc::new(Vec::new())),
        (Ty::Map(fields), _) => map(fields.iter().map(|(k, t)| (k.clone(), sample_of(t, s, today)))),
    }
}

fn sample_fact(t: &FactTree, s: Sample, today: NaiveDate) -> Value {
    match t {
        FactTree::Leaf(Ty::String, values) if !values.is_empty() => {
            let v = if s == Sample::Full { values.first() } else { values.last() };
            Value::String(Arc::new(v.cloned().unwrap_or_default()))
        }
        FactTree::Leaf(ty, _) => sample_of(ty, s, today),
        FactTree::Node(m) => map(m.iter().map(|(k, v)| (k.clone(), sample_fact(v, s, today)))),
    }
}

/// Problems with supplied facts' values that the types alone do not catch.
fn check_fact_values(t: &FactTree, v: &serde_json::Value, path: &str, problems: &mut Vec<FieldProblem>) {
    match t {
        FactTree::Leaf(_, values) if !values.is_empty() => {
            if let Some(s) = v.as_str()
                && !values.iter().any(|x| x == s)
            {
                problems.push(FieldProblem::new(path, Refusal::NotInList { allowed: values.clone() }));
            }
        }
        FactTree::Leaf(..) => {}
        FactTree::Node(m) => {
            for (k, sub) in m {
                if let Some(x) = v.get(k) {
                    check_fact_values(sub, x, &format!("{path}.{k}"), problems);
                }
            }
        }
    }
}

fn sample_form(fields: &[Field], s: Sample, today: NaiveDate) -> Value {
    let mut out = Vec::new();
    for f in fields {
        let always = matches!(f.kind, FieldKind::Boolean | FieldKind::File | FieldKind::Group);
        if s == Sample::Sparse && !f.required && !always {
            continue;
        }
        let v = match (f.kind, s) {
            (FieldKind::Choice, _) => {
                let opt = if s == Sample::Full { f.options.first() } else { f.options.last() };
                Value::String(Arc::new(opt.map(|o| o.value.clone()).unwrap_or_default()))
            }
            (FieldKind::VehicleRegistration, _) => Value::String(Arc::new("ABC-123".into())),
            (FieldKind::Group, Sample::Full) => Value::List(Arc::new(vec![sample_form(&f.fields, s, today)])),
            (FieldKind::Group, Sample::Sparse) if f.required || f.min_items.unwrap_or(0) > 0 => {
                Value::List(Arc::new(vec![sample_form(&f.fields, s, today)]))
            }
            _ => sample_of(&field_ty(f), s, today),
        };
        out.push((f.name.clone(), v));
    }
    map(out)
}

fn sample_applicant(s: Sample) -> Value {
    let applicant = match s {
        Sample::Full => Applicant {
            kind: "person".into(),
            as_representative: false,
            identification: Identification::Kau,
            age: Some(40),
            address: Some(Address { postcode: "1126".into(), city: "Budapest".into(), street: "Böszörményi út 23.".into() }),
        },
        Sample::Sparse => Applicant {
            kind: "organisation".into(),
            as_representative: true,
            identification: Identification::Registered,
            age: None,
            address: None,
        },
    };
    applicant_value(&applicant)
}

/// The JSON value of a constant, as CEL sees it.
pub(crate) fn json_to_cel(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(a) => Value::List(Arc::new(a.iter().map(json_to_cel).collect())),
        serde_json::Value::Object(o) => map(o.iter().map(|(k, v)| (k.clone(), json_to_cel(v)))),
    }
}

/// Who applies, as the rules see them (`applicant.*`). The caller fills it from the
/// client's record and identification.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// `person` or `organisation`.
    pub kind: String,
    /// Filed by a representative.
    #[serde(default)]
    pub as_representative: bool,
    /// The applicant's identification level.
    pub identification: Identification,
    /// Age in years (persons).
    #[serde(default)]
    pub age: Option<u32>,
    /// Permanent address (persons) or seat (organisations).
    #[serde(default)]
    pub address: Option<Address>,
}

fn address_value(a: &Address) -> Value {
    map([
        ("postcode".into(), Value::String(Arc::new(a.postcode.clone()))),
        ("city".into(), Value::String(Arc::new(a.city.clone()))),
        ("street".into(), Value::String(Arc::new(a.street.clone()))),
        ("district".into(), Value::Int(i64::from(a.district()))),
    ])
}

fn applicant_value(a: &Applicant) -> Value {
    let empty = Address { postcode: String::new(), city: String::new(), street: String::new() };
    map([
        ("kind".into(), Value::String(Arc::new(a.kind.clone()))),
        ("as_representative".into(), Value::Bool(a.as_representative)),
        ("identification".into(), Value::String(Arc::new(a.identification.as_str().into()))),
        ("age".into(), Value::Int(i64::from(a.age.unwrap_or(0)))),
        ("address".into(), address_value(a.address.as_ref().unwrap_or(&empty))),
    ])
}

/// Converts a JSON value of the given type (a validated form value or a supplied fact).
fn typed_value(v: &serde_json::Value, ty: &Ty, path: &str) -> Result<Value, FieldProblem> {
    let wrong = |want: &str| FieldProblem::new(path, Refusal::WrongType { expected: want.to_owned() });
    Ok(match ty {
        Ty::Bool => Value::Bool(v.as_bool().ok_or_else(|| wrong("true or false"))?),
        Ty::Int => match v {
            serde_json::Value::Number(n) => Value::Int(n.as_i64().ok_or_else(|| wrong("a whole number"))?),
            serde_json::Value::String(s) => Value::Int(s.parse().map_err(|_| wrong("a whole number"))?),
            _ => return Err(wrong("a whole number")),
        },
        Ty::Double => {
            let text = match v {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => return Err(wrong("a number")),
            };
            let d: Decimal = text.parse().map_err(|_| wrong("a number"))?;
            Value::Float(rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or_default())
        }
        Ty::String => Value::String(Arc::new(v.as_str().ok_or_else(|| wrong("text"))?.to_owned())),
        Ty::Date => {
            let s = v.as_str().ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?;
            date_value(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| wrong("a date (YYYY-MM-DD)"))?)
        }
        Ty::List(item) => {
            let a = v.as_array().ok_or_else(|| wrong("a list"))?;
            let items = a.iter().enumerate().map(|(i, x)| typed_value(x, item, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?;
            Value::List(Arc::new(items))
        }
        Ty::Map(fields) => {
            let o = v.as_object().ok_or_else(|| wrong("a table"))?;
            let mut out = Vec::new();
            for (k, t) in fields {
                let p = format!("{path}.{k}");
                match o.get(k) {
                    Some(x) => out.push((k.clone(), typed_value(x, t, &p)?)),
                    None => return Err(FieldProblem::new(&p, Refusal::Required)),
                }
            }
            map(out)
        }
    })
}

fn form_value(fields: &[Field], v: &serde_json::Value, path: &str) -> Result<Value, FieldProblem> {
    let empty = serde_json::Map::new();
    let o = v.as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    for f in fields {
        let p = if path.is_empty() { f.name.clone() } else { format!("{path}.{}", f.name) };
        let Some(x) = o.get(&f.name).filter(|x| !x.is_null()) else { continue };
        let value = match f.kind {
            FieldKind::Group => {
                let items = x.as_array().ok_or_else(|| FieldProblem::new(&p, Refusal::NotAList))?;
                let items =
                    items.iter().enumerate().map(|(i, it)| form_value(&f.fields, it, &format!("{p}[{i}]"))).collect::<Result<_, _>>()?;
                Value::List(Arc::new(items))
            }
            FieldKind::Address => {
                let a: Address =
                    serde_json::from_value(x.clone()).map_err(|e| FieldProblem::new(&p, Refusal::Unreadable { detail: e.to_string() }))?;
                address_value(&a)
            }
            _ => typed_value(x, &field_ty(f), &p)?,
        };
        out.push((f.name.clone(), value));
    }
    Ok(map(out))
}

fn env() -> Arc<Env> {
    Arc::new(Env::stdlib())
}

fn context(env: &Arc<Env>, vars: Vec<(String, Value)>) -> Context<'static, 'static> {
    let mut ctx = Context::with_env(env.clone());
    for (k, v) in vars {
        ctx.add_variable_from_value(k, v);
    }
    // `days_between(from, to)`: whole days from one date to another.
    let _ = ctx
        .add_function("days_between", |a: chrono::DateTime<FixedOffset>, b: chrono::DateTime<FixedOffset>| -> i64 { (b - a).num_days() });
    ctx
}

/// The variables of one evaluation.
fn variables(
    def: &Definition,
    application: Value,
    applicant: Value,
    facts: Vec<(String, Value)>,
    today: NaiveDate,
) -> Vec<(String, Value)> {
    let constants = map(def.constants.iter().map(|(k, v)| (k.clone(), json_to_cel(v))));
    let mut vars = vec![
        ("application".to_owned(), application),
        ("applicant".to_owned(), applicant),
        ("today".to_owned(), date_value(today)),
        ("constants".to_owned(), constants),
    ];
    vars.extend(facts);
    vars
}

fn describe(e: &cel::ExecutionError, def: &Definition) -> String {
    use cel::ExecutionError as E;
    match e {
        E::NoSuchKey(k) => format!("there is no field or key `{k}` here; check its spelling against the form and the facts"),
        E::UndeclaredReference(n) => {
            let facts: Vec<String> = fact_trees(&def.facts).map(|t| t.into_keys().collect()).unwrap_or_default();
            let mut names: Vec<&str> = RESERVED_NAMES.to_vec();
            names.extend(facts.iter().map(String::as_str));
            format!("unknown name `{n}`; rules can read {}", names.join(", "))
        }
        E::NoSuchOverload(o) => format!("the types do not fit: {o}"),
        other => other.to_string(),
    }
}

/// Why an expression gave no usable value: it does not compile, it fails when run, or a fee
/// gives no exact amount. The text is what the case type's author and the clerk read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExprError {
    /// The expression does not compile: each problem's line, column (1-based) and message.
    #[error("{}", .0.iter().map(|(l, c, m)| format!("CEL syntax error at line {l}, column {c}: {m}")).collect::<Vec<_>>().join("; "))]
    Syntax(Vec<(isize, isize, String)>),
    /// Running it failed (described for the author by [`describe`]).
    #[error("{0}")]
    Run(String),
    /// A fee rule gave a text that is not a decimal number.
    #[error("a fee rule gave {0:?}, which is not a decimal number")]
    NotDecimal(String),
    /// A fee rule gave a double, which would round.
    #[error("a fee rule must give an int of forints or a decimal string such as \"1250.50\", not a double (doubles round)")]
    Double,
    /// A fee rule gave neither a number nor a text.
    #[error("a fee rule must give an int of forints or a decimal string, not {0}")]
    NotAmount(String),
    /// A fee rule gave a negative amount.
    #[error("a fee rule gave a negative amount, {0}")]
    Negative(Decimal),
    /// A fee rule gave fractions of a fillér.
    #[error("a fee rule gave {0}, with more than two decimals")]
    TooPrecise(Decimal),
    /// The fixed fee is not a number.
    #[error("the fixed amount {0:?} is not a number")]
    FixedNotNumber(String),
    /// The fee has neither a fixed amount nor a rule.
    #[error("the fee has neither an amount nor a rule")]
    NoFee,
}

fn compile(env: &Env, src: &str) -> Result<Program, ExprError> {
    env.compile(src).map_err(|e| ExprError::Syntax(e.errors.iter().map(|p| (p.pos.0, p.pos.1 + 1, p.msg.clone())).collect()))
}

/// Compiles and runs an expression.
fn run(env: &Env, src: &str, ctx: &Context, def: &Definition) -> Result<Value, ExprError> {
    compile(env, src)?.execute(ctx).map_err(|e| ExprError::Run(describe(&e, def)))
}

/// What a checked expression must give.
#[derive(Clone, Copy)]
pub(crate) enum Want {
    Bool,
    Amount,
}

/// Checks every expression of a definition; returns `(path, message)` pairs.
pub(crate) fn check_expressions(def: &Definition, today: NaiveDate) -> Vec<(String, String)> {
    let mut exprs: Vec<(String, &str, Want)> = Vec::new();
    for (i, p) in def.prechecks.iter().enumerate() {
        exprs.push((format!("prechecks[{i}].when"), &p.when, Want::Bool));
    }
    for (i, r) in def.rules.iter().enumerate() {
        exprs.push((format!("rules[{i}].when"), &r.when, Want::Bool));
    }
    if let Some(rule) = def.fee.as_ref().and_then(|f| f.rule.as_deref()) {
        exprs.push(("fee.rule".into(), rule, Want::Amount));
    }
    let Ok(trees) = fact_trees(&def.facts) else { return Vec::new() };
    let env = env();
    let mut contexts = Vec::new();
    for s in [Sample::Full, Sample::Sparse] {
        let facts = trees.iter().map(|(k, t)| (k.clone(), sample_fact(t, s, today))).collect();
        let vars = variables(def, sample_form(&def.fields, s, today), sample_applicant(s), facts, today);
        contexts.push((s, context(&env, vars)));
    }
    let mut errors = Vec::new();
    for (path, src, want) in exprs {
        let program = match compile(&env, src) {
            Ok(p) => p,
            Err(e) => {
                errors.push((path, e.to_string()));
                continue;
            }
        };
        for (s, ctx) in &contexts {
            let hint = match s {
                Sample::Full => "",
                Sample::Sparse => {
                    " (with the optional fields left empty, which rules must allow for: test them with has(application.<field>))"
                }
            };
            let problem = match program.execute(ctx) {
                Err(e) => Some(describe(&e, def)),
                Ok(v) => match (want, &v) {
                    (Want::Bool, Value::Bool(_)) => None,
                    (Want::Bool, other) => Some(format!("a condition must give true or false, not {}", type_name(other))),
                    (Want::Amount, v) => amount_of(v).err().map(|e| e.to_string()),
                },
            };
            if let Some(p) = problem {
                errors.push((path.clone(), format!("{p}{hint}")));
                break;
            }
        }
    }
    errors
}

fn type_name(v: &Value) -> String {
    v.type_of().to_string()
}

/// A fee rule's result as an exact amount.
fn amount_of(v: &Value) -> Result<Decimal, ExprError> {
    let d = match v {
        Value::Int(i) => Decimal::from(*i),
        Value::UInt(u) => Decimal::from(*u),
        Value::String(s) => s.trim().parse::<Decimal>().map_err(|_| ExprError::NotDecimal(s.to_string()))?,
        Value::Float(_) => return Err(ExprError::Double),
        other => return Err(ExprError::NotAmount(type_name(other))),
    };
    if d.is_sign_negative() && !d.is_zero() {
        return Err(ExprError::Negative(d));
    }
    if d.scale() > 2 && d.normalize().scale() > 2 {
        return Err(ExprError::TooPrecise(d));
    }
    Ok(d.normalize())
}

/// What one rule did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    /// The rule's (or pre-check's) name.
    pub name: String,
    /// Whether its condition held; `None` when it could not be evaluated.
    pub matched: Option<bool>,
    /// Why it could not be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of evaluating an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Granted automatically.
    Grant,
    /// Refused automatically.
    Refuse,
    /// A clerk decides.
    Refer,
    /// A pre-check failed: the application cannot be filed.
    Ineligible,
}

impl Outcome {
    /// The name used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Refuse => "refuse",
            Self::Refer => "refer",
            Self::Ineligible => "ineligible",
        }
    }
}

/// The fee of a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeeAssessment {
    /// Duty or service fee.
    pub kind: FeeKind,
    /// Net amount in forints.
    pub net: Decimal,
    /// VAT rate in percent, where one applies.
    pub vat_rate: Option<Decimal>,
    /// VAT in forints, rounded to whole forints.
    pub vat: Decimal,
    /// Net plus VAT.
    pub gross: Decimal,
}

/// The result of evaluating an application against its case type.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// What happens.
    pub outcome: Outcome,
    /// The rule or pre-check that decided; `None` when no rule matched.
    pub decided_by: Option<String>,
    /// The reason, for the decision or the applicant.
    pub reason: String,
    /// Pre-checks, in order, with the built-in ones (who may apply) first.
    pub prechecks: Vec<RuleTrace>,
    /// Decision rules, in order, up to the one that decided.
    pub rules: Vec<RuleTrace>,
    /// The fee, when the application is eligible and the case costs something.
    pub fee: Option<FeeAssessment>,
}

/// What a rule evaluation needs besides the definition.
#[derive(Clone, Copy, Debug)]
pub struct RuleInput<'a> {
    /// The validated form values, as [`crate::validate_form`] returned them.
    pub application: &'a serde_json::Value,
    /// Who applies.
    pub applicant: &'a Applicant,
    /// The declared facts, as a JSON object (`{"vehicle": {"owner_is_applicant": true}}`).
    pub facts: &'a serde_json::Value,
    /// The day of the evaluation.
    pub today: NaiveDate,
}

fn fee_assessment(def: &Definition, ctx: &Context, env: &Env) -> Result<Option<FeeAssessment>, ExprError> {
    let Some(fee) = &def.fee else { return Ok(None) };
    let net = match (&fee.amount, &fee.rule) {
        (Some(a), _) => a.decimal().ok_or_else(|| ExprError::FixedNotNumber(a.0.clone()))?,
        (None, Some(rule)) => amount_of(&run(env, rule, ctx, def)?)?,
        (None, None) => return Err(ExprError::NoFee),
    };
    let vat_rate = fee.vat_rate.as_ref().and_then(|r| r.decimal());
    let vat = vat_rate
        .map(|r| (net * r / Decimal::ONE_HUNDRED).round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
        .unwrap_or(Decimal::ZERO);
    Ok(Some(FeeAssessment { kind: fee.kind, net, vat_rate, vat, gross: net + vat }))
}

/// Evaluates an application: who may apply, the pre-checks, the fee and the decision
/// rules (the first whose condition holds decides; none, or one that cannot be
/// evaluated, hands the case to a clerk). Fails only when the facts do not match their
/// declarations.
pub fn evaluate(def: &Definition, input: &RuleInput<'_>) -> Result<Evaluation, Vec<FieldProblem>> {
    let trees = fact_trees(&def.facts).map_err(|(_, m)| vec![FieldProblem::new("facts", Refusal::InvalidDefinition { detail: m })])?;
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    for (root, tree) in &trees {
        match input.facts.get(root) {
            Some(v) => match typed_value(v, &tree_ty(tree), &format!("facts.{root}")) {
                Ok(x) => {
                    check_fact_values(tree, v, &format!("facts.{root}"), &mut problems);
                    facts.push((root.clone(), x));
                }
                Err(p) => problems.push(p),
            },
            None => problems.push(FieldProblem::new(&format!("facts.{root}"), Refusal::Required)),
        }
    }
    let application = form_value(&def.fields, input.application, "").map_err(|p| vec![p])?;
    if !problems.is_empty() {
        return Err(problems);
    }
    let env = env();
    let ctx = context(&env, variables(def, application, applicant_value(input.applicant), facts, input.today));

    let mut prechecks = Vec::new();
    let ineligible = |name: &str, reason: String, prechecks: Vec<RuleTrace>| Evaluation {
        outcome: Outcome::Ineligible,
        decided_by: Some(name.to_owned()),
        reason,
        prechecks,
        rules: Vec::new(),
        fee: None,
    };
    let a = input.applicant;
    let kind_ok = match (a.kind.as_str(), a.as_representative) {
        (_, true) => def.applicants.contains(&crate::ApplicantKind::Representative),
        ("person", false) => def.applicants.contains(&crate::ApplicantKind::Person),
        ("organisation", false) => def.applicants.contains(&crate::ApplicantKind::Organisation),
        _ => false,
    };
    prechecks.push(RuleTrace { name: "who may apply".into(), matched: Some(kind_ok), error: None });
    if !kind_ok {
        let who: Vec<&str> = def
            .applicants
            .iter()
            .map(|k| match k {
                crate::ApplicantKind::Person => "persons for themselves",
                crate::ApplicantKind::Organisation => "organisations",
                crate::ApplicantKind::Representative => "representatives",
            })
            .collect();
        return Ok(ineligible("who may apply", format!("only {} may apply for this", who.join(", ")), prechecks));
    }
    let level_ok = a.identification >= def.identification;
    prechecks.push(RuleTrace { name: "identification".into(), matched: Some(level_ok), error: None });
    if !level_ok {
        let need = match def.identification {
            Identification::Registered => "a registered account",
            Identification::InPerson => "identification in person or through KAÜ",
            Identification::Kau => "identification through KAÜ (Ügyfélkapu+)",
        };
        return Ok(ineligible("identification", format!("this application needs {need}"), prechecks));
    }
    for p in &def.prechecks {
        let result = run(&env, &p.when, &ctx, def).map_err(|e| e.to_string());
        match result {
            Ok(Value::Bool(true)) => prechecks.push(RuleTrace { name: p.name.clone(), matched: Some(true), error: None }),
            Ok(Value::Bool(false)) => {
                prechecks.push(RuleTrace { name: p.name.clone(), matched: Some(false), error: None });
                return Ok(ineligible(&p.name, p.message.clone(), prechecks));
            }
            Ok(other) => {
                let e = format!("gave {} instead of true or false", type_name(&other));
                prechecks.push(RuleTrace { name: p.name.clone(), matched: None, error: Some(e.clone()) });
                return Ok(refer(Some(&p.name), format!("pre-check {:?} {e}; a clerk decides", p.name), prechecks, Vec::new(), None));
            }
            Err(e) => {
                prechecks.push(RuleTrace { name: p.name.clone(), matched: None, error: Some(e.clone()) });
                return Ok(refer(
                    Some(&p.name),
                    format!("pre-check {:?} failed: {e}; a clerk decides", p.name),
                    prechecks,
                    Vec::new(),
                    None,
                ));
            }
        }
    }
    let fee = match fee_assessment(def, &ctx, &env) {
        Ok(f) => f,
        Err(e) => {
            return Ok(refer(Some("fee"), format!("the fee could not be computed: {e}; a clerk decides"), prechecks, Vec::new(), None));
        }
    };
    let mut rules = Vec::new();
    for r in &def.rules {
        let result = run(&env, &r.when, &ctx, def).map_err(|e| e.to_string());
        match result {
            Ok(Value::Bool(true)) => {
                rules.push(RuleTrace { name: r.name.clone(), matched: Some(true), error: None });
                let outcome = match r.outcome {
                    RuleOutcome::Grant => Outcome::Grant,
                    RuleOutcome::Refuse => Outcome::Refuse,
                    RuleOutcome::Refer => Outcome::Refer,
                };
                return Ok(Evaluation { outcome, decided_by: Some(r.name.clone()), reason: r.reason.clone(), prechecks, rules, fee });
            }
            Ok(Value::Bool(false)) => rules.push(RuleTrace { name: r.name.clone(), matched: Some(false), error: None }),
            Ok(other) => {
                let e = format!("gave {} instead of true or false", type_name(&other));
                rules.push(RuleTrace { name: r.name.clone(), matched: None, error: Some(e.clone()) });
                return Ok(refer(Some(&r.name), format!("rule {:?} {e}; a clerk decides", r.name), prechecks, rules, fee));
            }
            Err(e) => {
                rules.push(RuleTrace { name: r.name.clone(), matched: None, error: Some(e.clone()) });
                return Ok(refer(Some(&r.name), format!("rule {:?} failed: {e}; a clerk decides", r.name), prechecks, rules, fee));
            }
        }
    }
    Ok(refer(None, "no rule decided the application automatically; a clerk decides".into(), prechecks, rules, fee))
}

fn refer(by: Option<&str>, reason: String, prechecks: Vec<RuleTrace>, rules: Vec<RuleTrace>, fee: Option<FeeAssessment>) -> Evaluation {
    Evaluation { outcome: Outcome::Refer, decided_by: by.map(str::to_owned), reason, prechecks, rules, fee }
}
