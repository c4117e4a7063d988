// Audit napló (`#/audit`): the log newest first with paging, a filter by client, and the
// verification of the hash chain.
import type { AuditRecord } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary } from '../errors';
import { localError } from '../shell/problems';
import { detailsText, number, timeEl } from '../ui/format';
import { UUID } from '../ui/validate';
import { busy, heading, scrollTable, statusLine } from '../ui/widgets';
import type { Page, PageContext } from './page';

/** Records per page ("Régebbiek" asks for the next this many). */
export const AUDIT_PAGE = 50;

/** The audit actions in Hungarian (the code is shown under the label). */
export const actionLabels: Record<string, string> = {
  'client.create': 'Ügyfél felvétele',
  'client.read': 'Ügyfél adatainak megtekintése',
  'client.search': 'Ügyfél keresése',
  'client.update': 'Ügyfél adatainak módosítása',
  'client.identify': 'Személyes azonosítás',
  'mandate.grant': 'Meghatalmazás rögzítése',
  'mandate.revoke': 'Meghatalmazás visszavonása',
  'case.read': 'Ügy megtekintése',
  'case.assign': 'Ügy kiosztása',
  'case.request_information': 'Hiánypótlási felhívás',
  'case.draft_decision': 'Döntéstervezet',
  'case.send_to_signatory': 'Kiadmányozásra küldés',
  'case.approve': 'Kiadmányozás (jóváhagyás)',
  'case.reject': 'Ügy visszautasítása',
  'plugin.install': 'Bővítmény telepítése',
  'plugin.configure': 'Bővítmény beállítása',
  'plugin.remove': 'Bővítmény eltávolítása',
};

