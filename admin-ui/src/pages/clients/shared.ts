// What the parts of the clients page share: the page's error summary and the purpose of the
// access (sent with every call as `X-Access-Reason`), plus the small form helpers.
import { ApiError } from '../../api/client';
import { h } from '../../dom';
import { errorSummary, type ErrorSummary, type FieldControl, type ShownFieldError } from '../../errors';
import { clientFieldErrors, REASON_MAX } from '../../field-errors';
import { localError } from '../../shell/problems';
import type { FieldProblem } from '../../ui/validate';
import type { PageContext } from '../page';
import { reasonProblem } from './validate';

/** How a part of the page words an endpoint's field errors. */
export type Wording = (e: ApiError) => ShownFieldError[];

export interface ClientsPage {
  readonly ctx: PageContext;
  readonly errors: ErrorSummary;
  /** The "Ügyintézés célja" input. */
  readonly purpose: HTMLInputElement;
  /** The purpose, or a local field error for it (added to `problems`). */
  reasonFor(problems: FieldProblem[]): string;
  /** Refuses a form locally: the problems in the summary and under `fields` (the purpose's too). */
  refuse(problems: FieldProblem[], fields?: Record<string, FieldControl>): void;
  /** Shows a failed call (sign-in again on 401), the endpoint's field errors worded by `wording`. */
  failed(e: unknown, fields: Record<string, FieldControl>, wording?: Wording): void;
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
    failed(e, fields, wording = clientFieldErrors) {
      const all = { 'X-Access-Reason': purpose, ...fields };
      if (e instanceof ApiError && e.kind === 'validation') {
        return ctx.fail(errors, new ApiError(e.status, { ...e.problem, errors: wording(e) }, e.lang), all);
      }
      return ctx.fail(errors, e, all);
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
