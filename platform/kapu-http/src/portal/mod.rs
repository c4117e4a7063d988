//! The citizen portal: server-rendered pages (minijinja), Hungarian by default with an
//! English switch, in the tenant's name, crest and colours. Works without JavaScript.

pub(crate) mod account;
mod cases;
pub(crate) mod documents;
mod kau;
mod problems;
mod refusals;
mod uploads;

/// The portal's routes; a problem met on them is shown to a browser as a page
/// ([`problems::problem_pages`]).
pub(crate) fn routes(state: &AppState, upload_limit: usize) -> axum::Router<AppState> {
    account::routes()
        .merge(kau::routes())
        .merge(cases::routes(upload_limit))
        .merge(documents::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), problems::problem_pages))
}

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
        ("base.html", include_str!("../../templates/base.html")),
        ("forms.html", include_str!("../../templates/forms.html")),
        ("home.html", include_str!("../../templates/home.html")),
        ("not_found.html", include_str!("../../templates/not_found.html")),
        ("register.html", include_str!("../../templates/register.html")),
        ("login.html", include_str!("../../templates/login.html")),
        ("forgot.html", include_str!("../../templates/forgot.html")),
        ("reset.html", include_str!("../../templates/reset.html")),
        ("profile.html", include_str!("../../templates/profile.html")),
        ("erased.html", include_str!("../../templates/erased.html")),
        ("message.html", include_str!("../../templates/message.html")),
        ("kau_refused.html", include_str!("../../templates/kau_refused.html")),
        ("consent.html", include_str!("../../templates/consent.html")),
        ("logout.html", include_str!("../../templates/logout.html")),
        ("documents.html", include_str!("../../templates/documents.html")),
        ("case_types.html", include_str!("../../templates/case_types.html")),
        ("application.html", include_str!("../../templates/application.html")),
        ("my_cases.html", include_str!("../../templates/my_cases.html")),
        ("my_case.html", include_str!("../../templates/my_case.html")),
    ] {
        // The templates are part of the binary; a syntax error fails the test suite.
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(template = name, error = %e, "portal template does not compile");
        }
    }
    env
}

/// The portal's dictionary in `lang` (Hungarian unless `en`), built once per language.
fn texts(lang: &str) -> &'static Value {
    static HU: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    static EN: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let hu = lang != "en";
    (if hu { &HU } else { &EN }).get_or_init(|| build_texts(hu))
}

