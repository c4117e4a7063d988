// Ügyfélhívó (`#/counter`): the clerk's counter in the queue system, "call next", and the
// card of the client called to this counter, kept fresh by a short poll.
import type { CalledCard, CounterPage, QueueCall } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary, type FieldControl } from '../errors';
import { localError, sessionLost } from '../shell/problems';
import { dateEl, timeEl } from '../ui/format';
import { busy, heading, statusLine } from '../ui/widgets';
import { caseStateLabel } from './cases/labels';
import type { Page, PageContext } from './page';

/** How often the counter page asks for new calls (the server's feed reads the queue system as often). */
export const COUNTER_POLL_MS = 2000;

const identificationLabels: Record<string, string> = {
  registered: 'regisztrált (e-mail-cím igazolva)',
  in_person: 'személyesen azonosított',
  kau: 'KAÜ-val azonosított',
};

/**
 * The clerk's counter: which counter they sit at, the queue system's feed, "call next",
 * and the card of the client called to this counter. Polls `GET /queue/counter` every
 * COUNTER_POLL_MS while the page is open; a tenant without a queue plugin gets a notice
 * and no polling. The card is fetched (an audited read) once per new call with a client.
 */
async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Ügyfélhívó';
  let first: CounterPage;
  try {
    first = await api.counter();
  } catch (e) {
    return ctx.loadFailed(title, 'counter-heading', e);
  }
  const pageHeading = heading(title, 'counter-heading');
  if (!first.plugin) {
    ctx.render(title, [pageHeading,
      h('p', { 'data-testid': 'counter-no-plugin' },
        'Ennél az önkormányzatnál nincs ügyfélhívó rendszer bekötve (nincs telepített ügyfélhívó-bővítmény), ',
        'ezért ez az oldal nem mutat hívásokat. Az ügyfélhívó bővítményét (pl. Q-Fusion) egy adminisztrátor ',
        'telepítheti és állíthatja be a Bővítmények oldalon.')]);
    return;
  }
  const errors = errorSummary();
  const failed = (e: unknown, fields?: Record<string, FieldControl>) => ctx.fail(errors, e, fields);
  const status = statusLine('counter-status');
  const feedLine = h('p', { 'data-testid': 'counter-feed' });
  const cardBox = h('section', { 'aria-labelledby': 'counter-card-heading', 'aria-live': 'polite', 'data-testid': 'counter-card' });
  const earlier = h('div', { 'data-testid': 'counter-calls' });

  const counterInput = h('input', {
    id: 'counter-input', name: 'counter', type: 'text', autocomplete: 'off', required: true, maxlength: '16',
    spellcheck: 'false', 'aria-describedby': 'counter-input-hint', 'data-testid': 'counter-input', value: first.counter ?? '',
  });
  const save = h('button', { type: 'submit', 'data-testid': 'counter-save' }, 'Mentés');
  const seatForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'counter-form', 'aria-labelledby': 'counter-seat-heading' },
    h('h2', { id: 'counter-seat-heading' }, 'Melyik ablaknál ül?'),
    h('div', { class: 'field' },
      h('label', { for: 'counter-input' }, 'Ablak (pult) száma'),
      h('p', { class: 'hint', id: 'counter-input-hint' }, 'Ahogy az ügyfélhívó rendszer ismeri, pl. 3. A beállítás megmarad a következő belépéskor is.'),
      counterInput),
    h('div', { class: 'actions' }, save));
  const callNext = h('button', { type: 'button', 'data-testid': 'counter-call-next' }, 'Következő ügyfél behívása');

  let shownCall: number | null = null;

  const showFeed = (p: CounterPage) => {
    const f = p.feed;
    if (!f) return replaceChildren(feedLine);
    const last = f.last_success_at ? ['utolsó sikeres olvasás: ', timeEl(f.last_success_at)] : ['még nem történt olvasás'];
    if (f.behind) {
      feedLine.className = 'notice warning';
      replaceChildren(feedLine,
        h('strong', {}, 'Az ügyfélhívó rendszer nem érhető el, a hívások késve érkezhetnek. '),
        `A rendszer ${f.failures}. alkalommal próbálkozott sikertelenül, és magától újrapróbálja (`, ...last, '). ',
        'Hiba: ', h('span', { lang: 'en', 'data-testid': 'counter-feed-error' }, f.last_error ?? ''));
    } else if (!f.last_success_at) {
      feedLine.className = 'hint';
      replaceChildren(feedLine, 'Az ügyfélhívó eseményeinek olvasása még nem kezdődött el.');
    } else {
      feedLine.className = 'hint';
      replaceChildren(feedLine, 'Az ügyfélhívó adatai naprakészek (', ...last, ').');
    }
  };

  const showCard = (call: QueueCall, card: CalledCard | null) => {
    const number = h('p', { class: 'ticket-number', 'data-testid': 'counter-ticket' }, call.display_number);
    const parts: (Node | null)[] = [
      h('h2', { id: 'counter-card-heading' }, `Behívott ügyfél – ${call.counter}. ablak`),
      number,
      h('p', { class: 'hint' }, 'Behívva: ', timeEl(call.called_at), call.from_button ? ' (a „Következő” gombbal)' : ' (ügyfélhívó)'),
    ];
    const client = card?.client;
    if (!call.has_client || (card && !client)) {
      parts.push(h('p', { 'data-testid': 'counter-no-client' }, 'A sorszámhoz nem tartozik ügyfél.'));
    } else if (client) {
      parts.push(h('dl', { class: 'details', 'data-testid': 'counter-client' },
        h('dt', {}, 'Név'), h('dd', { 'data-testid': 'counter-client-name' }, `${client.family_name} ${client.given_name}`),
        h('dt', {}, 'Születési idő'), h('dd', {}, dateEl(client.birth_date)),
        h('dt', {}, 'Azonosítási szint'), h('dd', { 'data-testid': 'counter-client-level' },
          client.identification_level ? identificationLabels[client.identification_level] ?? client.identification_level : 'nincs portálfiókja'),
        h('dt', {}, 'Nyitott ügyek'), h('dd', { 'data-testid': 'counter-client-cases' },
          client.open_cases.length
            ? h('ul', {}, client.open_cases.map((c) => h('li', {}, `${c.number ?? '–'} · ${c.case_type_name} · ${caseStateLabel(c.state)}`)))
            : 'nincs')));
    } else {
      parts.push(h('p', {}, 'Az ügyfél adatai betöltés alatt…'));
    }
    replaceChildren(cardBox, parts);
  };

  const showCalls = (p: CounterPage) => {
    const rest = p.calls.slice(1);
    if (!rest.length) return replaceChildren(earlier);
    replaceChildren(earlier, h('h2', { id: 'counter-earlier-heading' }, 'Korábbi hívások ennél az ablaknál'),
      h('ul', { 'aria-labelledby': 'counter-earlier-heading' }, rest.map((c) =>
        h('li', { 'data-testid': 'counter-earlier' }, `${c.display_number} · `, timeEl(c.called_at)))));
  };

  const update = async (p: CounterPage) => {
    showFeed(p);
    showCalls(p);
    callNext.disabled = !p.counter;
    const newest = p.calls[0];
    if (!p.counter) {
      replaceChildren(cardBox, h('h2', { id: 'counter-card-heading' }, 'Behívott ügyfél'),
        h('p', { 'data-testid': 'counter-unset' }, 'Adja meg, melyik ablaknál ül: csak az oda behívott ügyfeleket látja.'));
      return;
    }
    if (!newest) {
      shownCall = null;
      replaceChildren(cardBox, h('h2', { id: 'counter-card-heading' }, 'Behívott ügyfél'),
        h('p', { 'data-testid': 'counter-waiting' }, `Még nem hívtak ügyfelet a(z) ${p.counter}. ablakhoz.`));
      return;
    }
    if (newest.id === shownCall) return;
    shownCall = newest.id;
    showCard(newest, null);
    if (!newest.has_client) return;
    try {
      const card = await api.calledCard(newest.id);
      if (shownCall === newest.id) showCard(newest, card);
    } catch (e) {
      failed(e);
    }
  };

  seatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const value = counterInput.value.trim();
    if (!value) {
      return errors.show(localError('Hiányzó adat.', [{ field: 'counter', message: 'Adja meg az ablak számát.' }]), { counter: counterInput });
    }
    void busy(save, async () => {
      try {
        const p = await api.setCounter(value);
        shownCall = null;
        await update(p);
        status.textContent = `Mentve: a(z) ${value}. ablaknál ül.`;
      } catch (e) {
        failed(e, { counter: counterInput });
      }
    });
  });
  callNext.addEventListener('click', () => {
    errors.clear();
    void busy(callNext, async () => {
      try {
        const call = await api.callNext();
        if (!call) {
          status.textContent = 'Nincs várakozó ügyfél.';
          return;
        }
        status.textContent = `Behívva: ${call.display_number}.`;
        await update(await api.counter());
      } catch (e) {
        failed(e);
      }
    });
  });

  ctx.render(title, [pageHeading,
    h('p', { class: 'lead' }, 'Az ablakához behívott ügyfél adatai itt jelennek meg, az oldal újratöltése nélkül.'),
    errors.el,
    seatForm,
    feedLine,
    h('div', { class: 'actions' }, callNext),
    status,
    cardBox,
    earlier]);
  await update(first);

  // A short poll while this page is shown; it stops when the clerk leaves the page or signs out.
  const timer = window.setInterval(() => {
    if (!ctx.isCurrent() || !document.body.contains(cardBox)) {
      window.clearInterval(timer);
      return;
    }
    api.counter().then((p) => update(p)).catch((e) => {
      if (sessionLost(e)) {
        window.clearInterval(timer);
        return failed(e);
      }
      // A failed poll is retried on the next tick; the feed line keeps its last state.
    });
  }, COUNTER_POLL_MS);
}

export const counterPage: Page = { name: 'counter', hash: '#/counter', label: 'Ügyfélhívó', permission: 'read_clients', show };
