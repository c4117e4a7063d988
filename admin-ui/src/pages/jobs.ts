// Háttérfeladatok (`#/jobs`): the tenant's background jobs by state; dead ones can be retried.
import { ApiError, JOB_STATES, type Job, type JobState } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary } from '../errors';
import { localError, sessionLost } from '../shell/problems';
import { number, timeEl } from '../ui/format';
import { busy, heading, scrollTable, statusLine } from '../ui/widgets';
import type { Page, PageContext } from './page';

export const jobStateLabels: Record<JobState, string> = {
  pending: 'Várakozik',
  running: 'Fut',
  done: 'Kész',
  dead: 'Sikertelen',
};
export const jobStateLabel = (state: string): string => jobStateLabels[state as JobState] ?? state;

async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Háttérfeladatok';
  let state: JobState | undefined;
  let first: Job[];
  try {
    first = await api.jobs();
  } catch (e) {
    return ctx.loadFailed(title, 'jobs-heading', e);
  }

  const errors = errorSummary();
  const status = statusLine('jobs-status');
  const results = h('div', { 'data-testid': 'jobs-results' });

  const stateSelect = h('select', { id: 'job-state', name: 'state', 'data-testid': 'job-state' },
    h('option', { value: '' }, 'Mind'),
    JOB_STATES.map((st) => h('option', { value: st }, jobStateLabels[st])));
  const showButton = h('button', { type: 'submit', 'data-testid': 'jobs-filter-submit' }, 'Megjelenítés');
  const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'jobs-filter', 'aria-labelledby': 'jobs-filter-heading' },
    h('div', { class: 'field' }, h('label', { for: 'job-state' }, 'Állapot'), stateSelect),
    h('div', { class: 'actions' }, showButton),
  );

  const retry = (job: Job, button: HTMLButtonElement) => busy(button, async () => {
    errors.clear();
    try {
      await api.retryJob(job.id);
      replaceChildren(status, `A(z) ${job.id}. feladat (${job.kind}) visszakerült a várakozók közé.`);
    } catch (e) {
      if (sessionLost(e)) return ctx.fail(errors, e);
      if (e instanceof ApiError && e.kind === 'not-found') {
        errors.show(localError(`A(z) ${job.id}. feladat már nem sikertelen állapotú; a lista frissült.`));
      } else {
        ctx.fail(errors, e);
      }
    }
    await load(state);
    if (!errors.el.classList.contains('visible')) status.focus();
  });

  const showResults = (jobs: Job[]) => {
    const what = state ? `„${jobStateLabels[state]}” állapotú háttérfeladat` : 'háttérfeladat';
    if (!jobs.length) {
      replaceChildren(results, h('p', { 'data-testid': 'jobs-empty' }, `Nincs ${what}.`));
      return;
    }
    const rows = jobs.map((j) => {
      let action: Node | string = '–';
      if (j.state === 'dead') {
        const button = h('button', { type: 'button', class: 'small', 'data-testid': 'job-retry', 'data-job-id': String(j.id) },
          'Újrapróbálás', h('span', { class: 'visually-hidden' }, ` (${j.id}. feladat)`));
        button.addEventListener('click', () => void retry(j, button));
        action = button;
      }
      return h('tr', { 'data-testid': 'job-row', 'data-job-id': String(j.id), 'data-state': j.state },
        h('th', { scope: 'row', class: 'num' }, String(j.id)),
        h('td', {}, h('code', {}, j.kind)),
        h('td', {}, h('span', { class: `status job-${j.state}` }, jobStateLabel(j.state))),
        h('td', { class: 'num' }, `${j.attempts} / ${j.max_attempts}`),
        h('td', {}, timeEl(j.created_at)),
        h('td', {}, timeEl(j.run_at)),
        h('td', {}, j.last_error ? h('span', { lang: 'en' }, j.last_error) : '–'),
        h('td', {}, action),
      );
    });
    const table = h('table', { 'data-testid': 'jobs-table' },
      h('caption', { id: 'jobs-caption' }, `${state ? `„${jobStateLabels[state]}” állapotú` : 'Minden'} háttérfeladat, a legújabbak elöl: ${number(jobs.length)}.`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Azonosító'),
        h('th', { scope: 'col' }, 'Fajta'),
        h('th', { scope: 'col' }, 'Állapot'),
        h('th', { scope: 'col' }, 'Próbálkozások'),
        h('th', { scope: 'col' }, 'Létrehozva'),
        h('th', { scope: 'col' }, 'Következő futás'),
        h('th', { scope: 'col' }, 'Utolsó hiba'),
        h('th', { scope: 'col' }, 'Teendő'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('jobs-caption', table));
  };

  const load = async (st: JobState | undefined): Promise<boolean> => {
    try {
      const jobs = await api.jobs(st);
      state = st;
      showResults(jobs);
      return true;
    } catch (e) {
      ctx.fail(errors, e);
      return false;
    }
  };

  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const value = stateSelect.value;
    const st = (JOB_STATES as readonly string[]).includes(value) ? (value as JobState) : undefined;
    void busy(showButton, async () => {
      if (await load(st)) {
        const count = results.querySelectorAll('[data-testid="job-row"]').length;
        replaceChildren(status, `${number(count)} feladat látható.`);
      }
    });
  });

  showResults(first);
  ctx.render(title, [
    heading(title, 'jobs-heading'),
    h('p', { class: 'lead' },
      'Az önkormányzat háttérben futó feladatai (például e-mailek küldése). A végleg sikertelen feladatok ',
      'hiba elhárítása után újrapróbálhatók.'),
    errors.el,
    h('section', { 'aria-labelledby': 'jobs-filter-heading' },
      h('h2', { id: 'jobs-filter-heading' }, 'Szűrés'),
      filterForm),
    h('section', { 'aria-labelledby': 'jobs-list-heading' },
      h('h2', { id: 'jobs-list-heading' }, 'Feladatok'),
      status,
      results),
  ], { wide: true });
}

export const jobsPage: Page = { name: 'jobs', hash: '#/jobs', label: 'Háttérfeladatok', permission: 'manage_jobs', show };
