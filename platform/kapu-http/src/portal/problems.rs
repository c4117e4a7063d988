//! Problems met on portal pages, shown as pages: a browser that posted a portal form gets a
//! page in its language saying what went wrong and what to do, never a problem document.
//! API clients (no `text/html` in `Accept`) still get `application/problem+json`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use minijinja::context;

use super::{language, render};
use crate::AppState;
use crate::problem::ProblemCode;
use crate::tenancy::ResolvedTenant;

/// Renders the problem of a portal response as a page, when a browser asked for one.
pub(crate) async fn problem_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let wants_page = wants_html(req.headers());
    let resolved = req.extensions().get::<ResolvedTenant>().cloned();
    let (lang, _) = language(&req);
    let res = next.run(req).await;
    let (Some(resolved), true) = (resolved, wants_page) else { return res };
    let Some(ProblemCode(code)) = res.extensions().get::<ProblemCode>().cloned() else { return res };
    let (heading, text) = wording(&lang, &code);
    let mut page = render(
        &state,
        &resolved,
        &lang,
        false,
        "message.html",
        res.status(),
        context! { heading, text, link => format!("{}/", resolved.prefix), link_text => home(&lang) },
    );
    if let Some(retry) = res.headers().get(header::RETRY_AFTER) {
        page.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    page
}

/// A browser navigating or posting a form asks for HTML first.
fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

fn home(lang: &str) -> &'static str {
    if lang == "en" { "Back to the home page" } else { "Vissza a kezdőlapra" }
}

/// The heading and the sentence for a problem code, in `lang` (Hungarian unless `en`).
pub(crate) fn wording(lang: &str, code: &str) -> (&'static str, &'static str) {
    let (hu, en) = match code {
        "unstorable-value" => (
            (
                "A megadott adat nem tárolható",
                "Valamelyik mezőben olyan vezérlőkarakter (NUL, U+0000) van, amelyet nem tudunk pontosan eltárolni. Semmi sem mentődött; törölje a karaktert, és küldje el újra.",
            ),
            (
                "A value cannot be stored",
                "One of the fields holds a control character (NUL, U+0000) that cannot be stored exactly. Nothing was saved; remove the character and send the form again.",
            ),
        ),
        "csrf" => (
            (
                "Az űrlap lejárt",
                "Az űrlap elküldése nem ebből a böngészőablakból vagy túl későn történt. Töltse be újra az oldalt, és próbálja meg ismét.",
            ),
            ("The form has expired", "The form was not sent from this page or was sent too late. Reload the page and try again."),
        ),
        "payload-too-large" | "quota-exceeded" => (
            ("Túl nagy feltöltés", "A feltöltött fájlok meghaladják a megengedett méretet vagy a tárhelykeretét. Semmi sem mentődött."),
            ("Upload too large", "The uploaded files exceed the size allowed or your storage quota. Nothing was saved."),
        ),
        "too-many-attempts" | "too-many-emails" => (
            ("Túl sok kérés", "Rövid időn belül túl sok kérés érkezett. Várjon egy kicsit, majd próbálja újra."),
            ("Too many requests", "Too many requests came in a short time. Wait a little and try again."),
        ),
        "unauthenticated" => (
            ("Jelentkezzen be", "Ehhez az oldalhoz be kell jelentkeznie, vagy a munkamenete lejárt."),
            ("Please sign in", "This page needs you to sign in, or your session has expired."),
        ),
        "forbidden" | "mfa-required" => {
            (("Nincs jogosultsága", "Ezt a műveletet nem végezheti el."), ("Not allowed", "You are not allowed to do this."))
        }
        "not-found" => {
            (("Nem található", "A keresett oldal vagy adat nem létezik."), ("Not found", "The page or item you asked for does not exist."))
        }
        "unavailable" | "tenant-suspended" => (
            ("A szolgáltatás átmenetileg nem érhető el", "Kérjük, próbálja újra néhány perc múlva."),
            ("The service is temporarily unavailable", "Please try again in a few minutes."),
        ),
        "local-system-failed" | "not-configured" => (
            ("Az önkormányzat rendszere nem válaszolt", "A kérést most nem tudtuk teljesíteni. Semmi sem mentődött; próbálja újra később."),
            ("The municipality's system did not answer", "We could not complete the request now. Nothing was saved; try again later."),
        ),
        _ => (
            ("Hiba történt", "A kérést nem tudtuk teljesíteni. Semmi sem mentődött; próbálja újra, vagy forduljon az ügyfélszolgálathoz."),
            ("Something went wrong", "We could not complete the request. Nothing was saved; try again or contact the help desk."),
        ),
    };
    if lang == "en" { en } else { hu }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worded_code_has_both_languages_and_they_differ() {
        for code in crate::problem::PROBLEM_CODES.iter().copied().chain(["some-future-code"]) {
            let (hu, en) = (wording("hu", code), wording("en", code));
            assert!(!hu.0.is_empty() && !hu.1.is_empty() && !en.0.is_empty() && !en.1.is_empty(), "{code}");
            assert_ne!(hu, en, "{code}");
        }
        assert_eq!(wording("hu", "unstorable-value").0, "A megadott adat nem tárolható");
    }

    #[test]
    fn only_browsers_get_pages() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8".parse().unwrap());
        assert!(wants_html(&h));
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert!(!wants_html(&h));
    }

    #[test]
    fn unknown_codes_still_get_a_sentence() {
        assert_eq!(wording("en", "some-future-code").0, "Something went wrong");
    }
}
