// The tenant staff app's pages, in navigation order. Adding a page: write its module (a file,
// or a folder for a big one) exporting a `Page`, and add it here; see admin-ui/README.md.
import { auditPage } from './audit';
import { casesPage } from './cases';
import { clientsPageDef } from './clients';
import { counterPage } from './counter';
import { jobsPage } from './jobs';
import { oidcPage } from './oidc';
import { overviewPage } from './overview';
import type { Page } from './page';
import { pluginsPage } from './plugins';
import { staffPage } from './staff';

export const PAGES: readonly Page[] = [
  overviewPage,
  casesPage,
  clientsPageDef,
  counterPage,
  staffPage,
  auditPage,
  jobsPage,
  oidcPage,
  pluginsPage,
];
