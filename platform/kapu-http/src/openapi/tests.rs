use serde_json::Value;

use super::refine::{public as public_operations, second_factor_steps};
use super::*;

/// Every operation of a document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("responses").is_some() {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn required(s: &Value) -> Vec<&str> {
    s["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

#[test]
fn the_tenant_document_lists_no_operator_operation_and_the_platform_one_only_those() {
    let tenant = operations(document(Side::Tenant));
    let platform = operations(document(Side::Platform));
    assert!(tenant.len() > 40, "the tenant's operations are there");
    for (path, ..) in &tenant {
        assert!(path.starts_with("/api/v1/") && !path.starts_with("/api/v1/platform"), "{path} in the tenant's document");
    }
    assert!(!platform.is_empty());
    for (path, ..) in &platform {
        assert!(path.starts_with("/api/v1/platform/"), "{path} in the operators' document");
    }
}

#[test]
fn each_document_names_where_it_is_served() {
    let doc = served_at(Side::Tenant, "https://ugyintezes.hegyvidek.hu/");
    assert_eq!(doc["servers"], serde_json::json!([{ "url": "https://ugyintezes.hegyvidek.hu" }]));
    let doc = served_at(Side::Platform, "http://127.0.0.1:8080");
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:8080");
    // The printed documents name templates whose variables all have defaults.
    for side in [Side::Tenant, Side::Platform] {
        let servers = document(side)["servers"].as_array().cloned().unwrap_or_default();
        assert!(!servers.is_empty());
        for s in servers {
            let url = s["url"].as_str().unwrap_or_default();
            for var in url.split('{').skip(1).filter_map(|p| p.split_once('}')).map(|(v, _)| v) {
                assert!(s["variables"][var]["default"].is_string(), "{url}: {var} has no default");
            }
        }
    }
}

#[test]
fn sessions_are_the_cookie_and_unsafe_requests_also_the_csrf_header() {
    for side in [Side::Tenant, Side::Platform] {
        let doc = document(side);
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["csrf"]["in"], "header");
        assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");
        for (path, method, op) in operations(doc) {
            let id = op["operationId"].as_str().unwrap_or_default();
            let security = op["security"].as_array().cloned().unwrap_or_else(|| panic!("{method} {path} has no security"));
            if public_operations(side).contains(&id) {
                assert!(security.is_empty(), "{id} is public");
                assert!(op["responses"].get("401").is_none() || id.ends_with("login"), "{id}: only sign-in answers 401 unsigned");
                continue;
            }
            assert_eq!(security.len(), 1, "{id}");
            let needs: Vec<&String> = security[0].as_object().map(|m| m.keys().collect()).unwrap_or_default();
            let cookie = schemes[needs.iter().find(|n| **n != "csrf").map(|n| n.as_str()).unwrap_or("")]["name"].clone();
            assert_eq!(cookie, if side == Side::Tenant { "kapu_staff" } else { "kapu_operator" }, "{id}");
            assert_eq!(needs.iter().any(|n| *n == "csrf"), method != "get", "{method} {path}");
            assert!(op["responses"].get("401").is_some(), "{id} answers 401 without a session");
        }
    }
}

#[test]
fn the_listed_operation_ids_exist_and_each_id_is_used_once() {
    for side in [Side::Tenant, Side::Platform] {
        let ids: Vec<String> =
            operations(document(side)).iter().filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_owned)).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{side:?}: an operation id is used twice");
        for id in public_operations(side).iter().chain(second_factor_steps(side)) {
            assert!(ids.iter().any(|x| x == id), "{side:?}: no operation {id}");
        }
    }
}

#[test]
fn every_error_an_operation_can_answer_is_a_documented_problem() {
    let doc = document(Side::Tenant);
    for (path, method, op) in operations(doc) {
        let responses = &op["responses"];
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let has = |status: &str| responses.get(status).is_some();
        for status in ["404", "500", "503"] {
            assert!(has(status), "{method} {path}: {status}");
        }
        if params.iter().any(|p| p["in"] == "path" || p["in"] == "query") {
            assert!(has("400"), "{method} {path}: an unparseable path or query value");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{method} {path}: {status} for a body");
            }
        }
        if params.iter().any(|p| p["name"] == "X-Access-Reason") {
            assert!(responses["422"]["description"].as_str().unwrap_or_default().contains("X-Access-Reason"), "{method} {path}");
        }
        if method != "get" {
            assert!(responses["403"]["description"].as_str().unwrap_or_default().contains("csrf"), "{method} {path}");
        }
        for (status, r) in responses.as_object().into_iter().flatten() {
            if status.as_str() >= "400" {
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                    "{method} {path}: {status}"
                );
                assert!(!r["description"].as_str().unwrap_or_default().is_empty(), "{method} {path}: {status} is described");
            }
        }
        if let Some(r) = responses.get("429") {
            assert_eq!(r["headers"]["Retry-After"]["required"], true, "{method} {path}");
        }
    }
}

#[test]
fn response_fields_written_as_null_are_nullable_and_required() {
    let doc = document(Side::Tenant);
    let case = schema(doc, "CaseView");
    let own = &case["allOf"][1];
    for field in ["decision", "evaluation", "issued_decision", "payment_reference"] {
        let p = &own["properties"][field];
        let nullable = p["type"].as_array().is_some_and(|t| t.iter().any(|x| x == "null"))
            || p["oneOf"].as_array().is_some_and(|a| a.iter().any(|x| x["type"] == "null"));
        assert!(nullable, "CaseView.{field} is nullable: {p}");
        assert!(required(own).contains(&field), "CaseView.{field} is always written");
    }
    assert!(required(schema(doc, "CaseItem")).contains(&"number"));
    assert!(required(schema(doc, "Me")).contains(&"tenant"));
    // A request may leave optional fields out.
    let new_client = schema(doc, "NewClientRequest");
    assert!(!required(new_client).contains(&"email"));
    assert!(!required(schema(doc, "IdentityView")).contains(&"birth_name"), "IdentityView is also sent");
}

#[test]
fn fields_the_server_leaves_out_are_optional_and_never_null() {
    let doc = document(Side::Tenant);
    let problem = schema(doc, "Problem");
    assert_eq!(problem["properties"]["request_id"]["type"], "string");
    assert!(!required(problem).contains(&"request_id"));
    assert!(!required(problem).contains(&"errors"));
    let field = schema(doc, "FieldError");
    assert_eq!(field["properties"]["line"]["type"], "integer");
    assert!(!required(field).contains(&"file"));
}

#[test]
fn parameters_carry_their_constraints() {
    let doc = document(Side::Tenant);
    let reason = doc["paths"]["/api/v1/clients/{id}"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "X-Access-Reason"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(reason["in"], "header");
    assert_eq!(reason["required"], true);
    assert_eq!(reason["schema"]["minLength"], 1);
    assert_eq!(reason["schema"]["maxLength"], 200);
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"].as_array().and_then(|ps| ps.iter().find(|p| p["name"] == name)).cloned().unwrap_or_default()
    };
    assert_eq!(param("/api/v1/clients/{id}", "id")["schema"]["format"], "uuid");
    assert_eq!(param("/api/v1/clients", "birth_date")["schema"]["format"], "date");
    let states = param("/api/v1/cases", "state")["schema"]["enum"].clone();
    assert!(states.as_array().is_some_and(|s| s.iter().any(|x| x == "in_review") && s.iter().any(|x| x == "")), "{states}");
    assert_eq!(param("/api/v1/jobs", "state")["schema"]["enum"], serde_json::json!(["pending", "running", "done", "dead"]));
}
