use chrono::NaiveDate;
use serde_json::json;

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

const BASE: &str = r#"code = "t"
name = "Test"
identification = "registered"
applicants = ["person"]
deadline = { days = 8 }

[[facts]]
name = "vehicle.owner_is_applicant"
type = "bool"

[[fields]]
name = "vehicle"
label = "Rendszám"
type = "vehicle_registration"
required = true

[[fields]]
name = "note"
label = "Megjegyzés"
type = "text"

[[fields]]
name = "periods"
label = "Időszakok"
type = "group"
min_items = 1

[[fields.fields]]
name = "from"
label = "Kezdete"
type = "date"
required = true

[fee]
kind = "service_fee"
amount = 1000
vat_rate = "27"

[[rules]]
name = "owner"
when = "vehicle.owner_is_applicant"
outcome = "grant"
reason = "ok"

[templates]
grant = "Megadva: {{ application.vehicle }}"
refuse = "Elutasítva"
"#;

fn errors(src: &str) -> Vec<DefinitionError> {
    check_definition("t.toml", src, today()).expect_err("the definition should be refused")
}

fn one(src: &str) -> DefinitionError {
    let e = errors(src);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

#[test]
fn the_base_definition_passes() {
    check_definition("t.toml", BASE, today()).unwrap();
}

#[test]
fn the_demo_case_types_pass_their_examples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tenants/hegyvidek/case-types");
    let loaded =
        load_folder(&dir, today()).unwrap_or_else(|e| panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")));
    assert_eq!(loaded.len(), 3);
    for l in &loaded {
        let (_, examples) = l.examples.as_ref().unwrap();
        assert!(examples.len() >= 3, "{} has too few examples", l.file);
        for ex in examples {
            let run = run_example(&l.case_type, ex, today());
            assert!(run.passed(), "{} / {}: {:?}", l.file, ex.name, run.mismatches);
        }
    }
}

#[test]
fn unknown_key_is_located() {
    let src =
        BASE.replace("required = true\n\n[[fields]]\nname = \"note\"", "required = true\ncolour = \"red\"\n\n[[fields]]\nname = \"note\"");
    let e = one(&src);
    assert_eq!(e.file, "t.toml");
    assert_eq!(e.path, "fields[0].colour");
    assert_eq!(e.line, Some(16), "{e}");
    assert!(e.message.contains("unknown field `colour`"), "{e}");
}

#[test]
fn wrong_type_of_value_is_located() {
    let e = one(&BASE.replace("deadline = { days = 8 }", "deadline = { days = \"eight\" }"));
    assert_eq!(e.path, "deadline.days");
    assert_eq!(e.line, Some(5));
}

#[test]
fn toml_syntax_error_has_a_line() {
    let e = one(&BASE.replace("name = \"Test\"", "name = \"Test"));
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn unknown_field_in_a_rule_is_reported_with_path_and_line() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.colour == 'red'\""));
    assert_eq!(e.path, "rules[0].when");
    assert_eq!(e.line, Some(41), "{e}");
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn unknown_name_in_a_rule_lists_what_rules_can_read() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"vehicles.owner_is_applicant\""));
    assert_eq!(e.path, "rules[0].when");
    assert!(e.message.contains("unknown name `vehicles`") && e.message.contains("vehicle"), "{e}");
}

#[test]
fn type_mismatch_in_a_rule_is_reported() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.vehicle > 3\""));
    assert_eq!(e.path, "rules[0].when");
    assert!(e.message.contains("types do not fit"), "{e}");
}

#[test]
fn a_condition_must_be_boolean() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.vehicle\""));
    assert!(e.message.contains("true or false"), "{e}");
}

#[test]
fn cel_syntax_error_is_reported() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"vehicle.owner_is_applicant &&\""));
    assert_eq!(e.path, "rules[0].when");
    assert!(e.message.contains("CEL syntax error"), "{e}");
}

#[test]
fn optional_fields_need_has() {
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.note == 'x'\""));
    assert!(e.message.contains("has(application."), "{e}");
    check_definition(
        "t.toml",
        &BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"has(application.note) && application.note == 'x'\""),
        today(),
    )
    .unwrap();
}

#[test]
fn group_items_are_typed() {
    let ok = BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.periods.all(p, p.from >= today)\"");
    check_definition("t.toml", &ok, today()).unwrap();
    let e = one(&BASE.replace("when = \"vehicle.owner_is_applicant\"", "when = \"application.periods.all(p, p.until >= today)\""));
    assert!(e.message.contains("until"), "{e}");
}

#[test]
fn fee_rules_must_not_give_doubles() {
    let src = BASE.replace("amount = 1000", "rule = \"1000.0 * 1.5\"");
    let e = one(&src);
    assert_eq!(e.path, "fee.rule");
    assert!(e.message.contains("not a double"), "{e}");
    check_definition("t.toml", &BASE.replace("amount = 1000", "rule = \"'1250.50'\""), today()).unwrap();
}

