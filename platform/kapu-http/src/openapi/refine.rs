//! What the annotations cannot say, added to the generated document so that generated
//! clients and schema-driven tools can trust it: where the API is (`servers`), how a request
//! is authenticated (`securitySchemes` and each operation's `security`), every problem an
//! operation can answer (whatever handler or extractor gives it), and which response fields
//! are always present (serde writes `None` as `null`, so in a response a nullable field is
//! required; utoipa marks no `Option` required).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Which API a document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// A municipality's API (`/api/v1`), for its staff.
    Tenant,
    /// The operators' API (`/api/v1/platform`), on the platform host.
    Platform,
}

/// The name of the session cookie's security scheme, per side.
fn session_scheme(side: Side) -> &'static str {
    match side {
        Side::Tenant => "staff_session",
        Side::Platform => "operator_session",
    }
}

/// The name of the CSRF header's security scheme.
const CSRF: &str = "csrf";

/// Operations that need no session (by operation id).
pub(super) fn public(side: Side) -> &'static [&'static str] {
    match side {
        Side::Tenant => &["login", "password_reset", "password_reset_confirm"],
        Side::Platform => &["platform_login"],
    }
}

/// Operations that take a session whose second factor may still be pending (the sign-in
/// steps, sign-out, the session itself); the others need it passed and a role that permits.
pub(super) fn second_factor_steps(side: Side) -> &'static [&'static str] {
    match side {
        Side::Tenant => &["totp", "totp_enrol", "totp_enrol_confirm", "logout", "me"],
        Side::Platform => &["platform_totp", "platform_totp_enrol", "platform_totp_enrol_confirm", "platform_logout", "platform_me"],
    }
}

fn servers(side: Side) -> Value {
    match side {
        Side::Tenant => json!([
            {
                "url": "{origin}",
                "description": "A municipality at its own origin (its configured `origin`). The document a municipality serves \
                                (`/api/v1/openapi.json`) names its base URL instead.",
                "variables": { "origin": { "default": "https://ugyintezes.example.hu" } }
            },
            {
                "url": "{public_url}/t/{slug}",
                "description": "A municipality on the platform host (the deployment's public URL), under its slug.",
                "variables": { "public_url": { "default": "http://localhost:8080" }, "slug": { "default": "hegyvidek" } }
            }
        ]),
        Side::Platform => json!([
            {
                "url": "{public_url}",
                "description": "The platform host: the deployment's public URL (`KAPU_PUBLIC_URL`). The document it serves \
                                (`/api/v1/platform/openapi.json`) names it instead.",
                "variables": { "public_url": { "default": "http://localhost:8080" } }
            }
        ]),
    }
}

fn security_schemes(side: Side) -> Value {
    let (cookie, login) = match side {
        Side::Tenant => ("kapu_staff", "POST /api/v1/auth/login"),
        Side::Platform => ("kapu_operator", "POST /api/v1/platform/auth/login"),
    };
    let mut schemes = Map::new();
    schemes.insert(
        session_scheme(side).to_owned(),
        json!({
            "type": "apiKey",
            "in": "cookie",
            "name": cookie,
            "description": format!("The session cookie that `{login}` sets (HttpOnly, SameSite=Strict; Secure under TLS).")
        }),
    );
    schemes.insert(
        CSRF.to_owned(),
        json!({
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": "The session's CSRF token (`csrf_token` of the sign-in answer or of `me`), on every unsafe request \
                            of a session. Such requests from another site are refused whatever their token (`Origin`, \
                            `Sec-Fetch-Site`)."
        }),
    );
    Value::Object(schemes)
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The generated document, made exact (see the module's description).
pub(super) fn refine(generated: &utoipa::openapi::OpenApi, side: Side) -> Value {
    let mut doc = serde_json::to_value(generated).unwrap_or_default();
    doc["servers"] = servers(side);
    doc["components"]["securitySchemes"] = security_schemes(side);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut().filter(|(m, _)| METHODS.contains(&m.as_str())) {
                operation(op, method, side);
            }
        }
    }
    fields_left_out_when_none(&mut doc);
    require_output_fields(&mut doc);
    doc
}

