//! RFC 9457 problem details: the one place where errors become HTTP responses.
//!
//! Every error response is `application/problem+json` with a stable `type` URI of the form
//! `urn:kapu:problem:<code>`; clients may rely on the codes, not on `detail`'s wording.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kapu_core::Refusal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details document (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable problem type, e.g. `urn:kapu:problem:validation`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The same stable code without the URN prefix, e.g. `validation`: translate by it.
    #[schema(schema_with = problem_code_schema)]
    pub code: &'static str,
    /// The code's arguments, e.g. `{"retry_at": "2026-12-07T10:00:00Z"}` for
    /// `too-many-attempts` (empty when it has none).
    #[schema(value_type = Object)]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The request's id, as in the `x-request-id` header and the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field errors of a validation problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One field's error.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request body or query, e.g. `identity.birth_date`.
    pub field: String,
    /// Why it was refused: a stable code to translate by, e.g. `too_short`.
    #[schema(schema_with = refusal_code_schema)]
    pub code: &'static str,
    /// The code's arguments, e.g. `{"min": 5}` for `too_short` (empty when it has none).
    #[schema(value_type = Object)]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// What is wrong with it, in English (for developers and logs; UIs translate `code`).
    pub message: String,
    /// For errors in an uploaded file: the file's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// For errors in an uploaded file: the 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl FieldError {
    /// The error of `field`, refused for `reason`.
    pub fn new(field: impl Into<String>, reason: &Refusal) -> Self {
        Self { field: field.into(), code: reason.code(), args: reason.args(), message: reason.to_string(), file: None, line: None }
    }
}

/// Every problem code an answer can carry (the `type` URN's last part).
pub const PROBLEM_CODES: &[&str] = &[
    "bad-host",
    "unknown-tenant",
    "tenant-suspended",
    "not-found",
    "malformed-json",
    "unsupported-media-type",
    "payload-too-large",
    "validation",
    "unauthenticated",
    "invalid-credentials",
    "invalid-totp",
    "mfa-required",
    "forbidden",
    "csrf",
    "too-many-attempts",
    "too-many-emails",
    "conflict",
    "not-configured",
    "local-system-failed",
    "unstorable-value",
    "unavailable",
    "quota-exceeded",
    "internal",
    "method-not-allowed",
    "bad-request",
    "http-error",
    "not-ready",
];

/// The schema of [`Problem::code`]: every code of [`PROBLEM_CODES`].
fn problem_code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(PROBLEM_CODES.iter().copied()))
        .description(Some("The problem's stable code; translate by it."))
        .build()
}

/// The schema of [`FieldError::code`]: every [`Refusal`] code.
fn refusal_code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(Refusal::CODES.iter().copied()))
        .description(Some(refusal_code_description()))
        .build()
}

/// The codes with the names of their arguments, for the API document.
fn refusal_code_description() -> String {
    let mut text = String::from("Why the value was refused; translate by this code. Arguments (in `args`) per code: ");
    let with_args: Vec<String> = Refusal::samples()
        .iter()
        .filter_map(|r| {
            let args = r.args();
            (!args.is_empty()).then(|| format!("`{}` ({})", r.code(), args.keys().cloned().collect::<Vec<_>>().join(", ")))
        })
        .collect();
    text.push_str(&with_args.join("; "));
    text.push_str("; the others have none.");
    text
}

/// Every error a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The `Host` header is not exactly `host[:port]`; refused before any tenant is looked up.
    #[error("{0}")]
    BadHost(String),
    /// No tenant is known by that host or prefix (the text says where; never the host
    /// itself, so the answer does not repeat what the sender chose).
    #[error("no municipality is served at {0}")]
    UnknownTenant(String),
    /// The tenant is suspended.
    #[error("this municipality's service is suspended")]
    TenantSuspended,
    /// Nothing here.
    #[error("{0}")]
    NotFound(String),
    /// The body is not JSON or does not parse.
    #[error("{0}")]
    MalformedJson(String),
    /// The body is not `application/json`.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// The body is over the size limit.
    #[error("the request body is larger than this endpoint accepts")]
    PayloadTooLarge,
    /// Input failed validation.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// No (live) session.
    #[error("sign in first; the session is missing or has expired")]
    Unauthenticated,
    /// Wrong e-mail or password.
    #[error("the e-mail address or the password is wrong")]
    InvalidCredentials,
    /// Wrong or reused TOTP code.
    #[error("the one-time code is wrong or was already used")]
    InvalidTotp,
    /// The session still has to pass (or set up) the second factor.
    #[error("finish two-factor sign-in first")]
    MfaRequired,
    /// The role lacks the permission.
    #[error("your role does not allow this")]
    Forbidden,
    /// Missing or wrong CSRF token, or a cross-site request.
    #[error("the request's CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    /// Sign-in throttled (per account and network, network or account; not said which).
    #[error("too many attempts; try again after {0}")]
    TooManyAttempts(String),
    /// Too many e-mails asked for the address or from the network (the same answer whether
    /// or not an account has the address).
    #[error("too many e-mails were asked for; try again after {0}")]
    TooManyEmails(String),
    /// A duplicate or conflicting change.
    #[error("{0}")]
    Conflict(String),
    /// A connection this needs is not set up for the tenant (the message says what to do).
    #[error("{0}")]
    NotConfigured(String),
    /// A municipality's local system (through its plugin) failed; the detail says how.
    #[error("{0}")]
    LocalSystem(String),
    /// A value PostgreSQL cannot store exactly (text holding the NUL character); nothing was
    /// written.
    #[error("{0}")]
    UnstorableValue(String),
    /// The database cannot be reached in time.
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(String),
    /// The files would take the client past their storage quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Something on our side; details are in the log under the request id.
    #[error("an internal error occurred")]
    Internal(String),
}

