// The search results (a table with a "Kiválasztás" button per row) and the selected client's
// card: their data, the in-person identification and a queue ticket.
import type { ClientRecord } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import { addressText, dateEl, fullName } from '../../ui/format';
import { scrollTable, statusLine } from '../../ui/widgets';
import { identification } from './identify';
import type { ClientsPage } from './shared';
import { ticketForm } from './ticket';

export interface ClientResults {
  /** The polite status line above the results (search counts, a new client). */
  readonly status: HTMLParagraphElement;
  readonly results: HTMLDivElement;
  /** Where the selected client's card goes. */
  readonly selected: HTMLDivElement;
  /** Shows `clients` under `caption` (the selected one, if among them, marked). */
  show(clients: ClientRecord[], caption: string): void;
}

export function clientResults(page: ClientsPage): ClientResults {
  const status = statusLine('clients-status');
  const results = h('div', { 'data-testid': 'client-results' },
    h('p', { 'data-testid': 'clients-none-yet' }, 'Keressen ügyfelet, vagy vegyen fel újat.'));
  const selected = h('div', { 'data-testid': 'client-selected' });
  let shown: ClientRecord[] = [];
  let shownCaption = '';
  let selectedId: string | null = null;

  const show = (clients: ClientRecord[], caption: string) => {
    shown = clients;
    shownCaption = caption;
    if (!clients.length) {
      replaceChildren(results, h('p', { 'data-testid': 'clients-empty' }, 'Nincs találat.'));
      return;
    }
    const rows = clients.map((c) => {
      const select = h('button', { type: 'button', class: 'small', 'data-testid': 'client-select' },
        'Kiválasztás', h('span', { class: 'visually-hidden' }, ` (${fullName(c)}, ${c.email ?? c.identity.birth_date})`));
      select.addEventListener('click', () => select_(c));
      return h('tr', {
        'data-testid': 'client-row', 'data-client-id': c.id, 'data-email': c.email ?? '',
        class: c.id === selectedId ? 'fresh' : null,
      },
        h('th', { scope: 'row' }, fullName(c)),
        h('td', {}, dateEl(c.identity.birth_date)),
        h('td', {}, c.identity.mother_birth_name),
        h('td', {}, c.email ?? '–'),
        h('td', { 'data-testid': 'client-document' }, c.id_document ?? '–'),
        h('td', {}, select),
      );
    });
    const table = h('table', { 'data-testid': 'clients-table' },
      h('caption', { id: 'clients-caption' }, caption),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Név'),
        h('th', { scope: 'col' }, 'Születési idő'),
        h('th', { scope: 'col' }, 'Anyja születési neve'),
        h('th', { scope: 'col' }, 'E-mail-cím'),
        h('th', { scope: 'col' }, 'Okmányszám'),
        h('th', { scope: 'col' }, 'Teendő'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('clients-caption', table));
  };

  const select_ = (c: ClientRecord) => {
    page.errors.clear();
    selectedId = c.id;
    show(shown, shownCaption);
    const documentValue = h('dd', { 'data-testid': 'selected-document' }, c.id_document ?? '–');
    const item = (label: string, value: Node | string | null | undefined) =>
      [h('dt', {}, label), h('dd', {}, value ?? '–')];
    const heading = h('h2', { id: 'client-selected-heading', tabindex: '-1', 'data-testid': 'selected-heading' },
      `Kiválasztott ügyfél: ${fullName(c)}`);
    const identify = identification(page, c, (doc) => {
      c.id_document = doc;
      replaceChildren(documentValue, doc);
      show(shown.map((x) => (x.id === c.id ? { ...x, id_document: doc } : x)), shownCaption);
    });
    const ticket = ticketForm(page, c);
    replaceChildren(selected, h('section', { 'aria-labelledby': 'client-selected-heading', class: 'selected-client' },
      heading,
      h('dl', { class: 'details', 'data-testid': 'selected-details' },
        item('Név', fullName(c)),
        item('Születési név', c.identity.birth_name || 'azonos a névvel'),
        item('Anyja születési neve', c.identity.mother_birth_name),
        item('Születési hely', c.identity.birth_place),
        item('Születési idő', dateEl(c.identity.birth_date)),
        item('E-mail-cím', c.email),
        item('Állandó lakcím', addressText(c, 'permanent')),
        item('Lakossági kártya száma', c.resident_card),
        [h('dt', {}, 'Okmányszám'), documentValue]),
      h('h3', { id: 'identify-heading' }, 'Személyes azonosítás'),
      h('p', { class: 'hint' },
        'Az ügyfél által bemutatott okmányt és az ügyfél adatait a központi nyilvántartás ellenőrzi. ',
        'Egyezés esetén az okmány száma rögzül; eltérés esetén semmi sem változik.'),
      identify.form,
      identify.status,
      h('h3', { id: 'ticket-heading' }, 'Sorszám az ügyfélhívóból'),
      ticket.form,
      ticket.status));
    heading.focus();
  };

  return { status, results, selected, show };
}
