// Formatting shared by the pages: dates and times in Hungarian, numbers, names. Pure, except
// the two that build <time> elements (text nodes only, like everything in `dom.ts`).
import type { Address, ClientRecord } from '../api/client';
import { h } from '../dom';

/** A calendar date (`YYYY-MM-DD`) in Hungarian, e.g. "1980. május 17.". */
export const calendarDate = new Intl.DateTimeFormat('hu-HU', { dateStyle: 'long', timeZone: 'UTC' });

/** A point in time, short, in the browser's time zone. */
export const dateTime = new Intl.DateTimeFormat('hu-HU', { dateStyle: 'short', timeStyle: 'medium' });

/** A count as Hungarians write it (thousands grouped). */
export const number = (n: number): string => n.toLocaleString('hu-HU');

/** A calendar date as text; an unparsable one as it came. */
export function dateText(iso: string): string {
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? iso : calendarDate.format(d);
}

export function dateEl(iso: string): HTMLTimeElement {
  return h('time', { datetime: iso }, dateText(iso));
}

export function timeEl(iso: string): HTMLTimeElement {
  const d = new Date(iso);
  return h('time', { datetime: iso }, Number.isNaN(d.getTime()) ? iso : dateTime.format(d));
}

/** The day `now` falls on where the user is, as `YYYY-MM-DD`. */
export function todayIso(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** An audit record's `details` as short text: `fields: email, identity`; `–` when empty. */
export function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '–';
  if (typeof details !== 'object') return String(details);
  const entries = Object.entries(details as Record<string, unknown>);
  if (!entries.length) return '–';
  return entries
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.map(String).join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('; ');
}

/** Keeps only digits: authenticator apps often show "123 456". */
export function normaliseCode(raw: string): string {
  return raw.replace(/\D/g, '');
}

/** The document number as the server stores it (letters and digits, upper case). */
export const normaliseDocument = (s: string): string => s.replace(/[^0-9a-z]/gi, '').toUpperCase();

export const fullName = (c: ClientRecord): string => `${c.identity.family_name} ${c.identity.given_name}`;

export function addressText(c: ClientRecord, kind: Address['kind']): string | null {
  const a = c.addresses.find((x) => x.kind === kind);
  return a ? `${a.postcode} ${a.city}, ${a.street}` : null;
}