async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Audit napló';
  let client: string | undefined;
  let first: AuditRecord[];
  try {
    first = await api.audit({ limit: AUDIT_PAGE });
  } catch (e) {
    return ctx.loadFailed(title, 'audit-heading', e);
  }

  const errors = errorSummary();

  // Verification of the hash chain.
  const verifyStatus = statusLine('verify-status');
  const verifyButton = h('button', { type: 'button', 'data-testid': 'verify-chain' }, 'Lánc ellenőrzése');
  verifyButton.addEventListener('click', () => void busy(verifyButton, async () => {
    errors.clear();
    verifyStatus.className = 'status-line';
    replaceChildren(verifyStatus, 'Ellenőrzés folyamatban…');
    try {
      const v = await api.verifyAudit();
      if (v.intact) {
        verifyStatus.classList.add('ok');
        replaceChildren(verifyStatus, `A lánc ép, ${number(v.records)} bejegyzés.`);
      } else {
        verifyStatus.classList.add('bad');
        replaceChildren(verifyStatus,
          `A lánc sérült a(z) ${v.broken_at === null || v.broken_at === undefined ? '?' : number(v.broken_at)}. bejegyzésnél: `,
          h('span', { lang: 'en' }, v.problem ?? 'unknown problem'));
      }
    } catch (e) {
      replaceChildren(verifyStatus);
      ctx.fail(errors, e);
    }
  }));

  // Filter by client.
  const clientInput = h('input', {
    id: 'audit-client', name: 'client', type: 'text', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off',
    'aria-describedby': 'audit-client-hint', 'data-testid': 'audit-client', class: 'uuid',
  });
  const filterButton = h('button', { type: 'submit', 'data-testid': 'audit-filter-submit' }, 'Szűrés');
  const clearButton = h('button', { type: 'button', class: 'quiet', 'data-testid': 'audit-filter-clear', hidden: true },
    'Szűrés törlése');
  const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'audit-filter', 'aria-labelledby': 'audit-filter-heading' },
    h('div', { class: 'field' },
      h('label', { for: 'audit-client' }, 'Ügyfél azonosítója'),
      h('p', { class: 'hint', id: 'audit-client-hint' }, 'Csak az ügyfélre vonatkozó bejegyzések (UUID). Üresen: minden bejegyzés.'),
      clientInput),
    h('div', { class: 'actions' }, filterButton, clearButton),
  );

  // The list, newest first, with "older" paging.
  const listStatus = statusLine('audit-list-status');
  const results = h('div', { 'data-testid': 'audit-results' });
  let shown: AuditRecord[] = [];

  const row = (r: AuditRecord) => h('tr', { 'data-testid': 'audit-row', 'data-seq': String(r.seq) },
    h('th', { scope: 'row', class: 'num' }, String(r.seq)),
    h('td', {}, timeEl(r.at)),
    h('td', {}, r.actor),
    h('td', {}, actionLabels[r.action] ? [actionLabels[r.action], h('br'), h('code', {}, r.action)] : h('code', {}, r.action)),
    h('td', {}, r.subject_client_id ? h('code', { class: 'uuid' }, r.subject_client_id) : '–'),
    h('td', {}, r.reason || '–'),
    h('td', {}, detailsText(r.details)),
    h('td', {}, h('code', { class: 'hash' }, r.hash)),
  );

  const showResults = (records: AuditRecord[]) => {
    shown = records;
    if (!records.length) {
      replaceChildren(results, h('p', { 'data-testid': 'audit-empty' },
        client ? 'Erről az ügyfélről nincs bejegyzés.' : 'A napló még üres.'));
      return;
    }
    const caption = h('caption', { id: 'audit-caption' });
    const tbody = h('tbody', {}, records.map(row));
    const setCaption = () => replaceChildren(caption,
      `Bejegyzések, a legújabbak elöl${client ? ` (szűrve az ügyfélre: ${client})` : ''}: ${number(shown.length)} megjelenítve.`);
    setCaption();
    const table = h('table', { 'data-testid': 'audit-table', class: 'audit' },
      caption,
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Sorszám'),
        h('th', { scope: 'col' }, 'Időpont'),
        h('th', { scope: 'col' }, 'Végrehajtó'),
        h('th', { scope: 'col' }, 'Művelet'),
        h('th', { scope: 'col' }, 'Ügyfél'),
        h('th', { scope: 'col' }, 'Indok'),
        h('th', { scope: 'col' }, 'Részletek'),
        h('th', { scope: 'col' }, 'Kivonat (SHA-256)'))),
      tbody);
    const pager = h('div', { class: 'pager' });
    const noMore = () => replaceChildren(pager,
      h('p', { 'data-testid': 'audit-no-more', tabindex: '-1' }, 'Nincs régebbi bejegyzés.'));
    if (records.length < AUDIT_PAGE) {
      noMore();
    } else {
      const older = h('button', { type: 'button', 'data-testid': 'audit-older' }, 'Régebbiek');
      older.addEventListener('click', () => void busy(older, async () => {
        errors.clear();
        const before = Math.min(...shown.map((r) => r.seq));
        try {
          const more = await api.audit({ limit: AUDIT_PAGE, before, client });
          shown = [...shown, ...more];
          tbody.append(...more.map(row));
          setCaption();
          replaceChildren(listStatus, more.length
            ? `${number(more.length)} régebbi bejegyzés betöltve, összesen ${number(shown.length)} látható.`
            : 'Nincs régebbi bejegyzés.');
          if (more.length < AUDIT_PAGE) {
            noMore();
            pager.querySelector<HTMLElement>('p')?.focus();
          }
        } catch (e) {
          return ctx.fail(errors, e);
        }
      }));
      replaceChildren(pager, older);
    }
    replaceChildren(results, scrollTable('audit-caption', table), pager);
  };

  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const value = clientInput.value.trim();
    if (value && !UUID.test(value)) {
      return errors.show(localError('Hibás ügyfél-azonosító.', [
        { field: 'client', message: 'Az ügyfél azonosítója 36 karakteres UUID, pl. 0f8fad5b-d9cb-469f-a165-70867728950e.' },
      ]), { client: clientInput });
    }
    void busy(filterButton, async () => {
      try {
        const records = await api.audit({ limit: AUDIT_PAGE, client: value || undefined });
        client = value ? value.toLowerCase() : undefined;
        clearButton.hidden = !client;
        showResults(records);
        replaceChildren(listStatus, client
          ? `Szűrve az ügyfélre: ${number(records.length)}${records.length === AUDIT_PAGE ? ' (vagy több)' : ''} bejegyzés.`
          : `Minden bejegyzés: ${number(records.length)}${records.length === AUDIT_PAGE ? ' (vagy több)' : ''} megjelenítve.`);
      } catch (e) {
        return ctx.fail(errors, e, { client: clientInput });
      }
    });
  });
  clearButton.addEventListener('click', () => {
    clientInput.value = '';
    filterForm.requestSubmit(filterButton);
    clientInput.focus();
  });

  showResults(first);
  ctx.render(title, [
    heading(title, 'audit-heading'),
    h('p', { class: 'lead' },
      'A személyes adatokhoz való hozzáférések és a fontos műveletek naplója. A bejegyzések láncot alkotnak: ',
      'mindegyik tartalmazza az előző kivonatát, így utólagos módosításuk kimutatható.'),
    errors.el,
    h('section', { 'aria-labelledby': 'verify-heading' },
      h('h2', { id: 'verify-heading' }, 'A lánc épsége'),
      h('div', { class: 'actions' }, verifyButton),
      verifyStatus),
    h('section', { 'aria-labelledby': 'audit-filter-heading' },
      h('h2', { id: 'audit-filter-heading' }, 'Szűrés ügyfélre'),
      filterForm),
    h('section', { 'aria-labelledby': 'audit-list-heading' },
      h('h2', { id: 'audit-list-heading' }, 'Bejegyzések'),
      listStatus,
      results),
  ], { wide: true });
}

export const auditPage: Page = { name: 'audit', hash: '#/audit', label: 'Audit napló', permission: 'view_audit', show };
