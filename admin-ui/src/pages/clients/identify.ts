// In-person identification of the selected client: the document shown at the desk is checked,
// with the client's data, against the central registry (SZL).
import { ApiError, DOCUMENT_KINDS, type ClientRecord, type DocumentKind, type Identification } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import { reworded } from '../../shell/problems';
import { normaliseDocument } from '../../ui/format';
import type { FieldProblem } from '../../ui/validate';
import { busy } from '../../ui/widgets';
import { documentKindLabels, mismatchFieldLabels, REGISTRY_DOWN } from './labels';
import type { ClientsPage } from './shared';

/**
 * The identification form and its outcome region; `onIdentified` gets the document number
 * recorded on a match.
 */
export function identification(page: ClientsPage, c: ClientRecord, onIdentified: (doc: string) => void): {
  form: HTMLFormElement;
  status: HTMLDivElement;
} {
  const { errors } = page;
  const kind = h('select', { id: 'identify-kind', name: 'document_kind', 'data-testid': 'identify-kind' },
    DOCUMENT_KINDS.map((k) => h('option', { value: k }, documentKindLabels[k])));
  const number = h('input', {
    id: 'identify-number', name: 'document_number', type: 'text', autocomplete: 'off', required: true,
    spellcheck: 'false', autocapitalize: 'characters', 'aria-describedby': 'identify-number-hint',
    'data-testid': 'identify-number',
  });
  const account = h('input', {
    id: 'identify-account', name: 'account_email', type: 'email', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'none', 'aria-describedby': 'identify-account-hint', 'data-testid': 'identify-account',
  });
  const fields = { document_kind: kind, document_number: number, account_email: account };
  const status = h('div', {
    class: 'status-line', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', tabindex: '-1',
    'data-testid': 'identify-status',
  });
  const submit = h('button', { type: 'submit', 'data-testid': 'identify-submit' }, 'Azonosítás');
  const form = h('form', { novalidate: true, 'data-testid': 'identify-form', 'aria-labelledby': 'identify-heading' },
    h('div', { class: 'field' }, h('label', { for: 'identify-kind' }, 'Okmány fajtája'), kind),
    h('div', { class: 'field' },
      h('label', { for: 'identify-number' }, 'Okmány száma'),
      h('p', { class: 'hint', id: 'identify-number-hint' },
        'Ahogy az okmányon áll, például 123456AB (személyi igazolvány), BE1234567 (útlevél), PA123456 (vezetői engedély).'),
      number),
    h('div', { class: 'field' },
      h('label', { for: 'identify-account' }, 'Portálfiók e-mail-címe (nem kötelező)'),
      h('p', { class: 'hint', id: 'identify-account-hint' },
        'Ha az ügyfélnek van portálfiókja, sikeres azonosítás után a fiók szintje „személyesen azonosított” lesz.'),
      account),
    submit,
  );
  const showOutcome = (r: Identification, doc: string) => {
    status.className = 'status-line';
    switch (r.outcome) {
      case 'identified': {
        status.classList.add('ok');
        replaceChildren(status, h('p', {}, r.account_linked
          ? 'Azonosítva; a portálfiók szintje: személyesen azonosított. Az okmány száma rögzítve.'
          : 'Azonosítva: az adatok egyeznek a nyilvántartással, az okmány száma rögzítve.'));
        onIdentified(doc);
        break;
      }
      case 'mismatch':
        status.classList.add('bad');
        replaceChildren(status,
          h('p', {}, 'Eltérés a nyilvántartástól. Az eltérő adatok:'),
          h('ul', { 'data-testid': 'identify-fields' }, r.fields.map((f) =>
            h('li', {}, mismatchFieldLabels[f] ?? h('code', {}, f)))),
          h('p', {}, 'Semmi sem változott: az ügyfél adatai és azonosítási szintje a korábbiak. ',
            'Ellenőrizze az adatokat és az okmányt.'));
        break;
      case 'not_found':
        status.classList.add('bad');
        replaceChildren(status, h('p', {}, 'A nyilvántartásban nincs ilyen okmány; semmi sem változott.'));
        break;
      default:
        replaceChildren(status, h('p', {}, 'Ismeretlen válasz a nyilvántartástól: ', h('code', {}, r.outcome),
          '. Semmi sem változott.'));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    status.className = 'status-line';
    replaceChildren(status);
    const problems: FieldProblem[] = [];
    const reason = page.reasonFor(problems);
    const documentKind = (DOCUMENT_KINDS as readonly string[]).includes(kind.value) ? (kind.value as DocumentKind) : 'identity_card';
    const documentNumber = number.value.trim();
    const accountEmail = account.value.trim();
    if (!documentNumber) problems.push({ field: 'document_number', message: 'Adja meg az okmány számát.' });
    if (problems.length) return page.refuse(problems, fields);
    void busy(submit, async () => {
      let r: Identification;
      try {
        r = await page.ctx.api.identifyClient(c.id, {
          document_kind: documentKind,
          document_number: documentNumber,
          account_email: accountEmail || null,
        }, reason);
      } catch (e) {
        if (e instanceof ApiError && e.kind === 'unavailable') {
          return errors.show(reworded(e, REGISTRY_DOWN));
        }
        if (e instanceof ApiError && e.kind === 'not-found') {
          return errors.show(reworded(e, 'Ez az ügyfél már nincs meg; keresse újra.'));
        }
        return page.failed(e, fields);
      }
      showOutcome(r, normaliseDocument(documentNumber));
      status.focus();
    });
  });
  return { form, status };
}
