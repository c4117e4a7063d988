// What the clients page checks before it sends anything (the server checks it all again).
// Pure functions over the values as typed, so that they are unit-tested without a browser.
import { REASON_MAX } from '../../limits';
import { DATE, POSTCODE, UUID, type FieldProblem } from '../../ui/validate';

/** A Hungarian tax number as the clerk types it: 8, 1 and 2 digits, dashes and spaces optional. */
export const TAX_NUMBER_SHAPE = /^\d{8}-?\d-?\d{2}$/;

/** What is wrong with a purpose as typed, in Hungarian; null when it can be sent. */
export function reasonProblem(value: string): string | null {
  if (!value) return 'Adja meg az ügyintézés célját: minden ügyféladat-hozzáférés ezzel az indokkal kerül a naplóba.';
  if (value.length > REASON_MAX) return `Az ügyintézés célja legfeljebb ${REASON_MAX} karakter lehet.`;
  return null;
}

/** A search by name and birth date. */
export function nameSearchProblems(q: { family_name: string; given_name: string; birth_date: string }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!q.family_name) problems.push({ field: 'family_name', message: 'Adja meg a családi nevet.' });
  if (!q.given_name) problems.push({ field: 'given_name', message: 'Adja meg az utónevet.' });
  if (!DATE.test(q.birth_date)) problems.push({ field: 'birth_date', message: 'Adja meg a születési időt (év, hónap, nap).' });
  return problems;
}

/** An address as typed: all three parts or none. */
export interface AddressInput {
  postcode: string;
  city: string;
  street: string;
}

/** Whether any part of the address was typed (then all of it must be). */
export const hasAddress = (a: AddressInput): boolean => [a.postcode, a.city, a.street].some(Boolean);

/** The problems of a partly typed address; `prefix` names the fields (`address`, `seat`), `what` the address in messages. */
export function addressProblems(a: AddressInput, prefix: string, what: 'a lakcím' | 'a székhely'): FieldProblem[] {
  if (!hasAddress(a)) return [];
  const problems: FieldProblem[] = [];
  if (!POSTCODE.test(a.postcode)) problems.push({ field: `${prefix}.postcode`, message: 'Az irányítószám négy számjegy, 1000 és 9999 között.' });
  if (!a.city) problems.push({ field: `${prefix}.city`, message: `Adja meg a települést, vagy hagyja üresen ${what} minden mezőjét.` });
  if (!a.street) {
    problems.push({ field: `${prefix}.street`, message: `Adja meg a közterületet és a házszámot, vagy hagyja üresen ${what} minden mezőjét.` });
  }
  return problems;
}

/** A new natural person as typed (trimmed). */
export interface NewClientInput extends AddressInput {
  family_name: string;
  given_name: string;
  mother_birth_name: string;
  birth_place: string;
  birth_date: string;
}

export function newClientProblems(v: NewClientInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const need = (value: string, field: string, message: string) => {
    if (!value) problems.push({ field, message });
  };
  need(v.family_name, 'identity.family_name', 'Adja meg a családi nevet.');
  need(v.given_name, 'identity.given_name', 'Adja meg az utónevet.');
  need(v.mother_birth_name, 'identity.mother_birth_name', 'Adja meg az anyja születési nevét.');
  need(v.birth_place, 'identity.birth_place', 'Adja meg a születési helyet.');
  if (!DATE.test(v.birth_date)) problems.push({ field: 'identity.birth_date', message: 'Adja meg a születési időt (év, hónap, nap).' });
  return [...problems, ...addressProblems(v, 'address', 'a lakcím')];
}

/** A new organisation as typed (trimmed); the tax number is returned without spaces. */
export function organisationProblems(v: AddressInput & { name: string; tax_number: string }): { problems: FieldProblem[]; tax: string } {
  const problems: FieldProblem[] = [];
  if (!v.name) problems.push({ field: 'name', message: 'Adja meg a szervezet nevét.' });
  const tax = v.tax_number.replace(/\s+/g, '');
  if (!tax) problems.push({ field: 'tax_number', message: 'Adja meg az adószámot.' });
  else if (!TAX_NUMBER_SHAPE.test(tax)) problems.push({ field: 'tax_number', message: 'Az adószám 11 számjegy, xxxxxxxx-y-zz alakban.' });
  return { problems: [...problems, ...addressProblems(v, 'seat', 'a székhely')], tax };
}

/** A mandate as typed; `codes` are the case type codes of the scope. */
export function mandateProblems(v: { representative: string; scope: string; valid_from: string; valid_until: string }): {
  problems: FieldProblem[];
  codes: string[];
} {
  const problems: FieldProblem[] = [];
  const codes = v.scope.split(',').map((c) => c.trim()).filter(Boolean);
  if (!UUID.test(v.representative)) {
    problems.push({
      field: 'representative_account_id',
      message: v.representative
        ? 'Az azonosító 36 karakter: 8-4-4-4-12 hexadecimális jegy kötőjelekkel elválasztva.'
        : 'Adja meg a képviselő portálfiókjának azonosítóját.',
    });
  }
  if (!codes.length) problems.push({ field: 'scope', message: 'Adjon meg legalább egy ügytípuskódot, vagy * jelet minden ügytípusra.' });
  if (!DATE.test(v.valid_from)) problems.push({ field: 'valid_from', message: 'Adja meg az érvényesség első napját (év, hónap, nap).' });
  if (v.valid_until && !DATE.test(v.valid_until)) {
    problems.push({ field: 'valid_until', message: 'Adja meg az utolsó napot (év, hónap, nap), vagy hagyja üresen.' });
  } else if (v.valid_until && DATE.test(v.valid_from) && v.valid_until < v.valid_from) {
    problems.push({ field: 'valid_until', message: 'A meghatalmazás utolsó napja nem lehet korábbi az első napjánál.' });
  }
  return { problems, codes };
}
