// The staff / operator app: a small state machine over the session, no router.
// Views: sign-in → (TOTP code | TOTP enrolment) → overview (tenant) or tenant list (platform).
import {
  ApiError,
  discover,
  mountOf,
  Session,
  type LoginResponse,
  type Me,
  type PlatformApi,
  type Staff,
  type TenantApi,
} from './api/client';
import { byId, h, replaceChildren } from './dom';
import { errorSummary } from './errors';
import { qrSvg } from './qr';

const APP_NAME = 'Kapu';

const roleLabel: Record<Staff['role'], string> = {
  clerk: 'ügyintéző',
  admin: 'adminisztrátor',
  operator: 'üzemeltető',
};

function localError(detail: string, errors: { field: string; message: string }[] = []): ApiError {
  return new ApiError(400, { type: 'urn:kapu:problem:validation', title: 'Hibás adatok', status: 400, detail, errors }, 'hu');
}

/** Keeps only digits: authenticator apps often show "123 456". */
function normaliseCode(raw: string): string {
  return raw.replace(/\D/g, '');
}

export class App {
  private readonly session = new Session();
  private api!: TenantApi | PlatformApi;
  private readonly main = byId('main');
  private readonly context = byId('context');
  private readonly sessionBox = byId('session');
  private first = true;

