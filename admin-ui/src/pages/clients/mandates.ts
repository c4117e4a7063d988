// "Meghatalmazás rögzítése": a mandate given by the selected organisation to a portal account
// (`POST mandates`), and the mandates recorded here, each revocable.
import { ApiError, type NewMandate } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import type { FieldControl } from '../../errors';
import { reworded } from '../../shell/problems';
import { dateEl, todayIso } from '../../ui/format';
import type { FieldProblem } from '../../ui/validate';
import { busy, statusLine } from '../../ui/widgets';
import { ACCOUNT_ID_HINT } from './labels';
import { selectedOrganisation } from './organisations';
import { field, input, type ClientsPage } from './shared';
import { mandateProblems } from './validate';

export interface MandateSection {
  readonly box: HTMLDivElement;
  readonly status: HTMLParagraphElement;
  /** Shows the form for the selected organisation (or why there is none) and its mandates. */
  show(): void;
}

export function mandateSection(page: ClientsPage): MandateSection {
  const box = h('div', { 'data-testid': 'mandate-box' });
  const status = statusLine('mandate-status');

  const show = (): void => {
    const sel = selectedOrganisation(page);
    if (!sel) {
      replaceChildren(box, h('p', { 'data-testid': 'mandate-none' },
        'Előbb vegyen fel egy szervezetet az „Új szervezet” űrlappal: a meghatalmazást a kiválasztott szervezet adja.'));
      return;
    }
    const principal = h('input', {
      id: 'mandate-principal', name: 'principal', type: 'text', readonly: true, 'data-testid': 'mandate-principal',
      'aria-describedby': 'mandate-principal-hint', value: `${sel.org.name} (adószám: ${sel.org.tax_number})`,
    });
    const representative = input('mandate-representative', 'representative_account_id', {
      required: true, spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'mandate-representative-hint',
    });
    const scope = input('mandate-scope', 'scope', { required: true, spellcheck: 'false', 'aria-describedby': 'mandate-scope-hint', value: '*' });
    const from = input('mandate-from', 'valid_from', { type: 'date', required: true, value: todayIso() });
    const until = input('mandate-until', 'valid_until', { type: 'date', 'aria-describedby': 'mandate-until-hint' });
    const fields: Record<string, FieldControl> = {
      principal_client_id: principal,
      representative_account_id: representative,
      scope,
      valid_from: from,
      valid_until: until,
    };
    const submit = h('button', { type: 'submit', 'data-testid': 'mandate-submit' }, 'Meghatalmazás rögzítése');
    const form = h('form', { novalidate: true, 'data-testid': 'mandate-form', 'aria-labelledby': 'mandate-heading' },
      field(principal, 'Meghatalmazó szervezet', 'A kiválasztott szervezet; másikhoz vegye fel azt az „Új szervezet” űrlappal.'),
      field(representative, 'Képviselő portálfiókjának azonosítója', ACCOUNT_ID_HINT),
      field(scope, 'Ügytípusok', 'Ügytípuskódok vesszővel elválasztva, vagy * minden ügytípusra.'),
      field(from, 'Érvényesség első napja'),
      field(until, 'Érvényesség utolsó napja (nem kötelező)', 'Üresen hagyva visszavonásig érvényes.'),
      submit);

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      page.errors.clear();
      status.classList.remove('ok');
      replaceChildren(status);
      const problems: FieldProblem[] = [];
      const reason = page.reasonFor(problems);
      const accountId = representative.value.trim();
      const { problems: local, codes } = mandateProblems({
        representative: accountId, scope: scope.value, valid_from: from.value, valid_until: until.value,
      });
      problems.push(...local);
      if (problems.length) return page.refuse(problems, fields);
      const body: NewMandate = {
        principal_client_id: sel.org.id,
        representative_account_id: accountId.toLowerCase(),
        scope: codes,
        valid_from: from.value,
        valid_until: until.value || null,
      };
      void busy(submit, async () => {
        let id: string;
        try {
          id = (await page.ctx.api.grantMandate(body, reason)).id;
        } catch (e) {
          return page.failed(e, fields);
        }
        sel.mandates.push({
          id,
          representativeAccountId: body.representative_account_id,
          scope: codes,
          validFrom: body.valid_from,
          validUntil: body.valid_until ?? null,
          revoked: false,
        });
        show();
        status.classList.add('ok');
        replaceChildren(status, 'Meghatalmazás rögzítve, azonosítója: ', h('code', { 'data-testid': 'mandate-created-id' }, id), '.');
        status.focus();
      });
    });

    const items = sel.mandates.map((m) => {
      const revoke = m.revoked ? null : h('button', { type: 'button', class: 'small secondary', 'data-testid': 'mandate-revoke' },
        'Visszavonás', h('span', { class: 'visually-hidden' }, ` (meghatalmazás ${m.id})`));
      if (revoke) revoke.addEventListener('click', () => {
        page.errors.clear();
        status.classList.remove('ok');
        replaceChildren(status);
        const problems: FieldProblem[] = [];
        const reason = page.reasonFor(problems);
        if (problems.length) return page.refuse(problems);
        void busy(revoke, async () => {
          try {
            await page.ctx.api.revokeMandate(m.id, reason);
          } catch (e) {
            if (e instanceof ApiError && e.kind === 'not-found') {
              return page.errors.show(reworded(e, 'Ez a meghatalmazás már nincs érvényben (visszavonták, vagy nem létezik); semmi sem változott.'));
            }
            return page.failed(e, {});
          }
          m.revoked = true;
          show();
          status.classList.add('ok');
          replaceChildren(status, 'A meghatalmazás visszavonva: ', h('code', {}, m.id), '.');
          status.focus();
        });
      });
      return h('li', { 'data-testid': 'mandate-item', 'data-mandate-id': m.id },
        h('code', {}, m.id), ': ',
        `ügytípusok: ${m.scope.join(', ')}; `,
        dateEl(m.validFrom), ' – ', m.validUntil ? dateEl(m.validUntil) : 'visszavonásig',
        m.revoked ? h('strong', { 'data-testid': 'mandate-revoked' }, ' (visszavonva)') : null,
        revoke ? ' ' : null, revoke);
    });

    replaceChildren(box,
      form,
      sel.mandates.length
        ? h('div', {},
          h('h3', { id: 'mandate-list-heading' }, 'Az itt rögzített meghatalmazások'),
          h('ul', { 'data-testid': 'mandate-list', 'aria-labelledby': 'mandate-list-heading' }, items))
        : null);
  };

  return { box, status, show };
}
