// The shell of the staff / operator app: the session state, sign-in and the second factor,
// the fragment router, the navigation, and the one handler for an expired session.
// Views: sign-in → (TOTP code | TOTP enrolment) → a tenant page (`pages/`) or, for
// operators, the tenant list. Fragment links (`#/clients`, …) keep the server serving only
// index.html and assets.
import { discover, mountOf, Session, type ApiError, type LoginResponse, type Me, type PlatformApi, type TenantApi } from '../api/client';
import { byId, h, replaceChildren } from '../dom';
import { errorSummary, type ErrorSummary, type FieldControl } from '../errors';
import { PAGES } from '../pages';
import type { PageContext, RenderOptions, SessionMemory } from '../pages/page';
import { showTenants } from '../pages/tenants';
import { heading, roleLabel } from '../ui/widgets';
import { forbiddenPage, showNav } from './nav';
import { sessionLost, showProblem } from './problems';
import { route } from './router';
import { enrolView, signInView, totpView, type AuthShell } from './signin';

const APP_NAME = 'Kapu';

export class App implements AuthShell {
  private readonly session = new Session();
  api!: TenantApi | PlatformApi;
  private readonly main = byId('main');
  private readonly context = byId('context');
  private readonly sessionBox = byId('session');
  private readonly nav = byId('nav');
  private first = true;
  /** The signed-in session (second factor passed), else null. */
  private me: Me | null = null;
  /** The page shown (its name), for the navigation's `aria-current`. */
  private current: string | null = null;
  /** Counts page showings: a showing whose number is no longer this one is off screen. */
  private showing = 0;
  /** What pages keep while the session lasts (e.g. the clients page's purpose); emptied at sign-out. */
  private readonly kept = new Map<string, unknown>();
  private readonly memory: SessionMemory = {
    get: <T>(key: string, initial: T): T => (this.kept.has(key) ? (this.kept.get(key) as T) : initial),
    set: <T>(key: string, value: T): void => void this.kept.set(key, value),
  };

  async start(): Promise<void> {
    window.addEventListener('hashchange', () => void this.onHashChange());
    try {
      const { api, me } = await discover(location.pathname, this.session);
      this.api = api;
      this.showContext(me);
      if (!me) return this.signIn();
      return this.afterAuth(me.mfa, me);
    } catch (e) {
      this.fatal(e);
    }
  }

  // ---- the session ---------------------------------------------------------

  private get consoleName(): string {
    return this.api?.scope === 'platform' ? 'Üzemeltetői konzol' : 'Ügyintézői felület';
  }

