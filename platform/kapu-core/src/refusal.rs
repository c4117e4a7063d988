//! Why a value was refused: one stable code per reason, with its arguments.
//!
//! Every domain crate words its field errors as a [`Refusal`]; the API sends the code and the
//! arguments (`{"code": "too_short", "args": {"min": 5}}`) beside an English message, and the
//! portal and the staff app translate by code. Adding a variant makes the compiler ask for its
//! English wording here and its Hungarian one in the portal; the staff app's test asks for
//! both of its own.

use serde::Serialize;
use serde_json::{Map, Value};

/// Why a value was refused.
///
/// Serialised adjacently tagged: `{"code": "<snake_case variant>", "args": {..}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(tag = "code", content = "args", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Refusal {
    /// A value is required and missing or blank.
    Required,
    /// A box must be ticked.
    MustBeTicked,
    /// Text shorter than `min` characters.
    TooShort { min: u32 },
    /// Text longer than `max` characters.
    TooLong { max: u32 },
    /// Text must have `min` to `max` characters.
    LengthBetween { min: u32, max: u32 },
    /// Fewer than `min` items.
    TooFew { min: u32 },
    /// More than `max` items.
    TooMany { max: u32 },
    /// Not a number.
    NotANumber,
    /// Not a whole number.
    NotAWholeNumber,
    /// More decimals than `max`.
    TooManyDecimals { max: u32 },
    /// A number below `min` (written exactly, as text).
    BelowMinimum { min: String },
    /// A number above `max` (written exactly, as text).
    AboveMaximum { max: String },
    /// A whole number outside `min`..=`max`.
    OutOfRange { min: i64, max: i64 },
    /// Not true or false.
    NotABoolean,
    /// Not a date (`YYYY-MM-DD`).
    NotADate,
    /// A date before `min` (`YYYY-MM-DD`).
    TooEarly { min: String },
    /// A date after `max` (`YYYY-MM-DD`).
    TooLate { max: String },
    /// A date in the future where only past ones make sense.
    InFuture,
    /// A date before `min`, which cannot be right (a birth date before 1880, say).
    ImplausiblyEarly { min: String },
    /// A day that must come after today.
    NotAfterToday,
    /// Not one of the allowed values.
    NotInList { allowed: Vec<String> },
    /// A value that must be an object of fields is not.
    NotAnObject,
    /// A value that must be a list is not.
    NotAList,
    /// A value that must describe an uploaded file does not.
    NotAFile,
    /// A field the form (or settings list) does not have.
    UnknownField { known: Vec<String> },
    /// A value of the wrong kind, e.g. text where a number belongs.
    WrongType { expected: String },
    /// A value the server could not read; `detail` says how (in English, for developers).
    Unreadable { detail: String },
    /// A file type the field does not accept.
    FileType { file: String, content_type: String, accepted: Vec<String> },
    /// A file larger than the field accepts.
    FileTooLarge { file: String, max_kb: u64 },
    /// The value already belongs to another record.
    Taken,
    /// No such client (person or organisation) in the tenant.
    UnknownClient,
    /// No such portal account in the tenant.
    UnknownAccount,
    /// No such active staff member in the tenant.
    UnknownStaff,
    /// A date or number that must not come before `other`'s.
    NotBefore { other: String },
    /// A number that must be less than `other`'s.
    NotLessThan { other: String },
    /// These fields are given together or not at all.
    GoTogether { fields: Vec<String> },
    /// One of these must be given.
    OneOf { fields: Vec<String> },
    /// Not an e-mail address.
    InvalidEmail,
    /// Not a Hungarian postcode (four digits from 1000).
    InvalidPostcode,
    /// Not a Hungarian vehicle registration number.
    InvalidRegistrationNumber,
    /// Not a Hungarian tax number (`xxxxxxxx-y-zz`).
    InvalidTaxNumber,
    /// A tax number whose check digit (the 8th) does not match: it is mistyped.
    TaxNumberCheckDigit,
    /// A tax number whose VAT code (the 9th digit) is not 1 to 5.
    TaxNumberVatCode,
    /// A tax number whose area code (the last two digits) is not a tax office area.
    TaxNumberAreaCode,
    /// An address without its city or street.
    IncompleteAddress,
    /// Not an ID document number (6 to 20 letters and digits).
    InvalidDocumentNumber,
    /// Not a counter's name (1 to 16 letters, digits or hyphens).
    InvalidCounter,
    /// Not a queue system's service code (1 to 16 letters, digits or hyphens).
    InvalidServiceCode,
    /// Not in the format the field asks for.
    InvalidPattern,
    /// Not a case number prefix (1 to 10 capital letters or digits starting with a letter).
    InvalidNumberPrefix,
    /// Not a tenant slug.
    InvalidSlug,
    /// Not a domain name.
    InvalidDomain,
    /// Not an absolute URL.
    InvalidUrl,
    /// A URL whose scheme is not http or https.
    NotHttpUrl,
    /// A URL whose host the plugin's manifest does not allow.
    HostNotAllowed { host: String, allowed: Vec<String> },
    /// A redirect URI with a fragment.
    RedirectUriFragment,
    /// A redirect URI over plain http to a host that is not the loopback.
    RedirectUriInsecure,
    /// An OpenID scope that Kapu does not know.
    UnknownScope { scope: String, known: Vec<String> },
    /// The allowed scopes must include `openid`.
    OpenidRequired,
    /// Text with control characters.
    ControlCharacters,
    /// A password too easy to guess.
    WeakPassword,
    /// The current password is wrong.
    WrongPassword,
    /// The e-mail link is unknown, used or expired.
    InvalidLink,
    /// A person has permanent or temporary addresses, not a seat.
    SeatForPerson,
    /// The KAÜ identity belongs to another person's account.
    KauOtherPerson,
    /// The KAÜ identity's e-mail address belongs to another account.
    KauEmailTaken,
    /// The signed-in person holds no mandate for this principal.
    NoMandate,
    /// The applicant does not meet a pre-check; `message` is what the case type tells them.
    Ineligible { rule: String, message: String },
    /// The form changed since it was opened; fill in the current version.
    StaleForm,
    /// The files would take the filer past their storage quota (sizes in bytes).
    OverQuota { used: u64, adding: u64, quota: u64 },
    /// A payment of the wrong amount.
    WrongAmount { due: String, paid: String },
    /// A decision must be drafted first.
    NoDecisionDraft,
    /// The decision has not been sent to a signatory.
    DecisionNotSent,
    /// The decision was sent to another signatory.
    OtherSignatory,
    /// The decided case has no decision text.
    NoDecisionText,
    /// The decision has no addressee: the applicant's account holds no client record.
    NoAddressee,
    /// A download certificate certifies a decision, not another certificate.
    CertifiesCertificate,
    /// No PKCS#8 private key in the PEM text.
    NoPrivateKey,
    /// A certificate or key that cannot be used; `detail` says why (in English).
    InvalidCertificate { detail: String },
    /// A template that cannot be rendered; `detail` says why (in English).
    InvalidTemplate { detail: String },
    /// A case type definition that does not hold; `detail` says what (in English, for its
    /// author, with the line).
    InvalidDefinition { detail: String },
    /// An example of a case type whose outcome differs from the one it expects.
    ExampleFailed { example: String, mismatches: Vec<String> },
    /// A plugin manifest or component that cannot be installed; `detail` says why.
    InvalidPlugin { detail: String },
    /// The upload's SHA-256 differs from the one given.
    DigestMismatch,
    /// An OAuth or OpenID request that is not valid; `detail` says why.
    InvalidRequest { detail: String },
}

