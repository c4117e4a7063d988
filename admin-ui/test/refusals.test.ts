// Errors carry codes: every code the API document lists has a wording in both of the app's
// languages, and what the app shows is chosen by the code, never by the server's English.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type FieldError } from '../src/api/client';
import { describeError, errorSummary, shownFieldErrors } from '../src/errors';
import { wordFieldError } from '../src/i18n/lang';
import { PROBLEMS } from '../src/i18n/problems';
import { REFUSALS } from '../src/i18n/refusals';

// happy-dom gives the tests an http: base URL, so the document is found from the working directory.
const doc = JSON.parse(readFileSync(join(process.cwd(), 'openapi.json'), 'utf8'));
const codesOf = (schema: string): string[] => doc.components.schemas[schema].properties.code.enum;

const fieldError = (code: string, args: Record<string, unknown> = {}, message = `English for ${code}`): FieldError =>
  ({ field: 'x', code, args, message }) as FieldError;

afterEach(() => document.documentElement.removeAttribute('lang'));

describe('the catalogues', () => {
  it('word every field error code of the API document in Hungarian and in English', () => {
    const codes = codesOf('FieldError');
    expect(codes.length).toBeGreaterThan(50);
    for (const code of codes) {
      const w = REFUSALS[code as keyof typeof REFUSALS];
      expect(w, `${code} has no wording`).toBeDefined();
      const [hu, en] = [w.hu({}), w.en({})];
      expect(hu.trim(), `${code} in Hungarian`).not.toBe('');
      expect(en.trim(), `${code} in English`).not.toBe('');
      // The case type's own text is the same in both; everything else is translated.
      if (code !== 'ineligible') expect(hu, `${code} is not translated`).not.toBe(en);
    }
    // And no wording for a code the server no longer sends.
    expect(Object.keys(REFUSALS).sort()).toEqual([...codes].sort());
  });

  it('word every problem code of the API document in both languages', () => {
    const codes = codesOf('Problem');
    for (const code of codes) {
      const w = PROBLEMS[code as keyof typeof PROBLEMS];
      expect(w, `${code} has no wording`).toBeDefined();
      expect(w.hu).not.toBe(w.en);
    }
    expect(Object.keys(PROBLEMS).sort()).toEqual([...codes].sort());
  });
});

describe('a field error', () => {
  it('is worded from its code and arguments, not from the server\'s message', () => {
    const fe = fieldError('too_short', { min: 5 }, 'must be at least 5 characters');
    expect(wordFieldError(fe, 'hu')).toEqual({ field: 'x', message: 'Legalább 5 karakter legyen.', lang: 'hu' });
    expect(wordFieldError(fe, 'en')).toEqual({ field: 'x', message: 'Use at least 5 characters.', lang: 'en' });
    // The English message plays no part: another one gives the same wording.
    expect(wordFieldError(fieldError('too_short', { min: 5 }, 'zzz'), 'hu').message).toBe('Legalább 5 karakter legyen.');
  });

  it('from a newer server, with a code this app does not know, keeps the server\'s message, marked English', () => {
    expect(wordFieldError(fieldError('future_code', {}, 'must be purple'), 'hu')).toEqual({ field: 'x', message: 'must be purple', lang: 'en' });
  });

  it('follows the page\'s language', () => {
    document.documentElement.lang = 'en';
    const e = new ApiError(422, { type: 'urn:kapu:problem:validation', code: 'validation', args: {}, title: 't', status: 422, detail: 'd', errors: [fieldError('required')] });
    expect(shownFieldErrors(e)).toEqual([{ field: 'x', message: 'Fill in this field.', lang: 'en' }]);
    expect(describeError(e).text).toBe(PROBLEMS.validation.en);
  });
});

describe('a problem', () => {
  const problem = (code: string, detail: string) =>
    new ApiError(409, { type: `urn:kapu:problem:${code}`, code, args: {}, title: code, status: 409, detail } as never);

  it('is worded from its code, with the server\'s specific detail beside it', () => {
    expect(describeError(problem('conflict', 'the case was already paid'), 'hu'))
      .toEqual({ text: PROBLEMS.conflict.hu, lang: 'hu', server: 'the case was already paid' });
  });

  it('with a code this app does not know shows the server\'s detail in its language', () => {
    expect(describeError(problem('future-problem', 'a new kind of problem'), 'hu')).toEqual({ text: 'a new kind of problem', lang: 'en' });
  });

  it('shows its summary heading in the page\'s language', () => {
    document.documentElement.lang = 'en';
    const errors = errorSummary();
    errors.show(problem('conflict', 'x'));
    expect(errors.el.querySelector('h2')?.textContent).toBe('Something went wrong');
    expect(errors.el.querySelector('[data-testid="error-server-detail"]')?.getAttribute('lang')).toBe('en');
  });
});