  async start(): Promise<void> {
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

  // ---- helpers -------------------------------------------------------------

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

  /** Replaces the main content; moves focus to `focus` (or the h1) except on first paint. */
  private render(title: string, nodes: (Node | null)[], focus?: HTMLElement): void {
    document.title = `${title} – ${APP_NAME} ${this.consoleName.toLowerCase()}`;
    replaceChildren(this.main, nodes);
    if (this.first) {
      this.first = false;
      return;
    }
    (focus ?? this.main.querySelector<HTMLElement>('h1') ?? this.main).focus();
  }

  private heading(text: string, testid: string): HTMLHeadingElement {
    return h('h1', { tabindex: '-1', 'data-testid': testid }, text);
  }

  private async busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  private fatal(e: unknown): void {
    const errors = errorSummary();
    const retry = h('button', { type: 'button', onclick: () => location.reload() }, 'Újrapróbálás');
    this.render('Hiba', [this.heading('Az alkalmazás nem indult el', 'fatal-heading'), errors.el, retry]);
    errors.show(e);
  }

  private afterAuth(mfa: LoginResponse['mfa'], me?: Me): Promise<void> | void {
    switch (mfa) {
      case 'required':
        return this.totpStep();
      case 'enrol':
        return this.enrolStep();
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
      return this.handleAuthLoss(e);
    }
  }

  private handleAuthLoss(e: unknown): void {
    if (e instanceof ApiError && e.status === 401) {
      this.session.csrfToken = null;
      this.showContext(null);
      return this.signIn('A munkamenet lejárt. Jelentkezzen be újra.');
    }
    this.fatal(e);
  }

  // ---- views ---------------------------------------------------------------

  private signIn(notice?: string): void {
    const errors = errorSummary();
    const email = h('input', {
      id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true,
      spellcheck: 'false', autocapitalize: 'none', 'data-testid': 'email',
    });
    const password = h('input', {
      id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
      'data-testid': 'password',
    });
    const submit = h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Bejelentkezés');
    const form = h('form', { novalidate: true, 'data-testid': 'signin-form', 'aria-labelledby': 'signin-heading' },
      h('div', { class: 'field' }, h('label', { for: 'email' }, 'E-mail-cím'), email),
      h('div', { class: 'field' }, h('label', { for: 'password' }, 'Jelszó'), password),
      submit,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const missing = [];
      if (!email.value.trim()) missing.push({ field: 'email', message: 'Adja meg az e-mail-címét.' });
      if (!password.value) missing.push({ field: 'password', message: 'Adja meg a jelszavát.' });
      if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), { email, password });
      void this.busy(submit, async () => {
        try {
          const r = await this.api.login(email.value.trim(), password.value);
          this.session.csrfToken = r.csrf_token;
          await this.afterAuth(r.mfa);
        } catch (e) {
          password.value = '';
          errors.show(e, { email, password });
        }
      });
    });
    const heading = this.heading('Bejelentkezés', 'signin-heading');
    heading.id = 'signin-heading';
    this.render('Bejelentkezés', [
      heading,
      h('p', { class: 'lead' }, this.api.scope === 'platform'
        ? 'A Kapu platform üzemeltetőinek felülete.'
        : 'Az önkormányzat munkatársainak felülete.'),
      notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
      errors.el,
      form,
    ], notice ? undefined : email);
  }

  private codeForm(testid: string, submitLabel: string, onCode: (code: string) => Promise<LoginResponse>) {
    const errors = errorSummary();
    const code = h('input', {
      id: 'totp-code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
      pattern: '[0-9]*', maxlength: '9', required: true, 'aria-describedby': 'totp-code-hint',
      spellcheck: 'false', 'data-testid': 'totp-code', class: 'code',
    });
    const submit = h('button', { type: 'submit', 'data-testid': `${testid}-submit` }, submitLabel);
    const form = h('form', { novalidate: true, 'data-testid': `${testid}-form` },
      h('div', { class: 'field' },
        h('label', { for: 'totp-code' }, 'Ellenőrző kód'),
        h('p', { class: 'hint', id: 'totp-code-hint' }, 'A hitelesítő alkalmazásban látható hatjegyű szám.'),
        code),
      submit,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const value = normaliseCode(code.value);
      if (value.length !== 6) {
        return errors.show(localError('Hibás kód.', [{ field: 'code', message: 'Adja meg a hatjegyű kódot.' }]), { code });
      }
      void this.busy(submit, async () => {
        try {
          const r = await onCode(value);
          this.session.csrfToken = r.csrf_token;
          await this.afterAuth(r.mfa);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401 && e.kind === 'unauthenticated') return this.handleAuthLoss(e);
          code.value = '';
          errors.show(e, { code });
        }
      });
    });
    return { errors, code, form };
  }

  private backToSignIn(): HTMLButtonElement {
    return h('button', { type: 'button', class: 'link', onclick: () => void this.signOut() }, 'Vissza a bejelentkezéshez');
  }

  private totpStep(): void {
    const { errors, code, form } = this.codeForm('totp', 'Ellenőrzés', (c) => this.api.totp(c));
    this.render('Kétlépcsős azonosítás', [
      this.heading('Kétlépcsős azonosítás', 'totp-heading'),
      h('p', { class: 'lead' }, 'Adja meg a hitelesítő alkalmazásban látható kódot.'),
      errors.el,
      form,
      this.backToSignIn(),
    ], code);
  }

  private async enrolStep(): Promise<void> {
    const { errors, code, form } = this.codeForm('enrol', 'Beállítás befejezése', (c) => this.api.enrolConfirm(c));
    const secretBox = h('div', { class: 'enrol-secret', 'data-testid': 'enrol-details' }, h('p', {}, 'Kulcs létrehozása…'));
    this.render('Kétlépcsős azonosítás beállítása', [
      this.heading('Kétlépcsős azonosítás beállítása', 'enrol-heading'),
      h('p', { class: 'lead' },
        'A fiókjához kötelező a kétlépcsős azonosítás. Olvassa be a QR-kódot a hitelesítő alkalmazással, ',
        'vagy írja be kézzel a titkos kulcsot, majd adja meg az alkalmazás által mutatott kódot.'),
      errors.el,
      secretBox,
      form,
      this.backToSignIn(),
    ]);
    try {
      const enrolment = await this.api.enrol();
      replaceChildren(secretBox,
        qrSvg(enrolment.otpauth_uri, 'QR-kód a hitelesítő alkalmazás beállításához'),
        h('dl', {},
          h('dt', {}, 'Titkos kulcs'),
          h('dd', {}, h('code', { 'data-testid': 'enrol-secret', class: 'secret' }, enrolment.secret)),
          h('dt', {}, 'Beállítási hivatkozás (otpauth URI)'),
          h('dd', {}, h('code', { 'data-testid': 'enrol-uri', class: 'uri' }, enrolment.otpauth_uri)),
        ),
      );
      code.focus();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
      replaceChildren(secretBox);
      errors.show(e);
    }
  }

  private home(me: Me): Promise<void> {
    this.showContext(me);
    return this.api.scope === 'platform' ? this.tenantList(this.api) : this.overview(this.api);
  }

  private async overview(api: TenantApi): Promise<void> {
    let o;
    try {
      o = await api.overview();
    } catch (e) {
      return this.handleAuthLoss(e);
    }
    const stat = (label: string, value: number, testid: string) =>
      h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-testid': testid }, value.toLocaleString('hu-HU')));
    this.render('Áttekintés', [
      h('h1', { tabindex: '-1', 'data-testid': 'overview-heading' },
        h('span', { 'data-testid': 'tenant-name' }, o.tenant.name)),
      h('p', { class: 'lead' }, 'Áttekintés'),
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

  private async tenantList(api: PlatformApi): Promise<void> {
    let list;
    try {
      list = await api.tenants();
    } catch (e) {
      return this.handleAuthLoss(e);
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
    this.render('Önkormányzatok', [
      this.heading('Önkormányzatok', 'tenants-heading'),
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
    ]);
  }

  private async signOut(): Promise<void> {
    try {
      await this.api.logout();
    } catch {
      // Signing out of an already expired session is fine; the server drops the cookie either way.
    }
    this.session.csrfToken = null;
    this.showContext(null);
    this.signIn('Kijelentkezett.');
  }
}
