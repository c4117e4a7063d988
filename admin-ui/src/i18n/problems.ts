// What the app says for the server's problems, by their stable code (`Problem.code`). The
// record's type names every code of the API document, so a code without a wording is a type
// error; test/refusals.test.ts checks the document's list too.
import type { Problem } from '../api/client';

/** A problem's code, as the API document lists them. */
export type ProblemCode = Problem['code'];

export const PROBLEMS: Record<ProblemCode, { hu: string; en: string }> = {
  'bad-host': { hu: 'A kérés címe hibás.', en: 'The request\'s address is malformed.' },
  'unknown-tenant': { hu: 'Ezen a címen nem működik önkormányzat.', en: 'No municipality is served at this address.' },
  'tenant-suspended': { hu: 'Az önkormányzat szolgáltatása jelenleg szünetel.', en: 'This municipality\'s service is suspended.' },
  'not-found': { hu: 'A keresett adat nem található.', en: 'What you looked for was not found.' },
  'malformed-json': { hu: 'A kérés nem olvasható. Töltse újra az oldalt.', en: 'The request cannot be read. Reload the page.' },
  'unsupported-media-type': { hu: 'A kérés formátuma nem megfelelő. Töltse újra az oldalt.', en: 'The request\'s format is wrong. Reload the page.' },
  'payload-too-large': { hu: 'A küldött adat túl nagy.', en: 'What you sent is too large.' },
  validation: { hu: 'Hibás adatok. Javítsa a megjelölt mezőket, majd próbálja újra.', en: 'Some values are wrong. Correct the marked fields and try again.' },
  unauthenticated: { hu: 'A munkamenet lejárt. Jelentkezzen be újra.', en: 'Your session has ended. Sign in again.' },
  'invalid-credentials': { hu: 'Hibás e-mail-cím vagy jelszó.', en: 'Wrong e-mail address or password.' },
  'invalid-totp': {
    hu: 'Hibás vagy már felhasznált ellenőrző kód. Várja meg, amíg az alkalmazás új kódot mutat, és adja meg azt.',
    en: 'The code is wrong or was already used. Wait for the app to show a new code and enter that.',
  },
  'mfa-required': { hu: 'Előbb fejezze be a kétlépcsős azonosítást.', en: 'Finish two-factor sign-in first.' },
  forbidden: { hu: 'Ehhez a művelethez nincs jogosultsága.', en: 'Your role does not allow this.' },
  csrf: {
    hu: 'A kérés biztonsági ellenőrzése nem sikerült. Töltse újra az oldalt, és próbálja újra.',
    en: 'The request\'s security check failed. Reload the page and try again.',
  },
  'too-many-attempts': { hu: 'Túl sok sikertelen próbálkozás. Várjon egy kicsit, majd próbálja újra.', en: 'Too many failed attempts. Wait a little, then try again.' },
  'too-many-emails': {
    hu: 'Erre a címre vagy erről a hálózatról túl sok levelet kértek. Próbálja újra később.',
    en: 'Too many e-mails were asked for this address or from this network. Try again later.',
  },
  conflict: { hu: 'A művelet ütközik a nyilvántartás jelenlegi állapotával; semmi sem változott.', en: 'This conflicts with the current records; nothing was changed.' },
  'not-configured': { hu: 'Ehhez a művelethez szükséges kapcsolat nincs beállítva.', en: 'A connection this needs is not set up.' },
  'local-system-failed': { hu: 'Az önkormányzat helyi rendszere hibát jelzett. Próbálja újra később.', en: 'The municipality\'s local system failed. Try again later.' },
  'unstorable-value': {
    hu: 'Valamelyik mezőben olyan vezérlőkarakter (NUL) van, amelyet nem lehet eltárolni; semmi sem mentődött.',
    en: 'A field holds a control character (NUL) that cannot be stored; nothing was saved.',
  },
  unavailable: { hu: 'A szolgáltatás átmenetileg nem érhető el. Próbálja újra néhány perc múlva.', en: 'The service is temporarily unavailable. Try again in a few minutes.' },
  'quota-exceeded': { hu: 'Betelt a tárhely.', en: 'The storage quota is used up.' },
  internal: { hu: 'Belső hiba történt a kiszolgálón. Próbálja újra később.', en: 'An internal error occurred. Try again later.' },
  'method-not-allowed': { hu: 'Ez a művelet itt nem végezhető el.', en: 'This action is not allowed here.' },
  'bad-request': { hu: 'A kérés nem értelmezhető.', en: 'The request could not be understood.' },
  'http-error': { hu: 'A kérés nem sikerült.', en: 'The request failed.' },
  'not-ready': { hu: 'A szolgáltatás még nem áll készen.', en: 'The service is not ready yet.' },
};
