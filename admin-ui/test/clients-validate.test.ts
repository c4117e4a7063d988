// What the clients page refuses before sending anything.
import { describe, expect, it } from 'vitest';
import {
  addressProblems, mandateProblems, nameSearchProblems, newClientProblems, organisationProblems, reasonProblem,
} from '../src/pages/clients/validate';

const fields = (ps: { field: string }[]) => ps.map((p) => p.field);

describe('the purpose of the access', () => {
  it('is required and at most 200 characters', () => {
    expect(reasonProblem('')).toMatch(/ügyintézés célját/);
    expect(reasonProblem('x'.repeat(201))).toMatch(/legfeljebb 200/);
    expect(reasonProblem('x'.repeat(200))).toBeNull();
    expect(reasonProblem('személyes azonosítás')).toBeNull();
  });
});

describe('the search by name', () => {
  it('needs both names and a birth date', () => {
    expect(fields(nameSearchProblems({ family_name: '', given_name: '', birth_date: '' })))
      .toEqual(['family_name', 'given_name', 'birth_date']);
    expect(nameSearchProblems({ family_name: 'Minta', given_name: 'Márta', birth_date: '1980-05-17' })).toEqual([]);
  });
});

describe('an address', () => {
  it('is all or nothing, with a four-digit postcode from 1000', () => {
    expect(addressProblems({ postcode: '', city: '', street: '' }, 'address', 'a lakcím')).toEqual([]);
    expect(fields(addressProblems({ postcode: '', city: 'Budapest', street: '' }, 'address', 'a lakcím')))
      .toEqual(['address.postcode', 'address.street']);
    expect(fields(addressProblems({ postcode: '0999', city: 'X', street: 'Y' }, 'seat', 'a székhely'))).toEqual(['seat.postcode']);
    expect(addressProblems({ postcode: '1126', city: '', street: 'Y' }, 'seat', 'a székhely')[0]?.message).toMatch(/székhely minden mezőjét/);
  });
});

describe('a new client', () => {
  const marta = {
    family_name: 'Minta', given_name: 'Márta', mother_birth_name: 'Kovács Ilona', birth_place: 'Budapest',
    birth_date: '1980-05-17', postcode: '', city: '', street: '',
  };
  it('passes with the identity and no address', () => {
    expect(newClientProblems(marta)).toEqual([]);
  });
  it('names every missing identity field, then the address parts', () => {
    expect(fields(newClientProblems({ ...marta, family_name: '', birth_place: '', birth_date: '1980-5-17', city: 'Budapest' })))
      .toEqual(['identity.family_name', 'identity.birth_place', 'identity.birth_date', 'address.postcode', 'address.street']);
  });
});

describe('a new organisation', () => {
  const org = { name: 'Minta Kft.', tax_number: '12345676-2-41', postcode: '', city: '', street: '' };
  it('accepts the tax number with or without dashes and spaces, and returns it without spaces', () => {
    expect(organisationProblems(org)).toEqual({ problems: [], tax: '12345676-2-41' });
    expect(organisationProblems({ ...org, tax_number: '12345676 2 41' }).tax).toBe('12345676241');
    expect(organisationProblems({ ...org, tax_number: '12345676241' }).problems).toEqual([]);
  });
  it('refuses a missing name and a tax number of the wrong shape (the check digit is the server\'s)', () => {
    expect(fields(organisationProblems({ ...org, name: '', tax_number: '1234-5' }).problems)).toEqual(['name', 'tax_number']);
    expect(organisationProblems({ ...org, tax_number: '' }).problems[0]?.message).toBe('Adja meg az adószámot.');
  });
});

describe('a mandate', () => {
  const ok = { representative: '0190f3c2-7a1b-7c3d-9e4f-1a2b3c4d5e6f', scope: '*', valid_from: '2026-01-01', valid_until: '' };
  it('passes with a portal account id, a scope and a first day', () => {
    expect(mandateProblems(ok)).toEqual({ problems: [], codes: ['*'] });
    expect(mandateProblems({ ...ok, scope: ' parking-permit, ,official-certificate ' }).codes)
      .toEqual(['parking-permit', 'official-certificate']);
  });
  it('says whether the account id is missing or malformed', () => {
    expect(mandateProblems({ ...ok, representative: '' }).problems[0]?.message).toMatch(/Adja meg/);
    expect(mandateProblems({ ...ok, representative: 'nem-uuid' }).problems[0]?.message).toMatch(/36 karakter/);
  });
  it('refuses an empty scope and a last day before the first', () => {
    expect(fields(mandateProblems({ ...ok, scope: ' , ', valid_until: '2025-12-31' }).problems)).toEqual(['scope', 'valid_until']);
    expect(mandateProblems({ ...ok, valid_until: '2026-01-01' }).problems).toEqual([]);
  });
});
