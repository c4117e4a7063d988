// The clients page's Hungarian labels and fixed texts.
import type { DocumentKind } from '../../api/client';

export const documentKindLabels: Record<DocumentKind, string> = {
  identity_card: 'Személyi igazolvány',
  passport: 'Útlevél',
  driving_licence: 'Vezetői engedély',
};

/** The registry's names of differing fields (`fields` of a mismatch), in Hungarian. */
export const mismatchFieldLabels: Record<string, string> = {
  family_name: 'családi név',
  given_name: 'utónév',
  birth_name: 'születési név',
  mother_birth_name: 'anyja születési neve',
  birth_place: 'születési hely',
  birth_date: 'születési idő',
  address: 'lakcím',
  document_validity: 'az okmány érvényessége',
};

export const REGISTRY_DOWN =
  'A központi személyiadat- és lakcímnyilvántartás (SZL) most nem érhető el, ezért az azonosítás nem történt meg; semmi sem változott. Próbálja újra néhány perc múlva.';

export const ACCOUNT_ID_HINT = 'A portálfiók 36 karakteres azonosítója kötőjelekkel, például 0190f3c2-7a1b-7c3d-9e4f-1a2b3c4d5e6f. '
  + 'Portálfiókot e-mail-cím szerint itt még nem lehet keresni.';
