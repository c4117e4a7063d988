// What the parts of the clients page share: the page's error summary and the purpose of the
// access (sent with every call as `X-Access-Reason`), plus the small form helpers.
import { h } from '../../dom';
import { errorSummary, type ErrorSummary, type FieldControl } from '../../errors';
import { REASON_MAX } from '../../limits';
import { localError } from '../../shell/problems';
import type { FieldProblem } from '../../ui/validate';
import type { PageContext } from '../page';
import { reasonProblem } from './validate';

export interface ClientsPage {
  readonly ctx: PageContext;
  readonly errors: ErrorSummary;
  /** The "Ügyintézés célja" input. */
  readonly purpose: HTMLInputElement;
  /** The purpose, or a local field error for it (added to `problems`). */
  reasonFor(problems: FieldProblem[]): string;
  /** Refuses a form locally: the problems in the summary and under `fields` (the purpose's too). */
  refuse(problems: FieldProblem[], fields?: Record<string, FieldControl>): void;
  /** Shows a failed call (sign-in again on 401), field errors under `fields` (and the purpose). */
  failed(e: unknown, fields: Record<string, FieldControl>): void;
}

/** The key under which the purpose is kept while the session lasts. */
const REASON_KEY = 'clients.reason';

export function clientsPage(ctx: PageContext): ClientsPage {
  const errors = errorSummary();
  const purpose = h('input', {
    id: 'client-reason', name: 'reason', type: 'text', autocomplete: 'off', required: true,
    maxlength: String(REASON_MAX), 'aria-describedby': 'client-reason-hint', 'data-testid': 'client-reason',
    value: ctx.memory.get(REASON_KEY, ''),
  });
  purpose.addEventListener('input', () => ctx.memory.set(REASON_KEY, purpose.value));
  return {
    ctx,
    errors,
    purpose,
    reasonFor(problems) {
      const value = purpose.value.trim();
      const problem = reasonProblem(value);
      if (problem) problems.push({ field: 'X-Access-Reason', message: problem });
      return value;
    },
    refuse(problems, fields = {}) {
      errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...fields });
    },
    failed(e, fields) {
      return ctx.fail(errors, e, { 'X-Access-Reason': purpose, ...fields });
    },
  };
}

/** A text input of the page's forms (`data-testid` is its id). */
export const input = (id: string, name: string, attrs: Record<string, string | boolean> = {}): HTMLInputElement =>
  h('input', { id, name, type: 'text', autocomplete: 'off', 'data-testid': id, ...attrs });

/** A labelled field, with a hint (`<id>-hint`) when given. */
export const field = (control: HTMLInputElement, label: string, hint?: string): HTMLDivElement => h('div', { class: 'field' },
  h('label', { for: control.id }, label),
  hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null,
  control);
