// The one place that decides what a failed call means for the page: an expired session goes
// back to sign-in (through the shell's handler), every other problem is rendered by the page's
// error summary (`errors.ts`), with field errors under their inputs.
import { ApiError } from '../api/client';
import type { ErrorSummary, FieldControl } from '../errors';

/** A problem the app found itself (a missing or malformed field), shaped like the server's 400. */
export function localError(detail: string, errors: { field: string; message: string }[] = []): ApiError {
  const problem = { type: 'urn:kapu:problem:validation', code: 'validation' as const, args: {}, title: 'Hibás adatok', status: 400, detail };
  return new ApiError(400, problem, 'hu', errors.map((e) => ({ ...e, lang: 'hu' })));
}

/** Whether the call failed because the session is over (expired, signed out elsewhere). */
export function sessionLost(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 401 && e.kind !== 'invalid-credentials' && e.kind !== 'invalid-totp';
}

/**
 * Shows a failed call: `onLost` when the session is over (the shell signs out and asks for
 * a new sign-in), otherwise the problem in `errors`, field errors under `fields`.
 */
export function showProblem(
  errors: ErrorSummary,
  e: unknown,
  onLost: (e: ApiError) => void,
  fields?: Record<string, FieldControl>,
): void {
  if (sessionLost(e)) return onLost(e);
  errors.show(e, fields);
}

/** The same problem with the app's own Hungarian `detail` (for problems a page words itself). */
export function reworded(e: ApiError, detail: string): ApiError {
  return new ApiError(e.status, { ...e.problem, detail }, 'hu', e.shown);
}
