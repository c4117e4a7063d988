//! Field errors in the portal's languages, by their stable code ([`Refusal`]).
//!
//! Both matches are exhaustive: a new reason does not compile until it has a Hungarian and an
//! English wording here.

use kapu_core::Refusal;

/// What the visitor is told about a refused value, in `lang` (`hu` or `en`).
pub(crate) fn worded(lang: &str, r: &Refusal) -> String {
    if lang == "en" { english(r) } else { hungarian(r) }
}

fn list(v: &[String]) -> String {
    v.join(", ")
}

fn hungarian(r: &Refusal) -> String {
    use Refusal::*;
    match r {
        Required => "Töltse ki ezt a mezőt".into(),
        MustBeTicked => "Jelölje be".into(),
        TooShort { min } => format!("Legalább {min} karakter legyen"),
        TooLong { max } => format!("Legfeljebb {max} karakter lehet"),
        LengthBetween { min, max } => format!("{min}–{max} karakter legyen"),
        TooFew { min } if *min == 1 => "Adjon meg legalább egyet".into(),
        TooFew { min } => format!("Adjon meg legalább {min} darabot"),
        TooMany { max } => format!("Legfeljebb {max} darabot adhat meg"),
        NotANumber => "Számot adjon meg".into(),
        NotAWholeNumber => "Egész számot adjon meg".into(),
        TooManyDecimals { max } => format!("Legfeljebb {max} tizedesjegy lehet"),
        BelowMinimum { min } => format!("Legalább {min} legyen"),
        AboveMaximum { max } => format!("Legfeljebb {max} lehet"),
        OutOfRange { min, max } => format!("{min} és {max} közötti egész számot adjon meg"),
        NotABoolean => "Igen vagy nem (true vagy false) lehet".into(),
        NotADate => "Dátumot adjon meg ÉÉÉÉ-HH-NN alakban".into(),
        TooEarly { min } => format!("Legkorábban {min} lehet"),
        TooLate { max } => format!("Legkésőbb {max} lehet"),
        InFuture => "Nem lehet a jövőben".into(),
        ImplausiblyEarly { min } => format!("Nem lehet {min} előtti"),
        NotAfterToday => "A mai napnál későbbi napot adjon meg".into(),
        NotInList { allowed } if allowed.is_empty() => "Válasszon a felsoroltak közül".into(),
        NotInList { allowed } => format!("Válasszon a felsoroltak közül: {}", list(allowed)),
        NotAnObject => "Az űrlap adatai nem olvashatók; töltse ki újra".into(),
        NotAList => "Listát adjon meg".into(),
        NotAFile => "Töltsön fel egy fájlt".into(),
        UnknownField { .. } => "Ez a mező nem tartozik az űrlaphoz; lehet, hogy egy korábbi változatából maradt".into(),
        WrongType { expected } => format!("Nem megfelelő típusú érték (várt: {expected})"),
        Unreadable { .. } => "Az érték nem olvasható".into(),
        FileType { file, accepted, .. } => format!("{file}: ilyen típusú fájlt nem fogadunk el; küldhető: {}", list(accepted)),
        FileTooLarge { file, max_kb } => format!("{file} nagyobb, mint {max_kb} kB"),
        Taken => "Ez az érték már egy másik nyilvántartott adaté".into(),
        UnknownClient => "Nincs ilyen ügyfél".into(),
        UnknownAccount => "Nincs ilyen portálfiók ennél az önkormányzatnál".into(),
        UnknownStaff => "Nincs ilyen aktív munkatárs".into(),
        NotBefore { other } => format!("Nem lehet korábbi, mint: {other}"),
        NotLessThan { other } => format!("Kisebb legyen, mint: {other}"),
        GoTogether { fields } => format!("Ezeket együtt adja meg: {}", list(fields)),
        OneOf { fields } => format!("Adja meg ezek egyikét: {}", list(fields)),
        InvalidEmail => "Adjon meg egy érvényes e-mail-címet, például nev@example.hu".into(),
        InvalidPostcode => "Négyjegyű magyar irányítószámot adjon meg".into(),
        InvalidRegistrationNumber => "Ez nem magyar forgalmi rendszám (ABC-123, vagy 2022 óta AA BB-123)".into(),
        InvalidTaxNumber => "Az adószám 11 számjegy, xxxxxxxx-y-zz alakban".into(),
        TaxNumberCheckDigit => "Az adószám ellenőrző számjegye (a 8.) nem egyezik: valószínűleg elírás".into(),
        TaxNumberVatCode => "Az adószám áfakódja (a 9. számjegy) 1 és 5 közötti".into(),
        TaxNumberAreaCode => "Az adószám területi kódja (az utolsó két számjegy) nem létező adóhivatali terület".into(),
        IncompleteAddress => "Adja meg a települést és a közterületet (házszámmal) is".into(),
        InvalidDocumentNumber => "Az okmány száma 6–20 betű és számjegy, például 123456AB".into(),
        InvalidCounter => "Az ablak jele 1–16 betű, számjegy vagy kötőjel, például 3".into(),
        InvalidServiceCode => "A sorszámhúzó szolgáltatáskódja 1–16 betű, számjegy vagy kötőjel, például A".into(),
        InvalidPattern => "Nem a várt formátumú".into(),
        InvalidNumberPrefix => "Az ügyszám előtagja 1–10 nagybetű vagy számjegy, betűvel kezdve".into(),
        InvalidSlug => "Az azonosító 2–40 kisbetű, számjegy vagy kötőjel, betűvel kezdve".into(),
        InvalidDomain => "Ez nem érvényes domainnév".into(),
        InvalidUrl => "Teljes webcímet adjon meg, például https://example.hu/".into(),
        NotHttpUrl => "http:// vagy https:// kezdetű webcímet adjon meg".into(),
        HostNotAllowed { host, allowed } => {
            format!("A(z) {host} címet a bővítmény leírója nem engedi (engedélyezett: {})", list(allowed))
        }
        RedirectUriFragment => "Az átirányítási cím nem tartalmazhat # utáni részt".into(),
        RedirectUriInsecure => "Az átirányítási cím https legyen (http csak 127.0.0.1, localhost vagy [::1] esetén)".into(),
        UnknownScope { scope, known } => format!("Ismeretlen hatókör: {scope}; ismertek: {}", known.join(" ")),
        OpenidRequired => "Az openid hatókör nem hiányozhat".into(),
        ControlCharacters => "Nem tartalmazhat vezérlőkaraktert".into(),
        WeakPassword => "Ez a jelszó túl könnyen kitalálható; válasszon hosszabbat vagy kevésbé szokványosat".into(),
        WrongPassword => "A jelszó nem egyezik".into(),
        InvalidLink => "A hivatkozás érvénytelen, már felhasználták vagy lejárt; kérjen újat".into(),
        SeatForPerson => "Magánszemélynek állandó vagy ideiglenes lakcíme van, nem székhelye".into(),
        KauOtherPerson => "Ez a KAÜ-azonosság egy másik személyhez tartozik".into(),
        KauEmailTaken => "A KAÜ által közölt e-mail-cím egy másik fiókhoz tartozik".into(),
        NoMandate => "Nincs meghatalmazása ennek az ügyfélnek a képviseletére".into(),
        Ineligible { message, .. } => message.clone(),
        StaleForm => super::text("hu", "err_stale_form"),
        OverQuota { used, adding, quota } => super::uploads::quota_message("hu", *used, *adding, *quota),
        WrongAmount { due, paid } => format!("A díj {due} Ft, de {paid} Ft érkezett"),
        NoDecisionDraft => "Előbb készítse el a döntés tervezetét".into(),
        DecisionNotSent => "A döntést még nem küldték kiadmányozásra".into(),
        OtherSignatory => "A döntést más kiadmányozóhoz küldték".into(),
        NoDecisionText => "A döntött ügynek nincs döntési szövege".into(),
        NoAddressee => "A kérelmező fiókja nincs ügyfélhez kötve (vagy törölték), így a döntésnek nincs címzettje".into(),
        CertifiesCertificate => "A letöltési igazolás döntést igazol, nem másik igazolást".into(),
        NoPrivateKey => "Nincs benne PRIVATE KEY blokk (PKCS#8 PEM)".into(),
        InvalidCertificate { detail } => format!("A tanúsítvány nem használható: {detail}"),
        InvalidTemplate { detail } => format!("A sablon nem állítható elő: {detail}"),
        InvalidDefinition { detail } => format!("Az ügytípus leírása hibás: {detail}"),
        ExampleFailed { example, mismatches } => format!("A(z) „{example}” példa eredménye eltér: {}", mismatches.join("; ")),
        InvalidPlugin { detail } => format!("A bővítmény nem telepíthető: {detail}"),
        DigestMismatch => "A fájl SHA-256 lenyomata eltér a megadottól".into(),
        InvalidRequest { detail } => format!("A kérés érvénytelen: {detail}"),
    }
}

