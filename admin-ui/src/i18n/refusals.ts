// Field errors in the app's languages, by the server's stable code (`FieldError.code`, the
// server's `Refusal`). The record's type names every code of the API document, so a code
// without a wording is a type error; test/refusals.test.ts checks the document's list too.
import type { FieldError } from '../api/client';

/** A refusal's code, as the API document lists them. */
export type RefusalCode = FieldError['code'];

/** A code's arguments (`FieldError.args`). */
export type Args = Record<string, unknown>;

/** A wording in each of the app's languages. */
export interface Wording {
  hu: (a: Args) => string;
  en: (a: Args) => string;
}

const s = (a: Args, k: string): string => (a[k] === undefined || a[k] === null ? '?' : String(a[k]));
const list = (a: Args, k: string): string => (Array.isArray(a[k]) ? (a[k] as unknown[]).map(String).join(', ') : '');
const same = (f: (a: Args) => string): Wording => ({ hu: f, en: f });

export const REFUSALS: Record<RefusalCode, Wording> = {
  required: { hu: () => 'Töltse ki ezt a mezőt.', en: () => 'Fill in this field.' },
  must_be_ticked: { hu: () => 'Jelölje be.', en: () => 'Tick this box.' },
  too_short: { hu: (a) => `Legalább ${s(a, 'min')} karakter legyen.`, en: (a) => `Use at least ${s(a, 'min')} characters.` },
  too_long: { hu: (a) => `Legfeljebb ${s(a, 'max')} karakter lehet.`, en: (a) => `Use at most ${s(a, 'max')} characters.` },
  length_between: {
    hu: (a) => `${s(a, 'min')}–${s(a, 'max')} karakter legyen.`,
    en: (a) => `Use ${s(a, 'min')} to ${s(a, 'max')} characters.`,
  },
  too_few: { hu: (a) => `Adjon meg legalább ${s(a, 'min')} darabot.`, en: (a) => `Give at least ${s(a, 'min')}.` },
  too_many: { hu: (a) => `Legfeljebb ${s(a, 'max')} darabot adhat meg.`, en: (a) => `Give at most ${s(a, 'max')}.` },
  not_a_number: { hu: () => 'Számot adjon meg.', en: () => 'Enter a number.' },
  not_a_whole_number: { hu: () => 'Egész számot adjon meg.', en: () => 'Enter a whole number.' },
  too_many_decimals: { hu: (a) => `Legfeljebb ${s(a, 'max')} tizedesjegy lehet.`, en: (a) => `Use at most ${s(a, 'max')} decimals.` },
  below_minimum: { hu: (a) => `Legalább ${s(a, 'min')} legyen.`, en: (a) => `Must be at least ${s(a, 'min')}.` },
  above_maximum: { hu: (a) => `Legfeljebb ${s(a, 'max')} lehet.`, en: (a) => `Must be at most ${s(a, 'max')}.` },
  out_of_range: {
    hu: (a) => `${s(a, 'min')} és ${s(a, 'max')} közötti egész számot adjon meg.`,
    en: (a) => `Enter a whole number from ${s(a, 'min')} to ${s(a, 'max')}.`,
  },
  not_a_boolean: { hu: () => 'Igen vagy nem (true vagy false) lehet.', en: () => 'Must be true or false.' },
  not_a_date: { hu: () => 'Dátumot adjon meg ÉÉÉÉ-HH-NN alakban.', en: () => 'Enter a date as YYYY-MM-DD.' },
  too_early: { hu: (a) => `Legkorábban ${s(a, 'min')} lehet.`, en: (a) => `Must be on or after ${s(a, 'min')}.` },
  too_late: { hu: (a) => `Legkésőbb ${s(a, 'max')} lehet.`, en: (a) => `Must be on or before ${s(a, 'max')}.` },
  in_future: { hu: () => 'Nem lehet a jövőben.', en: () => 'Must not be in the future.' },
  implausibly_early: { hu: (a) => `Nem lehet ${s(a, 'min')} előtti.`, en: (a) => `Must not be before ${s(a, 'min')}.` },
  not_after_today: { hu: () => 'A mai napnál későbbi napot adjon meg.', en: () => 'Choose a day after today.' },
  not_in_list: {
    hu: (a) => `Válasszon a felsoroltak közül: ${list(a, 'allowed')}.`,
    en: (a) => `Choose one of: ${list(a, 'allowed')}.`,
  },
  not_an_object: { hu: () => 'Az adatok nem olvashatók; töltse ki újra.', en: () => 'The data cannot be read; fill it in again.' },
  not_a_list: { hu: () => 'Listát adjon meg.', en: () => 'Give a list.' },
  not_a_file: { hu: () => 'Töltsön fel egy fájlt.', en: () => 'Upload a file.' },
  unknown_field: {
    hu: (a) => `Ilyen mező nincs (mezők: ${list(a, 'known') || 'nincs'}).`,
    en: (a) => `There is no such field (fields: ${list(a, 'known') || 'none'}).`,
  },
  wrong_type: { hu: (a) => `Nem megfelelő típusú érték (várt: ${s(a, 'expected')}).`, en: (a) => `Wrong kind of value (expected: ${s(a, 'expected')}).` },
  unreadable: { hu: (a) => `Az érték nem olvasható: ${s(a, 'detail')}`, en: (a) => `The value cannot be read: ${s(a, 'detail')}` },
  file_type: {
    hu: (a) => `${s(a, 'file')}: ilyen típusú fájlt nem fogadunk el; küldhető: ${list(a, 'accepted')}.`,
    en: (a) => `${s(a, 'file')}: files of type ${s(a, 'content_type')} are not accepted; send ${list(a, 'accepted')}.`,
  },
  file_too_large: { hu: (a) => `${s(a, 'file')} nagyobb, mint ${s(a, 'max_kb')} kB.`, en: (a) => `${s(a, 'file')} is larger than ${s(a, 'max_kb')} kB.` },
  taken: { hu: () => 'Ez az érték már egy másik nyilvántartott adaté.', en: () => 'This value already belongs to another record.' },
  unknown_client: { hu: () => 'Nincs ilyen ügyfél; lehet, hogy időközben törölték. Keresse meg újra.', en: () => 'There is no such client; it may have been removed. Search for it again.' },
  unknown_account: {
    hu: () => 'Nincs ilyen portálfiók ennél az önkormányzatnál; ellenőrizze az azonosítót.',
    en: () => 'There is no such portal account at this municipality; check the identifier.',
  },
  unknown_staff: { hu: () => 'Nincs ilyen aktív munkatárs.', en: () => 'There is no such active staff member.' },
  not_before: { hu: (a) => `Nem lehet korábbi, mint: ${s(a, 'other')}.`, en: (a) => `Must not be before ${s(a, 'other')}.` },
  not_less_than: { hu: (a) => `Kisebb legyen, mint: ${s(a, 'other')}.`, en: (a) => `Must be less than ${s(a, 'other')}.` },
  go_together: { hu: (a) => `Ezeket együtt adja meg: ${list(a, 'fields')}.`, en: (a) => `Give these together: ${list(a, 'fields')}.` },
  one_of: { hu: (a) => `Adja meg ezek egyikét: ${list(a, 'fields')}.`, en: (a) => `Give one of: ${list(a, 'fields')}.` },
  invalid_email: {
    hu: () => 'Adjon meg érvényes e-mail-címet, például nev@hivatal.hu.',
    en: () => 'Enter a valid e-mail address, like name@example.com.',
  },
  invalid_postcode: { hu: () => 'Az irányítószám négy számjegy, 1000 és 9999 között.', en: () => 'A postcode has four digits, from 1000 to 9999.' },
  invalid_registration_number: {
    hu: () => 'Ez nem magyar forgalmi rendszám (ABC-123, vagy 2022 óta AA BB-123).',
    en: () => 'This is not a Hungarian registration number (ABC-123, or since 2022 AA BB-123).',
  },
  invalid_tax_number: { hu: () => 'Az adószám 11 számjegy, xxxxxxxx-y-zz alakban.', en: () => 'A tax number has 11 digits, as xxxxxxxx-y-zz.' },
  tax_number_check_digit: {
    hu: () => 'Az adószám ellenőrző számjegye (8.) nem stimmel: elírás lehet.',
    en: () => 'The tax number\'s check digit (the 8th) does not match: it may be mistyped.',
  },
  tax_number_vat_code: { hu: () => 'Az áfakód (9. számjegy) 1–5 lehet.', en: () => 'The VAT code (the 9th digit) must be 1 to 5.' },
  tax_number_area_code: {
    hu: () => 'A területi kód (utolsó két számjegy) nem létező adóhivatali terület.',
    en: () => 'The area code (the last two digits) is not a tax office area.',
  },
  incomplete_address: {
    hu: () => 'Adja meg a települést és a közterületet (házszámmal) is.',
    en: () => 'Give the city and the street (with the house number) too.',
  },
  invalid_document_number: {
    hu: () => 'Az okmány száma 6–20 betű és számjegy, például 123456AB.',
    en: () => 'A document number has 6 to 20 letters and digits, like 123456AB.',
  },
  invalid_counter: { hu: () => 'Az ablak jele 1–16 betű, számjegy vagy kötőjel, például 3.', en: () => 'A counter is 1 to 16 letters, digits or hyphens, like 3.' },
  invalid_service_code: {
    hu: () => 'A szolgáltatás kódja 1–16 betű, számjegy vagy kötőjel, például A.',
    en: () => 'A service code is 1 to 16 letters, digits or hyphens, like A.',
  },
  invalid_pattern: { hu: () => 'Nem a várt formátumú.', en: () => 'Not in the expected format.' },
  invalid_number_prefix: {
    hu: () => 'Az ügyszám előtagja 1–10 nagybetű vagy számjegy, betűvel kezdve.',
    en: () => 'A case number prefix is 1 to 10 capital letters or digits, starting with a letter.',
  },
  invalid_slug: {
    hu: () => 'Az azonosító 2–40 kisbetű, számjegy vagy kötőjel, betűvel kezdve.',
    en: () => 'An identifier is 2 to 40 lower-case letters, digits or hyphens, starting with a letter.',
  },
  invalid_domain: { hu: () => 'Ez nem érvényes domainnév.', en: () => 'This is not a valid domain name.' },
  invalid_url: { hu: () => 'Teljes webcímet adjon meg, például https://example.hu/.', en: () => 'Enter a full web address, like https://example.hu/.' },
  not_http_url: { hu: () => 'http:// vagy https:// kezdetű webcímet adjon meg.', en: () => 'Enter an address starting with http:// or https://.' },
  host_not_allowed: {
    hu: (a) => `A(z) ${s(a, 'host')} címet a bővítmény leírója nem engedi (engedélyezett: ${list(a, 'allowed') || 'semmi'}).`,
    en: (a) => `The plugin's manifest does not allow ${s(a, 'host')} (allowed: ${list(a, 'allowed') || 'none'}).`,
  },
  redirect_uri_fragment: { hu: () => 'Az átirányítási cím nem tartalmazhat # utáni részt.', en: () => 'A redirect URI must not have a # part.' },
  redirect_uri_insecure: {
    hu: () => 'Az átirányítási cím https legyen (http csak 127.0.0.1, localhost vagy [::1] esetén).',
    en: () => 'A redirect URI must use https (http only for 127.0.0.1, localhost or [::1]).',
  },
  unknown_scope: {
    hu: (a) => `Ismeretlen hatókör: ${s(a, 'scope')}; ismertek: ${list(a, 'known')}.`,
    en: (a) => `Unknown scope ${s(a, 'scope')}; known: ${list(a, 'known')}.`,
  },
  openid_required: { hu: () => 'Az openid hatókör nem hiányozhat.', en: () => 'The openid scope must be included.' },
  control_characters: { hu: () => 'Nem tartalmazhat vezérlőkaraktert.', en: () => 'Must not contain control characters.' },
  weak_password: {
    hu: () => 'A jelszó túl könnyen kitalálható: ne tartalmazza az e-mail-cím @ előtti részét, és ne álljon egyetlen ismétlődő karakterből.',
    en: () => 'The password is too easy to guess: leave out the part of the e-mail address before the @, and do not repeat one character.',
  },
  wrong_password: { hu: () => 'A jelszó nem egyezik.', en: () => 'The password does not match.' },
  invalid_link: {
    hu: () => 'A hivatkozás érvénytelen, már felhasználták vagy lejárt; kérjen újat.',
    en: () => 'The link is invalid, already used or expired; ask for a new one.',
  },
  seat_for_person: {
    hu: () => 'Magánszemélynek állandó vagy ideiglenes lakcíme van, nem székhelye.',
    en: () => 'A person has permanent or temporary addresses, not a seat.',
  },
  kau_other_person: { hu: () => 'Ez a KAÜ-azonosság egy másik személyhez tartozik.', en: () => 'This KAÜ identity belongs to another person.' },
  kau_email_taken: {
    hu: () => 'A KAÜ által közölt e-mail-cím egy másik fiókhoz tartozik.',
    en: () => 'The e-mail address KAÜ gave belongs to another account.',
  },
  no_mandate: { hu: () => 'Nincs meghatalmazás ennek az ügyfélnek a képviseletére.', en: () => 'There is no mandate to act for this client.' },
  // The case type's own text, as its author wrote it.
  ineligible: same((a) => s(a, 'message')),
  stale_form: {
    hu: () => 'Az űrlap időközben megváltozott; töltse ki újra a jelenlegi változatot.',
    en: () => 'The form has changed in the meantime; fill in the current version again.',
  },
  over_quota: {
    hu: (a) => `Betelt a tárhely: ezek a fájlok ${s(a, 'adding')} bájtot foglalnának, ${s(a, 'used')} bájt foglalt a(z) ${s(a, 'quota')} bájtos keretből.`,
    en: (a) => `Storage quota exceeded: these files take ${s(a, 'adding')} bytes, ${s(a, 'used')} of the ${s(a, 'quota')} bytes are used already.`,
  },
  wrong_amount: { hu: (a) => `A díj ${s(a, 'due')} Ft, de ${s(a, 'paid')} Ft érkezett.`, en: (a) => `The fee is ${s(a, 'due')} HUF, but ${s(a, 'paid')} HUF arrived.` },
  no_decision_draft: { hu: () => 'Előbb készítse el a döntés tervezetét.', en: () => 'Draft the decision first.' },
  decision_not_sent: { hu: () => 'A döntést még nem küldték kiadmányozásra.', en: () => 'The decision has not been sent to a signatory.' },
  other_signatory: { hu: () => 'A döntést más kiadmányozóhoz küldték.', en: () => 'The decision was sent to another signatory.' },
  no_decision_text: { hu: () => 'A döntött ügynek nincs döntési szövege.', en: () => 'The decided case has no decision text.' },
  no_addressee: {
    hu: () => 'A kérelmező fiókja nincs ügyfélhez kötve (vagy törölték), így a döntésnek nincs címzettje.',
    en: () => 'The applicant\'s account holds no client record (or it was erased), so the decision has no addressee.',
  },
  certifies_certificate: {
    hu: () => 'A letöltési igazolás döntést igazol, nem másik igazolást.',
    en: () => 'A download certificate certifies a decision, not another certificate.',
  },
  no_private_key: { hu: () => 'Nincs benne PRIVATE KEY blokk (PKCS#8 PEM).', en: () => 'There is no PRIVATE KEY block (PKCS#8 PEM).' },
  invalid_certificate: { hu: (a) => `A tanúsítvány nem használható: ${s(a, 'detail')}`, en: (a) => `The certificate cannot be used: ${s(a, 'detail')}` },
  invalid_template: { hu: (a) => `A sablon nem állítható elő: ${s(a, 'detail')}`, en: (a) => `The template cannot be rendered: ${s(a, 'detail')}` },
  invalid_definition: { hu: (a) => `Az ügytípus leírása hibás: ${s(a, 'detail')}`, en: (a) => `The case type's definition is wrong: ${s(a, 'detail')}` },
  example_failed: {
    hu: (a) => `A(z) „${s(a, 'example')}” példa eredménye eltér: ${(a.mismatches as string[] | undefined)?.join('; ') ?? ''}`,
    en: (a) => `The example “${s(a, 'example')}” came out differently: ${(a.mismatches as string[] | undefined)?.join('; ') ?? ''}`,
  },
  invalid_plugin: { hu: (a) => `A bővítmény nem telepíthető: ${s(a, 'detail')}`, en: (a) => `The plugin cannot be installed: ${s(a, 'detail')}` },
  digest_mismatch: { hu: () => 'A fájl SHA-256 lenyomata eltér a megadottól.', en: () => 'The file\'s SHA-256 differs from the one given.' },
  invalid_request: { hu: (a) => `A kérés érvénytelen: ${s(a, 'detail')}`, en: (a) => `The request is invalid: ${s(a, 'detail')}` },
};
