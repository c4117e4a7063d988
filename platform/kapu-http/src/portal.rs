//! The citizen portal: server-rendered pages (minijinja), Hungarian by default with an
//! English switch, in the tenant's name, crest and colours. Works without JavaScript.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, context};
use serde_json::Value;

use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

pub(crate) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in [
        ("base.html", include_str!("../templates/base.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("not_found.html", include_str!("../templates/not_found.html")),
    ] {
        // The templates are part of the binary; a syntax error fails the test suite.
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(template = name, error = %e, "portal template does not compile");
        }
    }
    env
}

fn texts(lang: &str) -> Value {
    let hu = lang == "hu";
    let t = |h: &str, e: &str| Value::String(if hu { h } else { e }.to_owned());
    serde_json::json!({
        "skip": t("Ugrás a tartalomra", "Skip to content"),
        "crest_alt": t("Címer", "Coat of arms"),
        "language_nav": t("Nyelv", "Language"),
        "home_title": t("Elektronikus ügyintézés", "Online services"),
        "home_intro": t(
            "Intézze ügyeit online, bármikor: adjon be kérelmet, fizessen, és kövesse ügyei állapotát.",
            "Handle your matters online at any time: file applications, pay fees, and follow your cases."),
        "card_cases": t("Ügyintézés", "Cases"),
        "card_cases_text": t("Kérelmek benyújtása és követése.", "File applications and follow them."),
        "card_payments": t("Befizetések", "Payments"),
        "card_payments_text": t("Díjak és illetékek befizetése bankkártyával vagy átutalással.", "Pay fees and duties by card or bank transfer."),
        "card_identity": t("Azonosítás", "Identification"),
        "card_identity_text": t("Belépés Ügyfélkapu+ azonosítással vagy személyesen az ügyfélszolgálaton.", "Sign in with the national login or identify yourself in person at the office."),
        "footer": t("Kapu e-ügyintézési platform", "Kapu e-government platform"),
        "staff_login": t("Belépés munkatársaknak", "Staff sign-in"),
        "not_found_title": t("Az oldal nem található", "Page not found"),
        "not_found_text": t("Ezen a címen nincs oldal.", "There is no page at this address."),
        "back_home": t("Vissza a kezdőlapra", "Back to the home page"),
    })
}

fn colour(settings: &Value, key: &str, default: &str) -> String {
    settings
        .pointer(&format!("/branding/{key}"))
        .and_then(Value::as_str)
        .filter(|c| c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit()))
        .unwrap_or(default)
        .to_owned()
}

fn language(req: &Request) -> (String, bool) {
    let query_lang = req.uri().query().and_then(|q| {
        q.split('&').find_map(|kv| match kv {
            "lang=en" => Some("en"),
            "lang=hu" => Some("hu"),
            _ => None,
        })
    });
    if let Some(l) = query_lang {
        return (l.to_owned(), true);
    }
    let cookie_lang =
        req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
            match kv.trim() {
                "kapu_lang=en" => Some("en"),
                _ => None,
            }
        });
    (cookie_lang.unwrap_or("hu").to_owned(), false)
}

pub(crate) async fn page(state: &AppState, resolved: &ResolvedTenant, req: Request) -> Response {
    let path = req.uri().path();
    let tenant = &resolved.tenant;
    if path == "/assets/crest.svg" || path == "/favicon.ico" {
        return match tenant.settings.pointer("/branding/crest_svg").and_then(Value::as_str) {
            Some(svg) => {
                ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=300")], svg.to_owned()).into_response()
            }
            None => ([(header::CONTENT_TYPE, "image/svg+xml")], DEFAULT_CREST).into_response(),
        };
    }
    let (lang, chosen) = language(&req);
    let (template, status) = match path {
        "/" => ("home.html", StatusCode::OK),
        _ if path.starts_with("/api/") => return ApiError::NotFound("no API endpoint at this path".into()).into_response(),
        _ => ("not_found.html", StatusCode::NOT_FOUND),
    };
    let ctx = context! {
        lang => &lang,
        t => texts(&lang),
        prefix => &resolved.prefix,
        tenant => context! { name => &tenant.name, slug => tenant.slug.as_str() },
        brand => context! {
            primary => colour(&tenant.settings, "primary_colour", "#1d4f91"),
            on_primary => colour(&tenant.settings, "on_primary_colour", "#ffffff"),
            accent => colour(&tenant.settings, "accent_colour", "#c8102e"),
        },
    };
    let html = match state.templates.get_template(template).and_then(|t| t.render(ctx)) {
        Ok(h) => h,
        Err(e) => return ApiError::Internal(format!("template {template}: {e}")).into_response(),
    };
    let mut res = (status, Html(html)).into_response();
    if chosen {
        let cookie = format!("kapu_lang={lang}; Path={}/; SameSite=Lax; Max-Age=31536000", resolved.prefix);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

pub(crate) const DEFAULT_CREST: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><path d="M8 6h48v26c0 14-11 22-24 28C19 54 8 46 8 32z" fill="#fff" stroke="#333" stroke-width="3"/></svg>"##;
