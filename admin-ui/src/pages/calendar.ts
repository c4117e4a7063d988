// Operators' page: which coming years the working-day calendar has a decree for.
//
// How it plugs into the shell: add a route (e.g. `#/calendar`, label "Munkanaptár") to the
// operators' navigation, and on that route call
//   await renderCalendar(api, container)
// with the platform API client (`PlatformApi`, which has `calendar()`) and the page's main
// element. The function replaces the container's children and moves focus to its heading.
// It does not catch errors: an expired session or any other problem rejects with the
// client's `ApiError`, for the shell's one session and problem handler.
import type { components } from '../api/schema';
import { h, replaceChildren } from '../dom';

export type CalendarOutlook = components['schemas']['CalendarOutlook'];

/** What the page needs from the API client (`PlatformApi` provides it). */
export interface CalendarApi {
  calendar(): Promise<CalendarOutlook>;
}

/** The years without a decree, for the page's summary; exported for unit tests. */
export function missingYears(outlook: CalendarOutlook): number[] {
  return outlook.years.filter((y) => y.decree === null).map((y) => y.year);
}

/** Renders the page into `container`. */
export async function renderCalendar(api: CalendarApi, container: HTMLElement): Promise<void> {
  const outlook = await api.calendar();
  const missing = missingYears(outlook);
  const heading = h('h1', { tabindex: '-1', 'data-testid': 'calendar-heading' }, 'Munkanaptár');
  const rows = outlook.years.map((y) =>
    h('tr', { 'data-testid': 'calendar-year', 'data-year': y.year, 'data-decreed': String(y.decree !== null) },
      h('th', { scope: 'row' }, y.year),
      y.decree !== null
        ? h('td', {}, y.decree)
        : h('td', {}, h('strong', { class: 'status status-suspended' }, 'Nincs rendelet')),
    ));
  const summary = missing.length
    ? h('p', { role: 'status', 'data-testid': 'calendar-missing' },
      `Nincs munkarend-rendelet: ${missing.join(', ')}. Az ezekbe az évekbe nyúló, munkanapokban számolt határidők ` +
      '(kézbesítési vélelem, ügyintézési határidő) addig várnak, amíg a rendeletet fel nem veszik a naptárfájlba ' +
      '(KAPU_CALENDAR_FILE, ellenőrzés: kapu calendar check), és a kiszolgálót újra nem indítják.')
    : h('p', { role: 'status', 'data-testid': 'calendar-complete' }, 'Minden megjelenített évre van rendelet.');
  replaceChildren(container,
    heading,
    h('p', { class: 'lead' }, 'Az áthelyezett munkanapokról és pihenőnapokról szóló rendeletek a következő évekre.'),
    summary,
    h('table', { 'data-testid': 'calendar-table' },
      h('caption', {}, 'Az idei és a következő két év'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Év'), h('th', { scope: 'col' }, 'Rendelet'))),
      h('tbody', {}, rows)),
  );
  heading.focus();
}
