// "Új szervezet": a company or other organisation as a client (`POST organisations`); the one
// registered last is the selected organisation, kept while the session lasts, for mandates.
import { ApiError, type NewOrganisation, type Organisation } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import type { FieldControl } from '../../errors';
import type { FieldProblem } from '../../ui/validate';
import { busy, statusLine } from '../../ui/widgets';
import type { MandateSection } from './mandates';
import { field, input, type ClientsPage } from './shared';
import { hasAddress, organisationProblems } from './validate';

/** A mandate recorded on this page (the API has no list of an organisation's mandates yet). */
export interface RecordedMandate {
  id: string;
  representativeAccountId: string;
  scope: string[];
  validFrom: string;
  validUntil: string | null;
  revoked: boolean;
}

/** The organisation the clerk works with (the one last registered), with the mandates recorded for it. */
export interface SelectedOrganisation {
  org: Organisation;
  mandates: RecordedMandate[];
}

const ORGANISATION_KEY = 'clients.organisation';

/** The selected organisation, if one was registered in this session. */
export const selectedOrganisation = (page: ClientsPage): SelectedOrganisation | null =>
  page.ctx.memory.get<SelectedOrganisation | null>(ORGANISATION_KEY, null);

export function organisationSection(page: ClientsPage, mandates: MandateSection): {
  form: HTMLFormElement;
  status: HTMLParagraphElement;
  selected: HTMLDivElement;
} {
  const orgName = input('org-name', 'name', { required: true, 'aria-describedby': 'org-name-hint' });
  const orgTax = input('org-tax', 'tax_number', {
    required: true, spellcheck: 'false', 'aria-describedby': 'org-tax-hint', class: 'medium',
  });
  const orgRegistration = input('org-registration', 'registration_number', {
    spellcheck: 'false', 'aria-describedby': 'org-registration-hint', class: 'medium',
  });
  const orgPostcode = input('org-postcode', 'postcode', { inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', class: 'short' });
  const orgCity = input('org-city', 'city');
  const orgStreet = input('org-street', 'street', { 'aria-describedby': 'org-street-hint' });
  const orgFields: Record<string, FieldControl> = {
    name: orgName,
    tax_number: orgTax,
    registration_number: orgRegistration,
    'seat.postcode': orgPostcode,
    'seat.city': orgCity,
    'seat.street': orgStreet,
  };
  const orgSubmit = h('button', { type: 'submit', 'data-testid': 'org-submit' }, 'Szervezet felvétele');
  const orgForm = h('form', { novalidate: true, 'data-testid': 'org-form', 'aria-labelledby': 'new-organisation-heading' },
    field(orgName, 'Szervezet neve', 'A bejegyzett név, például Minta Kereskedelmi Kft.'),
    field(orgTax, 'Adószám', 'xxxxxxxx-y-zz alakban, például 12345676-2-41; a 8. számjegy ellenőrző számjegy.'),
    field(orgRegistration, 'Cégjegyzékszám (nem kötelező)', 'Például 01-09-123456; más nyilvántartásban szereplő szervezetnél annak száma.'),
    h('fieldset', {},
      h('legend', {}, 'Székhely (nem kötelező)'),
      field(orgPostcode, 'Irányítószám'),
      field(orgCity, 'Település'),
      field(orgStreet, 'Közterület és házszám', 'Például Fő utca 1.')),
    orgSubmit);
  const orgStatus = statusLine('org-status');
  const orgSelected = h('div', { 'data-testid': 'org-selected' });

  const showOrganisation = () => {
    const sel = selectedOrganisation(page);
    if (!sel) {
      replaceChildren(orgSelected);
      return;
    }
    const o = sel.org;
    replaceChildren(orgSelected, h('div', { class: 'selected-client' },
      h('h3', { id: 'org-selected-heading' }, `Kiválasztott szervezet: ${o.name}`),
      h('dl', { class: 'details', 'data-testid': 'org-details' },
        h('dt', {}, 'Név'), h('dd', { 'data-testid': 'org-detail-name' }, o.name),
        h('dt', {}, 'Adószám'), h('dd', { 'data-testid': 'org-detail-tax' }, o.tax_number),
        h('dt', {}, 'Cégjegyzékszám'), h('dd', {}, o.registration_number || '–'),
        h('dt', {}, 'Székhely'), h('dd', {}, o.seat ? `${o.seat.postcode} ${o.seat.city}, ${o.seat.street}` : '–'),
        h('dt', {}, 'Ügyfélazonosító'), h('dd', {}, h('code', { 'data-testid': 'org-detail-id' }, o.id)))));
  };

  orgForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page.errors.clear();
    orgStatus.classList.remove('ok');
    replaceChildren(orgStatus);
    const problems: FieldProblem[] = [];
    const reason = page.reasonFor(problems);
    const v = (i: HTMLInputElement) => i.value.trim();
    const seat = { postcode: v(orgPostcode), city: v(orgCity), street: v(orgStreet) };
    const checked = organisationProblems({ name: v(orgName), tax_number: v(orgTax), ...seat });
    problems.push(...checked.problems);
    const tax = checked.tax;
    if (problems.length) return page.refuse(problems, orgFields);
    const body: NewOrganisation = {
      name: v(orgName),
      tax_number: tax,
      registration_number: v(orgRegistration) || null,
      seat: hasAddress(seat) ? { kind: 'seat', ...seat } : null,
    };
    void busy(orgSubmit, async () => {
      let created: Organisation;
      try {
        created = await page.ctx.api.createOrganisation(body, reason);
      } catch (e) {
        // The server names the seat as a whole (`addresses`): show it on the part that is wrong.
        const seatPart = e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'addresses' && fe.code === 'invalid_postcode')
          ? orgPostcode : v(orgCity) ? orgStreet : orgCity;
        return page.failed(e, { ...orgFields, addresses: seatPart });
      }
      orgForm.reset();
      page.ctx.memory.set<SelectedOrganisation | null>(ORGANISATION_KEY, { org: created, mandates: [] });
      showOrganisation();
      mandates.show();
      replaceChildren(mandates.status);
      orgStatus.classList.add('ok');
      replaceChildren(orgStatus, `Új szervezet felvéve: ${created.name} (adószám: ${created.tax_number}). A meghatalmazás ennek a szervezetnek a nevében rögzíthető.`);
      orgStatus.focus();
    });
  });
  showOrganisation();
  return { form: orgForm, status: orgStatus, selected: orgSelected };
}
