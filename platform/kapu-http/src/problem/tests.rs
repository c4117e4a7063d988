//! Field errors and problem codes, without a server.
use super::*;

fn errors_of(e: ApiError) -> Vec<FieldError> {
    match e {
        ApiError::Validation(e) => e,
        other => panic!("not a validation problem: {other:?}"),
    }
}

#[test]
fn serde_data_errors_become_coded_field_errors() {
    let e = errors_of(data_error("missing field `password` at line 1 column 20"));
    assert_eq!((e[0].field.as_str(), e[0].code), ("password", "required"));
    let e = errors_of(data_error("email: invalid type: integer `5`, expected a string at line 1 column 11"));
    assert_eq!((e[0].field.as_str(), e[0].code), ("email", "unreadable"));
    assert_eq!(e[0].args["detail"], "invalid type: integer `5`, expected a string at line 1 column 11");
}

#[test]
fn every_api_error_code_is_documented() {
    let all = [
        ApiError::BadHost(String::new()),
        ApiError::UnknownTenant(String::new()),
        ApiError::TenantSuspended,
        ApiError::NotFound(String::new()),
        ApiError::MalformedJson(String::new()),
        ApiError::UnsupportedMediaType,
        ApiError::PayloadTooLarge,
        ApiError::Validation(Vec::new()),
        ApiError::Unauthenticated,
        ApiError::InvalidCredentials,
        ApiError::InvalidTotp,
        ApiError::MfaRequired,
        ApiError::Forbidden,
        ApiError::Csrf,
        ApiError::TooManyAttempts(String::new()),
        ApiError::TooManyEmails(String::new()),
        ApiError::Conflict(String::new()),
        ApiError::NotConfigured(String::new()),
        ApiError::LocalSystem(String::new()),
        ApiError::UnstorableValue(String::new()),
        ApiError::Unavailable(String::new()),
        ApiError::QuotaExceeded(String::new()),
        ApiError::Internal(String::new()),
    ];
    for e in &all {
        let (code, _, _) = e.code_status();
        assert!(PROBLEM_CODES.contains(&code), "{code} is not in PROBLEM_CODES");
    }
}

#[test]
fn a_field_error_carries_the_code_its_arguments_and_english() {
    let f = FieldError::new("name", &Refusal::TooLong { max: 100 });
    assert_eq!((f.code, f.message.as_str()), ("too_long", "must be at most 100 characters"));
    assert_eq!(serde_json::Value::Object(f.args), serde_json::json!({"max": 100}));
}