impl ApiError {
    fn code_status(&self) -> (&'static str, &'static str, StatusCode) {
        use ApiError::*;
        match self {
            BadHost(_) => ("bad-host", "Malformed Host header", StatusCode::BAD_REQUEST),
            UnknownTenant(_) => ("unknown-tenant", "Unknown municipality", StatusCode::NOT_FOUND),
            TenantSuspended => ("tenant-suspended", "Municipality suspended", StatusCode::SERVICE_UNAVAILABLE),
            NotFound(_) => ("not-found", "Not found", StatusCode::NOT_FOUND),
            MalformedJson(_) => ("malformed-json", "Malformed JSON", StatusCode::BAD_REQUEST),
            UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            PayloadTooLarge => ("payload-too-large", "Payload too large", StatusCode::PAYLOAD_TOO_LARGE),
            Validation(_) => ("validation", "Invalid input", StatusCode::UNPROCESSABLE_ENTITY),
            Unauthenticated => ("unauthenticated", "Not signed in", StatusCode::UNAUTHORIZED),
            InvalidCredentials => ("invalid-credentials", "Wrong credentials", StatusCode::UNAUTHORIZED),
            InvalidTotp => ("invalid-totp", "Wrong one-time code", StatusCode::UNAUTHORIZED),
            MfaRequired => ("mfa-required", "Second factor required", StatusCode::FORBIDDEN),
            Forbidden => ("forbidden", "Forbidden", StatusCode::FORBIDDEN),
            Csrf => ("csrf", "CSRF check failed", StatusCode::FORBIDDEN),
            TooManyAttempts(_) => ("too-many-attempts", "Too many attempts", StatusCode::TOO_MANY_REQUESTS),
            TooManyEmails(_) => ("too-many-emails", "Too many e-mails", StatusCode::TOO_MANY_REQUESTS),
            Conflict(_) => ("conflict", "Conflict", StatusCode::CONFLICT),
            NotConfigured(_) => ("not-configured", "Not configured", StatusCode::CONFLICT),
            LocalSystem(_) => ("local-system-failed", "Local system failed", StatusCode::BAD_GATEWAY),
            UnstorableValue(_) => ("unstorable-value", "Value cannot be stored", StatusCode::UNPROCESSABLE_ENTITY),
            Unavailable(_) => ("unavailable", "Service unavailable", StatusCode::SERVICE_UNAVAILABLE),
            QuotaExceeded(_) => ("quota-exceeded", "Storage quota exceeded", StatusCode::PAYLOAD_TOO_LARGE),
            Internal(_) => ("internal", "Internal error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// One validation error.
    pub fn field(field: &str, reason: Refusal) -> Self {
        Self::Validation(vec![FieldError::new(field, &reason)])
    }
}

/// The stable code of a problem response, kept on the response so that the portal can show
/// the problem as a page in the visitor's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemCode(pub String);

/// A problem response with the given code, title, status and detail.
pub fn problem_response(code: &'static str, title: &str, status: StatusCode, detail: String, errors: Vec<FieldError>) -> Response {
    problem_with_args(code, serde_json::Map::new(), title, status, detail, errors)
}

/// A problem response whose code has arguments.
pub fn problem_with_args(
    code: &'static str,
    args: serde_json::Map<String, serde_json::Value>,
    title: &str,
    status: StatusCode,
    detail: String,
    errors: Vec<FieldError>,
) -> Response {
    debug_assert!(PROBLEM_CODES.contains(&code), "{code} is not in PROBLEM_CODES");
    let body = Problem {
        type_: format!("urn:kapu:problem:{code}"),
        code,
        args,
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        request_id: None,
        errors,
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    // `title` and `detail` are English; UIs translate by the stable `type`.
    res.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
    res.extensions_mut().insert(ProblemCode(code.to_owned()));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, title, status) = self.code_status();
        if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = &self {
            // The cause goes to the log (under the request id), never to the client.
            tracing::error!(error = %cause, "request failed");
        }
        let errors = match &self {
            ApiError::Validation(e) => e.clone(),
            _ => Vec::new(),
        };
        let retry_after = match &self {
            // Whole seconds, rounded up, so a client that waits exactly that long gets through.
            ApiError::TooManyAttempts(until) | ApiError::TooManyEmails(until) => chrono::DateTime::parse_from_rfc3339(until)
                .ok()
                .map(|u| ((u.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() + 999).div_euclid(1000).max(1)),
            _ => None,
        };
        let detail = match &self {
            ApiError::Validation(e) if !e.is_empty() => e
                .iter()
                .map(|f| match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}: {}: {}", f.field, f.message),
                    (Some(file), None) => format!("{file}: {}: {}", f.field, f.message),
                    _ => format!("{}: {}", f.field, f.message),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let mut args = serde_json::Map::new();
        if let ApiError::TooManyAttempts(until) | ApiError::TooManyEmails(until) = &self {
            args.insert("retry_at".into(), serde_json::Value::String(until.clone()));
        }
        let mut res = problem_with_args(code, args, title, status, detail, errors);
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

mod domain;
#[cfg(test)]
mod rendering_tests;

/// A JSON body whose every rejection is a specific problem.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(ApiError::MalformedJson(format!("the body is not valid JSON: {}", source_text(&e))))
            }
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&source_text(&e))),
            Err(JsonRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(other) => Err(ApiError::MalformedJson(other.body_text())),
        }
    }
}

fn source_text(e: &dyn std::error::Error) -> String {
    let mut s = e.source().map(ToString::to_string).unwrap_or_else(|| e.to_string());
    s.truncate(300);
    s
}

/// serde reports "field: message at line x column y"; turn it into a field error.
fn data_error(text: &str) -> ApiError {
    let (field, message) = match text.split_once(": ") {
        Some((path, msg)) if !path.contains(' ') => (path.to_owned(), msg.to_owned()),
        _ => {
            let field = text.split('`').nth(1).filter(|_| text.starts_with("missing field")).unwrap_or("body").to_owned();
            (field, text.to_owned())
        }
    };
    let reason = if message.starts_with("missing field") { Refusal::Required } else { Refusal::Unreadable { detail: message } };
    ApiError::Validation(vec![FieldError::new(field, &reason)])
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Marks a response as a protocol's own error format (OAuth's JSON errors), which
/// [`problemize`] leaves as it is.
#[derive(Clone, Copy, Debug)]
pub struct ProtocolError;

/// Turns any error response that is not yet a problem (axum's own 404/405/413, a panic's
/// 500, …) into one, and stamps every problem with the request id.
pub async fn problemize(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.extensions().get::<ProtocolError>().is_some() {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    let is_problem = content_type == PROBLEM_JSON.as_bytes();
    // The portal answers people with pages of its own (a form with its errors, say).
    if content_type.starts_with(b"text/html") {
        return res;
    }
    let res = if is_problem {
        res
    } else {
        let (code, title, detail) = match status {
            StatusCode::NOT_FOUND => ("not-found", "Not found", "nothing is served at this path".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed", format!("{method} is not allowed at this path")),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload-too-large", "Payload too large", "the request body is larger than this endpoint accepts".to_owned())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type", "send the body as application/json".to_owned())
            }
            StatusCode::BAD_REQUEST => ("bad-request", "Bad request", "the request could not be understood".to_owned()),
            s if s.is_server_error() => ("internal", "Internal error", "an internal error occurred".to_owned()),
            s => ("http-error", s.canonical_reason().unwrap_or("Error"), format!("the request failed with status {}", s.as_u16())),
        };
        let mut new = problem_response(code, title, status, detail, Vec::new());
        for (k, v) in res.headers() {
            if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
                new.headers_mut().insert(k, v.clone());
            }
        }
        new
    };
    match request_id {
        Some(id) => add_request_id(res, id).await,
        None => res,
    }
}

async fn add_request_id(res: Response, id: String) -> Response {
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("request_id".into(), serde_json::Value::String(id));
    }
    let body = serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec());
    let mut res = Response::from_parts(parts, axum::body::Body::from(body));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    res
}

#[cfg(test)]
mod tests;
