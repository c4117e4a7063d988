// The one place that renders problems (errors.ts's summary) and the one that decides what a
// failed call means (shell/problems.ts): sign in again, or show it.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type Problem } from '../src/api/client';
import { describeError, errorSummary } from '../src/errors';
import { localError, reworded, sessionLost, showProblem } from '../src/shell/problems';

const problem = (status: number, kind: string, extra: Partial<Problem> = {}): ApiError =>
  new ApiError(status, { type: `urn:kapu:problem:${kind}`, code: kind as Problem['code'], args: {}, title: kind, status, detail: `English detail of ${kind}`, ...extra });

function input(id: string): HTMLInputElement {
  const el = document.createElement('input');
  el.id = id;
  document.body.append(el);
  return el;
}

describe('sessionLost', () => {
  it('is true for a 401 of an ended session', () => {
    expect(sessionLost(problem(401, 'unauthenticated'))).toBe(true);
  });
  it('is false for a wrong password or code (a 401 the form shows) and for other statuses', () => {
    expect(sessionLost(problem(401, 'invalid-credentials'))).toBe(false);
    expect(sessionLost(problem(401, 'invalid-totp'))).toBe(false);
    expect(sessionLost(problem(403, 'forbidden'))).toBe(false);
    expect(sessionLost(new Error('network'))).toBe(false);
  });
});

describe('showProblem', () => {
  it('hands an ended session to the shell and shows nothing', () => {
    const errors = errorSummary();
    const onLost = vi.fn();
    showProblem(errors, problem(401, 'unauthenticated'), onLost);
    expect(onLost).toHaveBeenCalledOnce();
    expect(errors.el.classList.contains('visible')).toBe(false);
  });

  it('shows anything else in the summary, field errors under their inputs', () => {
    const errors = errorSummary();
    document.body.append(errors.el);
    const email = input('staff-email');
    const onLost = vi.fn();
    const e = problem(422, 'validation', { errors: [
      { field: 'email', code: 'invalid_email', args: {}, message: 'must be an e-mail' },
      { field: 'other', code: 'required', args: {}, message: 'x' },
    ] });
    showProblem(errors, e, onLost, { email });
    expect(onLost).not.toHaveBeenCalled();
    expect(errors.el.classList.contains('visible')).toBe(true);
    expect(document.activeElement).toBe(errors.el);
    // The problem and the field errors are worded from their codes, in the page's language.
    expect(errors.el.querySelector('[data-testid="error-detail"]')?.textContent).toMatch(/^Hibás adatok/);
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(email.getAttribute('aria-describedby')).toBe('staff-email-error');
    const under = document.getElementById('staff-email-error');
    expect(under?.textContent).toBe('Adjon meg érvényes e-mail-címet, például nev@hivatal.hu.');
    expect(under?.hasAttribute('lang')).toBe(false);
    // A field without an input is listed by name; one with an input links to it.
    expect(errors.el.querySelector('li code')?.textContent).toBe('other');
    expect(errors.el.querySelector('li a')?.getAttribute('href')).toBe('#staff-email');
    // Clearing removes the marks again.
    errors.clear();
    expect(email.hasAttribute('aria-invalid')).toBe(false);
    expect(email.hasAttribute('aria-describedby')).toBe(false);
    expect(document.getElementById('staff-email-error')).toBeNull();
  });

  it('shows the request id of a server fault, and only then', () => {
    const errors = errorSummary();
    showProblem(errors, problem(500, 'internal', { request_id: 'req-123' }), vi.fn());
    expect(errors.el.querySelector('[data-testid="request-id"]')?.textContent).toBe('req-123');
    showProblem(errors, problem(409, 'conflict', { request_id: 'req-456' }), vi.fn());
    expect(errors.el.querySelector('[data-testid="request-id"]')).toBeNull();
  });
});

describe('describeError', () => {
  it('words known problem types in Hungarian', () => {
    expect(describeError(problem(403, 'forbidden'))).toEqual({ text: 'Ehhez a művelethez nincs jogosultsága.', lang: 'hu' });
  });
  it('shows an unknown type with the server\'s detail, in its language', () => {
    expect(describeError(problem(418, 'teapot'))).toEqual({ text: 'English detail of teapot', lang: 'en' });
  });
  it('keeps the app\'s own Hungarian wording (localError, reworded)', () => {
    expect(describeError(localError('Hiányzó adatok.'))).toEqual({ text: 'Hiányzó adatok.', lang: 'hu' });
    expect(describeError(reworded(problem(503, 'unavailable'), 'Az SZL nem érhető el.'))).toEqual({ text: 'Az SZL nem érhető el.', lang: 'hu' });
  });
});