/// Adds the operation's security and the problems it can answer besides its own.
fn operation(op: &mut Value, method: &str, side: Side) {
    let id = op["operationId"].as_str().unwrap_or_default().to_owned();
    let safe = method == "get" || method == "head";
    let public = public(side).contains(&id.as_str());
    let pending_factor_ok = second_factor_steps(side).contains(&id.as_str());
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let parses_path_or_query = params.iter().any(|p| matches!(p["in"].as_str(), Some("path" | "query")));
    let needs_reason = params.iter().any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("x-access-reason")));
    let has_body = op.get("requestBody").is_some();

    op["security"] = match (public, safe) {
        (true, _) => json!([]),
        (false, true) => json!([{ session_scheme(side): [] }]),
        (false, false) => json!([{ session_scheme(side): [], CSRF: [] }]),
    };

    let mut problems: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut add = |status, why| problems.entry(status).or_default().push(why);
    if parses_path_or_query {
        add("400", "`bad-request`: a path or query value does not parse (e.g. an id that is not a UUID, a number out of range)");
    }
    if has_body {
        add("400", "`malformed-json`: the body is not valid JSON");
        add("413", "`payload-too-large`: the body is over the limit");
        add("415", "`unsupported-media-type`: the body is not `application/json`");
        add("422", "`validation`: fields of the body are missing or invalid; `errors` names each");
    }
    let text_param = params.iter().any(|p| matches!(p["in"].as_str(), Some("path" | "query")) && is_free_text(&p["schema"]));
    if text_param || needs_reason {
        add("422", "`unstorable-value`: a value holds the NUL character, which the database cannot store");
    }
    if needs_reason {
        add("422", "`validation`: the `X-Access-Reason` header is missing, or not 1 to 200 characters after percent-decoding");
    }
    if !public {
        add("401", "`unauthenticated`: there is no session, or it has expired");
        if !pending_factor_ok {
            add("403", "`mfa-required`: the session has not passed the second factor yet");
            add("403", "`forbidden`: the role does not allow this");
        }
    }
    if !safe {
        add("403", "`csrf`: the `X-CSRF-Token` is missing or wrong, or the request comes from another site");
    }
    if params.iter().any(|p| p["in"] == "path") {
        add("404", "`not-found`: there is nothing by that id or name");
    }
    match side {
        Side::Tenant => {
            add("404", "`unknown-tenant`: no municipality is served at this host or prefix");
            add("503", "`tenant-suspended`: the municipality's service is suspended");
        }
        Side::Platform => {}
    }
    add("500", "`internal`: details are in the log under the request id");
    add("503", "`unavailable`: the database cannot be reached in time");

    let responses = op["responses"].as_object_mut();
    let Some(responses) = responses else { return };
    for (status, why) in problems {
        let r = responses.entry(status.to_owned()).or_insert_with(|| json!({ "description": "" }));
        let description = r["description"].as_str().unwrap_or_default();
        let mut text = why.join("; ");
        if !description.is_empty() {
            text = format!("{description}; {text}");
        }
        r["description"] = Value::String(text);
    }
    for (status, r) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        if code < 400 {
            continue;
        }
        if r["description"].as_str().is_none_or(str::is_empty) {
            r["description"] = Value::String(default_text(code).to_owned());
        }
        r["content"] = json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } });
        if code == 429 {
            r["headers"] = json!({ "Retry-After": {
                "description": "Whole seconds to wait before the next attempt can be admitted.",
                "required": true,
                "schema": { "type": "integer", "minimum": 1 }
            }});
        }
    }
}