fn build_texts(hu: bool) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("skip", "Ugrás a tartalomra", "Skip to content"),
        ("crest_alt", "Címer", "Coat of arms"),
        ("language_nav", "Nyelv", "Language"),
        ("home_title", "Elektronikus ügyintézés", "Online services"),
        (
            "home_intro",
            "Intézze ügyeit online, bármikor: adjon be kérelmet, fizessen, és kövesse ügyei állapotát.",
            "Handle your matters online at any time: file applications, pay fees, and follow your cases.",
        ),
        ("card_cases", "Ügyintézés", "Cases"),
        ("card_cases_text", "Kérelmek benyújtása és követése.", "File applications and follow them."),
        ("card_payments", "Befizetések", "Payments"),
        (
            "card_payments_text",
            "Díjak és illetékek befizetése bankkártyával vagy átutalással.",
            "Pay fees and duties by card or bank transfer.",
        ),
        ("card_identity", "Azonosítás", "Identification"),
        (
            "card_identity_text",
            "Belépés Ügyfélkapu+ azonosítással vagy személyesen az ügyfélszolgálaton.",
            "Sign in with the national login or identify yourself in person at the office.",
        ),
        ("footer", "Kapu e-ügyintézési platform", "Kapu e-government platform"),
        ("case_types_title", "Ügyintézés: kérelmek", "Cases: applications"),
        ("sign_in_to_apply", "Kérelem beadásához lépjen be.", "Sign in to file an application."),
        ("no_case_types", "Jelenleg nincs online intézhető ügy.", "No case can be filed online at the moment."),
        ("my_cases_title", "Ügyeim", "My cases"),
        ("new_application", "Új kérelem", "New application"),
        ("no_cases", "Még nincs ügye.", "You have no cases yet."),
        ("case_number", "Ügyszám", "Case number"),
        ("file_number", "Iktatószám", "File number"),
        ("permit_id", "Várakozási hozzájárulás azonosítója", "Parking permit number"),
        ("permit_zone", "Várakozási övezet", "Parking zone"),
        ("case_type", "Ügytípus", "Case type"),
        ("case_state", "Állapot", "State"),
        ("draft_continue", "Piszkozat folytatása", "Continue the draft"),
        ("optional", "nem kötelező", "optional"),
        ("choose", "Válasszon…", "Choose…"),
        ("postcode", "Irányítószám", "Postcode"),
        ("city", "Település", "Settlement"),
        ("street", "Közterület és házszám", "Street and number"),
        ("file_hint", "Elfogadott fájltípusok:", "Accepted file types:"),
        ("file_attached", "Már csatolva:", "Already attached:"),
        ("file_remove", "eltávolítás", "remove"),
        ("max_size", "legfeljebb", "at most"),
        ("needs_level", "Az ügy intézéséhez szükséges azonosítási szint:", "This case needs the identification level:"),
        ("fee_label", "Díj:", "Fee:"),
        ("no_fee", "díjmentes", "free of charge"),
        ("add_row", "Újabb sor hozzáadása", "Add another row"),
        ("submit_application", "Kérelem beküldése", "Submit the application"),
        ("save_draft", "Mentés piszkozatként", "Save as a draft"),
        (
            "draft_saved",
            "A piszkozatot elmentettük; a csatolt fájlokat beküldéskor adja meg.",
            "The draft is saved; attach the files when you submit.",
        ),
        (
            "err_quota",
            "A fájlok nem férnek el a tárhelykeretében: ezek {adding} helyet foglalnának, a {quota} keretből már {used} foglalt. Töröljön fájlokat a piszkozataiból, vagy küldjön kisebbeket.",
            "The files do not fit in your storage quota: they would take {adding}, and {used} of your {quota} is used already. Remove files from your drafts or send smaller ones.",
        ),
        (
            "err_stale_form",
            "Az űrlap időközben megváltozott; töltse ki újra a jelenlegi változatot.",
            "The form has changed in the meantime; fill in the current version again.",
        ),
        ("filed_title", "Kérelmét beküldte", "Your application is submitted"),
        ("filed_text", "Az ügyszámot e-mailben is elküldtük.", "We have also sent you the case number by e-mail."),
        ("due_label", "Ügyintézési határidő", "Deadline for the decision"),
        ("awaiting_payment_text", "Az ügy a díj befizetése után folytatódik.", "The case continues once the fee is paid."),
        ("decision_granted", "Döntés: a kérelemnek helyt adtunk.", "Decision: the application is granted."),
        ("decision_refused", "Döntés: a kérelmet elutasítottuk.", "Decision: the application is refused."),
        ("request_title", "Hiánypótlás", "Missing information"),
        ("request_due", "Határidő:", "Answer by:"),
        ("answer_label", "Válasza", "Your answer"),
        ("answer_button", "Válasz beküldése", "Send the answer"),
        ("answer_title", "Hiánypótlás", "Missing information"),
        ("err_answer_empty", "Írja meg a választ a hiánypótlási felhívásra.", "Write your answer to the request."),
        ("back_to_case", "Vissza az ügyhöz", "Back to the case"),
        ("history_title", "Az ügy története", "History of the case"),
        ("withdraw_button", "Kérelem visszavonása", "Withdraw the application"),
        ("staff_login", "Belépés munkatársaknak", "Staff sign-in"),
        ("not_found_title", "Az oldal nem található", "Page not found"),
        ("not_found_text", "Ezen a címen nincs oldal.", "There is no page at this address."),
        ("back_home", "Vissza a kezdőlapra", "Back to the home page"),
        ("account_nav", "Fiók", "Account"),
        ("login_link", "Belépés", "Sign in"),
        ("register_link", "Regisztráció", "Register"),
        ("profile_link", "Adataim", "My account"),
        ("error_prefix", "Hiba:", "Error:"),
        ("error_summary", "A kérés nem teljesíthető", "There is a problem"),
        ("field_name", "Név", "Name"),
        ("field_email", "E-mail-cím", "E-mail address"),
        ("field_password", "Jelszó", "Password"),
        ("field_new_password", "Új jelszó", "New password"),
        (
            "password_hint",
            "Legalább 10 karakter, ne legyen könnyen kitalálható (például ne a neve vagy az e-mail-címe).",
            "At least 10 characters, and not easy to guess (not your name or e-mail address, for example).",
        ),
        ("register_title", "Regisztráció", "Register"),
        (
            "register_intro",
            "A regisztráció után e-mailben küldünk egy hivatkozást, amellyel megerősítheti az e-mail-címét.",
            "After registering you get an e-mail with a link to confirm your address.",
        ),
        ("register_button", "Regisztrálok", "Register"),
        ("have_account", "Már van fiókja?", "Already have an account?"),
        ("no_account", "Még nincs fiókja?", "No account yet?"),
        ("login_title", "Belépés", "Sign in"),
        ("login_button", "Belépés", "Sign in"),
        ("forgot_link", "Elfelejtette a jelszavát?", "Forgot your password?"),
        ("forgot_title", "Elfelejtett jelszó", "Forgotten password"),
        (
            "forgot_intro",
            "Adja meg az e-mail-címét; ha tartozik hozzá fiók, küldünk egy hivatkozást új jelszó beállításához.",
            "Enter your e-mail address; if it has an account, we send a link to set a new password.",
        ),
        ("forgot_button", "Hivatkozás küldése", "Send the link"),
        ("reset_title", "Új jelszó beállítása", "Set a new password"),
        ("reset_button", "Jelszó mentése", "Save the password"),
        ("profile_title", "Adataim", "My account"),
        ("level_label", "Azonosítási szint", "Identification level"),
        ("level_registered", "Regisztrált (e-mail-cím megerősítve)", "Registered (e-mail address confirmed)"),
        ("level_in_person", "Személyesen azonosított", "Identified in person"),
        ("level_kau", "Ügyfélkapu+ (KAÜ) azonosítással azonosított", "Identified through the national login (KAÜ)"),
        (
            "level_hint",
            "Egyes ügyek intézéséhez magasabb azonosítási szint kell: azonosítsa magát Ügyfélkapu+ belépéssel vagy személyesen az ügyfélszolgálaton.",
            "Some cases need a higher level: identify yourself through the national login or in person at the office.",
        ),
        ("acting_title", "Kinek a nevében jár el", "On whose behalf you act"),
        ("acting_self", "Saját nevemben", "On my own behalf"),
        ("acting_button", "Kiválasztás", "Choose"),
        ("acting_now", "Most ennek a nevében jár el:", "You now act on behalf of:"),
        (
            "err_no_mandate",
            "Nincs érvényes meghatalmazása ennek az ügyfélnek a képviseletére",
            "You hold no valid mandate to act for this client",
        ),
        ("privacy_title", "Adatvédelem", "Privacy"),
        ("download_link", "Minden adatom letöltése (JSON)", "Download all my data (JSON)"),
        ("erase_title", "Fiók törlése", "Delete my account"),
        (
            "erase_intro",
            "A törlés végleges. Amit jogszabály nem ír elő megőrzésre, azt töröljük; a megőrzött adatokat és az okukat a törlés után megmutatjuk.",
            "Deletion is final. We erase what no legal rule obliges us to keep, and show you afterwards what we kept and why.",
        ),
        ("erase_password", "Jelszava a megerősítéshez", "Your password, to confirm"),
        ("erase_button", "Fiókom végleges törlése", "Delete my account for good"),
        ("erased_title", "Fiókját töröltük", "Your account is deleted"),
        ("erased_removed", "Töröltük:", "Erased:"),
        ("erased_kept", "Megőriztük:", "Kept:"),
        ("kept_audit_log", "Az adataihoz való hozzáférések naplója", "The log of access to your data"),
        ("kept_client_record", "Ügyfél-nyilvántartási adatai", "Your client record"),
        ("err_wrong_password", "A jelszó nem egyezik; a fiókot nem töröltük", "The password does not match; the account was not deleted"),
        ("logout_button", "Kilépés", "Sign out"),
        ("check_mail_title", "Nézze meg a postafiókját", "Check your mailbox"),
        (
            "check_mail_text",
            "Elküldtük a megerősítő hivatkozást a megadott e-mail-címre. A hivatkozás 24 óráig érvényes.",
            "We have sent a confirmation link to the address you gave. The link is valid for 24 hours.",
        ),
        ("verified_title", "E-mail-cím megerősítve", "E-mail address confirmed"),
        (
            "verified_text",
            "Köszönjük, e-mail-címét megerősítettük. Most már beléphet.",
            "Thank you, your address is confirmed. You can now sign in.",
        ),
        ("reset_sent_title", "Nézze meg a postafiókját", "Check your mailbox"),
        (
            "reset_sent_text",
            "Ha ehhez a címhez tartozik fiók, elküldtük rá az új jelszó beállításához szükséges hivatkozást. A hivatkozás egy óráig érvényes.",
            "If this address has an account, we have sent it a link to set a new password. The link is valid for one hour.",
        ),
        ("reset_done_title", "Jelszó megváltoztatva", "Password changed"),
        (
            "reset_done_text",
            "Új jelszavát elmentettük; minden korábbi belépését megszüntettük.",
            "Your new password is saved; all earlier sessions were ended.",
        ),
        ("link_invalid_title", "A hivatkozás nem érvényes", "The link is not valid"),
        ("err_email", "Adjon meg egy érvényes e-mail-címet, például nev@example.hu", "Enter a valid e-mail address, like name@example.com"),
        (
            "err_invalid_link",
            "A hivatkozás érvénytelen, már felhasználták vagy lejárt; kérjen újat",
            "The link is invalid, already used or expired; ask for a new one",
        ),
        ("err_credentials", "Az e-mail-cím vagy a jelszó hibás", "The e-mail address or the password is wrong"),
        (
            "err_unverified",
            "Először erősítse meg az e-mail-címét a regisztrációkor küldött hivatkozással",
            "Confirm your e-mail address first, with the link we sent when you registered",
        ),
        (
            "err_locked",
            "Túl sok sikertelen próbálkozás; próbálja újra néhány perc múlva",
            "Too many failed attempts; try again in a few minutes",
        ),
        (
            "err_too_many_mails",
            "Erre a címre vagy erről a hálózatról túl sok levelet kértek; próbálja újra később",
            "Too many e-mails have been asked for this address or from this network; try again later",
        ),
        ("too_many_mails_title", "Túl sok kérés", "Too many requests"),
        ("err_csrf", "Az űrlap lejárt; töltse ki újra", "The form has expired; fill it in again"),
        ("documents_link", "Dokumentumaim", "My documents"),
        ("documents_title", "Dokumentumaim", "My documents"),
        (
            "documents_intro",
            "Az önkormányzat által Önnek kiadott, elektronikusan hitelesített dokumentumok. Egy határozat első letöltésével a határozat kézbesítetté válik.",
            "Documents the municipality issued to you, sealed electronically. The first download of a decision is its delivery.",
        ),
        ("documents_none", "Még nincs kiadott dokumentuma.", "No document has been issued to you yet."),
        (
            "documents_unlinked",
            "Fiókja még nincs ügyfélhez kapcsolva: azonosítsa magát Ügyfélkapu+ belépéssel vagy személyesen az ügyfélszolgálaton.",
            "Your account is not linked to a client yet: identify yourself through the national login or in person at the office.",
        ),
        ("kind_decision", "Határozat", "Decision"),
        ("case_document", "A döntés dokumentuma", "The decision document"),
        ("case_document_download", "A határozat letöltése (PDF, hitelesítve)", "Download the decision (PDF, sealed)"),
        (
            "case_document_waiting",
            "A döntést hitelesítjük és időbélyeggel látjuk el; amint elkészül, itt letöltheti, és e-mailt is küldünk róla.",
            "The decision is being sealed and time-stamped; once it is ready you can download it here, and we e-mail you.",
        ),
        (
            "case_document_failed",
            "A döntés dokumentumának kiadása akadályba ütközött; ügyintézőnk intézkedik.",
            "Issuing the decision document ran into a problem; the office is dealing with it.",
        ),
        ("case_document_issued", "Kiadva:", "Issued:"),
        ("kind_simplified_decision", "Egyszerűsített határozat", "Simplified decision"),
        ("kind_download_certificate", "Letöltési igazolás", "Download certificate"),
        ("doc_kind", "Fajta", "Kind"),
        ("doc_subject_ref", "Ügyszám", "Case number"),
        ("doc_issued_at", "Kiadva", "Issued"),
        ("doc_state", "Kézbesítés", "Delivery"),
        ("doc_sha256", "SHA-256 lenyomat", "SHA-256 hash"),
        ("state_downloaded", "Kézbesítve (letöltve)", "Delivered (downloaded)"),
        ("state_deemed", "Kézbesítettnek minősül", "Deemed delivered"),
        ("state_waiting", "Még nem töltötte le.", "Not downloaded yet."),
        (
            "state_waiting_hint",
            "Ha a kiadástól számított {n} munkanapon belül nem tölti le, az azt követő napon kézbesítettnek minősül.",
            "Unless you download it within {n} working days of its issue, it is deemed delivered on the following day.",
        ),
        ("doc_download", "Letöltés (PDF)", "Download (PDF)"),
        ("doc_request_certificate", "Letöltési igazolás kérése", "Request a download certificate"),
        (
            "doc_certificate_pending",
            "A letöltési igazolás készül; hamarosan itt letöltheti, és e-mailt is küldünk róla.",
            "The download certificate is being issued; it appears here shortly, and we e-mail you.",
        ),
        ("doc_certificate_download", "Letöltési igazolás letöltése (PDF)", "Download the download certificate (PDF)"),
        ("certificate_refused_title", "Letöltési igazolás nem kérhető", "No download certificate yet"),
        (
            "certificate_refused_text",
            "Letöltési igazolás csak a címzett vagy képviselője által már letöltött határozatról kérhető.",
            "A download certificate can be requested only for a decision the addressee or a representative has downloaded.",
        ),
        ("documents_back", "Vissza a dokumentumokhoz", "Back to the documents"),
        ("kau_login_button", "Belépés KAÜ-val", "Sign in with KAÜ"),
        (
            "kau_login_intro",
            "Ügyfélkapu+, DÁP-alkalmazás vagy eSzemélyi: a központi azonosítással belép és egyben azonosítja is magát.",
            "Ügyfélkapu+, the DÁP app or the eID card: the national login signs you in and identifies you at the same time.",
        ),
        ("kau_identify_button", "Azonosítás KAÜ-val", "Identify yourself with KAÜ"),
        ("kau_or", "vagy", "or"),
        ("kau_failed_title", "A KAÜ-belépés nem sikerült", "Sign-in through KAÜ failed"),
        ("kau_nothing_changed", "Nem léptettük be, és semmit nem változtattunk.", "You are not signed in, and nothing was changed."),
        ("kau_code_label", "Hibakód", "Error code"),
        ("kau_back", "Vissza a belépéshez", "Back to sign-in"),
        (
            "err_kau_not_configured",
            "Ennél az önkormányzatnál a KAÜ-belépés nincs beállítva.",
            "The national login (KAÜ) is not set up for this municipality.",
        ),
        (
            "err_kau_config",
            "A KAÜ-belépés beállítása hibás; kérjük, jelezze az önkormányzatnak.",
            "The national login is misconfigured; please tell the municipality.",
        ),
        (
            "err_kau_malformed",
            "A KAÜ-tól érkezett válasz hibás formátumú (nem olvasható SAML-üzenet).",
            "The answer from KAÜ is malformed (not a readable SAML message).",
        ),
        (
            "err_kau_unsigned",
            "A KAÜ-tól érkezett válasz nincs aláírva, ezért nem fogadtuk el.",
            "The answer from KAÜ is not signed, so it was refused.",
        ),
        (
            "err_kau_bad_signature",
            "A válasz aláírása nem a KAÜ tanúsítványával készült, vagy a választ aláírás után módosították.",
            "The answer's signature was not made with KAÜ's certificate, or the answer was altered after signing.",
        ),
        (
            "err_kau_wrapping",
            "A válasz aláíratlan részt is tartalmaz az aláírt mellett (aláírás-becsomagolás), ezért nem fogadtuk el.",
            "The answer carries unsigned content beside the signed part (signature wrapping), so it was refused.",
        ),
        ("err_kau_wrong_issuer", "A választ nem a beállított KAÜ adta ki.", "The answer was not issued by the configured KAÜ."),
        (
            "err_kau_wrong_destination",
            "A válasz egy másik címre szól (Destination / Recipient), nem ide.",
            "The answer is addressed to another endpoint (Destination / Recipient), not to this one.",
        ),
        (
            "err_kau_wrong_audience",
            "A válasz egy másik szolgáltatónak szól (Audience), nem ennek az önkormányzatnak.",
            "The answer is meant for another service provider (Audience), not for this municipality.",
        ),
        ("err_kau_expired", "A válasz érvényessége lejárt; kezdje újra a belépést.", "The answer has expired; start the sign-in again."),
        (
            "err_kau_not_yet_valid",
            "A válasz még nem érvényes (az érvényesség kezdete a jövőben van).",
            "The answer is not valid yet (its validity starts in the future).",
        ),
        (
            "err_kau_status",
            "A KAÜ nem azonosította Önt (például megszakította a belépést).",
            "KAÜ did not identify you (you may have cancelled the sign-in).",
        ),
        ("err_kau_key", "A válasz kulcsai nem kezelhetők.", "The keys of the answer cannot be handled."),
        (
            "err_kau_unknown_request",
            "Ez a válasz nem egy folyamatban lévő belépésünkre érkezett (ismeretlen, lejárt vagy már felhasznált kérés).",
            "This answer does not belong to a sign-in in progress here (unknown, expired or already answered request).",
        ),
        (
            "err_kau_other_browser",
            "Ez a válasz egy másik böngészőben indított belépéshez tartozik (vagy a böngésző elvesztette a belépés sütijét). Biztonsági okból nem léptetjük be; kezdje újra a belépést ebben a böngészőben.",
            "This answer belongs to a sign-in started in another browser (or this browser lost the sign-in's cookie). For your safety we do not sign you in; start the sign-in again in this browser.",
        ),
        (
            "err_kau_replayed",
            "Ezt a KAÜ-választ már felhasználták; egy válasz csak egyszer érvényes.",
            "This KAÜ answer has already been used; an answer is valid once.",
        ),
        (
            "err_kau_attribute",
            "A KAÜ nem adta meg az azonosításhoz szükséges összes adatot.",
            "KAÜ did not provide all the data needed to identify you.",
        ),
        (
            "err_kau_assurance",
            "A választott azonosítási mód szintje alacsonyabb a szükségesnél; lépjen be Ügyfélkapu+, DÁP vagy eSzemélyi azonosítással.",
            "The way you signed in is below the required level; use Ügyfélkapu+, the DÁP app or the eID card.",
        ),
        (
            "err_kau_other_person",
            "A most bejelentkezett fiók egy másik személyhez tartozik; jelentkezzen ki, és lépjen be újra KAÜ-val.",
            "The account signed in now belongs to another person; sign out and sign in with KAÜ again.",
        ),
        (
            "err_kau_email_taken",
            "A KAÜ-ban megadott e-mail-címmel már egy másik személy fiókja él; forduljon az ügyfélszolgálathoz.",
            "The e-mail address held by KAÜ belongs to another person's account here; please contact the office.",
        ),
    ];
    Value::Object(pairs.iter().map(|(k, h, e)| ((*k).to_owned(), Value::String(if hu { *h } else { *e }.to_owned()))).collect())
}