fn english(r: &Refusal) -> String {
    use Refusal::*;
    match r {
        Required => "Fill in this field".into(),
        MustBeTicked => "Tick this box".into(),
        TooShort { min } => format!("Use at least {min} characters"),
        TooLong { max } => format!("Use at most {max} characters"),
        LengthBetween { min, max } => format!("Use {min} to {max} characters"),
        TooFew { min } if *min == 1 => "Give at least one".into(),
        TooFew { min } => format!("Give at least {min}"),
        TooMany { max } => format!("Give at most {max}"),
        NotANumber => "Enter a number".into(),
        NotAWholeNumber => "Enter a whole number".into(),
        TooManyDecimals { max } => format!("Use at most {max} decimals"),
        BelowMinimum { min } => format!("Must be at least {min}"),
        AboveMaximum { max } => format!("Must be at most {max}"),
        OutOfRange { min, max } => format!("Enter a whole number from {min} to {max}"),
        NotABoolean => "Must be true or false".into(),
        NotADate => "Enter a date as YYYY-MM-DD".into(),
        TooEarly { min } => format!("Must be on or after {min}"),
        TooLate { max } => format!("Must be on or before {max}"),
        InFuture => "Must not be in the future".into(),
        ImplausiblyEarly { min } => format!("Must not be before {min}"),
        NotAfterToday => "Choose a day after today".into(),
        NotInList { allowed } if allowed.is_empty() => "Choose one of the options".into(),
        NotInList { allowed } => format!("Choose one of: {}", list(allowed)),
        NotAnObject => "The form's data cannot be read; fill it in again".into(),
        NotAList => "Give a list".into(),
        NotAFile => "Upload a file".into(),
        UnknownField { .. } => "This field is not part of the form; it may be left from an older version".into(),
        WrongType { expected } => format!("Wrong kind of value (expected: {expected})"),
        Unreadable { .. } => "The value cannot be read".into(),
        FileType { file, content_type, accepted } => {
            format!("{file}: files of type {content_type} are not accepted; send {}", list(accepted))
        }
        FileTooLarge { file, max_kb } => format!("{file} is larger than {max_kb} kB"),
        Taken => "This value already belongs to another record".into(),
        UnknownClient => "There is no such client".into(),
        UnknownAccount => "There is no such portal account here".into(),
        UnknownStaff => "There is no such active staff member".into(),
        NotBefore { other } => format!("Must not be before {other}"),
        NotLessThan { other } => format!("Must be less than {other}"),
        GoTogether { fields } => format!("Give these together: {}", list(fields)),
        OneOf { fields } => format!("Give one of: {}", list(fields)),
        InvalidEmail => "Enter a valid e-mail address, like name@example.com".into(),
        InvalidPostcode => "Enter a four-digit Hungarian postcode".into(),
        InvalidRegistrationNumber => "This is not a Hungarian registration number (ABC-123, or since 2022 AA BB-123)".into(),
        InvalidTaxNumber => "A tax number has 11 digits, as xxxxxxxx-y-zz".into(),
        TaxNumberCheckDigit => "The tax number's check digit (the 8th) does not match: it is probably mistyped".into(),
        TaxNumberVatCode => "The tax number's VAT code (the 9th digit) must be 1 to 5".into(),
        TaxNumberAreaCode => "The tax number's area code (the last two digits) is not a tax office area".into(),
        IncompleteAddress => "Give the city and the street (with the house number) too".into(),
        InvalidDocumentNumber => "A document number has 6 to 20 letters and digits, like 123456AB".into(),
        InvalidCounter => "A counter is 1 to 16 letters, digits or hyphens, like 3".into(),
        InvalidServiceCode => "A queue service code is 1 to 16 letters, digits or hyphens, like A".into(),
        InvalidPattern => "Not in the expected format".into(),
        InvalidNumberPrefix => "A case number prefix is 1 to 10 capital letters or digits, starting with a letter".into(),
        InvalidSlug => "An identifier is 2 to 40 lower-case letters, digits or hyphens, starting with a letter".into(),
        InvalidDomain => "This is not a valid domain name".into(),
        InvalidUrl => "Enter a full web address, like https://example.hu/".into(),
        NotHttpUrl => "Enter an address starting with http:// or https://".into(),
        HostNotAllowed { host, allowed } => format!("The plugin's manifest does not allow {host} (allowed: {})", list(allowed)),
        RedirectUriFragment => "A redirect URI must not have a # part".into(),
        RedirectUriInsecure => "A redirect URI must use https (http only for 127.0.0.1, localhost or [::1])".into(),
        UnknownScope { scope, known } => format!("Unknown scope {scope}; known: {}", known.join(" ")),
        OpenidRequired => "The openid scope must be included".into(),
        ControlCharacters => "Must not contain control characters".into(),
        WeakPassword => "This password is too easy to guess; choose a longer or less common one".into(),
        WrongPassword => "The password does not match".into(),
        InvalidLink => "The link is invalid, already used or expired; ask for a new one".into(),
        SeatForPerson => "A person has permanent or temporary addresses, not a seat".into(),
        KauOtherPerson => "This KAÜ identity belongs to another person".into(),
        KauEmailTaken => "The e-mail address KAÜ gave belongs to another account".into(),
        NoMandate => "You hold no mandate to act for this client".into(),
        Ineligible { message, .. } => message.clone(),
        StaleForm => super::text("en", "err_stale_form"),
        OverQuota { used, adding, quota } => super::uploads::quota_message("en", *used, *adding, *quota),
        WrongAmount { due, paid } => format!("The fee is {due} HUF, but {paid} HUF arrived"),
        NoDecisionDraft => "Draft the decision first".into(),
        DecisionNotSent => "The decision has not been sent to a signatory".into(),
        OtherSignatory => "The decision was sent to another signatory".into(),
        NoDecisionText => "The decided case has no decision text".into(),
        NoAddressee => "The applicant's account holds no client record (or it was erased), so the decision has no addressee".into(),
        CertifiesCertificate => "A download certificate certifies a decision, not another certificate".into(),
        NoPrivateKey => "There is no PRIVATE KEY block (PKCS#8 PEM)".into(),
        InvalidCertificate { detail } => format!("The certificate cannot be used: {detail}"),
        InvalidTemplate { detail } => format!("The template cannot be rendered: {detail}"),
        InvalidDefinition { detail } => format!("The case type's definition is wrong: {detail}"),
        ExampleFailed { example, mismatches } => format!("The example “{example}” came out differently: {}", mismatches.join("; ")),
        InvalidPlugin { detail } => format!("The plugin cannot be installed: {detail}"),
        DigestMismatch => "The file's SHA-256 differs from the one given".into(),
        InvalidRequest { detail } => format!("The request is invalid: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_reason_has_a_wording_of_its_own_in_each_language() {
        for r in Refusal::samples() {
            let (hu, en) = (worded("hu", &r), worded("en", &r));
            assert!(!hu.trim().is_empty() && !en.trim().is_empty(), "{}", r.code());
            // Reasons whose wording is the case type's own text are the same in both.
            if !matches!(r, Refusal::Ineligible { .. }) {
                assert_ne!(hu, en, "{} is not translated", r.code());
            }
        }
    }

    #[test]
    fn arguments_reach_the_wording() {
        assert_eq!(worded("hu", &Refusal::TooShort { min: 5 }), "Legalább 5 karakter legyen");
        assert_eq!(worded("en", &Refusal::TooShort { min: 5 }), "Use at least 5 characters");
        let big = Refusal::FileTooLarge { file: "a.pdf".into(), max_kb: 10 };
        assert_eq!(worded("hu", &big), "a.pdf nagyobb, mint 10 kB");
    }
}
