// The error summary: a visible live region that receives focus when filled.
import { ApiError, type FieldError } from './api/client';
import { h, replaceChildren } from './dom';

export interface ErrorSummary {
  readonly el: HTMLElement;
  /** Shows the message(s) and moves focus to the summary. */
  show(err: unknown, fields?: Record<string, HTMLInputElement>): void;
  clear(): void;
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
  let marked: HTMLInputElement[] = [];

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

  const show = (err: unknown, fields: Record<string, HTMLInputElement> = {}) => {
    clear();
    let detail: string;
    let fieldErrors: FieldError[] = [];
    if (err instanceof ApiError) {
      detail = err.problem.detail ?? err.problem.title;
      fieldErrors = err.problem.errors ?? [];
    } else if (err instanceof Error) {
      detail = err.message;
    } else {
      detail = String(err);
    }
    const items = fieldErrors.map((fe) => {
      const input = fields[fe.field];
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        const msg = h('p', { class: 'field-error', id: `${input.id}-error` }, fe.message);
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
        }, fe.message));
      }
      return h('li', {}, `${fe.field}: ${fe.message}`);
    });
    replaceChildren(
      el,
      h('h2', { class: 'error-title' }, 'Hiba történt'),
      h('p', { 'data-testid': 'error-detail' }, detail),
      items.length ? h('ul', {}, items) : null,
    );
    el.classList.add('visible');
    el.focus();
  };

  return { el, show, clear };
}
