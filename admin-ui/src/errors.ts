// The error summary: a visible live region that receives focus when filled.
import { ApiError, type FieldError } from './api/client';
import { h, replaceChildren } from './dom';

/** A form control that a field error can be attached to. */
export type FieldControl = HTMLInputElement | HTMLSelectElement;

/**
 * A field error as the app shows it: the server's, or one the app worded itself; `lang`
 * overrides the language of the error as a whole (for messages the app put in Hungarian
 * next to the server's English ones).
 */
export type ShownFieldError = FieldError & { lang?: string };

export interface ErrorSummary {
  readonly el: HTMLElement;
  /**
   * Shows the message(s) and moves focus to the summary. Field errors whose `field` names a
   * control in `fields` are also shown under that control (linked by `aria-describedby`).
   */
  show(err: unknown, fields?: Record<string, FieldControl>): void;
  clear(): void;
}

/**
 * What the app says, in Hungarian, for the server's problem types (`urn:kapu:problem:<code>`).
 * The server's `detail` is English; it is shown (marked `lang="en"`) only for other types.
 */
const MESSAGES: Record<string, string> = {
  'invalid-credentials': 'Hibás e-mail-cím vagy jelszó.',
  'invalid-totp': 'Hibás vagy már felhasznált ellenőrző kód. Várja meg, amíg az alkalmazás új kódot mutat, és adja meg azt.',
  'too-many-attempts': 'Túl sok sikertelen próbálkozás. Várjon egy kicsit, majd próbálja újra.',
  'too-many-emails': 'Erre a címre vagy erről a hálózatról túl sok levelet kértek. Próbálja újra később.',
  unauthenticated: 'A munkamenet lejárt. Jelentkezzen be újra.',
  'mfa-required': 'Előbb fejezze be a kétlépcsős azonosítást.',
  forbidden: 'Ehhez a művelethez nincs jogosultsága.',
  csrf: 'A kérés biztonsági ellenőrzése nem sikerült. Töltse újra az oldalt, és próbálja újra.',
  'unknown-tenant': 'Ezen a címen nem működik önkormányzat.',
  'tenant-suspended': 'Az önkormányzat szolgáltatása jelenleg szünetel.',
  internal: 'Belső hiba történt a kiszolgálón. Próbálja újra később.',
  unavailable: 'A szolgáltatás átmenetileg nem érhető el. Próbálja újra néhány perc múlva.',
  validation: 'Hibás adatok. Javítsa a megjelölt mezőket, majd próbálja újra.',
};

/** The summary's main text and its language (`hu` unless it is the server's own wording). */
export function describeError(err: unknown): { text: string; lang: string } {
  if (err instanceof ApiError) {
    if (err.lang !== 'hu' && err.kind in MESSAGES) return { text: MESSAGES[err.kind] as string, lang: 'hu' };
    return { text: err.problem.detail ?? err.problem.title, lang: err.lang };
  }
  if (err instanceof Error) return { text: err.message, lang: 'en' };
  return { text: String(err), lang: 'en' };
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
    const detail = describeError(err);
    const fieldLang = err instanceof ApiError ? err.lang : 'hu';
    const fieldErrors: ShownFieldError[] = err instanceof ApiError ? (err.problem.errors ?? []) : [];
    // The request id helps support find the log entry; only worth showing for server faults.
    const requestId = err instanceof ApiError && err.status >= 500 ? err.problem.request_id : null;
    const langOf = (lang: string) => (lang === 'hu' ? null : lang);
    const items = fieldErrors.map((fe) => {
      const lang = langOf(fe.lang ?? fieldLang);
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
      h('h2', { class: 'error-title' }, 'Hiba történt'),
      h('p', { 'data-testid': 'error-detail', lang: langOf(detail.lang) }, detail.text),
      items.length ? h('ul', {}, items) : null,
      requestId ? h('p', { class: 'request-id' }, 'Hibaazonosító: ', h('code', { 'data-testid': 'request-id' }, requestId)) : null,
    );
    el.classList.add('visible');
    el.focus();
  };

  return { el, show, clear };
}
