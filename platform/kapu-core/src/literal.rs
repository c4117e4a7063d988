//! Values as SQL literals that PostgreSQL reads back exactly as they were sent.
//!
//! The one-message paths (`read.rs`, [`TenantTx::run`](crate::TenantTx::run)) send values
//! inside the SQL text. sea-query's own quoting is not exact for PostgreSQL: it writes
//! MySQL-style escapes (`\z` for U+001A, `\b`, …) into an `E''` literal, and PostgreSQL
//! reads `\z` as `z`. So values are written here instead:
//!
//! - A string with no backslash is `'…'` with each `'` doubled; one with a backslash is
//!   `E'…'` with each `\` and `'` doubled. PostgreSQL reads both the same way whatever
//!   `standard_conforming_strings` is set to, and every other character (control
//!   characters included) stands for itself.
//! - Bytes are `E'\\x…'` (hex), a number below zero is parenthesised (so that `a-$1` cannot
//!   become the comment `a--1`), and a float that is not finite is quoted (`'NaN'`).
//! - NUL (U+0000) cannot be stored in PostgreSQL's text or jsonb, so a string, a JSON value
//!   holding it anywhere (a key or a string) or an array with such an element is refused
//!   with [`CoreError::UnstorableValue`] before anything is sent.
//!
//! Other values (dates, times, UUIDs, decimals) contain no text of the caller's and are
//! written as sea-query writes them.

use std::fmt::Write as _;

use sea_query::{PostgresQueryBuilder, QueryBuilder, Token, Tokenizer, Value};

use crate::{CoreError, CoreResult};

/// `sql` with each `$n` placeholder replaced by the literal of `values[n - 1]`.
///
/// # Errors
/// [`CoreError::UnstorableValue`] for a value PostgreSQL cannot store exactly.
///
/// # Panics
/// When the text names a placeholder with no value (a programming error).
pub(crate) fn inline(sql: &str, values: &[Value]) -> CoreResult<String> {
    let mut out = String::with_capacity(sql.len() + 16 * values.len());
    let mut tokens = Tokenizer::new(sql).iter().peekable();
    while let Some(token) = tokens.next() {
        if matches!(&token, Token::Punctuation(p) if p == "$")
            && let Some(Token::Unquoted(next)) = tokens.peek()
            && let Ok(n) = next.parse::<usize>()
        {
            let value = n.checked_sub(1).and_then(|i| values.get(i));
            #[allow(clippy::panic)]
            let Some(value) = value else { panic!("placeholder ${n} has no value in {sql:?}") };
            write_literal(value, &mut out)?;
            tokens.next();
            continue;
        }
        out.push_str(&token.to_string());
    }
    Ok(out)
}

/// The parenthesised argument list of an `EXECUTE` (empty without values).
pub(crate) fn arguments(values: &[Value]) -> CoreResult<String> {
    if values.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_literal(v, &mut out)?;
    }
    out.push(')');
    Ok(out)
}

/// Refuses a value that PostgreSQL cannot store exactly, without writing it anywhere.
pub(crate) fn check(value: &Value) -> CoreResult<()> {
    match value {
        Value::String(Some(s)) if s.contains('\0') => Err(CoreError::UnstorableValue("a text value contains the NUL character")),
        Value::Char(Some('\0')) => Err(CoreError::UnstorableValue("a text value contains the NUL character")),
        Value::Json(Some(j)) if json_has_nul(j) => Err(CoreError::UnstorableValue("a JSON value contains the NUL character")),
        Value::Array(_, Some(items)) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

fn json_has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => false,
    }
}

/// Writes `value` as a literal PostgreSQL reads back exactly.
pub(crate) fn write_literal(value: &Value, out: &mut String) -> CoreResult<()> {
    check(value)?;
    match value {
        Value::String(Some(s)) => quote(s, out),
        Value::Char(Some(c)) => quote(c.encode_utf8(&mut [0; 4]), out),
        Value::Json(Some(j)) => quote(&j.to_string(), out),
        Value::Bytes(Some(b)) => {
            out.push_str("E'\\\\x");
            for byte in b.iter() {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('\'');
        }
        Value::TinyInt(Some(n)) => signed(i64::from(*n), out),
        Value::SmallInt(Some(n)) => signed(i64::from(*n), out),
        Value::Int(Some(n)) => signed(i64::from(*n), out),
        Value::BigInt(Some(n)) => signed(*n, out),
        Value::Float(Some(f)) => float(f64::from(*f), &f.to_string(), out),
        Value::Double(Some(f)) => float(*f, &f.to_string(), out),
        Value::Decimal(Some(d)) if d.is_sign_negative() => {
            let _ = write!(out, "({d})");
        }
        Value::Array(_, Some(items)) if !items.is_empty() => {
            out.push_str("ARRAY [");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_literal(item, out)?;
            }
            out.push(']');
        }
        other => out.push_str(&PostgresQueryBuilder.value_to_string(other)),
    }
    Ok(())
}

/// A string literal: `'…'`, or `E'…'` when it holds a backslash.
fn quote(s: &str, out: &mut String) {
    if s.contains('\\') {
        out.push_str("E'");
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("''"),
                c => out.push(c),
            }
        }
    } else {
        out.push('\'');
        for c in s.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
    }
    out.push('\'');
}

fn signed(n: i64, out: &mut String) {
    if n < 0 {
        let _ = write!(out, "({n})");
    } else {
        let _ = write!(out, "{n}");
    }
}

fn float(f: f64, shown: &str, out: &mut String) {
    if f.is_nan() {
        out.push_str("'NaN'");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "'Infinity'" } else { "'-Infinity'" });
    } else if f.is_sign_negative() {
        let _ = write!(out, "({shown})");
    } else {
        out.push_str(shown);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn lit(v: impl Into<Value>) -> String {
        let mut s = String::new();
        write_literal(&v.into(), &mut s).unwrap();
        s
    }

    #[test]
    fn strings_are_quoted_without_escapes_that_change_them() {
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(lit("a\u{1a}b\u{8}\t\n\r\"z"), "'a\u{1a}b\u{8}\t\n\r\"z'");
        assert_eq!(lit("back\\slash'"), "E'back\\\\slash'''");
        assert_eq!(lit("$$ x $$"), "'$$ x $$'");
    }

    #[test]
    fn nul_is_refused_anywhere() {
        let refused = |v: Value| matches!(write_literal(&v, &mut String::new()), Err(CoreError::UnstorableValue(_)));
        assert!(refused("a\0b".into()));
        assert!(refused(serde_json::json!({"a": ["x", "\u{0}"]}).into()));
        assert!(refused(serde_json::json!({"k\u{0}": 1}).into()));
        assert!(refused(crate::text_array([Some("ok"), Some("n\0")])));
        assert!(!refused(serde_json::json!({"a": ["x\u{1}"]}).into()));
    }

    #[test]
    fn numbers_cannot_merge_with_the_text_around_them() {
        assert_eq!(inline("SELECT 1-$1, $2", &[(-5i64).into(), 3i32.into()]).unwrap(), "SELECT 1-(-5), 3");
        assert_eq!(lit(f64::NAN), "'NaN'");
        assert_eq!(lit(f64::NEG_INFINITY), "'-Infinity'");
        assert_eq!(lit(-0.5f64), "(-0.5)");
        assert_eq!(lit(vec![0u8, 0xab]), "E'\\\\x00ab'");
    }

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(inline("SELECT $2, $1, $1", &["a".into(), "b".into()]).unwrap(), "SELECT 'b', 'a', 'a'");
    }
}
