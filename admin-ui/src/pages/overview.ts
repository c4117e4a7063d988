// Áttekintés (`#/`): the tenant's name, a few counts and its domains.
import { h } from '../dom';
import type { Page, PageContext } from './page';

async function show(ctx: PageContext): Promise<void> {
  const title = 'Áttekintés';
  let o;
  try {
    o = await ctx.api.overview();
  } catch (e) {
    return ctx.loadFailed(title, 'overview-heading', e);
  }
  const stat = (label: string, value: number, testid: string) =>
    h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-testid': testid }, value.toLocaleString('hu-HU')));
  ctx.render(title, [
    h('h1', { tabindex: '-1', 'data-testid': 'overview-heading' },
      h('span', { 'data-testid': 'tenant-name' }, o.tenant.name)),
    h('p', { class: 'lead' }, title),
    h('section', { 'aria-labelledby': 'stats-heading' },
      h('h2', { id: 'stats-heading' }, 'Adatok'),
      h('dl', { class: 'stats', 'data-testid': 'overview' },
        stat('Munkatársak', o.staff_count, 'staff-count'),
        stat('Ügyfelek', o.client_count, 'client-count'),
        stat('Várakozó háttérfeladatok', o.jobs.pending, 'jobs-pending'),
        stat('Sikertelen háttérfeladatok', o.jobs.dead, 'jobs-dead'),
      )),
    h('section', { 'aria-labelledby': 'domains-heading' },
      h('h2', { id: 'domains-heading' }, 'Domainek'),
      o.tenant.domains.length
        ? h('ul', { 'data-testid': 'domains' }, o.tenant.domains.map((d) => h('li', {}, h('code', {}, d))))
        : h('p', {}, 'Nincs saját domain beállítva.')),
  ]);
}

export const overviewPage: Page = { name: 'overview', hash: '#/', label: 'Áttekintés', permission: 'view_overview', show };