#[test]
fn floats_and_bad_fee_settings_are_refused() {
    let e = one(&BASE.replace("amount = 1000", "amount = 1000.5"));
    assert_eq!(e.path, "fee.amount");
    assert!(e.message.contains("as a string"), "{e}");
    let e = one(&BASE.replace("kind = \"service_fee\"", "kind = \"procedural_duty\""));
    assert_eq!(e.path, "fee.vat_rate");
    let e = one(&BASE.replace("vat_rate = \"27\"", "vat_rate = \"20\""));
    assert!(e.message.contains("VAT rate"), "{e}");
}

#[test]
fn field_settings_are_checked_per_type() {
    let src = BASE.replace(
        "name = \"note\"\nlabel = \"Megjegyzés\"\ntype = \"text\"",
        "name = \"note\"\nlabel = \"Megjegyzés\"\ntype = \"date\"\npattern = \"[0-9]+\"",
    );
    let e = one(&src);
    assert_eq!(e.path, "fields[1].pattern");
    assert_eq!(e.line, Some(21), "{e}");
    let src = BASE.replace("name = \"from\"", "name = \"From\"");
    let e = one(&src);
    assert_eq!(e.path, "fields[2].fields[0].name");
    assert_eq!(e.line, Some(29), "{e}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = BASE
        .replace("name = \"Test\"", "name = \"\"")
        .replace("label = \"Rendszám\"", "label = \"\"")
        .replace("refuse = \"Elutasítva\"", "");
    let paths: Vec<String> = errors(&src).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["name", "fields[0].label", "templates"]);
}

#[test]
fn the_code_must_match_the_file() {
    let e = check_definition("other.toml", BASE, today()).err().unwrap();
    assert_eq!(e[0].path, "code");
    assert_eq!(e[0].line, Some(1));
}

#[test]
fn template_syntax_is_checked() {
    let e = one(&BASE.replace("Megadva: {{ application.vehicle }}", "Megadva: {{ application.vehicle"));
    assert_eq!(e.path, "templates.grant");
}

#[test]
fn forms_are_validated_per_field() {
    let ct = check_definition("t.toml", BASE, today()).unwrap();
    let fields = &ct.definition.fields;
    let bad = json!({"vehicle": "123", "periods": [{"from": "2026-13-01"}, {}], "extra": 1});
    let e = validate_form(fields, &bad, today()).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["extra", "vehicle", "periods[0].from", "periods[1].from"]);
    let good = json!({"vehicle": "abc 123", "note": "  hi ", "periods": [{"from": "2026-03-02"}]});
    let v = validate_form(fields, &good, today()).unwrap();
    assert_eq!(v, json!({"vehicle": "ABC-123", "note": "hi", "periods": [{"from": "2026-03-02"}]}));
    let e = validate_form(fields, &json!({"vehicle": "ABC-123", "periods": []}), today()).unwrap_err();
    assert_eq!(e[0].path, "periods");
}

#[test]
fn evaluation_traces_the_deciding_rule_and_the_fee() {
    let ct = check_definition("t.toml", BASE, today()).unwrap();
    let app = validate_form(&ct.definition.fields, &json!({"vehicle": "ABC-123", "periods": [{"from": "2026-03-02"}]}), today()).unwrap();
    let applicant: Applicant = serde_json::from_value(json!({"kind": "person", "identification": "kau"})).unwrap();
    let facts = json!({"vehicle": {"owner_is_applicant": true}});
    let ev = evaluate(&ct.definition, &RuleInput { application: &app, applicant: &applicant, facts: &facts, today: today() }).unwrap();
    assert_eq!(ev.outcome, Outcome::Grant);
    assert_eq!(ev.decided_by.as_deref(), Some("owner"));
    let fee = ev.fee.unwrap();
    assert_eq!((fee.net.to_string(), fee.vat.to_string(), fee.gross.to_string()), ("1000".into(), "270".into(), "1270".into()));
    let facts = json!({"vehicle": {"owner_is_applicant": false}});
    let ev = evaluate(&ct.definition, &RuleInput { application: &app, applicant: &applicant, facts: &facts, today: today() }).unwrap();
    assert_eq!(ev.outcome, Outcome::Refer);
    assert_eq!(ev.rules, vec![RuleTrace { name: "owner".into(), matched: Some(false), error: None }]);
    let e =
        evaluate(&ct.definition, &RuleInput { application: &app, applicant: &applicant, facts: &json!({}), today: today() }).unwrap_err();
    assert_eq!(e[0].path, "facts.vehicle");
}

#[test]
fn working_day_deadlines_follow_the_hungarian_calendar() {
    let cal = kapu_calendar::Calendar::hungary();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let d = Deadline { days: 3, working_days: true };
    // Thursday 5 March + 3 working days = Tuesday 10 March (the weekend skipped).
    assert_eq!(d.due(day(3, 5), &cal).unwrap(), day(3, 10));
    // Thursday 2 April: Good Friday and Easter Monday are holidays, so Thursday 9 April.
    assert_eq!(d.due(day(4, 2), &cal).unwrap(), day(4, 9));
    let d = Deadline { days: 8, working_days: false };
    assert_eq!(d.due(day(3, 5), &cal).unwrap(), day(3, 13));
}
