// The cases' states and the local systems' tasks in Hungarian (the counter page uses them too).
import { CASE_STATES, type CaseState } from '../../api/client';

export const caseStateLabels: Record<CaseState, string> = {
  submitted: 'Beküldve',
  awaiting_payment: 'Fizetésre vár',
  in_review: 'Ügyintézés alatt',
  awaiting_information: 'Hiánypótlásra vár',
  decided: 'Döntés született',
  delivered: 'Kézbesítve',
  rejected: 'Visszautasítva',
  withdrawn: 'Visszavonva',
};
export const caseStateLabel = (state: string): string => caseStateLabels[state as CaseState] ?? state;

/** Whether a case in `state` can still be worked on (assigned, asked about, decided). */
export const isOpenState = (state: string): boolean =>
  ['submitted', 'awaiting_payment', 'in_review', 'awaiting_information'].includes(state);

/** The case states a filter offers, in the API's order. */
export const FILTER_STATES = CASE_STATES;

export const localSystemLabel = (s: string): string =>
  ({ records: 'Iktatórendszer', finance: 'Pénzügy', parking: 'Parkolás' } as Record<string, string>)[s] ?? s;
export const localTaskLabel = (t: string): string => ({
  'records.register': 'Érkeztetés', 'records.file': 'Iktatás', 'records.issue': 'Kiadmányozás (döntés)',
  'finance.receivable': 'Díjelőírás', 'finance.payment': 'Befizetés könyvelése', 'parking.submit': 'Hozzájárulás beküldése',
} as Record<string, string>)[t] ?? t;
export const localStateLabel = (s: string): string => ({
  done: 'kész', pending: 'várakozik (újrapróbálás)', failed: 'sikertelen', not_installed: 'nincs bővítmény, nem történt meg',
} as Record<string, string>)[s] ?? s;
