// Önkormányzatok: the operators' console has this one page, the tenant registry (and under it
// the working-day calendar's coming years). It is not in
// the tenant app's page registry (`index.ts`): the platform side has no navigation.
import type { PlatformApi } from '../api/client';
import { h } from '../dom';
import { calendarSection } from './calendar';
import { heading } from '../ui/widgets';
import type { PageContext } from './page';

export async function showTenants(ctx: PageContext<PlatformApi>): Promise<void> {
  const title = 'Önkormányzatok';
  let list, outlook;
  try {
    [list, outlook] = await Promise.all([ctx.api.tenants(), ctx.api.calendar()]);
  } catch (e) {
    return ctx.loadFailed(title, 'tenants-heading', e);
  }
  // `status` is a plain string in the API (`active` or `suspended`); show unknown ones as they are.
  const statusLabels: Record<string, string> = { active: 'Aktív', suspended: 'Felfüggesztve' };
  const statusLabel = (status: string) => statusLabels[status] ?? status;
  const rows = list.tenants.map((t) =>
    h('tr', { 'data-testid': 'tenant-row', 'data-slug': t.slug },
      h('th', { scope: 'row' }, t.name),
      h('td', {}, h('code', {}, t.slug)),
      h('td', {}, t.domains.length ? t.domains.join(', ') : '–'),
      h('td', {}, h('span', { class: `status status-${t.status}` }, statusLabel(t.status))),
    ));
  ctx.render(title, [
    heading(title, 'tenants-heading'),
    list.tenants.length
      ? h('table', { 'data-testid': 'tenant-table' },
        h('caption', {}, `A platformon ${list.tenants.length} önkormányzat van.`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Név'),
          h('th', { scope: 'col' }, 'Azonosító'),
          h('th', { scope: 'col' }, 'Domainek'),
          h('th', { scope: 'col' }, 'Állapot'))),
        h('tbody', {}, rows))
      : h('p', { 'data-testid': 'tenant-empty' }, 'Még nincs önkormányzat a platformon.'),
    calendarSection(outlook),
  ]);
}
