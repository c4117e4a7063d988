// Ügyek (`#/cases`): the worklist, filed cases by state, case type, assignee and deadline;
// a case opens below it (`detail.ts`).
import type { CaseHandler, CaseItem, CaseState } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import { errorSummary } from '../../errors';
import { dateEl, number } from '../../ui/format';
import { busy, heading, scrollTable, statusLine } from '../../ui/widgets';
import type { Page, PageContext } from '../page';
import { showCase } from './detail';
import { FILTER_STATES, caseStateLabel, caseStateLabels } from './labels';

/** The worklist: filed cases by state, case type, assignee and deadline; a case opens below it. */
async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Ügyek';
  let first: CaseItem[];
  let handlers: CaseHandler[];
  try {
    [first, handlers] = await Promise.all([api.cases({}), api.caseHandlers()]);
  } catch (e) {
    return ctx.loadFailed(title, 'cases-heading', e);
  }
  const me = ctx.me.staff.id;
  const errors = errorSummary();
  const status = statusLine('cases-status');
  const results = h('div', { 'data-testid': 'cases-results' });
  const detail = h('section', { 'aria-labelledby': 'case-heading', 'data-testid': 'case-detail' });

  const stateSelect = h('select', { id: 'case-state-filter', name: 'state', 'data-testid': 'case-state-filter' },
    h('option', { value: '' }, 'Mind'),
    FILTER_STATES.map((st) => h('option', { value: st }, caseStateLabels[st])));
  const typeInput = h('input', { id: 'case-type-filter', name: 'case_type', type: 'text', 'data-testid': 'case-type-filter' });
  const mine = h('input', { id: 'case-mine', name: 'mine', type: 'checkbox', 'data-testid': 'case-mine' });
  const overdue = h('input', { id: 'case-overdue', name: 'overdue', type: 'checkbox', 'data-testid': 'case-overdue' });
  const showButton = h('button', { type: 'submit', 'data-testid': 'cases-filter-submit' }, 'Megjelenítés');
  const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'cases-filter', 'aria-label': 'Szűrés' },
    h('div', { class: 'field' }, h('label', { for: 'case-state-filter' }, 'Állapot'), stateSelect),
    h('div', { class: 'field' }, h('label', { for: 'case-type-filter' }, 'Ügytípus kódja'), typeInput),
    h('div', { class: 'field check' }, mine, h('label', { for: 'case-mine' }, 'Csak a nekem kiosztottak')),
    h('div', { class: 'field check' }, overdue, h('label', { for: 'case-overdue' }, 'Csak a határidőn túliak')),
    h('div', { class: 'actions' }, showButton));

  const handlerName = (id: string | null | undefined) => handlers.find((x) => x.id === id)?.display_name ?? '–';

  const showResults = (cases: CaseItem[]) => {
    if (!cases.length) {
      replaceChildren(results, h('p', { 'data-testid': 'cases-empty' }, 'Nincs a szűrésnek megfelelő ügy.'));
      return;
    }
    const rows = cases.map((c) => {
      const open = h('button', { type: 'button', class: 'small', 'data-testid': 'case-open', 'data-case-id': c.id },
        c.number ?? c.id);
      open.addEventListener('click', () => void showCase(ctx, { id: c.id, into: detail, handlers, reload, errors }));
      return h('tr', { 'data-testid': 'case-row', 'data-case-id': c.id, 'data-state': c.state },
        h('th', { scope: 'row' }, open),
        h('td', {}, c.case_type_name),
        h('td', {}, h('span', { class: `status case-${c.state}` }, caseStateLabel(c.state))),
        h('td', {}, handlerName(c.assignee_id)),
        h('td', {}, c.due_date ? dateEl(c.due_date) : '–', c.overdue ? h('strong', { class: 'overdue', 'data-testid': 'case-overdue-flag' }, ' határidőn túl') : null),
        h('td', { class: 'num' }, c.fee_gross ? `${c.fee_gross} Ft` : '–'));
    });
    const table = h('table', { 'data-testid': 'cases-table' },
      h('caption', { id: 'cases-caption' }, `Ügyek, a legkorábbi határidő elöl: ${number(cases.length)}.`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Ügyszám'),
        h('th', { scope: 'col' }, 'Ügytípus'),
        h('th', { scope: 'col' }, 'Állapot'),
        h('th', { scope: 'col' }, 'Ügyintéző'),
        h('th', { scope: 'col' }, 'Határidő'),
        h('th', { scope: 'col' }, 'Díj'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('cases-caption', table));
  };

  const reload = async (): Promise<void> => {
    errors.clear();
    try {
      const cases = await api.cases({
        state: (stateSelect.value || undefined) as CaseState | undefined,
        case_type: typeInput.value.trim() || undefined,
        assignee: mine.checked ? me : undefined,
        overdue: overdue.checked || undefined,
      });
      showResults(cases);
      replaceChildren(status, `${number(cases.length)} ügy.`);
    } catch (e) {
      return ctx.fail(errors, e);
    }
  };
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(showButton, reload);
  });
  showResults(first);
  ctx.render(title, [heading(title, 'cases-heading'), errors.el, filterForm, status, results, detail], { wide: true });
}

export const casesPage: Page = { name: 'cases', hash: '#/cases', label: 'Ügyek', permission: 'handle_cases', show };
