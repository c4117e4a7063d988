// One case, opened from the worklist: its data, rule trace, local systems and history, the
// sealed decision document, and the clerk's actions.
import type { CaseHandler, CaseView } from '../../api/client';
import { h, replaceChildren } from '../../dom';
import type { ErrorSummary } from '../../errors';
import { dateEl, timeEl } from '../../ui/format';
import { busy, statusLine } from '../../ui/widgets';
import type { PageContext } from '../page';
import { caseStateLabel, isOpenState, localStateLabel, localSystemLabel, localTaskLabel } from './labels';

/** Where and with what a case is shown. */
export interface ShownCase {
  id: string;
  /** The section the case is rendered into. */
  into: HTMLElement;
  handlers: CaseHandler[];
  /** Reloads the worklist (after an action changed the case). */
  reload: () => Promise<void>;
  errors: ErrorSummary;
}

/** The card of a decided case's sealed decision document: waiting (e.g. the time-stamping
 * authority is down; never issued unsigned), failed (with the reason, e.g. a template error) or
 * issued, with its delivery. */
function issuedDecision(c: CaseView): HTMLElement[] | null {
  const d = c.issued_decision;
  if (!d) return null;
  const facts: (HTMLElement | null)[] = [];
  if (d.status === 'issued') {
    facts.push(h('dt', {}, 'Dokumentum'), h('dd', { 'data-testid': 'issued-title' }, d.title ?? ''));
    if (d.issued_at) facts.push(h('dt', {}, 'Kiadva'), h('dd', { 'data-testid': 'issued-at' }, timeEl(d.issued_at)));
    if (d.sha256) facts.push(h('dt', {}, 'SHA-256'), h('dd', {}, h('code', {}, d.sha256)));
    facts.push(h('dt', {}, 'Kézbesítés'), h('dd', { 'data-testid': 'delivered-at', 'data-how': d.delivered_how ?? 'none' },
      d.delivered_at
        ? [d.delivered_how === 'deemed' ? 'Kézbesítettnek minősül: ' : 'Letöltve (kézbesítve): ', timeEl(d.delivered_at)]
        : 'Az ügyfél még nem töltötte le.'));
  } else {
    const text = d.status === 'failed'
      ? 'A döntés kiadmányozása meghiúsult, dokumentum nem készült; a hiba elhárítása után az adminisztrátor a Háttérfeladatok oldalon újraindíthatja.'
      : 'Kiadmányozásra vár: hitelesítés és időbélyeg nélkül nem adjuk ki; a rendszer később újra megpróbálja.';
    facts.push(h('dt', {}, 'Állapot'), h('dd', { 'data-testid': 'issuing-status', 'data-status': d.status, class: d.status === 'failed' ? 'bad' : '' }, text));
    if (d.problem) facts.push(h('dt', {}, 'Utolsó hiba'), h('dd', { 'data-testid': 'issuing-problem' }, d.problem));
    if (d.attempts) facts.push(h('dt', {}, 'Próbálkozások'), h('dd', {}, String(d.attempts)));
  }
  return [h('h3', {}, 'Kiadmányozott határozat'), h('dl', { class: 'facts', 'data-testid': 'issued-decision', 'data-status': d.status }, ...facts)];
}

