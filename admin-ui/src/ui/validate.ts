// Shapes the pages check before sending (the server checks them again).

/** A calendar date as `<input type="date">` gives it. */
export const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A UUID in its 36-character form (any case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Hungarian postcode: four digits, 1000 to 9999. */
export const POSTCODE = /^[1-9][0-9]{3}$/;

/** A local field problem, shaped like the server's `errors[]`. */
export interface FieldProblem {
  field: string;
  message: string;
}