  private showContext(me: Me | null): void {
    const tenantName = me?.tenant?.name ?? mountOf(location.pathname).tenantSlug;
    const parts = [this.consoleName];
    if (this.api?.scope !== 'platform' && tenantName) parts.push(tenantName);
    this.context.textContent = parts.join(' · ');
    if (me && me.mfa === 'passed') {
      replaceChildren(
        this.sessionBox,
        h('span', { class: 'who', 'data-testid': 'who' }, `${me.staff.display_name} (${roleLabel[me.staff.role]})`),
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'signout', onclick: () => void this.signOut() },
          'Kijelentkezés'),
      );
    } else {
      replaceChildren(this.sessionBox);
    }
  }

  stepDone(r: LoginResponse): Promise<void> | void {
    this.session.csrfToken = r.csrf_token;
    return this.afterAuth(r.mfa);
  }

  private afterAuth(mfa: LoginResponse['mfa'], me?: Me): Promise<void> | void {
    switch (mfa) {
      case 'required':
        return totpView(this);
      case 'enrol':
        return enrolView(this);
      case 'passed':
        return me ? this.home(me) : this.reloadHome();
    }
  }

  private async reloadHome(): Promise<void> {
    try {
      const me = await this.api.me();
      this.session.csrfToken = me.csrf_token;
      return this.home(me);
    } catch (e) {
      if (sessionLost(e)) return this.sessionLost(e);
      this.fatal(e);
    }
  }

  private home(me: Me): Promise<void> {
    this.me = me;
    this.showContext(me);
    if (this.api.scope === 'platform') return showTenants(this.pageContext(this.api));
    return this.navigate(this.api, location.hash);
  }

  /** Forgets everything the session held: the user, the CSRF token, what the pages kept. */
  private forget(): void {
    this.session.csrfToken = null;
    this.me = null;
    this.current = null;
    this.showing++;
    this.kept.clear();
    showNav(this.nav, PAGES, null, null);
    this.showContext(null);
  }

  /** The one handler for an expired session: everything is forgotten and sign-in is asked again. */
  sessionLost(_e: ApiError): void {
    this.forget();
    this.signIn('A munkamenet lejárt. Jelentkezzen be újra.');
  }

  async signOut(): Promise<void> {
    try {
      await this.api.logout();
    } catch {
      // Signing out of an already expired session is fine; the server drops the cookie either way.
    }
    this.forget();
    if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
    this.signIn('Kijelentkezett.');
  }

  private signIn(notice?: string): void {
    signInView(this, notice);
  }

  // ---- pages ---------------------------------------------------------------

  private async onHashChange(): Promise<void> {
    if (!this.me || this.me.mfa !== 'passed' || this.api.scope !== 'tenant') return;
    return this.navigate(this.api, location.hash);
  }

  /** Shows the page a fragment names, or says that the user may not open it. */
  private navigate(api: TenantApi, hash: string): Promise<void> {
    const me = this.me;
    if (!me) return Promise.resolve();
    const r = route(hash, PAGES, me.permissions);
    if (r.kind === 'none') {
      // Not a page (e.g. the skip link's `#main`): stay, unless nothing is shown yet.
      if (this.current !== null) return Promise.resolve();
      return this.navigate(api, '#/');
    }
    this.current = r.page.name;
    showNav(this.nav, PAGES, me.permissions, r.kind === 'page' ? r.page.name : null);
    if (r.kind === 'forbidden') {
      this.showing++;
      this.render(`Nincs jogosultsága: ${r.page.label}`, forbiddenPage(r.page));
      return Promise.resolve();
    }
    return r.page.show(this.pageContext(api));
  }

  /** The services a page gets for one showing. */
  private pageContext<A extends TenantApi | PlatformApi>(api: A): PageContext<A> {
    const showing = ++this.showing;
    const me = this.me as Me;
    const fail = (errors: ErrorSummary, e: unknown, fields?: Record<string, FieldControl>) =>
      showProblem(errors, e, (lost) => this.sessionLost(lost), fields);
    return {
      api,
      me,
      memory: this.memory,
      render: (title: string, nodes: (Node | null)[], options: RenderOptions = {}) => this.render(title, nodes, options.focus, options.wide),
      fail,
      loadFailed: (title: string, testid: string, e: unknown) => {
        if (sessionLost(e)) return this.sessionLost(e);
        const errors = errorSummary();
        this.render(title, [heading(title, testid), errors.el]);
        errors.show(e);
      },
      isCurrent: () => this.showing === showing && this.me !== null,
    };
  }

  /** Replaces the main content; moves focus to `focus` (or the h1) except on first paint. */
  render(title: string, nodes: (Node | null)[], focus?: HTMLElement, wide = false): void {
    document.title = `${title} – ${APP_NAME} ${this.consoleName.toLowerCase()}`;
    document.body.classList.toggle('wide', wide);
    replaceChildren(this.main, nodes);
    if (this.first) {
      this.first = false;
      return;
    }
    (focus ?? this.main.querySelector<HTMLElement>('h1') ?? this.main).focus();
  }

  private fatal(e: unknown): void {
    const errors = errorSummary();
    const retry = h('button', { type: 'button', onclick: () => location.reload() }, 'Újrapróbálás');
    this.render('Hiba', [heading('Az alkalmazás nem indult el', 'fatal-heading'), errors.el, retry]);
    errors.show(e);
  }
}

