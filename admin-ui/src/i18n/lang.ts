// The app's language: the page's `lang` (Hungarian unless it says English).
import type { FieldError } from '../api/client';
import type { ShownFieldError } from '../errors';
import { REFUSALS, type RefusalCode } from './refusals';

/** A language the app speaks. */
export type Lang = 'hu' | 'en';

/** The language the app shows its texts in. */
export function uiLang(): Lang {
  return (document.documentElement.lang || 'hu').toLowerCase().startsWith('en') ? 'en' : 'hu';
}

/**
 * A server field error in `lang`, translated by its code; a code this app does not know (from a
 * newer server) keeps the server's English message, marked as English.
 */
export function wordFieldError(fe: FieldError, lang: Lang = uiLang()): ShownFieldError {
  const wording = Object.prototype.hasOwnProperty.call(REFUSALS, fe.code) ? REFUSALS[fe.code as RefusalCode] : undefined;
  if (!wording) return { field: fe.field, message: fe.message, lang: 'en' };
  return { field: fe.field, message: wording[lang]((fe.args ?? {}) as Record<string, unknown>), lang };
}
