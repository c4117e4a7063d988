// Operators' calendar: which coming years the working-day calendar has a decree for. The
// operators' console has no navigation; `tenants.ts` shows this section under the tenant list.
import type { components } from '../api/platform-schema';
import { h } from '../dom';

export type CalendarOutlook = components['schemas']['CalendarOutlook'];

/** The years without a decree, for the page's summary; exported for unit tests. */
export function missingYears(outlook: CalendarOutlook): number[] {
  return outlook.years.filter((y) => y.decree === null).map((y) => y.year);
}

/** The operators' calendar section (shown under the tenant list): the years and their decrees. */
export function calendarSection(outlook: CalendarOutlook): HTMLElement {
  const missing = missingYears(outlook);
  const rows = outlook.years.map((y) =>
    h('tr', { 'data-testid': 'calendar-year', 'data-year': y.year, 'data-decreed': String(y.decree !== null) },
      h('th', { scope: 'row' }, y.year),
      y.decree !== null
        ? h('td', {}, y.decree)
        : h('td', {}, h('strong', { class: 'status status-suspended' }, 'Nincs rendelet')),
    ));
  const summary = missing.length
    ? h('p', { 'data-testid': 'calendar-missing' },
      `Nincs munkarend-rendelet: ${missing.join(', ')}. Az ezekbe az évekbe nyúló, munkanapokban számolt határidők ` +
      '(kézbesítési vélelem, ügyintézési határidő) addig várnak, amíg a rendeletet fel nem veszik a naptárfájlba ' +
      '(KAPU_CALENDAR_FILE, ellenőrzés: kapu calendar check), és a kiszolgálót újra nem indítják.')
    : h('p', { 'data-testid': 'calendar-complete' }, 'Minden megjelenített évre van rendelet.');
  return h('section', { 'aria-labelledby': 'calendar-heading' },
    h('h2', { id: 'calendar-heading', 'data-testid': 'calendar-heading' }, 'Munkanaptár'),
    h('p', {}, 'Az áthelyezett munkanapokról és pihenőnapokról szóló rendeletek a következő évekre.'),
    summary,
    h('table', { 'data-testid': 'calendar-table' },
      h('caption', {}, 'Az idei és a következő két év'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Év'), h('th', { scope: 'col' }, 'Rendelet'))),
      h('tbody', {}, rows)),
  );
}
