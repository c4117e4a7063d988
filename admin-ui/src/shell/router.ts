// Fragment routing for the tenant staff app (`#/`, `#/clients`, …). Pure: which page a
// fragment names, and whether the signed-in user may open it, decided by the permissions the
// server lists in `/me` (the app keeps no role table of its own).
import type { Permission } from '../api/client';

/** What routing needs of a page (`pages/page.ts`'s `Page` has more). */
export interface Routable {
  readonly name: string;
  readonly hash: string;
  readonly label: string;
  readonly permission: Permission;
}

/** The page a fragment names; the overview (`#/`) for an empty one; null for fragments that are no page (e.g. `#main`). */
export function pageOf<P extends Routable>(hash: string, pages: readonly P[]): P | null {
  const wanted = hash === '' || hash === '#' ? '#/' : hash;
  return pages.find((p) => p.hash === wanted) ?? null;
}

/** The pages the user may open, in navigation order. */
export function visiblePages<P extends Routable>(pages: readonly P[], permissions: readonly Permission[]): P[] {
  return pages.filter((p) => permissions.includes(p.permission));
}

/** What to show for a fragment: the page, or a "no permission" message naming it. */
export type Route<P> = { kind: 'page'; page: P } | { kind: 'forbidden'; page: P } | { kind: 'none' };

export function route<P extends Routable>(hash: string, pages: readonly P[], permissions: readonly Permission[]): Route<P> {
  const page = pageOf(hash, pages);
  if (!page) return { kind: 'none' };
  return permissions.includes(page.permission) ? { kind: 'page', page } : { kind: 'forbidden', page };
}
