// The formatters the pages share.
import { describe, expect, it } from 'vitest';
import type { ClientRecord } from '../src/api/client';
import {
  addressText, dateEl, dateText, detailsText, fullName, normaliseCode, normaliseDocument, number, todayIso,
} from '../src/ui/format';

const client = {
  id: '0190f3c2-7a1b-7c3d-9e4f-1a2b3c4d5e6f',
  identity: { family_name: 'Minta', given_name: 'Márta', mother_birth_name: 'Kovács Ilona', birth_place: 'Budapest', birth_date: '1980-05-17' },
  addresses: [{ kind: 'permanent', postcode: '1126', city: 'Budapest', street: 'Böszörményi út 23-25.' }],
} as unknown as ClientRecord;

describe('formatters', () => {
  it('write dates and counts the Hungarian way', () => {
    expect(dateText('1980-05-17')).toBe('1980. május 17.');
    expect(dateText('nem dátum')).toBe('nem dátum');
    const el = dateEl('1980-05-17');
    expect([el.tagName, el.getAttribute('datetime'), el.textContent]).toEqual(['TIME', '1980-05-17', '1980. május 17.']);
    expect(number(1234567).replace(/\s/g, ' ')).toBe('1 234 567');
  });

  it('take today from the clock they are given', () => {
    expect(todayIso(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
  });

  it('shorten audit details', () => {
    expect(detailsText(null)).toBe('–');
    expect(detailsText({})).toBe('–');
    expect(detailsText({ fields: ['email', 'identity'], n: 2 })).toBe('fields: email, identity; n: 2');
    expect(detailsText({ nested: { a: 1 } })).toBe('nested: {"a":1}');
    expect(detailsText('plain')).toBe('plain');
  });

  it('normalise what people type', () => {
    expect(normaliseCode('123 456')).toBe('123456');
    expect(normaliseDocument(' 123456-ab ')).toBe('123456AB');
  });

  it('name clients and their addresses', () => {
    expect(fullName(client)).toBe('Minta Márta');
    expect(addressText(client, 'permanent')).toBe('1126 Budapest, Böszörményi út 23-25.');
    expect(addressText(client, 'seat')).toBeNull();
  });
});
