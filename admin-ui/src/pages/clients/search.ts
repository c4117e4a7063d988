// The two searches: by ID document number, and by family name, given name and birth date.
import type { ClientQuery, ClientRecord } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import type { FieldControl } from '../../errors';
import { number } from '../../ui/format';
import type { FieldProblem } from '../../ui/validate';
import { busy } from '../../ui/widgets';
import type { ClientResults } from './results';
import type { ClientsPage } from './shared';
import { nameSearchProblems } from './validate';

/** The two search forms; what they find goes to `results`. */
export function searchForms(page: ClientsPage, results: ClientResults): HTMLFormElement[] {
  const docInput = h('input', {
    id: 'search-document', name: 'id_document', type: 'text', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'characters', 'data-testid': 'search-document',
  });
  const docSubmit = h('button', { type: 'submit', 'data-testid': 'search-document-submit' }, 'Keresés okmányszámra');
  const docForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'search-document-form', 'aria-labelledby': 'search-document-heading' },
    h('h3', { id: 'search-document-heading' }, 'Okmányszám szerint'),
    h('div', { class: 'field' }, h('label', { for: 'search-document' }, 'Okmány száma'), docInput),
    h('div', { class: 'actions' }, docSubmit));

  const searchFamily = h('input', { id: 'search-family', name: 'family_name', type: 'text', autocomplete: 'off', 'data-testid': 'search-family' });
  const searchGiven = h('input', { id: 'search-given', name: 'given_name', type: 'text', autocomplete: 'off', 'data-testid': 'search-given' });
  const searchBirth = h('input', { id: 'search-birth', name: 'birth_date', type: 'date', autocomplete: 'off', 'data-testid': 'search-birth' });
  const nameSubmit = h('button', { type: 'submit', 'data-testid': 'search-name-submit' }, 'Keresés névre');
  const nameForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'search-name-form', 'aria-labelledby': 'search-name-heading' },
    h('h3', { id: 'search-name-heading' }, 'Név és születési idő szerint'),
    h('div', { class: 'field' }, h('label', { for: 'search-family' }, 'Családi név'), searchFamily),
    h('div', { class: 'field' }, h('label', { for: 'search-given' }, 'Utónév'), searchGiven),
    h('div', { class: 'field' }, h('label', { for: 'search-birth' }, 'Születési idő'), searchBirth),
    h('div', { class: 'actions' }, nameSubmit));

  const search = (button: HTMLButtonElement, query: ClientQuery, reason: string, fields: Record<string, FieldControl>) =>
    busy(button, async () => {
      let found: ClientRecord[];
      try {
        found = await page.ctx.api.searchClients(query, reason);
      } catch (e) {
        return page.failed(e, fields);
      }
      results.show(found, `Találatok: ${number(found.length)} ügyfél${found.length === 100 ? ' (legfeljebb 100 látszik)' : ''}.`);
      replaceChildren(results.status, found.length ? `${number(found.length)} találat.` : 'Nincs találat.');
    });

  docForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page.errors.clear();
    const problems: FieldProblem[] = [];
    const reason = page.reasonFor(problems);
    const doc = docInput.value.trim();
    if (!doc) problems.push({ field: 'id_document', message: 'Adja meg az okmány számát.' });
    const fields = { id_document: docInput };
    if (problems.length) return page.refuse(problems, fields);
    void search(docSubmit, { id_document: doc }, reason, fields);
  });
  nameForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    page.errors.clear();
    const problems: FieldProblem[] = [];
    const reason = page.reasonFor(problems);
    const q = { family_name: searchFamily.value.trim(), given_name: searchGiven.value.trim(), birth_date: searchBirth.value };
    problems.push(...nameSearchProblems(q));
    const fields = { family_name: searchFamily, given_name: searchGiven, birth_date: searchBirth };
    if (problems.length) return page.refuse(problems, fields);
    void search(nameSubmit, q, reason, fields);
  });

  return [docForm, nameForm];
}
