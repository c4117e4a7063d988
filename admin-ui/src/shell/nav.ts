// The navigation under the top bar: one link per page the user may open.
import type { Permission } from '../api/client';
import { h, replaceChildren } from '../dom';
import { visiblePages, type Routable } from './router';

/** Shows the links to the pages `permissions` allow (none when signed out); `current` is marked. */
export function showNav(into: HTMLElement, pages: readonly Routable[], permissions: readonly Permission[] | null, current: string | null): void {
  const links = permissions ? visiblePages(pages, permissions) : [];
  if (!links.length) return replaceChildren(into);
  replaceChildren(into, h('nav', { 'aria-label': 'Menü', 'data-testid': 'nav' },
    h('ul', {}, links.map((p) => h('li', {}, h('a', {
      href: p.hash,
      'aria-current': p.name === current ? 'page' : null,
      'data-testid': `nav-${p.name}`,
    }, p.label))))));
}

/** The page shown for a page the user may not open (the server would refuse its calls anyway). */
export function forbiddenPage(page: Routable): HTMLElement[] {
  return [
    h('h1', { tabindex: '-1', 'data-testid': 'forbidden-heading' }, 'Nincs jogosultsága'),
    h('p', { class: 'lead', 'data-testid': 'forbidden-message' },
      `Ezt az oldalt nem nyithatja meg: „${page.label}”. `,
      'Ha a munkájához szüksége van rá, kérje az önkormányzat adminisztrátorától.'),
    h('p', {}, h('a', { href: '#/', 'data-testid': 'forbidden-home' }, 'Vissza az áttekintéshez')),
  ];
}
