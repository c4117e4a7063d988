// Ügyfelek (`#/clients`, everyone who may read clients): the purpose of the access, a search by
// ID document number or by name and birth date, a new natural person, the in-person
// identification of the selected client against the central registry, new organisations and
// their mandates. Every call sends the purpose as `X-Access-Reason`; the server records it in
// the audit log. The parts live beside this file, one per concern.
import { h } from '../../dom';
import { REASON_MAX } from '../../limits';
import { heading } from '../../ui/widgets';
import type { Page, PageContext } from '../page';
import { newClientForm } from './create';
import { mandateSection } from './mandates';
import { organisationSection } from './organisations';
import { clientResults } from './results';
import { searchForms } from './search';
import { clientsPage } from './shared';

async function show(ctx: PageContext): Promise<void> {
  const title = 'Ügyfelek';
  const page = clientsPage(ctx);
  const results = clientResults(page);
  const mandates = mandateSection(page);
  const organisations = organisationSection(page, mandates);
  mandates.show();

  ctx.render(title, [
    heading(title, 'clients-heading'),
    h('p', { class: 'lead' },
      'Természetes személy ügyfelek keresése, felvétele és személyes azonosítása; szervezetek felvétele és meghatalmazásaik rögzítése. ',
      'Minden hozzáférés a megadott céllal együtt az audit naplóba kerül.'),
    page.errors.el,
    h('div', { class: 'field purpose' },
      h('label', { for: 'client-reason' }, 'Ügyintézés célja'),
      h('p', { class: 'hint', id: 'client-reason-hint' },
        `Kötelező; az audit naplóba kerül. Legfeljebb ${REASON_MAX} karakter, például: személyes azonosítás, lakcímkártya ügyintézés.`),
      page.purpose),
    h('section', { 'aria-labelledby': 'clients-search-heading' },
      h('h2', { id: 'clients-search-heading' }, 'Keresés'),
      h('div', { class: 'columns' }, searchForms(page, results))),
    h('section', { 'aria-labelledby': 'clients-results-heading' },
      h('h2', { id: 'clients-results-heading' }, 'Találatok'),
      results.status,
      results.results),
    results.selected,
    h('section', { 'aria-labelledby': 'new-client-heading' },
      h('h2', { id: 'new-client-heading' }, 'Új ügyfél (természetes személy)'),
      newClientForm(page, results)),
    h('section', { 'aria-labelledby': 'new-organisation-heading' },
      h('h2', { id: 'new-organisation-heading' }, 'Új szervezet'),
      h('p', { class: 'hint' }, 'Gazdasági társaság vagy más szervezet felvétele ügyfélként. Az adószám ellenőrző számjegyét a kiszolgáló ellenőrzi.'),
      organisations.form,
      organisations.status,
      organisations.selected),
    h('section', { 'aria-labelledby': 'mandate-heading' },
      h('h2', { id: 'mandate-heading' }, 'Meghatalmazás rögzítése'),
      h('p', { class: 'hint' }, 'A szervezet által aláírt meghatalmazás alapján: a képviselő a portálon a szervezet nevében intézhet ügyeket.'),
      mandates.box,
      mandates.status),
  ], { wide: true });
}

export const clientsPageDef: Page = { name: 'clients', hash: '#/clients', label: 'Ügyfelek', permission: 'read_clients', show };
