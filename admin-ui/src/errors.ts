// The error summary: a visible live region that receives focus when filled.
import { ApiError } from './api/client';
import { type Lang, uiLang, wordFieldError } from './i18n/lang';
import { PROBLEMS, type ProblemCode } from './i18n/problems';
import { h, replaceChildren } from './dom';

/** A form control that a field error can be attached to. */
export type FieldControl = HTMLInputElement | HTMLSelectElement;

/**
 * A field error as the app shows it: the server's, translated by its code, or one the app
 * worded itself; `lang` is the message's language.
 */
export interface ShownFieldError {
  field: string;
  message: string;
  lang?: string;
}

export interface ErrorSummary {
  readonly el: HTMLElement;
  /**
   * Shows the message(s) and moves focus to the summary. Field errors whose `field` names a
   * control in `fields` are also shown under that control (linked by `aria-describedby`).
   */
  show(err: unknown, fields?: Record<string, FieldControl>): void;
  clear(): void;
}

/** Problems whose `detail` says something specific, worth showing beside the app's wording. */
const SPECIFIC = new Set(['not-found', 'conflict', 'not-configured', 'local-system-failed', 'quota-exceeded', 'malformed-json']);

/**
 * The summary's main text and its language: the app's wording of the problem's code in the
 * app's language; the app's own errors (localError, reworded) as they are; a code this app does
 * not know (from a newer server) with the server's English `detail`. `server` is the server's
 * own detail where it says something specific.
 */
export function describeError(err: unknown, lang: Lang = uiLang()): { text: string; lang: string; server?: string } {
  if (err instanceof ApiError) {
    // The server words its details in English; anything else is the app's own wording.
    if (err.lang !== 'en') return { text: err.problem.detail ?? err.problem.title, lang: err.lang };
    const code = err.problem.code ?? err.kind;
    const known = Object.prototype.hasOwnProperty.call(PROBLEMS, code) ? PROBLEMS[code as ProblemCode] : undefined;
    if (!known) return { text: err.problem.detail ?? err.problem.title, lang: err.lang };
    const detail = err.problem.detail;
    return SPECIFIC.has(code) && detail ? { text: known[lang], lang, server: detail } : { text: known[lang], lang };
  }
  if (err instanceof Error) return { text: err.message, lang: 'en' };
  return { text: String(err), lang: 'en' };
}

/** The field errors of a failed call as the app shows them. */
export function shownFieldErrors(err: unknown, lang: Lang = uiLang()): ShownFieldError[] {
  if (!(err instanceof ApiError)) return [];
  if (err.shown) return err.shown;
  return (err.problem.errors ?? []).map((fe) => wordFieldError(fe, lang));
}

export function errorSummary(): ErrorSummary {
  const el = h('div', {
    class: 'error-summary',
    id: 'error-summary',
    'data-testid': 'error-summary',
    role: 'alert',
    'aria-live': 'assertive',
    'aria-atomic': 'true',
    tabindex: '-1',
  });
  let marked: FieldControl[] = [];

  const clear = () => {
    replaceChildren(el);
    el.classList.remove('visible');
    for (const input of marked) {
      input.removeAttribute('aria-invalid');
      const rest = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== `${input.id}-error`);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
      document.getElementById(`${input.id}-error`)?.remove();
    }
    marked = [];
  };

  const show = (err: unknown, fields: Record<string, FieldControl> = {}) => {
    clear();
    const ui = uiLang();
    const detail = describeError(err, ui);
    const fieldErrors = shownFieldErrors(err, ui);
    // The request id helps support find the log entry; only worth showing for server faults.
    const requestId = err instanceof ApiError && err.status >= 500 ? err.problem.request_id : null;
    const langOf = (lang: string) => (lang === ui ? null : lang);
    const items = fieldErrors.map((fe) => {
      const lang = langOf(fe.lang ?? ui);
      const input = fields[fe.field];
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        const msg = h('p', { class: 'field-error', id: `${input.id}-error`, lang }, fe.message);
        const describedBy = input.getAttribute('aria-describedby');
        input.setAttribute('aria-describedby', describedBy ? `${describedBy} ${msg.id}` : msg.id);
        input.insertAdjacentElement('afterend', msg);
        marked.push(input);
        return h('li', {}, h('a', {
          href: `#${input.id}`,
          onclick: (ev: Event) => {
            ev.preventDefault();
            input.focus();
          },
        }, h('span', { lang }, fe.message)));
      }
      return h('li', {}, h('code', {}, fe.field), ': ', h('span', { lang }, fe.message));
    });
    replaceChildren(
      el,
      h('h2', { class: 'error-title' }, ui === 'en' ? 'Something went wrong' : 'Hiba történt'),
      h('p', { 'data-testid': 'error-detail', lang: langOf(detail.lang) }, detail.text),
      detail.server ? h('p', { class: 'server-detail', 'data-testid': 'error-server-detail', lang: 'en' }, detail.server) : null,
      items.length ? h('ul', {}, items) : null,
      requestId ? h('p', { class: 'request-id' }, ui === 'en' ? 'Error id: ' : 'Hibaazonosító: ', h('code', { 'data-testid': 'request-id' }, requestId)) : null,
    );
    el.classList.add('visible');
    el.focus();
  };

  return { el, show, clear };
}