/// What a problem status means when the operation's annotation says nothing more.
fn default_text(status: u16) -> &'static str {
    match status {
        400 => "`bad-request`: the request could not be understood",
        401 => "`unauthenticated`: there is no session, or it has expired",
        403 => "`forbidden`: the role does not allow this",
        404 => "`not-found`",
        409 => "`conflict`: the change conflicts with the current state, or `not-configured`",
        413 => "`payload-too-large`",
        422 => "`validation`: fields are missing or invalid; `errors` names each",
        429 => "`too-many-attempts` or `too-many-emails`: wait as long as `Retry-After` says",
        502 => "`local-system-failed`: a municipality's local system failed; the detail says how",
        503 => "`unavailable`",
        _ => "a problem; its `type` says which",
    }
}

/// Fields the server leaves out rather than writing `null` (`skip_serializing_if`): absent
/// when there is nothing to say, never null.
const LEFT_OUT_WHEN_NONE: &[(&str, &str)] = &[("Problem", "request_id"), ("FieldError", "file"), ("FieldError", "line")];

fn fields_left_out_when_none(doc: &mut Value) {
    for (schema, field) in LEFT_OUT_WHEN_NONE {
        if let Some(p) = doc["components"]["schemas"][schema]["properties"].get_mut(*field) {
            not_nullable(p);
        }
    }
}

fn not_nullable(p: &mut Value) {
    if let Some(types) = p.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            p["type"] = types[0].clone();
        }
    }
}

/// A string schema without a format or enumeration: any text may be sent.
fn is_free_text(s: &Value) -> bool {
    let string = s["type"] == "string" || s["type"].as_array().is_some_and(|ts| ts.iter().any(|t| t == "string"));
    string && s.get("format").is_none() && s.get("enum").is_none()
}

fn is_nullable(p: &Value) -> bool {
    let in_type = p["type"].as_array().is_some_and(|ts| ts.iter().any(|t| t == "null")) || p["type"] == "null";
    let in_union = ["oneOf", "anyOf"].iter().any(|k| p[*k].as_array().is_some_and(|alts| alts.iter().any(|a| a["type"] == "null")));
    in_type || in_union
}

/// Marks every nullable field of the schemas that only responses use as required: the
/// server always writes it, as `null` when there is nothing. (Schemas that requests use
/// too keep such fields optional, since a request may leave them out.)
fn require_output_fields(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].clone();
    let mut inputs = BTreeSet::new();
    let mut outputs = BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object() {
        for item in paths.values() {
            for (method, op) in item.as_object().into_iter().flatten() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                collect_refs(&op["requestBody"], &schemas, &mut inputs);
                collect_refs(&op["parameters"], &schemas, &mut inputs);
                collect_refs(&op["responses"], &schemas, &mut outputs);
            }
        }
    }
    for name in outputs.difference(&inputs) {
        if let Some(s) = doc["components"]["schemas"].get_mut(name) {
            require_nullable(s);
        }
    }
}

/// The names of the component schemas `v` refers to, directly or through others.
fn collect_refs(v: &Value, schemas: &Value, found: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(name) = m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
                && found.insert(name.to_owned())
            {
                collect_refs(&schemas[name], schemas, found);
            }
            for x in m.values() {
                collect_refs(x, schemas, found);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, schemas, found)),
        _ => {}
    }
}

fn require_nullable(s: &mut Value) {
    for k in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = s.get_mut(k).and_then(Value::as_array_mut) {
            parts.iter_mut().for_each(require_nullable);
        }
    }
    let Some(props) = s.get("properties").and_then(Value::as_object) else { return };
    let nullable: Vec<String> = props.iter().filter(|(_, p)| is_nullable(p)).map(|(k, _)| k.clone()).collect();
    if nullable.is_empty() {
        return;
    }
    let required = s.as_object_mut().map(|o| o.entry("required").or_insert_with(|| json!([])));
    if let Some(Value::Array(required)) = required {
        for name in nullable {
            if !required.iter().any(|r| r == &name) {
                required.push(Value::String(name));
            }
        }
    }
}