impl Refusal {
    /// The stable code, e.g. `too_short`.
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// Every code, in declaration order.
    pub const CODES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    /// The arguments as a JSON object (empty for reasons without any).
    pub fn args(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut o)) => match o.remove("args") {
                Some(Value::Object(args)) => args,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }

    /// One reason of every code, with sample arguments: what translation tests go through.
    pub fn samples() -> Vec<Refusal> {
        use Refusal::*;
        let s = |v: &str| v.to_owned();
        vec![
            Required,
            MustBeTicked,
            TooShort { min: 5 },
            TooLong { max: 100 },
            LengthBetween { min: 1, max: 200 },
            TooFew { min: 2 },
            TooMany { max: 3 },
            NotANumber,
            NotAWholeNumber,
            TooManyDecimals { max: 2 },
            BelowMinimum { min: s("0.5") },
            AboveMaximum { max: s("10") },
            OutOfRange { min: 0, max: 60 },
            NotABoolean,
            NotADate,
            TooEarly { min: s("2026-01-01") },
            TooLate { max: s("2026-12-31") },
            InFuture,
            ImplausiblyEarly { min: s("1880-01-01") },
            NotAfterToday,
            NotInList { allowed: vec![s("a"), s("b")] },
            NotAnObject,
            NotAList,
            NotAFile,
            UnknownField { known: vec![s("name")] },
            WrongType { expected: s("a number") },
            Unreadable { detail: s("invalid type: string, expected u32") },
            FileType { file: s("a.docx"), content_type: s("application/zip"), accepted: vec![s("application/pdf")] },
            FileTooLarge { file: s("a.pdf"), max_kb: 10 },
            Taken,
            UnknownClient,
            UnknownAccount,
            UnknownStaff,
            NotBefore { other: s("valid_from") },
            NotLessThan { other: s("deemed_after_working_days") },
            GoTogether { fields: vec![s("family_name"), s("given_name")] },
            OneOf { fields: vec![s("id_document"), s("birth_date")] },
            InvalidEmail,
            InvalidPostcode,
            InvalidRegistrationNumber,
            InvalidTaxNumber,
            TaxNumberCheckDigit,
            TaxNumberVatCode,
            TaxNumberAreaCode,
            IncompleteAddress,
            InvalidDocumentNumber,
            InvalidCounter,
            InvalidServiceCode,
            InvalidPattern,
            InvalidNumberPrefix,
            InvalidSlug,
            InvalidDomain,
            InvalidUrl,
            NotHttpUrl,
            HostNotAllowed { host: s("evil.example"), allowed: vec![s("*.gov.hu")] },
            RedirectUriFragment,
            RedirectUriInsecure,
            UnknownScope { scope: s("admin"), known: vec![s("openid"), s("profile")] },
            OpenidRequired,
            ControlCharacters,
            WeakPassword,
            WrongPassword,
            InvalidLink,
            SeatForPerson,
            KauOtherPerson,
            KauEmailTaken,
            NoMandate,
            Ineligible { rule: s("resident"), message: s("only residents may apply") },
            StaleForm,
            OverQuota { used: 1000, adding: 2000, quota: 2500 },
            WrongAmount { due: s("5000"), paid: s("4000") },
            NoDecisionDraft,
            DecisionNotSent,
            OtherSignatory,
            NoDecisionText,
            NoAddressee,
            CertifiesCertificate,
            NoPrivateKey,
            InvalidCertificate { detail: s("expired") },
            InvalidTemplate { detail: s("unknown variable") },
            InvalidDefinition { detail: s("line 3: unknown field kind") },
            ExampleFailed { example: s("resident"), mismatches: vec![s("outcome: want grant, got refer")] },
            InvalidPlugin { detail: s("unsupported SDK") },
            DigestMismatch,
            InvalidRequest { detail: s("unknown response_type") },
        ]
    }

    /// A whole number of characters for the length reasons.
    pub fn too_long(max: usize) -> Self {
        Self::TooLong { max: u32::try_from(max).unwrap_or(u32::MAX) }
    }

    /// `min` to `max` characters.
    pub fn length(min: usize, max: usize) -> Self {
        Self::LengthBetween { min: u32::try_from(min).unwrap_or(u32::MAX), max: u32::try_from(max).unwrap_or(u32::MAX) }
    }
}