fn colour(settings: &Value, key: &str, default: &str) -> String {
    settings
        .pointer(&format!("/branding/{key}"))
        .and_then(Value::as_str)
        .filter(|c| c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit()))
        .unwrap_or(default)
        .to_owned()
}

/// The portal's language from `?lang=`, else the `kapu_lang` cookie, else Hungarian;
/// `true` when chosen by the query, so the cookie is set.
pub(crate) fn language(req: &Request) -> (String, bool) {
    language_of(req.uri().query(), req.headers())
}

pub(crate) fn language_of(query: Option<&str>, headers: &axum::http::HeaderMap) -> (String, bool) {
    let query_lang = query.and_then(|q| {
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
        headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| match kv.trim() {
            "kapu_lang=en" => Some("en"),
            _ => None,
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
    let signed_in = account::has_session_cookie(req.headers());
    render(state, resolved, &lang, chosen, template, status, context! { signed_in })
}

/// Renders a portal page: the tenant's branding and the language's texts, plus `extra`.
pub(crate) fn render(
    state: &AppState,
    resolved: &ResolvedTenant,
    lang: &str,
    set_lang_cookie: bool,
    template: &str,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    let tenant = &resolved.tenant;
    let base = context! {
        lang => lang,
        t => texts(lang),
        prefix => &resolved.prefix,
        tenant => context! { name => &tenant.name, slug => tenant.slug.as_str() },
        kau_enabled => tenant.settings.get("kau").is_some_and(|v| !v.is_null()),
        brand => context! {
            primary => colour(&tenant.settings, "primary_colour", "#1d4f91"),
            on_primary => colour(&tenant.settings, "on_primary_colour", "#ffffff"),
            accent => colour(&tenant.settings, "accent_colour", "#c8102e"),
        },
    };
    let ctx = context! { ..extra, ..base };
    let html = match state.templates.get_template(template).and_then(|t| t.render(ctx)) {
        Ok(h) => h,
        Err(e) => return ApiError::Internal(format!("template {template}: {e}")).into_response(),
    };
    let mut res = (status, Html(html)).into_response();
    if set_lang_cookie {
        let cookie = format!("kapu_lang={lang}; Path={}/; SameSite=Lax; Max-Age=31536000", resolved.prefix);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

/// A text of the portal's dictionary.
pub(crate) fn text(lang: &str, key: &str) -> String {
    texts(lang).get(key).and_then(Value::as_str).unwrap_or(key).to_owned()
}

pub(crate) const DEFAULT_CREST: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><path d="M8 6h48v26c0 14-11 22-24 28C19 54 8 46 8 32z" fill="#fff" stroke="#333" stroke-width="3"/></svg>"##;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn cookies(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_query_chooses_the_language_then_the_cookie_then_hungarian() {
        let none = HeaderMap::new();
        assert_eq!(language_of(None, &none), ("hu".to_owned(), false));
        assert_eq!(language_of(Some("lang=en"), &none), ("en".to_owned(), true));
        assert_eq!(language_of(Some("x=1&lang=hu"), &cookies("kapu_lang=en")), ("hu".to_owned(), true), "the query wins");
        assert_eq!(language_of(None, &cookies("a=b; kapu_lang=en")), ("en".to_owned(), false));
        assert_eq!(language_of(Some("lang=de"), &none), ("hu".to_owned(), false), "an unknown language is not chosen");
        assert_eq!(language_of(Some("xlang=en"), &cookies("kapu_lang=de")), ("hu".to_owned(), false));
    }
}
