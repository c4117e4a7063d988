// The server's field errors in Hungarian, where the app knows the (English) reason; any other
// message is shown as the server wrote it, in its language. Moved here unchanged from the old
// app.ts so that the wording lives in one file (issue 15 point 3 replaces it with codes).
import type { ApiError, FieldError } from './api/client';
import type { ShownFieldError } from './errors';

/** Minimum length of a staff password (the server's policy; it also refuses guessable ones). */
export const PASSWORD_MIN = 12;

/** The longest purpose the server takes (`X-Access-Reason`, 1 to 200 characters). */
export const REASON_MAX = 200;

/**
 * The staff form's field errors, in Hungarian where the server's (English) reason is known;
 * any other message is shown as the server wrote it, in its language.
 */
export function staffFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'password':
        if (m.includes('at least')) return `A jelszó legalább ${PASSWORD_MIN} karakter legyen.`;
        if (m.includes('at most')) return 'A jelszó legfeljebb 256 karakter lehet.';
        if (m.includes('guess')) {
          return 'A jelszó túl könnyen kitalálható: ne tartalmazza az e-mail-cím @ előtti részét, és ne álljon egyetlen ismétlődő karakterből.';
        }
        return null;
      case 'email':
        return m.includes('e-mail') ? 'Adjon meg érvényes e-mail-címet, például nev@hivatal.hu.' : null;
      case 'role':
        return 'Válasszon szerepkört: ügyintéző vagy adminisztrátor.';
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}

/** The labels of the identity fields, for "must not be empty" messages. */
const identityLabels: Record<string, string> = {
  'identity.family_name': 'a családi nevet',
  'identity.given_name': 'az utónevet',
  'identity.mother_birth_name': 'az anyja születési nevét',
  'identity.birth_place': 'a születési helyet',
};

/**
 * The client endpoints' field errors, in Hungarian where the server's (English) reason is
 * known; any other message is shown as the server wrote it, in its language.
 */
export function clientFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'X-Access-Reason':
        return `Adja meg az ügyintézés célját (legfeljebb ${REASON_MAX} karakter).`;
      case 'identity.family_name':
      case 'identity.given_name':
      case 'identity.mother_birth_name':
      case 'identity.birth_place':
        if (m.includes('empty')) return `Adja meg ${identityLabels[fe.field]}.`;
        if (m.includes('at most')) return 'Legfeljebb 100 karakter lehet.';
        return null;
      case 'identity.birth_date':
        if (m.includes('future')) return 'A születési idő nem lehet a jövőben.';
        if (m.includes('early')) return 'A születési idő nem lehet 1880 előtti.';
        return 'Adja meg a születési időt (év, hónap, nap).';
      case 'email':
        return m.includes('e-mail') ? 'Adjon meg érvényes e-mail-címet, például nev@example.hu.' : null;
      case 'addresses':
        if (m.includes('postcode')) return 'Az irányítószám négy számjegy, 1000 és 9999 között.';
        if (m.includes('empty')) return 'Adja meg a lakcím települését és közterületét (házszámmal) is.';
        return null;
      case 'resident_card':
        return m.includes('another client') ? 'Ez a lakossági kártyaszám már egy másik ügyfélé.' : null;
      case 'document_number':
        return 'Az okmány száma 6–20 betű és számjegy, például 123456AB.';
      case 'account_email':
        return m.includes('no portal account') ? 'Ezzel az e-mail-címmel nincs portálfiók ennél az önkormányzatnál.' : null;
      case 'id_document':
      case 'family_name':
        return 'Adjon meg okmányszámot, vagy családi nevet, utónevet és születési időt.';
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}

/**
 * The organisation and mandate endpoints' field errors, in Hungarian where the server's (English)
 * reason is known; any other message is shown as the server wrote it, in its language.
 */
export function organisationFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'X-Access-Reason':
        return `Adja meg az ügyintézés célját (legfeljebb ${REASON_MAX} karakter).`;
      case 'name':
        return 'Adja meg a szervezet nevét (legfeljebb 200 karakter).';
      case 'tax_number':
        if (m.includes('check digit')) return 'Az adószám ellenőrző számjegye (8.) nem stimmel: elírás lehet.';
        if (m.includes('vat code')) return 'Az áfakód (9. számjegy) 1–5 lehet.';
        if (m.includes('area code')) return 'A területi kód (utolsó két számjegy) nem létező adóhivatali terület.';
        if (m.includes('11 digits')) return 'Az adószám 11 számjegy, xxxxxxxx-y-zz alakban.';
        if (m.includes('already registered')) return 'Ezzel az adószámmal már van szervezet.';
        return null;
      case 'addresses':
        if (m.includes('postcode')) return 'Az irányítószám négy számjegy, 1000 és 9999 között.';
        if (m.includes('empty')) return 'Adja meg a székhely települését és közterületét (házszámmal) is.';
        return null;
      case 'scope':
        return m.includes('case type') ? 'Adjon meg legalább egy ügytípuskódot, vagy * jelet minden ügytípusra.' : null;
      case 'valid_until':
        return m.includes('before') ? 'A meghatalmazás utolsó napja nem lehet korábbi az első napjánál.' : null;
      case 'principal_client_id':
        return m.includes('no such client') ? 'Ez a szervezet már nincs meg az ügyfelek között; vegye fel újra.' : null;
      case 'representative_account_id':
        return m.includes('no such client account')
          ? 'Nincs ilyen portálfiók ennél az önkormányzatnál; ellenőrizze az azonosítót.'
          : null;
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}