impl std::fmt::Display for Refusal {
    /// The English wording, for the API's `message` and for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Refusal::*;
        let list = |v: &[String]| v.join(", ");
        match self {
            Required => write!(f, "is required"),
            MustBeTicked => write!(f, "must be ticked"),
            TooShort { min } => write!(f, "must be at least {min} characters"),
            TooLong { max } => write!(f, "must be at most {max} characters"),
            LengthBetween { min, max } => write!(f, "must be {min} to {max} characters"),
            TooFew { min } => write!(f, "give at least {min}"),
            TooMany { max } => write!(f, "give at most {max}"),
            NotANumber => write!(f, "must be a number"),
            NotAWholeNumber => write!(f, "must be a whole number"),
            TooManyDecimals { max } => write!(f, "may have at most {max} decimals"),
            BelowMinimum { min } => write!(f, "must be at least {min}"),
            AboveMaximum { max } => write!(f, "must be at most {max}"),
            OutOfRange { min, max } => write!(f, "must be a whole number from {min} to {max}"),
            NotABoolean => write!(f, "must be true or false"),
            NotADate => write!(f, "must be a date as YYYY-MM-DD"),
            TooEarly { min } => write!(f, "must be on or after {min}"),
            TooLate { max } => write!(f, "must be on or before {max}"),
            InFuture => write!(f, "must not be in the future"),
            ImplausiblyEarly { min } => write!(f, "is implausibly early (before {min})"),
            NotAfterToday => write!(f, "must be a day after today"),
            NotInList { allowed } => write!(f, "must be one of: {}", list(allowed)),
            NotAnObject => write!(f, "must be an object of field values"),
            NotAList => write!(f, "must be a list"),
            NotAFile => write!(f, "must describe an uploaded file: name, content_type and size"),
            UnknownField { known } if known.is_empty() => write!(f, "is not a field here"),
            UnknownField { known } => write!(f, "is not a field here (fields: {})", list(known)),
            WrongType { expected } => write!(f, "must be {expected}"),
            Unreadable { detail } => write!(f, "cannot be read: {detail}"),
            FileType { file, content_type, accepted } => {
                write!(f, "{file}: files of type {content_type} are not accepted; send {}", list(accepted))
            }
            FileTooLarge { file, max_kb } => write!(f, "{file} is larger than {max_kb} kB"),
            Taken => write!(f, "already belongs to another record"),
            UnknownClient => write!(f, "there is no such client"),
            UnknownAccount => write!(f, "there is no such portal account"),
            UnknownStaff => write!(f, "there is no such active staff member"),
            NotBefore { other } => write!(f, "must not be before {other}"),
            NotLessThan { other } => write!(f, "must be less than {other}"),
            GoTogether { fields } => write!(f, "{} go together", list(fields)),
            OneOf { fields } => write!(f, "give one of: {}", list(fields)),
            InvalidEmail => write!(f, "is not a valid e-mail address"),
            InvalidPostcode => write!(f, "must be a four-digit Hungarian postcode, from 1000"),
            InvalidRegistrationNumber => write!(f, "is not a Hungarian registration number"),
            InvalidTaxNumber => write!(f, "must have 11 digits, as xxxxxxxx-y-zz"),
            TaxNumberCheckDigit => write!(f, "the check digit (the 8th) does not match: the number is mistyped"),
            TaxNumberVatCode => write!(f, "the VAT code (the 9th digit) must be 1 to 5"),
            TaxNumberAreaCode => write!(f, "the area code (the last two digits) is not a tax office area"),
            IncompleteAddress => write!(f, "city and street must not be empty"),
            InvalidDocumentNumber => write!(f, "must have 6 to 20 letters and digits"),
            InvalidCounter => write!(f, "must be 1 to 16 letters, digits or hyphens, e.g. 3"),
            InvalidServiceCode => write!(f, "must be the queue system's service code: 1 to 16 letters, digits or hyphens, e.g. A"),
            InvalidPattern => write!(f, "is not in the expected format"),
            InvalidNumberPrefix => write!(f, "must be 1 to 10 capital letters or digits starting with a letter"),
            InvalidSlug => write!(f, "must be 2 to 40 lower-case letters, digits or hyphens, starting with a letter"),
            InvalidDomain => write!(f, "is not a valid domain name"),
            InvalidUrl => write!(f, "must be an absolute URL such as https://example.hu/"),
            NotHttpUrl => write!(f, "must be an http:// or https:// URL"),
            HostNotAllowed { host, allowed } => {
                write!(f, "points at {host}, which the plugin's manifest does not allow (allowed: {})", list(allowed))
            }
            RedirectUriFragment => write!(f, "has a fragment, which redirect URIs must not have"),
            RedirectUriInsecure => write!(f, "must use https (http only for 127.0.0.1, localhost or [::1])"),
            UnknownScope { scope, known } => write!(f, "unknown scope {scope:?}; known: {}", known.join(" ")),
            OpenidRequired => write!(f, "must include openid"),
            ControlCharacters => write!(f, "must not contain control characters"),
            WeakPassword => write!(f, "is too easy to guess"),
            WrongPassword => write!(f, "is not the current password"),
            InvalidLink => write!(f, "this link is invalid, used or expired; ask for a new one"),
            SeatForPerson => write!(f, "a person has permanent or temporary addresses, not a seat"),
            KauOtherPerson => write!(f, "this KAÜ identity belongs to another person's account"),
            KauEmailTaken => write!(f, "the e-mail address from KAÜ belongs to another account"),
            NoMandate => write!(f, "you hold no mandate to act for this client"),
            Ineligible { message, .. } => write!(f, "{message}"),
            StaleForm => write!(f, "the form has changed since it was opened; fill in the current version"),
            OverQuota { used, adding, quota } => {
                write!(f, "these files take {adding} bytes, {used} bytes of the {quota}-byte storage quota are used already")
            }
            WrongAmount { due, paid } => write!(f, "the fee is {due} HUF, but {paid} HUF arrived"),
            NoDecisionDraft => write!(f, "draft a decision first"),
            DecisionNotSent => write!(f, "the decision has not been sent to a signatory"),
            OtherSignatory => write!(f, "the decision was sent to another signatory"),
            NoDecisionText => write!(f, "the decided case has no decision text"),
            NoAddressee => write!(
                f,
                "the applicant's portal account is not linked to a client record (or was erased), so the decision has no addressee"
            ),
            CertifiesCertificate => write!(f, "a download certificate certifies a decision, not another certificate"),
            NoPrivateKey => write!(f, "no PRIVATE KEY block (PKCS#8 PEM)"),
            InvalidCertificate { detail } => write!(f, "cannot be used: {detail}"),
            InvalidTemplate { detail } => write!(f, "cannot be rendered: {detail}"),
            InvalidDefinition { detail } => write!(f, "{detail}"),
            ExampleFailed { example, mismatches } => write!(f, "{example}: {}", mismatches.join("; ")),
            InvalidPlugin { detail } => write!(f, "{detail}"),
            DigestMismatch => write!(f, "the file's SHA-256 differs from the one given"),
            InvalidRequest { detail } => write!(f, "{detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_args_are_what_clients_read() {
        let r = Refusal::TooShort { min: 5 };
        assert_eq!(r.code(), "too_short");
        assert_eq!(Value::Object(r.args()), serde_json::json!({"min": 5}));
        assert_eq!(Refusal::Required.args(), Map::new());
        assert_eq!(
            serde_json::to_value(Refusal::FileTooLarge { file: "a.pdf".into(), max_kb: 10 }).unwrap(),
            serde_json::json!({"code": "file_too_large", "args": {"file": "a.pdf", "max_kb": 10}})
        );
    }

    #[test]
    fn the_samples_hold_every_code_once() {
        let codes: Vec<&str> = Refusal::samples().iter().map(Refusal::code).collect();
        assert_eq!(codes, Refusal::CODES);
    }

    #[test]
    fn codes_are_unique_snake_case_and_match_serde() {
        let mut seen = std::collections::HashSet::new();
        for c in Refusal::CODES {
            assert!(seen.insert(*c), "{c} twice");
            assert!(c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{c}");
        }
        assert!(Refusal::CODES.contains(&Refusal::KauOtherPerson.code()));
        let v = serde_json::to_value(Refusal::OutOfRange { min: 0, max: 60 }).unwrap();
        assert_eq!(v["code"], "out_of_range");
    }
}