/** One case: its data, rule trace and history, and the clerk's actions. */
export async function showCase(ctx: PageContext, shown: ShownCase): Promise<void> {
  const { api } = ctx;
  const { id, into, handlers, reload, errors } = shown;
  errors.clear();
  let c: CaseView;
  try {
    c = await api.caseDetail(id);
  } catch (e) {
    replaceChildren(into);
    return ctx.fail(errors, e);
  }
  const status = statusLine('case-status');
  const act = (button: HTMLButtonElement, work: () => Promise<unknown>, done: string) => busy(button, async () => {
    errors.clear();
    try {
      await work();
    } catch (e) {
      return ctx.fail(errors, e);
    }
    await reload();
    await showCase(ctx, shown);
    const line = into.querySelector<HTMLElement>('[data-testid="case-status"]');
    if (line) {
      line.textContent = done;
      line.focus();
    }
  });

  const ev = (c.evaluation ?? {}) as { outcome?: string; decided_by?: string; reason?: string;
    prechecks?: { name: string; matched: boolean | null; error?: string }[]; rules?: { name: string; matched: boolean | null; error?: string }[] };
  const traceRows = [...(ev.prechecks ?? []).map((r) => ['Előfeltétel', r] as const), ...(ev.rules ?? []).map((r) => ['Döntési szabály', r] as const)]
    .map(([kind, r]) => h('tr', { 'data-testid': 'trace-row' },
      h('td', {}, kind), h('th', { scope: 'row' }, r.name),
      h('td', {}, r.matched === null ? `nem értékelhető: ${r.error ?? ''}` : r.matched ? 'teljesül' : 'nem teljesül')));
  const trace = h('table', { 'data-testid': 'rule-trace' },
    h('caption', {}, `Szabályok: ${ev.outcome ?? '–'} – ${ev.decided_by ?? 'nincs döntő szabály'}. ${ev.reason ?? ''}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Fajta'), h('th', { scope: 'col' }, 'Név'), h('th', { scope: 'col' }, 'Eredmény'))),
    h('tbody', {}, traceRows));
  const history = h('table', { 'data-testid': 'case-history' },
    h('caption', {}, 'Az ügy története'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Időpont'), h('th', { scope: 'col' }, 'Állapot'), h('th', { scope: 'col' }, 'Ki'), h('th', { scope: 'col' }, 'Miért'))),
    h('tbody', {}, c.history.map((e) => h('tr', {}, h('td', {}, timeEl(e.at)), h('td', {}, caseStateLabel(e.to_state)), h('td', {}, e.actor_label), h('td', {}, e.reason)))));
  const decision = (c.decision ?? null) as unknown as { outcome: string; text?: string; drafted_by?: string; signatory_id?: string; approved_by?: string; automatic: boolean } | null;
  const local = c.local_systems;
  const localRows = local.work.map((w) => h('tr', { 'data-testid': 'local-work', 'data-task': w.task, 'data-state': w.state },
    h('td', {}, localSystemLabel(w.system)), h('th', { scope: 'row' }, localTaskLabel(w.task)),
    h('td', {}, localStateLabel(w.state)),
    h('td', {}, w.reference ?? (w.attempts != null ? `${w.attempts}. próbálkozás${w.next_attempt_at ? ', következő: ' : ''}` : '–'),
      w.next_attempt_at && !w.reference ? timeEl(w.next_attempt_at) : ''),
    h('td', {}, w.last_error ?? (w.plugin ?? ''))));
  const localTable = h('table', { 'data-testid': 'local-systems' },
    h('caption', {}, 'Az ügy a helyi rendszerekben (iktatás, pénzügy, parkolás)'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rendszer'), h('th', { scope: 'col' }, 'Feladat'), h('th', { scope: 'col' }, 'Állapot'),
      h('th', { scope: 'col' }, 'Eredmény / próbálkozások'), h('th', { scope: 'col' }, 'Bővítmény / utolsó hiba'))),
    h('tbody', {}, localRows.length ? localRows : h('tr', {}, h('td', { colspan: '5' }, 'Nincs helyi rendszerbeli feladat.'))));

  const actions: Node[] = [];
  const open = isOpenState(c.state);
  const me = ctx.me.staff.id;
  if (open) {
    const b = h('button', { type: 'button', 'data-testid': 'case-assign-me' }, 'Magamhoz veszem');
    b.addEventListener('click', () => void act(b, () => api.assignCase(id, me), 'Az ügyet magához vette.'));
    actions.push(h('p', {}, b));
  }
  if (c.state === 'in_review') {
    const request = h('textarea', { id: 'info-request', rows: 3, 'data-testid': 'info-request' });
    const due = h('input', { id: 'info-due', type: 'date', 'data-testid': 'info-due' });
    const send = h('button', { type: 'submit', 'data-testid': 'info-send' }, 'Hiánypótlási felhívás küldése');
    const form = h('form', { novalidate: true, 'aria-label': 'Hiánypótlás' },
      h('div', { class: 'field' }, h('label', { for: 'info-request' }, 'Mi hiányzik?'), request),
      h('div', { class: 'field' }, h('label', { for: 'info-due' }, 'Határidő'), due), send);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(send, () => api.requestInformation(id, request.value, due.value), 'A hiánypótlási felhívást elküldtük.');
    });
    const outcome = h('select', { id: 'decision-outcome', 'data-testid': 'decision-outcome' },
      h('option', { value: 'grant' }, 'Helyt adó döntés'), h('option', { value: 'refuse' }, 'Elutasító döntés'));
    const reason = h('textarea', { id: 'decision-reason', rows: 3, 'data-testid': 'decision-reason' });
    const draft = h('button', { type: 'submit', 'data-testid': 'decision-draft' }, 'Döntéstervezet készítése');
    const draftForm = h('form', { novalidate: true, 'aria-label': 'Döntéstervezet' },
      h('div', { class: 'field' }, h('label', { for: 'decision-outcome' }, 'Döntés'), outcome),
      h('div', { class: 'field' }, h('label', { for: 'decision-reason' }, 'Indokolás'), reason), draft);
    draftForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(draft, () => api.draftDecision(id, outcome.value as 'grant' | 'refuse', reason.value), 'A döntéstervezet elkészült.');
    });
    actions.push(h('h3', {}, 'Hiánypótlás'), form, h('h3', {}, 'Döntéstervezet'), draftForm);
    if (decision?.drafted_by && !decision.signatory_id) {
      const who = h('select', { id: 'signatory', 'data-testid': 'signatory' },
        handlers.filter((x) => x.id !== decision.drafted_by).map((x) => h('option', { value: x.id }, `${x.display_name} (${x.email})`)));
      const sendTo = h('button', { type: 'submit', 'data-testid': 'signatory-send' }, 'Kiadmányozásra küldés');
      const f = h('form', { novalidate: true, 'aria-label': 'Kiadmányozásra küldés' },
        h('div', { class: 'field' }, h('label', { for: 'signatory' }, 'Kiadmányozó'), who), sendTo);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        void act(sendTo, () => api.sendToSignatory(id, who.value), 'A tervezetet kiadmányozásra küldtük.');
      });
      actions.push(f);
    }
    if (decision?.signatory_id) {
      const approve = h('button', { type: 'button', 'data-testid': 'decision-approve' }, 'Kiadmányozom (jóváhagyás)');
      approve.addEventListener('click', () => void act(approve, () => api.approveDecision(id), 'A döntést kiadmányozta.'));
      actions.push(h('p', {}, approve));
    }
  }
  if (c.state === 'in_review' || c.state === 'awaiting_information') {
    const why = h('input', { id: 'reject-reason', type: 'text', 'data-testid': 'reject-reason' });
    const reject = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'case-reject' }, 'Visszautasítás');
    const f = h('form', { novalidate: true, 'aria-label': 'Visszautasítás' },
      h('div', { class: 'field' }, h('label', { for: 'reject-reason' }, 'A visszautasítás oka'), why), reject);
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      void act(reject, () => api.rejectCase(id, why.value), 'Az ügyet visszautasította.');
    });
    actions.push(h('h3', {}, 'Visszautasítás'), f);
  }

  replaceChildren(into,
    h('h2', { id: 'case-heading', tabindex: '-1', 'data-testid': 'case-heading' }, `${c.number ?? ''} – ${c.case_type_name}`),
    status,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Állapot'), h('dd', { 'data-testid': 'case-state' }, caseStateLabel(c.state)),
      h('dt', {}, 'Iktatószám'), h('dd', { 'data-testid': 'case-file-number' }, local.file_number ?? '–',
        local.arrival_number ? ` (érkeztetőszám: ${local.arrival_number})` : ''),
      local.permit_id ? [h('dt', {}, 'Várakozási hozzájárulás'), h('dd', { 'data-testid': 'case-permit-id' }, local.permit_id)] : null,
      h('dt', {}, 'Ügytípus-verzió'), h('dd', {}, String(c.case_type_version)),
      h('dt', {}, 'Határidő'), h('dd', {}, c.due_date ? dateEl(c.due_date) : '–', c.overdue ? ' (határidőn túl)' : ''),
      h('dt', {}, 'Díj'), h('dd', {}, c.fee_gross ? `${c.fee_gross} Ft` : '–', c.payment_reference ? ` (befizetve: ${c.payment_reference})` : ''),
      c.information_request ? [h('dt', {}, 'Hiánypótlási felhívás'), h('dd', {}, c.information_request)] : null,
      c.information_answer ? [h('dt', {}, 'Az ügyfél válasza'), h('dd', { 'data-testid': 'info-answer' }, c.information_answer)] : null),
    h('h3', {}, 'Kérelem'), h('pre', { 'data-testid': 'case-application' }, JSON.stringify(c.application, null, 2)),
    h('h3', {}, 'Szabályok (döntési nyomvonal)'), trace,
    h('h3', {}, 'Tények, amelyeket a szabályok olvastak'), h('pre', {}, JSON.stringify(c.inputs, null, 2)),
    decision ? [h('h3', {}, decision.automatic ? 'Automatikus döntés' : 'Döntés / tervezet'),
      h('pre', { 'data-testid': 'decision-text' }, decision.text ?? '')] : null,
    issuedDecision(c),
    h('h3', {}, 'Helyi rendszerek'), localTable,
    actions,
    h('h3', {}, 'Történet'), history);
  (into.querySelector<HTMLElement>('#case-heading'))?.focus();
}
