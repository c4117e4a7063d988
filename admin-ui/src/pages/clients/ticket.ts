// A queue ticket for the selected client (reception): the clerk at the counter it is called
// to sees the client's card on the counter page.
import { ApiError, type ClientRecord } from '../../api/client';
import { h } from '../../dom';
import { localError, reworded } from '../../shell/problems';
import { busy, statusLine } from '../../ui/widgets';
import type { ClientsPage } from './shared';

const NO_QUEUE = 'Nincs ügyfélhívó rendszer bekötve: egy adminisztrátor telepítheti a bővítményét a Bővítmények oldalon.';

export function ticketForm(page: ClientsPage, c: ClientRecord): { form: HTMLFormElement; status: HTMLParagraphElement } {
  const { errors } = page;
  const ticketService = h('input', {
    id: 'ticket-service', name: 'service', type: 'text', autocomplete: 'off', required: true, maxlength: '16',
    spellcheck: 'false', autocapitalize: 'characters', 'aria-describedby': 'ticket-service-hint', 'data-testid': 'ticket-service', value: 'A',
  });
  const ticketSubmit = h('button', { type: 'submit', 'data-testid': 'ticket-submit' }, 'Sorszám kérése');
  const ticketStatus = statusLine('ticket-status');
  const ticketForm = h('form', { novalidate: true, 'data-testid': 'ticket-form', 'aria-labelledby': 'ticket-heading' },
    h('div', { class: 'field' },
      h('label', { for: 'ticket-service' }, 'Szolgáltatás kódja'),
      h('p', { class: 'hint', id: 'ticket-service-hint' }, 'Az ügyfélhívó rendszer szolgáltatásának betűjele, pl. A (általános ügyintézés).'),
      ticketService),
    h('div', { class: 'actions' }, ticketSubmit));
  ticketForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const service = ticketService.value.trim().toUpperCase();
    if (!service) {
      return errors.show(localError('Hiányzó adat.', [{ field: 'service', message: 'Adja meg a szolgáltatás kódját.' }]), { service: ticketService });
    }
    void busy(ticketSubmit, async () => {
      try {
        const t = await page.ctx.api.issueTicket(service, c.id);
        ticketStatus.textContent = `Sorszám: ${t.display_number}. Amikor behívják, az ablaknál ülő ügyintéző látja az ügyfél adatait.`;
        ticketStatus.focus();
      } catch (e) {
        if (e instanceof ApiError && e.kind === 'not-configured') return errors.show(reworded(e, NO_QUEUE));
        return page.ctx.fail(errors, e, { service: ticketService });
      }
    });
  });
  return { form: ticketForm, status: ticketStatus };
}
