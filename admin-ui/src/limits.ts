// Limits the server enforces that the app states in its hints (the server refuses beyond them,
// with a code the app translates).

/** Minimum length of a staff password (the server's policy; it also refuses guessable ones). */
export const PASSWORD_MIN = 12;

/** The longest purpose the server takes (`X-Access-Reason`, 1 to 200 characters). */
export const REASON_MAX = 200;
