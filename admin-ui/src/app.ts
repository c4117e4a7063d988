// The staff / operator app: a small state machine over the session.
// Views: sign-in → (TOTP code | TOTP enrolment) → overview (tenant) or tenant list (platform).
// Tenant staff (clerks and admins) get the clients page; tenant admins also the staff accounts,
// the audit log and the background jobs, reached through fragment links (`#/clients`, `#/staff`,
// `#/audit`, `#/jobs`), so the server still serves only index.html and assets.
import {
  ApiError,
  discover,
  DOCUMENT_KINDS,
  JOB_STATES,
  mountOf,
  Session,
  OIDC_SCOPES,
  TENANT_ROLES,
  type Address,
  type AuditRecord,
  CASE_STATES,
  type CaseHandler,
  type CaseItem,
  type CaseState,
  type CaseView,
  type CalledCard,
  type CounterPage,
  type QueueCall,
  type ClientQuery,
  type ClientRecord,
  type DocumentKind,
  type Identification,
  type NewClient,
  type NewMandate,
  type NewOrganisation,
  type Organisation,
  type FieldError,
  type Job,
  type JobState,
  type LoginResponse,
  type Me,
  type PlatformApi,
  type Plugin,
  type PluginCallError,
  type RelyingParty,
  type Staff,
  type TenantApi,
  type TenantRole,
} from './api/client';
import { byId, h, replaceChildren } from './dom';
import { errorSummary, type ErrorSummary, type FieldControl, type ShownFieldError } from './errors';
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

/** The tenant staff app's pages: the overview and the clients for all staff, the rest for admins only. */
type Route = 'overview' | 'cases' | 'clients' | 'counter' | 'staff' | 'audit' | 'jobs' | 'oidc' | 'plugins';

const ROUTES: { route: Route; hash: string; label: string; adminOnly: boolean }[] = [
  { route: 'overview', hash: '#/', label: 'Áttekintés', adminOnly: false },
  { route: 'cases', hash: '#/cases', label: 'Ügyek', adminOnly: false },
  { route: 'clients', hash: '#/clients', label: 'Ügyfelek', adminOnly: false },
  { route: 'counter', hash: '#/counter', label: 'Ügyfélhívó', adminOnly: false },
  { route: 'staff', hash: '#/staff', label: 'Munkatársak', adminOnly: true },
  { route: 'audit', hash: '#/audit', label: 'Audit napló', adminOnly: true },
  { route: 'jobs', hash: '#/jobs', label: 'Háttérfeladatok', adminOnly: true },
  { route: 'oidc', hash: '#/oidc', label: 'Alkalmazások (SSO)', adminOnly: true },
  { route: 'plugins', hash: '#/plugins', label: 'Bővítmények', adminOnly: true },
];

/** The plugin worlds (integration kinds), in Hungarian. */
const worldLabels: Record<string, string> = {
  parking: 'parkolás',
  records: 'iktatás',
  finance: 'pénzügy',
  registry: 'nyilvántartások',
  queue: 'ügyfélhívó',
};

/** Reads a file as base64 (the component's bytes travel base64 in JSON). */
async function fileBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const scopeLabels: Record<string, string> = {
  openid: 'openid – azonosító (kötelező)',
  profile: 'profile – név',
  email: 'email – e-mail-cím',
  address: 'address – lakcím',
  phone: 'phone – telefonszám',
  kapu_identity: 'kapu_identity – természetes személyazonosító adatok és azonosítási szint',
};

/** The route a fragment names; null for fragments that are no route (e.g. the skip link's `#main`). */
function routeOf(hash: string): Route | null {
  if (hash === '' || hash === '#' || hash === '#/') return 'overview';
  return ROUTES.find((r) => r.hash === hash)?.route ?? null;
}

const AUDIT_PAGE = 50;

const actionLabels: Record<string, string> = {
  'client.create': 'Ügyfél felvétele',
  'client.read': 'Ügyfél adatainak megtekintése',
  'client.search': 'Ügyfél keresése',
  'client.update': 'Ügyfél adatainak módosítása',
  'client.identify': 'Személyes azonosítás',
  'mandate.grant': 'Meghatalmazás rögzítése',
  'mandate.revoke': 'Meghatalmazás visszavonása',
  'case.read': 'Ügy megtekintése',
  'case.assign': 'Ügy kiosztása',
  'case.request_information': 'Hiánypótlási felhívás',
  'case.draft_decision': 'Döntéstervezet',
  'case.send_to_signatory': 'Kiadmányozásra küldés',
  'case.approve': 'Kiadmányozás (jóváhagyás)',
  'case.reject': 'Ügy visszautasítása',
  'plugin.install': 'Bővítmény telepítése',
  'plugin.configure': 'Bővítmény beállítása',
  'plugin.remove': 'Bővítmény eltávolítása',
};

const caseStateLabels: Record<CaseState, string> = {
  submitted: 'Beküldve',
  awaiting_payment: 'Fizetésre vár',
  in_review: 'Ügyintézés alatt',
  awaiting_information: 'Hiánypótlásra vár',
  decided: 'Döntés született',
  delivered: 'Kézbesítve',
  rejected: 'Visszautasítva',
  withdrawn: 'Visszavonva',
};
const caseStateLabel = (state: string) => caseStateLabels[state as CaseState] ?? state;
const localSystemLabel = (s: string) => ({ records: 'Iktatórendszer', finance: 'Pénzügy', parking: 'Parkolás' } as Record<string, string>)[s] ?? s;
const localTaskLabel = (t: string) => ({
  'records.register': 'Érkeztetés', 'records.file': 'Iktatás', 'records.issue': 'Kiadmányozás (döntés)',
  'finance.receivable': 'Díjelőírás', 'finance.payment': 'Befizetés könyvelése', 'parking.submit': 'Hozzájárulás beküldése',
} as Record<string, string>)[t] ?? t;
const localStateLabel = (s: string) => ({
  done: 'kész', pending: 'várakozik (újrapróbálás)', failed: 'sikertelen', not_installed: 'nincs bővítmény, nem történt meg',
} as Record<string, string>)[s] ?? s;

const identificationLabels: Record<string, string> = {
  registered: 'regisztrált (e-mail-cím igazolva)',
  in_person: 'személyesen azonosított',
  kau: 'KAÜ-val azonosított',
};

/** How often the counter page asks for new calls (the server's feed reads the queue system as often). */
const COUNTER_POLL_MS = 2000;

const jobStateLabels: Record<JobState, string> = {
  pending: 'Várakozik',
  running: 'Fut',
  done: 'Kész',
  dead: 'Sikertelen',
};
const jobStateLabel = (state: string) => jobStateLabels[state as JobState] ?? state;

/** Minimum length of a staff password (the server's policy; it also refuses guessable ones). */
const PASSWORD_MIN = 12;

/**
 * The staff form's field errors, in Hungarian where the server's (English) reason is known;
 * any other message is shown as the server wrote it, in its language.
 */
function staffFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'password':
        if (m.includes('at least')) return `A jelszó legalább ${PASSWORD_MIN} karakter legyen.`;
        if (m.includes('at most')) return 'A jelszó legfeljebb 256 karakter lehet.';
        if (m.includes('guess')) {
          return 'A jelszó túl könnyen kitalálható: ne tartalmazza az e-mail-cím @ előtti részét, és ne álljon egyetlen ismétlődő karakterből.';
        }
        return null;
      case 'email':
        return m.includes('e-mail') ? 'Adjon meg érvényes e-mail-címet, például nev@hivatal.hu.' : null;
      case 'role':
        return 'Válasszon szerepkört: ügyintéző vagy adminisztrátor.';
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}

// ---- clients ----------------------------------------------------------------

const documentKindLabels: Record<DocumentKind, string> = {
  identity_card: 'Személyi igazolvány',
  passport: 'Útlevél',
  driving_licence: 'Vezetői engedély',
};

/** The registry's names of differing fields (`fields` of a mismatch), in Hungarian. */
const mismatchFieldLabels: Record<string, string> = {
  family_name: 'családi név',
  given_name: 'utónév',
  birth_name: 'születési név',
  mother_birth_name: 'anyja születési neve',
  birth_place: 'születési hely',
  birth_date: 'születési idő',
  address: 'lakcím',
  document_validity: 'az okmány érvényessége',
};

/** The longest purpose the server takes (`X-Access-Reason`, 1 to 200 characters). */
const REASON_MAX = 200;

/** What is wrong with a purpose as typed, in Hungarian; null when it can be sent. */
function reasonProblem(value: string): string | null {
  if (!value) return 'Adja meg az ügyintézés célját: minden ügyféladat-hozzáférés ezzel az indokkal kerül a naplóba.';
  if (value.length > REASON_MAX) return `Az ügyintézés célja legfeljebb ${REASON_MAX} karakter lehet.`;
  return null;
}

const REGISTRY_DOWN =
  'A központi személyiadat- és lakcímnyilvántartás (SZL) most nem érhető el, ezért az azonosítás nem történt meg; semmi sem változott. Próbálja újra néhány perc múlva.';

/** The labels of the identity fields, for "must not be empty" messages. */
const identityLabels: Record<string, string> = {
  'identity.family_name': 'a családi nevet',
  'identity.given_name': 'az utónevet',
  'identity.mother_birth_name': 'az anyja születési nevét',
  'identity.birth_place': 'a születési helyet',
};

/**
 * The client endpoints' field errors, in Hungarian where the server's (English) reason is
 * known; any other message is shown as the server wrote it, in its language.
 */
function clientFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'X-Access-Reason':
        return `Adja meg az ügyintézés célját (legfeljebb ${REASON_MAX} karakter).`;
      case 'identity.family_name':
      case 'identity.given_name':
      case 'identity.mother_birth_name':
      case 'identity.birth_place':
        if (m.includes('empty')) return `Adja meg ${identityLabels[fe.field]}.`;
        if (m.includes('at most')) return 'Legfeljebb 100 karakter lehet.';
        return null;
      case 'identity.birth_date':
        if (m.includes('future')) return 'A születési idő nem lehet a jövőben.';
        if (m.includes('early')) return 'A születési idő nem lehet 1880 előtti.';
        return 'Adja meg a születési időt (év, hónap, nap).';
      case 'email':
        return m.includes('e-mail') ? 'Adjon meg érvényes e-mail-címet, például nev@example.hu.' : null;
      case 'addresses':
        if (m.includes('postcode')) return 'Az irányítószám négy számjegy, 1000 és 9999 között.';
        if (m.includes('empty')) return 'Adja meg a lakcím települését és közterületét (házszámmal) is.';
        return null;
      case 'resident_card':
        return m.includes('another client') ? 'Ez a lakossági kártyaszám már egy másik ügyfélé.' : null;
      case 'document_number':
        return 'Az okmány száma 6–20 betű és számjegy, például 123456AB.';
      case 'account_email':
        return m.includes('no portal account') ? 'Ezzel az e-mail-címmel nincs portálfiók ennél az önkormányzatnál.' : null;
      case 'id_document':
      case 'family_name':
        return 'Adjon meg okmányszámot, vagy családi nevet, utónevet és születési időt.';
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}

// ---- organisations and mandates ------------------------------------------------

/** A mandate recorded on this page (the API has no list of an organisation's mandates yet). */
interface RecordedMandate {
  id: string;
  representativeAccountId: string;
  scope: string[];
  validFrom: string;
  validUntil: string | null;
  revoked: boolean;
}

/** The organisation the clerk works with (the one last registered), with the mandates recorded for it. */
interface SelectedOrganisation {
  org: Organisation;
  mandates: RecordedMandate[];
}

/** A Hungarian tax number as the clerk types it: 8, 1 and 2 digits, dashes and spaces optional. */
const TAX_NUMBER_SHAPE = /^\d{8}-?\d-?\d{2}$/;

const ACCOUNT_ID_HINT = 'A portálfiók 36 karakteres azonosítója kötőjelekkel, például 0190f3c2-7a1b-7c3d-9e4f-1a2b3c4d5e6f. '
  + 'Portálfiókot e-mail-cím szerint itt még nem lehet keresni.';

/**
 * The organisation and mandate endpoints' field errors, in Hungarian where the server's (English)
 * reason is known; any other message is shown as the server wrote it, in its language.
 */
function organisationFieldErrors(e: ApiError): ShownFieldError[] {
  const hu = (fe: FieldError): string | null => {
    const m = fe.message.toLowerCase();
    switch (fe.field) {
      case 'X-Access-Reason':
        return `Adja meg az ügyintézés célját (legfeljebb ${REASON_MAX} karakter).`;
      case 'name':
        return 'Adja meg a szervezet nevét (legfeljebb 200 karakter).';
      case 'tax_number':
        if (m.includes('check digit')) return 'Az adószám ellenőrző számjegye (8.) nem stimmel: elírás lehet.';
        if (m.includes('vat code')) return 'Az áfakód (9. számjegy) 1–5 lehet.';
        if (m.includes('area code')) return 'A területi kód (utolsó két számjegy) nem létező adóhivatali terület.';
        if (m.includes('11 digits')) return 'Az adószám 11 számjegy, xxxxxxxx-y-zz alakban.';
        if (m.includes('already registered')) return 'Ezzel az adószámmal már van szervezet.';
        return null;
      case 'addresses':
        if (m.includes('postcode')) return 'Az irányítószám négy számjegy, 1000 és 9999 között.';
        if (m.includes('empty')) return 'Adja meg a székhely települését és közterületét (házszámmal) is.';
        return null;
      case 'scope':
        return m.includes('case type') ? 'Adjon meg legalább egy ügytípuskódot, vagy * jelet minden ügytípusra.' : null;
      case 'valid_until':
        return m.includes('before') ? 'A meghatalmazás utolsó napja nem lehet korábbi az első napjánál.' : null;
      case 'principal_client_id':
        return m.includes('no such client') ? 'Ez a szervezet már nincs meg az ügyfelek között; vegye fel újra.' : null;
      case 'representative_account_id':
        return m.includes('no such client account')
          ? 'Nincs ilyen portálfiók ennél az önkormányzatnál; ellenőrizze az azonosítót.'
          : null;
      default:
        return null;
    }
  };
  return (e.problem.errors ?? []).map((fe) => {
    const message = hu(fe);
    return message ? { field: fe.field, message, lang: 'hu' } : { ...fe, lang: e.lang };
  });
}

/** Today's date where the clerk is, as `YYYY-MM-DD`. */
function todayIso(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A calendar date (`YYYY-MM-DD`) in Hungarian, e.g. "1980. május 17.". */
const calendarDate = new Intl.DateTimeFormat('hu-HU', { dateStyle: 'long', timeZone: 'UTC' });

function dateEl(iso: string): HTMLTimeElement {
  const d = new Date(`${iso}T00:00:00Z`);
  return h('time', { datetime: iso }, Number.isNaN(d.getTime()) ? iso : calendarDate.format(d));
}

const fullName = (c: ClientRecord) => `${c.identity.family_name} ${c.identity.given_name}`;

/** The document number as the server stores it (letters and digits, upper case). */
const normaliseDocument = (s: string) => s.replace(/[^0-9a-z]/gi, '').toUpperCase();

function addressText(c: ClientRecord, kind: Address['kind']): string | null {
  const a = c.addresses.find((x) => x.kind === kind);
  return a ? `${a.postcode} ${a.city}, ${a.street}` : null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const dateTime = new Intl.DateTimeFormat('hu-HU', { dateStyle: 'short', timeStyle: 'medium' });
const number = (n: number) => n.toLocaleString('hu-HU');

/** The card of a decided case's sealed decision document: waiting (e.g. the time-stamping
 * authority is down; never issued unsigned), failed (with the reason, e.g. a template error) or
 * issued, with its delivery. */
function issuedDecision(c: CaseView): HTMLElement[] | null {
  const d = c.issued_decision;
  if (!d) return null;
  const facts: (HTMLElement | null)[] = [];
  if (d.status === 'issued') {
    facts.push(h('dt', {}, 'Dokumentum'), h('dd', { 'data-testid': 'issued-title' }, d.title ?? ''));
    if (d.issued_at) facts.push(h('dt', {}, 'Kiadva'), h('dd', { 'data-testid': 'issued-at' }, timeEl(d.issued_at)));
    if (d.sha256) facts.push(h('dt', {}, 'SHA-256'), h('dd', {}, h('code', {}, d.sha256)));
    facts.push(h('dt', {}, 'Kézbesítés'), h('dd', { 'data-testid': 'delivered-at', 'data-how': d.delivered_how ?? 'none' },
      d.delivered_at
        ? [d.delivered_how === 'deemed' ? 'Kézbesítettnek minősül: ' : 'Letöltve (kézbesítve): ', timeEl(d.delivered_at)]
        : 'Az ügyfél még nem töltötte le.'));
  } else {
    const text = d.status === 'failed'
      ? 'A döntés kiadmányozása meghiúsult, dokumentum nem készült; a hiba elhárítása után az adminisztrátor a Háttérfeladatok oldalon újraindíthatja.'
      : 'Kiadmányozásra vár: hitelesítés és időbélyeg nélkül nem adjuk ki; a rendszer később újra megpróbálja.';
    facts.push(h('dt', {}, 'Állapot'), h('dd', { 'data-testid': 'issuing-status', 'data-status': d.status, class: d.status === 'failed' ? 'bad' : '' }, text));
    if (d.problem) facts.push(h('dt', {}, 'Utolsó hiba'), h('dd', { 'data-testid': 'issuing-problem' }, d.problem));
    if (d.attempts) facts.push(h('dt', {}, 'Próbálkozások'), h('dd', {}, String(d.attempts)));
  }
  return [h('h3', {}, 'Kiadmányozott határozat'), h('dl', { class: 'facts', 'data-testid': 'issued-decision', 'data-status': d.status }, ...facts)];
}

function timeEl(iso: string): HTMLTimeElement {
  const d = new Date(iso);
  return h('time', { datetime: iso }, Number.isNaN(d.getTime()) ? iso : dateTime.format(d));
}

/** An audit record's `details` as short text: `fields: email, identity`; `–` when empty. */
function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '–';
  if (typeof details !== 'object') return String(details);
  const entries = Object.entries(details as Record<string, unknown>);
  if (!entries.length) return '–';
  return entries
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.map(String).join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('; ');
}

/** A wide table in a keyboard-scrollable region named by the table's caption. */
function scrollTable(captionId: string, table: HTMLTableElement): HTMLDivElement {
  return h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': captionId, tabindex: '0' }, table);
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
  private readonly nav = byId('nav');
  private first = true;
  /** The signed-in session (second factor passed), else null. */
  private me: Me | null = null;
  private route: Route = 'overview';
  /** The purpose typed on the clients page; kept while the session lasts, so that it survives page changes. */
  private clientReason = '';
  /** The organisation registered last on the clients page, for mandates; kept like the purpose. */
  private organisation: SelectedOrganisation | null = null;

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

  private get isTenantAdmin(): boolean {
    return this.api?.scope === 'tenant' && this.me?.mfa === 'passed' && this.me.staff.role === 'admin';
  }

  private get isTenantStaff(): boolean {
    return this.api?.scope === 'tenant' && this.me?.mfa === 'passed';
  }

  /** Whether the signed-in staff member may open the page. */
  private mayOpen(route: Route): boolean {
    const r = ROUTES.find((x) => x.route === route);
    return !!r && this.isTenantStaff && (!r.adminOnly || this.isTenantAdmin);
  }

  /** The navigation in the header: admins get every page, clerks the overview and the clients. */
  private showNav(): void {
    if (!this.isTenantStaff) return replaceChildren(this.nav);
    const admin = this.isTenantAdmin;
    replaceChildren(this.nav, h('nav', { 'aria-label': 'Menü', 'data-testid': admin ? 'admin-nav' : 'clerk-nav' },
      h('ul', {}, ROUTES.filter((r) => admin || !r.adminOnly).map((r) => h('li', {}, h('a', {
        href: r.hash,
        'aria-current': r.route === this.route ? 'page' : null,
        'data-testid': `nav-${r.route}`,
      }, r.label))))));
  }

  private async onHashChange(): Promise<void> {
    const route = routeOf(location.hash);
    if (route === null || !this.me || this.me.mfa !== 'passed' || this.api.scope !== 'tenant') return;
    return this.navigate(this.api, route);
  }

  /** Shows a page of the tenant app; a page the role may not open shows the overview. */
  private navigate(api: TenantApi, wanted: Route): Promise<void> {
    const route = this.mayOpen(wanted) ? wanted : 'overview';
    if (route !== wanted) history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    this.route = route;
    this.showNav();
    switch (route) {
      case 'cases':
        return this.cases(api);
      case 'clients':
        return this.clients(api);
      case 'counter':
        return this.counter(api);
      case 'staff':
        return this.staff(api);
      case 'audit':
        return this.auditLog(api);
      case 'jobs':
        return this.jobs(api);
      case 'oidc':
        return this.relyingParties(api);
      case 'plugins':
        return this.plugins(api);
      default:
        return this.overview(api);
    }
  }

  /** Replaces the main content; moves focus to `focus` (or the h1) except on first paint. */
  private render(title: string, nodes: (Node | null)[], focus?: HTMLElement, wide = false): void {
    document.title = `${title} – ${APP_NAME} ${this.consoleName.toLowerCase()}`;
    document.body.classList.toggle('wide', wide);
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
    // A disabled button loses focus; give it back afterwards unless the work moved focus elsewhere.
    const hadFocus = document.activeElement === button;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      const lost = document.activeElement === null || document.activeElement === document.body;
      if (hadFocus && lost && button.isConnected) button.focus();
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
      this.me = null;
      this.clientReason = '';
      this.organisation = null;
      this.showNav();
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
    this.me = me;
    this.showContext(me);
    if (this.api.scope === 'platform') return this.tenantList(this.api);
    return this.navigate(this.api, routeOf(location.hash) ?? 'overview');
  }

  /** A page's load failed: signs out on 401, otherwise shows the error on an otherwise empty page. */
  private loadFailed(title: string, testid: string, e: unknown): void {
    if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
    const errors = errorSummary();
    this.render(title, [this.heading(title, testid), errors.el]);
    errors.show(e);
  }

  /** A polite live region for results of actions (kept in the page so that updates are announced). */
  private statusLine(testid: string): HTMLParagraphElement {
    return h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-testid': testid, tabindex: '-1' });
  }

  private async staff(api: TenantApi): Promise<void> {
    const title = 'Munkatársak';
    let first: Staff[];
    try {
      first = await api.staff();
    } catch (e) {
      return this.loadFailed(title, 'staff-heading', e);
    }

    const errors = errorSummary();
    const status = this.statusLine('staff-status');
    const results = h('div', { 'data-testid': 'staff-results' });

    const showList = (staff: Staff[], fresh?: string) => {
      if (!staff.length) {
        replaceChildren(results, h('p', { 'data-testid': 'staff-empty' }, 'Még nincs munkatárs.'));
        return;
      }
      const rows = staff.map((s) => h('tr', {
        'data-testid': 'staff-row', 'data-email': s.email, 'data-role': s.role, class: s.id === fresh ? 'fresh' : null,
      },
        h('th', { scope: 'row' }, s.display_name),
        h('td', {}, s.email),
        h('td', {}, roleLabel[s.role]),
      ));
      const table = h('table', { 'data-testid': 'staff-table' },
        h('caption', { id: 'staff-caption' }, `Az önkormányzat munkatársai e-mail-cím szerint: ${number(staff.length)} fő.`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Név'),
          h('th', { scope: 'col' }, 'E-mail-cím'),
          h('th', { scope: 'col' }, 'Szerepkör'))),
        h('tbody', {}, rows));
      replaceChildren(results, scrollTable('staff-caption', table));
    };

    // The form for a new account.
    const name = h('input', {
      id: 'staff-name', name: 'display_name', type: 'text', autocomplete: 'off', required: true, 'data-testid': 'staff-name',
    });
    const email = h('input', {
      id: 'staff-email', name: 'email', type: 'email', autocomplete: 'off', required: true, spellcheck: 'false',
      autocapitalize: 'none', 'aria-describedby': 'staff-email-hint', 'data-testid': 'staff-email',
    });
    const role = h('select', { id: 'staff-role', name: 'role', 'aria-describedby': 'staff-role-hint', 'data-testid': 'staff-role' },
      TENANT_ROLES.map((r) => h('option', { value: r }, roleLabel[r])));
    const password = h('input', {
      id: 'staff-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
      minlength: String(PASSWORD_MIN), 'aria-describedby': 'staff-password-hint', 'data-testid': 'staff-password',
    });
    const fields = { display_name: name, email, role, password };
    const submit = h('button', { type: 'submit', 'data-testid': 'staff-submit' }, 'Munkatárs felvétele');
    const form = h('form', { novalidate: true, 'data-testid': 'staff-form', 'aria-labelledby': 'staff-new-heading' },
      h('div', { class: 'field' }, h('label', { for: 'staff-name' }, 'Név'), name),
      h('div', { class: 'field' },
        h('label', { for: 'staff-email' }, 'E-mail-cím'),
        h('p', { class: 'hint', id: 'staff-email-hint' }, 'Ezzel jelentkezik be; önkormányzaton belül egyedi.'),
        email),
      h('div', { class: 'field' },
        h('label', { for: 'staff-role' }, 'Szerepkör'),
        h('p', { class: 'hint', id: 'staff-role-hint' },
          'Az adminisztrátor a munkatársakat, az audit naplót és a háttérfeladatokat is kezeli.'),
        role),
      h('div', { class: 'field' },
        h('label', { for: 'staff-password' }, 'Kezdő jelszó'),
        h('p', { class: 'hint', id: 'staff-password-hint' },
          `Legalább ${PASSWORD_MIN} karakter, és ne tartalmazza az e-mail-cím @ előtti részét. `,
          'Az adminisztrátorok az első bejelentkezéskor kétlépcsős azonosítást (hitelesítő alkalmazást) is beállítanak.'),
        password),
      submit,
    );

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      status.classList.remove('ok');
      replaceChildren(status);
      const wanted = {
        display_name: name.value.trim(),
        email: email.value.trim(),
        role: (TENANT_ROLES as readonly string[]).includes(role.value) ? (role.value as TenantRole) : 'clerk',
        password: password.value,
      };
      const missing = [];
      if (!wanted.display_name) missing.push({ field: 'display_name', message: 'Adja meg a munkatárs nevét.' });
      if (!wanted.email) missing.push({ field: 'email', message: 'Adja meg a munkatárs e-mail-címét.' });
      if (!wanted.password) missing.push({ field: 'password', message: 'Adjon meg kezdő jelszót.' });
      if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), fields);
      void this.busy(submit, async () => {
        let created: Staff;
        try {
          created = await api.createStaff(wanted);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          // A refused password is cleared (it has to be retyped anyway); other fields keep their values.
          if (e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'password')) password.value = '';
          if (e instanceof ApiError && e.kind === 'conflict') {
            return errors.show(new ApiError(e.status, {
              ...e.problem,
              detail: 'Ezzel az e-mail-címmel már van munkatársi fiók.',
              errors: [{
                field: 'email',
                message: `A(z) ${wanted.email} címmel már van munkatárs ennél az önkormányzatnál. Adjon meg másik e-mail-címet.`,
              }],
            }, 'hu'), fields);
          }
          if (e instanceof ApiError && e.kind === 'validation') {
            return errors.show(new ApiError(e.status, { ...e.problem, errors: staffFieldErrors(e) }, e.lang), fields);
          }
          return errors.show(e, fields);
        }
        form.reset();
        status.classList.add('ok');
        replaceChildren(status, `Új munkatárs felvéve: ${created.display_name} (${created.email}), ${roleLabel[created.role]}.`);
        try {
          showList(await api.staff(), created.id);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          return errors.show(e);
        }
        status.focus();
      });
    });

    showList(first);
    this.render(title, [
      this.heading(title, 'staff-heading'),
      h('p', { class: 'lead' }, 'Az önkormányzat ügyintézői és adminisztrátorai, akik a Kapu ügyintézői felületére bejelentkezhetnek.'),
      errors.el,
      h('section', { 'aria-labelledby': 'staff-list-heading' },
        h('h2', { id: 'staff-list-heading' }, 'Fiókok'),
        status,
        results),
      h('section', { 'aria-labelledby': 'staff-new-heading' },
        h('h2', { id: 'staff-new-heading' }, 'Új munkatárs'),
        form),
    ]);
  }

  private async auditLog(api: TenantApi): Promise<void> {
    const title = 'Audit napló';
    let client: string | undefined;
    let first: AuditRecord[];
    try {
      first = await api.audit({ limit: AUDIT_PAGE });
    } catch (e) {
      return this.loadFailed(title, 'audit-heading', e);
    }

    const errors = errorSummary();

    // Verification of the hash chain.
    const verifyStatus = this.statusLine('verify-status');
    const verifyButton = h('button', { type: 'button', 'data-testid': 'verify-chain' }, 'Lánc ellenőrzése');
    verifyButton.addEventListener('click', () => void this.busy(verifyButton, async () => {
      errors.clear();
      verifyStatus.className = 'status-line';
      replaceChildren(verifyStatus, 'Ellenőrzés folyamatban…');
      try {
        const v = await api.verifyAudit();
        if (v.intact) {
          verifyStatus.classList.add('ok');
          replaceChildren(verifyStatus, `A lánc ép, ${number(v.records)} bejegyzés.`);
        } else {
          verifyStatus.classList.add('bad');
          replaceChildren(verifyStatus,
            `A lánc sérült a(z) ${v.broken_at === null || v.broken_at === undefined ? '?' : number(v.broken_at)}. bejegyzésnél: `,
            h('span', { lang: 'en' }, v.problem ?? 'unknown problem'));
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
        replaceChildren(verifyStatus);
        errors.show(e);
      }
    }));

    // Filter by client.
    const clientInput = h('input', {
      id: 'audit-client', name: 'client', type: 'text', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off',
      'aria-describedby': 'audit-client-hint', 'data-testid': 'audit-client', class: 'uuid',
    });
    const filterButton = h('button', { type: 'submit', 'data-testid': 'audit-filter-submit' }, 'Szűrés');
    const clearButton = h('button', { type: 'button', class: 'quiet', 'data-testid': 'audit-filter-clear', hidden: true },
      'Szűrés törlése');
    const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'audit-filter', 'aria-labelledby': 'audit-filter-heading' },
      h('div', { class: 'field' },
        h('label', { for: 'audit-client' }, 'Ügyfél azonosítója'),
        h('p', { class: 'hint', id: 'audit-client-hint' }, 'Csak az ügyfélre vonatkozó bejegyzések (UUID). Üresen: minden bejegyzés.'),
        clientInput),
      h('div', { class: 'actions' }, filterButton, clearButton),
    );

    // The list, newest first, with "older" paging.
    const listStatus = this.statusLine('audit-list-status');
    const results = h('div', { 'data-testid': 'audit-results' });
    let shown: AuditRecord[] = [];

    const row = (r: AuditRecord) => h('tr', { 'data-testid': 'audit-row', 'data-seq': String(r.seq) },
      h('th', { scope: 'row', class: 'num' }, String(r.seq)),
      h('td', {}, timeEl(r.at)),
      h('td', {}, r.actor),
      h('td', {}, actionLabels[r.action] ? [actionLabels[r.action], h('br'), h('code', {}, r.action)] : h('code', {}, r.action)),
      h('td', {}, r.subject_client_id ? h('code', { class: 'uuid' }, r.subject_client_id) : '–'),
      h('td', {}, r.reason || '–'),
      h('td', {}, detailsText(r.details)),
      h('td', {}, h('code', { class: 'hash' }, r.hash)),
    );

    const showResults = (records: AuditRecord[]) => {
      shown = records;
      if (!records.length) {
        replaceChildren(results, h('p', { 'data-testid': 'audit-empty' },
          client ? 'Erről az ügyfélről nincs bejegyzés.' : 'A napló még üres.'));
        return;
      }
      const caption = h('caption', { id: 'audit-caption' });
      const tbody = h('tbody', {}, records.map(row));
      const setCaption = () => replaceChildren(caption,
        `Bejegyzések, a legújabbak elöl${client ? ` (szűrve az ügyfélre: ${client})` : ''}: ${number(shown.length)} megjelenítve.`);
      setCaption();
      const table = h('table', { 'data-testid': 'audit-table', class: 'audit' },
        caption,
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Sorszám'),
          h('th', { scope: 'col' }, 'Időpont'),
          h('th', { scope: 'col' }, 'Végrehajtó'),
          h('th', { scope: 'col' }, 'Művelet'),
          h('th', { scope: 'col' }, 'Ügyfél'),
          h('th', { scope: 'col' }, 'Indok'),
          h('th', { scope: 'col' }, 'Részletek'),
          h('th', { scope: 'col' }, 'Kivonat (SHA-256)'))),
        tbody);
      const pager = h('div', { class: 'pager' });
      const noMore = () => replaceChildren(pager,
        h('p', { 'data-testid': 'audit-no-more', tabindex: '-1' }, 'Nincs régebbi bejegyzés.'));
      if (records.length < AUDIT_PAGE) {
        noMore();
      } else {
        const older = h('button', { type: 'button', 'data-testid': 'audit-older' }, 'Régebbiek');
        older.addEventListener('click', () => void this.busy(older, async () => {
          errors.clear();
          const before = Math.min(...shown.map((r) => r.seq));
          try {
            const more = await api.audit({ limit: AUDIT_PAGE, before, client });
            shown = [...shown, ...more];
            tbody.append(...more.map(row));
            setCaption();
            replaceChildren(listStatus, more.length
              ? `${number(more.length)} régebbi bejegyzés betöltve, összesen ${number(shown.length)} látható.`
              : 'Nincs régebbi bejegyzés.');
            if (more.length < AUDIT_PAGE) {
              noMore();
              pager.querySelector<HTMLElement>('p')?.focus();
            }
          } catch (e) {
            if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
            errors.show(e);
          }
        }));
        replaceChildren(pager, older);
      }
      replaceChildren(results, scrollTable('audit-caption', table), pager);
    };

    filterForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const value = clientInput.value.trim();
      if (value && !UUID.test(value)) {
        return errors.show(localError('Hibás ügyfél-azonosító.', [
          { field: 'client', message: 'Az ügyfél azonosítója 36 karakteres UUID, pl. 0f8fad5b-d9cb-469f-a165-70867728950e.' },
        ]), { client: clientInput });
      }
      void this.busy(filterButton, async () => {
        try {
          const records = await api.audit({ limit: AUDIT_PAGE, client: value || undefined });
          client = value ? value.toLowerCase() : undefined;
          clearButton.hidden = !client;
          showResults(records);
          replaceChildren(listStatus, client
            ? `Szűrve az ügyfélre: ${number(records.length)}${records.length === AUDIT_PAGE ? ' (vagy több)' : ''} bejegyzés.`
            : `Minden bejegyzés: ${number(records.length)}${records.length === AUDIT_PAGE ? ' (vagy több)' : ''} megjelenítve.`);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          errors.show(e, { client: clientInput });
        }
      });
    });
    clearButton.addEventListener('click', () => {
      clientInput.value = '';
      filterForm.requestSubmit(filterButton);
      clientInput.focus();
    });

    showResults(first);
    this.render(title, [
      this.heading(title, 'audit-heading'),
      h('p', { class: 'lead' },
        'A személyes adatokhoz való hozzáférések és a fontos műveletek naplója. A bejegyzések láncot alkotnak: ',
        'mindegyik tartalmazza az előző kivonatát, így utólagos módosításuk kimutatható.'),
      errors.el,
      h('section', { 'aria-labelledby': 'verify-heading' },
        h('h2', { id: 'verify-heading' }, 'A lánc épsége'),
        h('div', { class: 'actions' }, verifyButton),
        verifyStatus),
      h('section', { 'aria-labelledby': 'audit-filter-heading' },
        h('h2', { id: 'audit-filter-heading' }, 'Szűrés ügyfélre'),
        filterForm),
      h('section', { 'aria-labelledby': 'audit-list-heading' },
        h('h2', { id: 'audit-list-heading' }, 'Bejegyzések'),
        listStatus,
        results),
    ], undefined, true);
  }

  /** The OpenID Provider's relying parties: the list, a registration form and key rotation. */
  private async relyingParties(api: TenantApi): Promise<void> {
    const title = 'Alkalmazások (SSO)';
    let first: RelyingParty[];
    try {
      first = await api.relyingParties();
    } catch (e) {
      return this.loadFailed(title, 'oidc-heading', e);
    }
    const errors = errorSummary();
    const status = this.statusLine('oidc-status');
    const results = h('div', { 'data-testid': 'oidc-results' });
    const kindLabel = (k: string) => (k === 'public' ? 'nyilvános (PKCE)' : 'bizalmas (titokkal)');

    const deleteButton = (p: RelyingParty) => {
      const del = h('button', { type: 'button', class: 'secondary', 'data-testid': 'oidc-delete', 'aria-label': `${p.name} törlése` }, 'Törlés');
      del.addEventListener('click', () => void this.busy(del, async () => {
        if (!confirm(`Biztosan törli: ${p.name}? A kiadott tokenjei is érvényüket vesztik.`)) return;
        try {
          await api.deleteRelyingParty(p.client_id);
          showList(await api.relyingParties());
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          return errors.show(e);
        }
        replaceChildren(status, `Törölve: ${p.name}.`);
        status.focus();
      }));
      return del;
    };

    const showList = (parties: RelyingParty[], fresh?: string) => {
      if (!parties.length) {
        replaceChildren(results, h('p', { 'data-testid': 'oidc-empty' }, 'Még nincs regisztrált alkalmazás.'));
        return;
      }
      const rows = parties.map((p) => h('tr', { 'data-testid': 'oidc-row', 'data-client-id': p.client_id, class: p.client_id === fresh ? 'fresh' : null },
        h('th', { scope: 'row' }, p.name),
        h('td', {}, h('code', {}, p.client_id)),
        h('td', {}, kindLabel(p.kind)),
        h('td', {}, p.redirect_uris.join(' ')),
        h('td', {}, p.allowed_scopes.join(' ')),
        h('td', {}, p.id_token_alg),
        h('td', {}, deleteButton(p)),
      ));
      const table = h('table', { 'data-testid': 'oidc-table' },
        h('caption', { id: 'oidc-caption' }, `Regisztrált alkalmazások: ${number(parties.length)}.`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Név'),
          h('th', { scope: 'col' }, 'Ügyfél-azonosító (client_id)'),
          h('th', { scope: 'col' }, 'Típus'),
          h('th', { scope: 'col' }, 'Visszatérési címek'),
          h('th', { scope: 'col' }, 'Hatókörök'),
          h('th', { scope: 'col' }, 'Aláírás'),
          h('th', { scope: 'col' }, 'Művelet'))),
        h('tbody', {}, rows));
      replaceChildren(results, scrollTable('oidc-caption', table));
    };

    const name = h('input', { id: 'oidc-name', name: 'name', type: 'text', autocomplete: 'off', required: true, 'data-testid': 'oidc-name' });
    const kind = h('select', { id: 'oidc-kind', name: 'kind', 'aria-describedby': 'oidc-kind-hint', 'data-testid': 'oidc-kind' },
      h('option', { value: 'confidential' }, kindLabel('confidential')),
      h('option', { value: 'public' }, kindLabel('public')));
    const redirects = h('input', {
      id: 'oidc-redirects', name: 'redirect_uris', type: 'text', autocomplete: 'off', required: true, spellcheck: 'false',
      'aria-describedby': 'oidc-redirects-hint', 'data-testid': 'oidc-redirects',
    });
    const logoutRedirects = h('input', {
      id: 'oidc-logout-redirects', name: 'post_logout_redirect_uris', type: 'text', autocomplete: 'off', spellcheck: 'false',
      'aria-describedby': 'oidc-redirects-hint', 'data-testid': 'oidc-logout-redirects',
    });
    const alg = h('select', { id: 'oidc-alg', name: 'id_token_alg', 'data-testid': 'oidc-alg' },
      h('option', { value: 'RS256' }, 'RS256'), h('option', { value: 'ES256' }, 'ES256'));
    const scopeBoxes = OIDC_SCOPES.map((sc) => h('input', {
      id: `oidc-scope-${sc}`, type: 'checkbox', name: 'allowed_scopes', value: sc, checked: sc === 'openid', 'data-testid': `oidc-scope-${sc}`,
    }));
    const fields = { name, kind, redirect_uris: redirects, post_logout_redirect_uris: logoutRedirects, allowed_scopes: scopeBoxes[0]!, id_token_alg: alg };
    const submit = h('button', { type: 'submit', 'data-testid': 'oidc-submit' }, 'Alkalmazás regisztrálása');
    const secretBox = h('div', { 'data-testid': 'oidc-secret', role: 'status', 'aria-live': 'polite' });
    const form = h('form', { novalidate: true, 'data-testid': 'oidc-form', 'aria-labelledby': 'oidc-new-heading' },
      h('div', { class: 'field' }, h('label', { for: 'oidc-name' }, 'Név (a hozzájárulási képernyőn látszik)'), name),
      h('div', { class: 'field' },
        h('label', { for: 'oidc-kind' }, 'Típus'),
        h('p', { class: 'hint', id: 'oidc-kind-hint' }, 'Bizalmas: szerveroldali alkalmazás titokkal. Nyilvános: böngészős vagy mobil alkalmazás, titok nélkül, PKCE-vel.'),
        kind),
      h('div', { class: 'field' },
        h('label', { for: 'oidc-redirects' }, 'Visszatérési címek (redirect URI)'),
        h('p', { class: 'hint', id: 'oidc-redirects-hint' }, 'Pontos címek szóközzel elválasztva; https, vagy http csak 127.0.0.1, localhost, [::1] esetén.'),
        redirects),
      h('div', { class: 'field' }, h('label', { for: 'oidc-logout-redirects' }, 'Kilépés utáni visszatérési címek (nem kötelező)'), logoutRedirects),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Engedélyezett hatókörök'),
        scopeBoxes.map((box, i) => h('div', {}, box, ' ', h('label', { for: box.id }, scopeLabels[OIDC_SCOPES[i]!] ?? OIDC_SCOPES[i]!)))),
      h('div', { class: 'field' }, h('label', { for: 'oidc-alg' }, 'Azonosító token aláírása'), alg),
      submit,
    );

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      replaceChildren(status);
      replaceChildren(secretBox);
      const split = (v: string) => v.split(/\s+/).filter(Boolean);
      const wanted = {
        name: name.value.trim(),
        kind: kind.value === 'public' ? 'public' as const : 'confidential' as const,
        redirect_uris: split(redirects.value),
        post_logout_redirect_uris: split(logoutRedirects.value),
        allowed_scopes: scopeBoxes.filter((b) => b.checked).map((b) => b.value),
        id_token_alg: alg.value === 'ES256' ? 'ES256' as const : 'RS256' as const,
      };
      const missing = [];
      if (!wanted.name) missing.push({ field: 'name', message: 'Adja meg az alkalmazás nevét.' });
      if (!wanted.redirect_uris.length) missing.push({ field: 'redirect_uris', message: 'Adjon meg legalább egy visszatérési címet.' });
      if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), fields);
      void this.busy(submit, async () => {
        let created;
        try {
          created = await api.createRelyingParty(wanted);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          return errors.show(e, fields);
        }
        form.reset();
        scopeBoxes[0]!.checked = true;
        replaceChildren(status, `Regisztrálva: ${created.name}, ügyfél-azonosító: ${created.client_id}.`);
        if (created.client_secret) {
          replaceChildren(secretBox,
            h('p', {}, 'Az ügyfél titka (client_secret) – most másolja ki, később nem látható:'),
            h('p', {}, h('code', { 'data-testid': 'oidc-secret-value' }, created.client_secret)));
        }
        try {
          showList(await api.relyingParties(), created.client_id);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
          return errors.show(e);
        }
        status.focus();
      });
    });

    const rotate = h('button', { type: 'button', 'data-testid': 'oidc-rotate' }, 'Aláírókulcsok cseréje');
    rotate.addEventListener('click', () => void this.busy(rotate, async () => {
      try {
        const kids = await api.rotateKeys();
        replaceChildren(status, `Új aláírókulcsok: ${kids.join(', ')}. A régiek a tokenjeik lejártáig közzétéve maradnak.`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
        return errors.show(e);
      }
      status.focus();
    }));

    showList(first);
    this.render(title, [
      this.heading(title, 'oidc-heading'),
      h('p', { class: 'lead' }, 'Külső alkalmazások, amelyekbe az ügyfelek a portálfiókjukkal léphetnek be (OpenID Connect).'),
      errors.el,
      h('section', { 'aria-labelledby': 'oidc-list-heading' },
        h('h2', { id: 'oidc-list-heading' }, 'Regisztrált alkalmazások'),
        status,
        secretBox,
        results,
        rotate),
      h('section', { 'aria-labelledby': 'oidc-new-heading' },
        h('h2', { id: 'oidc-new-heading' }, 'Új alkalmazás'),
        form),
    ], undefined, true);
  }

  /** The worklist: filed cases by state, case type, assignee and deadline; a case opens below it. */
  private async cases(api: TenantApi): Promise<void> {
    const title = 'Ügyek';
    let first: CaseItem[];
    let handlers: CaseHandler[];
    try {
      [first, handlers] = await Promise.all([api.cases({}), api.caseHandlers()]);
    } catch (e) {
      return this.loadFailed(title, 'cases-heading', e);
    }
    const me = this.me?.staff.id ?? '';
    const errors = errorSummary();
    const status = this.statusLine('cases-status');
    const results = h('div', { 'data-testid': 'cases-results' });
    const detail = h('section', { 'aria-labelledby': 'case-heading', 'data-testid': 'case-detail' });

    const stateSelect = h('select', { id: 'case-state-filter', name: 'state', 'data-testid': 'case-state-filter' },
      h('option', { value: '' }, 'Mind'),
      CASE_STATES.map((st) => h('option', { value: st }, caseStateLabels[st])));
    const typeInput = h('input', { id: 'case-type-filter', name: 'case_type', type: 'text', 'data-testid': 'case-type-filter' });
    const mine = h('input', { id: 'case-mine', name: 'mine', type: 'checkbox', 'data-testid': 'case-mine' });
    const overdue = h('input', { id: 'case-overdue', name: 'overdue', type: 'checkbox', 'data-testid': 'case-overdue' });
    const showButton = h('button', { type: 'submit', 'data-testid': 'cases-filter-submit' }, 'Megjelenítés');
    const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'cases-filter', 'aria-label': 'Szűrés' },
      h('div', { class: 'field' }, h('label', { for: 'case-state-filter' }, 'Állapot'), stateSelect),
      h('div', { class: 'field' }, h('label', { for: 'case-type-filter' }, 'Ügytípus kódja'), typeInput),
      h('div', { class: 'field check' }, mine, h('label', { for: 'case-mine' }, 'Csak a nekem kiosztottak')),
      h('div', { class: 'field check' }, overdue, h('label', { for: 'case-overdue' }, 'Csak a határidőn túliak')),
      h('div', { class: 'actions' }, showButton));

    const handlerName = (id: string | null | undefined) => handlers.find((x) => x.id === id)?.display_name ?? '–';

    const showResults = (cases: CaseItem[]) => {
      if (!cases.length) {
        replaceChildren(results, h('p', { 'data-testid': 'cases-empty' }, 'Nincs a szűrésnek megfelelő ügy.'));
        return;
      }
      const rows = cases.map((c) => {
        const open = h('button', { type: 'button', class: 'small', 'data-testid': 'case-open', 'data-case-id': c.id },
          c.number ?? c.id);
        open.addEventListener('click', () => void this.caseDetail(api, c.id, detail, handlers, reload, errors));
        return h('tr', { 'data-testid': 'case-row', 'data-case-id': c.id, 'data-state': c.state },
          h('th', { scope: 'row' }, open),
          h('td', {}, c.case_type_name),
          h('td', {}, h('span', { class: `status case-${c.state}` }, caseStateLabel(c.state))),
          h('td', {}, handlerName(c.assignee_id)),
          h('td', {}, c.due_date ? dateEl(c.due_date) : '–', c.overdue ? h('strong', { class: 'overdue', 'data-testid': 'case-overdue-flag' }, ' határidőn túl') : null),
          h('td', { class: 'num' }, c.fee_gross ? `${c.fee_gross} Ft` : '–'));
      });
      const table = h('table', { 'data-testid': 'cases-table' },
        h('caption', { id: 'cases-caption' }, `Ügyek, a legkorábbi határidő elöl: ${number(cases.length)}.`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Ügyszám'),
          h('th', { scope: 'col' }, 'Ügytípus'),
          h('th', { scope: 'col' }, 'Állapot'),
          h('th', { scope: 'col' }, 'Ügyintéző'),
          h('th', { scope: 'col' }, 'Határidő'),
          h('th', { scope: 'col' }, 'Díj'))),
        h('tbody', {}, rows));
      replaceChildren(results, scrollTable('cases-caption', table));
    };

    const reload = async (): Promise<void> => {
      errors.clear();
      try {
        const cases = await api.cases({
          state: (stateSelect.value || undefined) as CaseState | undefined,
          case_type: typeInput.value.trim() || undefined,
          assignee: mine.checked ? me : undefined,
          overdue: overdue.checked || undefined,
        });
        showResults(cases);
        replaceChildren(status, `${number(cases.length)} ügy.`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
        errors.show(e);
      }
    };
    filterForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.busy(showButton, reload);
    });
    showResults(first);
    this.render(title, [this.heading(title, 'cases-heading'), errors.el, filterForm, status, results, detail], undefined, true);
  }

  /** One case: its data, rule trace and history, and the clerk's actions. */
  private async caseDetail(
    api: TenantApi, id: string, into: HTMLElement, handlers: CaseHandler[], reload: () => Promise<void>, errors: ErrorSummary,
  ): Promise<void> {
    errors.clear();
    let c: CaseView;
    try {
      c = await api.caseDetail(id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
      replaceChildren(into);
      return errors.show(e);
    }
    const status = this.statusLine('case-status');
    const act = (button: HTMLButtonElement, work: () => Promise<unknown>, done: string) => this.busy(button, async () => {
      errors.clear();
      try {
        await work();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
        return errors.show(e);
      }
      await reload();
      await this.caseDetail(api, id, into, handlers, reload, errors);
      const line = into.querySelector<HTMLElement>('[data-testid="case-status"]');
      if (line) {
        line.textContent = done;
        line.focus();
      }
    });

    const ev = (c.evaluation ?? {}) as { outcome?: string; decided_by?: string; reason?: string;
      prechecks?: { name: string; matched: boolean | null; error?: string }[]; rules?: { name: string; matched: boolean | null; error?: string }[] };
    const traceRows = [...(ev.prechecks ?? []).map((r) => ['Előfeltétel', r] as const), ...(ev.rules ?? []).map((r) => ['Döntési szabály', r] as const)]
      .map(([kind, r]) => h('tr', { 'data-testid': 'trace-row' },
        h('td', {}, kind), h('th', { scope: 'row' }, r.name),
        h('td', {}, r.matched === null ? `nem értékelhető: ${r.error ?? ''}` : r.matched ? 'teljesül' : 'nem teljesül')));
    const trace = h('table', { 'data-testid': 'rule-trace' },
      h('caption', {}, `Szabályok: ${ev.outcome ?? '–'} – ${ev.decided_by ?? 'nincs döntő szabály'}. ${ev.reason ?? ''}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Fajta'), h('th', { scope: 'col' }, 'Név'), h('th', { scope: 'col' }, 'Eredmény'))),
      h('tbody', {}, traceRows));
    const history = h('table', { 'data-testid': 'case-history' },
      h('caption', {}, 'Az ügy története'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Időpont'), h('th', { scope: 'col' }, 'Állapot'), h('th', { scope: 'col' }, 'Ki'), h('th', { scope: 'col' }, 'Miért'))),
      h('tbody', {}, c.history.map((e) => h('tr', {}, h('td', {}, timeEl(e.at)), h('td', {}, caseStateLabel(e.to_state)), h('td', {}, e.actor_label), h('td', {}, e.reason)))));
    const decision = (c.decision ?? null) as unknown as { outcome: string; text?: string; drafted_by?: string; signatory_id?: string; approved_by?: string; automatic: boolean } | null;
    const local = c.local_systems;
    const localRows = local.work.map((w) => h('tr', { 'data-testid': 'local-work', 'data-task': w.task, 'data-state': w.state },
      h('td', {}, localSystemLabel(w.system)), h('th', { scope: 'row' }, localTaskLabel(w.task)),
      h('td', {}, localStateLabel(w.state)),
      h('td', {}, w.reference ?? (w.attempts != null ? `${w.attempts}. próbálkozás${w.next_attempt_at ? ', következő: ' : ''}` : '–'),
        w.next_attempt_at && !w.reference ? timeEl(w.next_attempt_at) : ''),
      h('td', {}, w.last_error ?? (w.plugin ?? ''))));
    const localTable = h('table', { 'data-testid': 'local-systems' },
      h('caption', {}, 'Az ügy a helyi rendszerekben (iktatás, pénzügy, parkolás)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rendszer'), h('th', { scope: 'col' }, 'Feladat'), h('th', { scope: 'col' }, 'Állapot'),
        h('th', { scope: 'col' }, 'Eredmény / próbálkozások'), h('th', { scope: 'col' }, 'Bővítmény / utolsó hiba'))),
      h('tbody', {}, localRows.length ? localRows : h('tr', {}, h('td', { colspan: '5' }, 'Nincs helyi rendszerbeli feladat.'))));

    const actions: Node[] = [];
    const open = ['submitted', 'awaiting_payment', 'in_review', 'awaiting_information'].includes(c.state);
    const me = this.me?.staff.id ?? '';
    if (open) {
      const b = h('button', { type: 'button', 'data-testid': 'case-assign-me' }, 'Magamhoz veszem');
      b.addEventListener('click', () => void act(b, () => api.assignCase(id, me), 'Az ügyet magához vette.'));
      actions.push(h('p', {}, b));
    }
    if (c.state === 'in_review') {
      const request = h('textarea', { id: 'info-request', rows: 3, 'data-testid': 'info-request' });
      const due = h('input', { id: 'info-due', type: 'date', 'data-testid': 'info-due' });
      const send = h('button', { type: 'submit', 'data-testid': 'info-send' }, 'Hiánypótlási felhívás küldése');
      const form = h('form', { novalidate: true, 'aria-label': 'Hiánypótlás' },
        h('div', { class: 'field' }, h('label', { for: 'info-request' }, 'Mi hiányzik?'), request),
        h('div', { class: 'field' }, h('label', { for: 'info-due' }, 'Határidő'), due), send);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void act(send, () => api.requestInformation(id, request.value, due.value), 'A hiánypótlási felhívást elküldtük.');
      });
      const outcome = h('select', { id: 'decision-outcome', 'data-testid': 'decision-outcome' },
        h('option', { value: 'grant' }, 'Helyt adó döntés'), h('option', { value: 'refuse' }, 'Elutasító döntés'));
      const reason = h('textarea', { id: 'decision-reason', rows: 3, 'data-testid': 'decision-reason' });
      const draft = h('button', { type: 'submit', 'data-testid': 'decision-draft' }, 'Döntéstervezet készítése');
      const draftForm = h('form', { novalidate: true, 'aria-label': 'Döntéstervezet' },
        h('div', { class: 'field' }, h('label', { for: 'decision-outcome' }, 'Döntés'), outcome),
        h('div', { class: 'field' }, h('label', { for: 'decision-reason' }, 'Indokolás'), reason), draft);
      draftForm.addEventListener('submit', (e) => {
        e.preventDefault();
        void act(draft, () => api.draftDecision(id, outcome.value as 'grant' | 'refuse', reason.value), 'A döntéstervezet elkészült.');
      });
      actions.push(h('h3', {}, 'Hiánypótlás'), form, h('h3', {}, 'Döntéstervezet'), draftForm);
      if (decision?.drafted_by && !decision.signatory_id) {
        const who = h('select', { id: 'signatory', 'data-testid': 'signatory' },
          handlers.filter((x) => x.id !== decision.drafted_by).map((x) => h('option', { value: x.id }, `${x.display_name} (${x.email})`)));
        const sendTo = h('button', { type: 'submit', 'data-testid': 'signatory-send' }, 'Kiadmányozásra küldés');
        const f = h('form', { novalidate: true, 'aria-label': 'Kiadmányozásra küldés' },
          h('div', { class: 'field' }, h('label', { for: 'signatory' }, 'Kiadmányozó'), who), sendTo);
        f.addEventListener('submit', (e) => {
          e.preventDefault();
          void act(sendTo, () => api.sendToSignatory(id, who.value), 'A tervezetet kiadmányozásra küldtük.');
        });
        actions.push(f);
      }
      if (decision?.signatory_id) {
        const approve = h('button', { type: 'button', 'data-testid': 'decision-approve' }, 'Kiadmányozom (jóváhagyás)');
        approve.addEventListener('click', () => void act(approve, () => api.approveDecision(id), 'A döntést kiadmányozta.'));
        actions.push(h('p', {}, approve));
      }
    }
    if (c.state === 'in_review' || c.state === 'awaiting_information') {
      const why = h('input', { id: 'reject-reason', type: 'text', 'data-testid': 'reject-reason' });
      const reject = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'case-reject' }, 'Visszautasítás');
      const f = h('form', { novalidate: true, 'aria-label': 'Visszautasítás' },
        h('div', { class: 'field' }, h('label', { for: 'reject-reason' }, 'A visszautasítás oka'), why), reject);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        void act(reject, () => api.rejectCase(id, why.value), 'Az ügyet visszautasította.');
      });
      actions.push(h('h3', {}, 'Visszautasítás'), f);
    }

    replaceChildren(into,
      h('h2', { id: 'case-heading', tabindex: '-1', 'data-testid': 'case-heading' }, `${c.number ?? ''} – ${c.case_type_name}`),
      status,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Állapot'), h('dd', { 'data-testid': 'case-state' }, caseStateLabel(c.state)),
        h('dt', {}, 'Iktatószám'), h('dd', { 'data-testid': 'case-file-number' }, local.file_number ?? '–',
          local.arrival_number ? ` (érkeztetőszám: ${local.arrival_number})` : ''),
        local.permit_id ? [h('dt', {}, 'Várakozási hozzájárulás'), h('dd', { 'data-testid': 'case-permit-id' }, local.permit_id)] : null,
        h('dt', {}, 'Ügytípus-verzió'), h('dd', {}, String(c.case_type_version)),
        h('dt', {}, 'Határidő'), h('dd', {}, c.due_date ? dateEl(c.due_date) : '–', c.overdue ? ' (határidőn túl)' : ''),
        h('dt', {}, 'Díj'), h('dd', {}, c.fee_gross ? `${c.fee_gross} Ft` : '–', c.payment_reference ? ` (befizetve: ${c.payment_reference})` : ''),
        c.information_request ? [h('dt', {}, 'Hiánypótlási felhívás'), h('dd', {}, c.information_request)] : null,
        c.information_answer ? [h('dt', {}, 'Az ügyfél válasza'), h('dd', { 'data-testid': 'info-answer' }, c.information_answer)] : null),
      h('h3', {}, 'Kérelem'), h('pre', { 'data-testid': 'case-application' }, JSON.stringify(c.application, null, 2)),
      h('h3', {}, 'Szabályok (döntési nyomvonal)'), trace,
      h('h3', {}, 'Tények, amelyeket a szabályok olvastak'), h('pre', {}, JSON.stringify(c.inputs, null, 2)),
      decision ? [h('h3', {}, decision.automatic ? 'Automatikus döntés' : 'Döntés / tervezet'),
        h('pre', { 'data-testid': 'decision-text' }, decision.text ?? '')] : null,
      issuedDecision(c),
      h('h3', {}, 'Helyi rendszerek'), localTable,
      actions,
      h('h3', {}, 'Történet'), history);
    (into.querySelector<HTMLElement>('#case-heading'))?.focus();
  }

  /** The tenant's plugins: the list with status and latest error, configuration, failed calls, install and removal. */
  private async plugins(api: TenantApi): Promise<void> {
    const title = 'Bővítmények';
    let first: Plugin[];
    try {
      first = await api.plugins();
    } catch (e) {
      return this.loadFailed(title, 'plugins-heading', e);
    }
    const errors = errorSummary();
    const status = this.statusLine('plugins-status');
    const results = h('div', { 'data-testid': 'plugins-results' });
    const detail = h('section', { 'data-testid': 'plugin-detail', 'aria-live': 'polite' });
    const failed = (e: unknown, fields?: Record<string, HTMLInputElement | HTMLSelectElement>) => {
      if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
      return errors.show(e, fields);
    };
    const refresh = async (fresh?: string) => showList(await api.plugins(), fresh);

    const configForm = (p: Plugin) => {
      const fields: Record<string, HTMLInputElement | HTMLSelectElement> = {};
      const rows = p.settings.map((st) => {
        const id = `plugin-setting-${st.name}`;
        const hintId = `${id}-hint`;
        let control: HTMLInputElement | HTMLSelectElement;
        if (st.kind === 'boolean') {
          control = h('select', { id, name: st.name, 'data-testid': id, 'aria-describedby': hintId },
            h('option', { value: '' }, '–'), h('option', { value: 'true' }, 'igen'), h('option', { value: 'false' }, 'nem'));
          control.value = st.value ?? '';
        } else {
          control = h('input', {
            id, name: st.name, 'data-testid': id, 'aria-describedby': hintId, autocomplete: 'off', spellcheck: 'false',
            type: st.kind === 'secret' ? 'password' : st.kind === 'url' ? 'url' : 'text',
            inputmode: st.kind === 'integer' ? 'numeric' : null,
            required: st.required && !(st.kind === 'secret' && st.set),
          });
          control.value = st.value ?? '';
        }
        fields[`values.${st.name}`] = control;
        const hint = [st.description, st.kind === 'secret' && st.set ? 'Titok: el van tárolva; üresen hagyva megmarad.' : null]
          .filter(Boolean).join(' ');
        return h('div', { class: 'field' },
          h('label', { for: id }, `${st.name}${st.required ? ' (kötelező)' : ''}`),
          h('p', { class: 'hint', id: hintId }, hint || '\u00a0'),
          control);
      });
      const submit = h('button', { type: 'submit', 'data-testid': 'plugin-config-submit' }, 'Beállítások mentése');
      const form = h('form', { novalidate: true, 'data-testid': 'plugin-config-form', 'aria-labelledby': 'plugin-config-heading' }, rows, submit);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        errors.clear();
        replaceChildren(status);
        const values: Record<string, string> = {};
        for (const st of p.settings) {
          const v = fields[`values.${st.name}`]!.value.trim();
          // A secret left empty keeps the stored one: it is not sent.
          if (st.kind === 'secret' && v === '') continue;
          if (v !== '') values[st.name] = v;
        }
        void this.busy(submit, async () => {
          let saved: Plugin;
          try {
            saved = await api.configurePlugin(p.name, values);
          } catch (e) {
            return failed(e, fields);
          }
          replaceChildren(detail);
          try {
            await refresh(saved.name);
          } catch (e) {
            return failed(e);
          }
          // Announced once the list shows it configured (the browser test reads both).
          replaceChildren(status, `Beállítva: ${saved.name}.`);
          status.focus();
        });
      });
      replaceChildren(detail, h('h2', { id: 'plugin-config-heading', tabindex: '-1' }, `${p.name} beállításai`), form);
      detail.querySelector<HTMLElement>('h2')?.focus();
    };

    const errorList = (p: Plugin, list: PluginCallError[]) => {
      const body = list.length
        ? scrollTable('plugin-errors-caption', h('table', { 'data-testid': 'plugin-errors-table' },
          h('caption', { id: 'plugin-errors-caption' }, `${p.name}: ${number(list.length)} sikertelen hívás (legújabb elöl).`),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Időpont'), h('th', { scope: 'col' }, 'Függvény'), h('th', { scope: 'col' }, 'Kód'), h('th', { scope: 'col' }, 'Üzenet'))),
          h('tbody', {}, list.map((e) => h('tr', { 'data-testid': 'plugin-error-row' },
            h('td', {}, new Date(e.at).toLocaleString('hu-HU')), h('td', {}, h('code', {}, e.function)), h('td', {}, h('code', {}, e.code)),
            h('td', { lang: 'en' }, e.message))))))
        : h('p', { 'data-testid': 'plugin-errors-empty' }, 'Nincs sikertelen hívás.');
      replaceChildren(detail, h('h2', { id: 'plugin-errors-heading', tabindex: '-1' }, `${p.name}: sikertelen hívások`), body);
      detail.querySelector<HTMLElement>('h2')?.focus();
    };

    const actions = (p: Plugin) => {
      const configure = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-configure', 'aria-label': `Beállítás: ${p.name}` }, 'Beállítás');
      configure.addEventListener('click', () => {
        errors.clear();
        configForm(p);
      });
      const errs = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-errors', 'aria-label': `Hibák: ${p.name}` }, 'Hibák');
      errs.addEventListener('click', () => void this.busy(errs, async () => {
        try {
          errorList(p, await api.pluginErrors(p.name));
        } catch (e) {
          return failed(e);
        }
      }));
      const remove = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-remove', 'aria-label': `Eltávolítás: ${p.name}` }, 'Eltávolítás');
      remove.addEventListener('click', () => void this.busy(remove, async () => {
        if (!confirm(`Biztosan eltávolítja: ${p.name}? A beállításai és tárolt adatai is törlődnek.`)) return;
        try {
          await api.removePlugin(p.name);
          replaceChildren(detail);
          await refresh();
        } catch (e) {
          return failed(e);
        }
        replaceChildren(status, `Eltávolítva: ${p.name}.`);
        status.focus();
      }));
      return h('div', { class: 'actions' }, configure, ' ', errs, ' ', remove);
    };

    const showList = (list: Plugin[], fresh?: string) => {
      if (!list.length) {
        replaceChildren(results, h('p', { 'data-testid': 'plugins-empty' }, 'Még nincs telepített bővítmény.'));
        return;
      }
      const rows = list.map((p) => h('tr', { 'data-testid': 'plugin-row', 'data-name': p.name, class: p.name === fresh ? 'fresh' : null },
        h('th', { scope: 'row' }, p.name, h('br'), h('span', { class: 'hint', lang: 'en' }, p.description)),
        h('td', {}, worldLabels[p.world] ?? p.world),
        h('td', {}, `${p.version} (SDK ${p.sdk})`),
        h('td', { 'data-testid': 'plugin-status' }, p.status === 'configured' ? 'Beállítva' : 'Beállításra vár'),
        h('td', { 'data-testid': 'plugin-last-error' }, p.last_error
          ? [h('code', {}, p.last_error.code), ' ', h('span', { lang: 'en' }, p.last_error.message)]
          : '–'),
        h('td', {}, actions(p)),
      ));
      const table = h('table', { 'data-testid': 'plugins-table' },
        h('caption', { id: 'plugins-caption' }, `Telepített bővítmények: ${number(list.length)}.`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Név'),
          h('th', { scope: 'col' }, 'Terület'),
          h('th', { scope: 'col' }, 'Verzió'),
          h('th', { scope: 'col' }, 'Állapot'),
          h('th', { scope: 'col' }, 'Utolsó hiba'),
          h('th', { scope: 'col' }, 'Művelet'))),
        h('tbody', {}, rows));
      replaceChildren(results, scrollTable('plugins-caption', table));
    };

    const manifest = h('input', { id: 'plugin-manifest', name: 'manifest', type: 'file', accept: '.toml', required: true, 'data-testid': 'plugin-manifest' });
    const component = h('input', { id: 'plugin-component', name: 'component', type: 'file', accept: '.wasm', required: true, 'data-testid': 'plugin-component' });
    const sha256 = h('input', {
      id: 'plugin-sha256', name: 'sha256', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'plugin-sha256-hint', 'data-testid': 'plugin-sha256',
    });
    const installFields = { manifest, component, sha256 };
    const submit = h('button', { type: 'submit', 'data-testid': 'plugin-install' }, 'Telepítés');
    const form = h('form', { novalidate: true, 'data-testid': 'plugin-install-form', 'aria-labelledby': 'plugin-new-heading' },
      h('div', { class: 'field' }, h('label', { for: 'plugin-manifest' }, 'Leíró (plugin.toml)'), manifest),
      h('div', { class: 'field' }, h('label', { for: 'plugin-component' }, 'Komponens (.wasm)'), component),
      h('div', { class: 'field' },
        h('label', { for: 'plugin-sha256' }, 'SHA-256 ellenőrzőösszeg (nem kötelező)'),
        h('p', { class: 'hint', id: 'plugin-sha256-hint' }, 'A gyártó által közölt érték; ha eltér, a telepítés elmarad.'),
        sha256),
      submit);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      replaceChildren(status);
      const m = manifest.files?.[0];
      const c = component.files?.[0];
      const missing = [];
      if (!m) missing.push({ field: 'manifest', message: 'Válassza ki a bővítmény leíróját (plugin.toml).' });
      if (!c) missing.push({ field: 'component', message: 'Válassza ki a bővítmény komponensét (.wasm).' });
      if (!m || !c) return errors.show(localError('Hiányzó adatok.', missing), installFields);
      void this.busy(submit, async () => {
        let installed: Plugin;
        try {
          installed = await api.installPlugin({ manifest: await m.text(), component: await fileBase64(c), sha256: sha256.value.trim() || null });
        } catch (e) {
          return failed(e, installFields);
        }
        form.reset();
        replaceChildren(status, `Telepítve: ${installed.name} ${installed.version}.${installed.status === 'configured' ? '' : ' Használat előtt állítsa be.'}`);
        try {
          await refresh(installed.name);
        } catch (e) {
          return failed(e);
        }
        if (installed.status !== 'configured') configForm(installed);
        else status.focus();
      });
    });

    showList(first);
    this.render(title, [
      this.heading(title, 'plugins-heading'),
      h('p', { class: 'lead' }, 'Csatlakozók a helyi rendszerekhez (parkolás, iktatás, pénzügy, ügyfélhívó) és a központi nyilvántartásokhoz.'),
      errors.el,
      h('section', { 'aria-labelledby': 'plugins-list-heading' },
        h('h2', { id: 'plugins-list-heading' }, 'Telepített bővítmények'),
        status,
        results),
      detail,
      h('section', { 'aria-labelledby': 'plugin-new-heading' },
        h('h2', { id: 'plugin-new-heading' }, 'Bővítmény telepítése'),
        form),
    ], undefined, true);
  }

  private async jobs(api: TenantApi): Promise<void> {
    const title = 'Háttérfeladatok';
    let state: JobState | undefined;
    let first: Job[];
    try {
      first = await api.jobs();
    } catch (e) {
      return this.loadFailed(title, 'jobs-heading', e);
    }

    const errors = errorSummary();
    const status = this.statusLine('jobs-status');
    const results = h('div', { 'data-testid': 'jobs-results' });

    const stateSelect = h('select', { id: 'job-state', name: 'state', 'data-testid': 'job-state' },
      h('option', { value: '' }, 'Mind'),
      JOB_STATES.map((st) => h('option', { value: st }, jobStateLabels[st])));
    const showButton = h('button', { type: 'submit', 'data-testid': 'jobs-filter-submit' }, 'Megjelenítés');
    const filterForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'jobs-filter', 'aria-labelledby': 'jobs-filter-heading' },
      h('div', { class: 'field' }, h('label', { for: 'job-state' }, 'Állapot'), stateSelect),
      h('div', { class: 'actions' }, showButton),
    );

    const retry = (job: Job, button: HTMLButtonElement) => this.busy(button, async () => {
      errors.clear();
      try {
        await api.retryJob(job.id);
        replaceChildren(status, `A(z) ${job.id}. feladat (${job.kind}) visszakerült a várakozók közé.`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
        if (e instanceof ApiError && e.kind === 'not-found') {
          errors.show(localError(`A(z) ${job.id}. feladat már nem sikertelen állapotú; a lista frissült.`));
        } else {
          errors.show(e);
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
        if (e instanceof ApiError && e.status === 401) {
          this.handleAuthLoss(e);
          return false;
        }
        errors.show(e);
        return false;
      }
    };

    filterForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const value = stateSelect.value;
      const st = (JOB_STATES as readonly string[]).includes(value) ? (value as JobState) : undefined;
      void this.busy(showButton, async () => {
        if (await load(st)) {
          const count = results.querySelectorAll('[data-testid="job-row"]').length;
          replaceChildren(status, `${number(count)} feladat látható.`);
        }
      });
    });

    showResults(first);
    this.render(title, [
      this.heading(title, 'jobs-heading'),
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
    ], undefined, true);
  }

  /**
   * The clients page (clerks and admins): the purpose of the access, a search by ID document
   * number or by name and birth date, a new natural person, and the in-person identification
   * of the selected client against the central registry. Every call sends the purpose as
   * `X-Access-Reason`; the server records it in the audit log.
   */
  private async clients(api: TenantApi): Promise<void> {
    const title = 'Ügyfelek';
    const errors = errorSummary();

    // The purpose, shared by every call on the page.
    const purpose = h('input', {
      id: 'client-reason', name: 'reason', type: 'text', autocomplete: 'off', required: true,
      maxlength: String(REASON_MAX), 'aria-describedby': 'client-reason-hint', 'data-testid': 'client-reason',
      value: this.clientReason,
    });
    purpose.addEventListener('input', () => {
      this.clientReason = purpose.value;
    });
    /** The purpose, or a local field error for it (added to `problems`). */
    const reasonFor = (problems: { field: string; message: string }[]): string => {
      const value = purpose.value.trim();
      const problem = reasonProblem(value);
      if (problem) problems.push({ field: 'X-Access-Reason', message: problem });
      return value;
    };
    /** Shows a failed call: signs out on 401, words the client endpoints' field errors. */
    const failed = (e: unknown, fields: Record<string, FieldControl>, wording: (e: ApiError) => ShownFieldError[] = clientFieldErrors) => {
      if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
      const all = { 'X-Access-Reason': purpose, ...fields };
      if (e instanceof ApiError && e.kind === 'validation') {
        return errors.show(new ApiError(e.status, { ...e.problem, errors: wording(e) }, e.lang), all);
      }
      return errors.show(e, all);
    };

    // ---- results and the selected client ----
    const listStatus = this.statusLine('clients-status');
    const results = h('div', { 'data-testid': 'client-results' },
      h('p', { 'data-testid': 'clients-none-yet' }, 'Keressen ügyfelet, vagy vegyen fel újat.'));
    const selectedBox = h('div', { 'data-testid': 'client-selected' });
    let shown: ClientRecord[] = [];
    let shownCaption = '';
    let selectedId: string | null = null;

    const showResults = (clients: ClientRecord[], caption: string) => {
      shown = clients;
      shownCaption = caption;
      if (!clients.length) {
        replaceChildren(results, h('p', { 'data-testid': 'clients-empty' }, 'Nincs találat.'));
        return;
      }
      const rows = clients.map((c) => {
        const select = h('button', { type: 'button', class: 'small', 'data-testid': 'client-select' },
          'Kiválasztás', h('span', { class: 'visually-hidden' }, ` (${fullName(c)}, ${c.email ?? c.identity.birth_date})`));
        select.addEventListener('click', () => showSelected(c, true));
        return h('tr', {
          'data-testid': 'client-row', 'data-client-id': c.id, 'data-email': c.email ?? '',
          class: c.id === selectedId ? 'fresh' : null,
        },
          h('th', { scope: 'row' }, fullName(c)),
          h('td', {}, dateEl(c.identity.birth_date)),
          h('td', {}, c.identity.mother_birth_name),
          h('td', {}, c.email ?? '–'),
          h('td', { 'data-testid': 'client-document' }, c.id_document ?? '–'),
          h('td', {}, select),
        );
      });
      const table = h('table', { 'data-testid': 'clients-table' },
        h('caption', { id: 'clients-caption' }, caption),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Név'),
          h('th', { scope: 'col' }, 'Születési idő'),
          h('th', { scope: 'col' }, 'Anyja születési neve'),
          h('th', { scope: 'col' }, 'E-mail-cím'),
          h('th', { scope: 'col' }, 'Okmányszám'),
          h('th', { scope: 'col' }, 'Teendő'))),
        h('tbody', {}, rows));
      replaceChildren(results, scrollTable('clients-caption', table));
    };

    const showSelected = (c: ClientRecord, focus: boolean) => {
      errors.clear();
      selectedId = c.id;
      showResults(shown, shownCaption);
      const documentValue = h('dd', { 'data-testid': 'selected-document' }, c.id_document ?? '–');
      const item = (label: string, value: Node | string | null | undefined) =>
        [h('dt', {}, label), h('dd', {}, value ?? '–')];
      const heading = h('h2', { id: 'client-selected-heading', tabindex: '-1', 'data-testid': 'selected-heading' },
        `Kiválasztott ügyfél: ${fullName(c)}`);

      // In-person identification.
      const kind = h('select', { id: 'identify-kind', name: 'document_kind', 'data-testid': 'identify-kind' },
        DOCUMENT_KINDS.map((k) => h('option', { value: k }, documentKindLabels[k])));
      const number = h('input', {
        id: 'identify-number', name: 'document_number', type: 'text', autocomplete: 'off', required: true,
        spellcheck: 'false', autocapitalize: 'characters', 'aria-describedby': 'identify-number-hint',
        'data-testid': 'identify-number',
      });
      const account = h('input', {
        id: 'identify-account', name: 'account_email', type: 'email', autocomplete: 'off', spellcheck: 'false',
        autocapitalize: 'none', 'aria-describedby': 'identify-account-hint', 'data-testid': 'identify-account',
      });
      const fields = { document_kind: kind, document_number: number, account_email: account };
      const status = h('div', {
        class: 'status-line', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', tabindex: '-1',
        'data-testid': 'identify-status',
      });
      const submit = h('button', { type: 'submit', 'data-testid': 'identify-submit' }, 'Azonosítás');
      const form = h('form', { novalidate: true, 'data-testid': 'identify-form', 'aria-labelledby': 'identify-heading' },
        h('div', { class: 'field' }, h('label', { for: 'identify-kind' }, 'Okmány fajtája'), kind),
        h('div', { class: 'field' },
          h('label', { for: 'identify-number' }, 'Okmány száma'),
          h('p', { class: 'hint', id: 'identify-number-hint' },
            'Ahogy az okmányon áll, például 123456AB (személyi igazolvány), BE1234567 (útlevél), PA123456 (vezetői engedély).'),
          number),
        h('div', { class: 'field' },
          h('label', { for: 'identify-account' }, 'Portálfiók e-mail-címe (nem kötelező)'),
          h('p', { class: 'hint', id: 'identify-account-hint' },
            'Ha az ügyfélnek van portálfiókja, sikeres azonosítás után a fiók szintje „személyesen azonosított” lesz.'),
          account),
        submit,
      );
      const showOutcome = (r: Identification, doc: string) => {
        status.className = 'status-line';
        switch (r.outcome) {
          case 'identified': {
            status.classList.add('ok');
            replaceChildren(status, h('p', {}, r.account_linked
              ? 'Azonosítva; a portálfiók szintje: személyesen azonosított. Az okmány száma rögzítve.'
              : 'Azonosítva: az adatok egyeznek a nyilvántartással, az okmány száma rögzítve.'));
            c.id_document = doc;
            replaceChildren(documentValue, doc);
            showResults(shown.map((x) => (x.id === c.id ? { ...x, id_document: doc } : x)), shownCaption);
            break;
          }
          case 'mismatch':
            status.classList.add('bad');
            replaceChildren(status,
              h('p', {}, 'Eltérés a nyilvántartástól. Az eltérő adatok:'),
              h('ul', { 'data-testid': 'identify-fields' }, r.fields.map((f) =>
                h('li', {}, mismatchFieldLabels[f] ?? h('code', {}, f)))),
              h('p', {}, 'Semmi sem változott: az ügyfél adatai és azonosítási szintje a korábbiak. ',
                'Ellenőrizze az adatokat és az okmányt.'));
            break;
          case 'not_found':
            status.classList.add('bad');
            replaceChildren(status, h('p', {}, 'A nyilvántartásban nincs ilyen okmány; semmi sem változott.'));
            break;
          default:
            replaceChildren(status, h('p', {}, 'Ismeretlen válasz a nyilvántartástól: ', h('code', {}, r.outcome),
              '. Semmi sem változott.'));
        }
      };
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        errors.clear();
        status.className = 'status-line';
        replaceChildren(status);
        const problems: { field: string; message: string }[] = [];
        const reason = reasonFor(problems);
        const documentKind = (DOCUMENT_KINDS as readonly string[]).includes(kind.value) ? (kind.value as DocumentKind) : 'identity_card';
        const documentNumber = number.value.trim();
        const accountEmail = account.value.trim();
        if (!documentNumber) problems.push({ field: 'document_number', message: 'Adja meg az okmány számát.' });
        if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...fields });
        void this.busy(submit, async () => {
          let r: Identification;
          try {
            r = await api.identifyClient(c.id, {
              document_kind: documentKind,
              document_number: documentNumber,
              account_email: accountEmail || null,
            }, reason);
          } catch (e) {
            if (e instanceof ApiError && e.kind === 'unavailable') {
              return errors.show(new ApiError(e.status, { ...e.problem, detail: REGISTRY_DOWN }, 'hu'));
            }
            if (e instanceof ApiError && e.kind === 'not-found') {
              return errors.show(new ApiError(e.status, { ...e.problem, detail: 'Ez az ügyfél már nincs meg; keresse újra.' }, 'hu'));
            }
            return failed(e, fields);
          }
          showOutcome(r, normaliseDocument(documentNumber));
          status.focus();
        });
      });

      // A queue ticket for the client (reception): the clerk at the counter it is called to sees the card.
      const ticketService = h('input', {
        id: 'ticket-service', name: 'service', type: 'text', autocomplete: 'off', required: true, maxlength: '16',
        spellcheck: 'false', autocapitalize: 'characters', 'aria-describedby': 'ticket-service-hint', 'data-testid': 'ticket-service', value: 'A',
      });
      const ticketSubmit = h('button', { type: 'submit', 'data-testid': 'ticket-submit' }, 'Sorszám kérése');
      const ticketStatus = this.statusLine('ticket-status');
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
        void this.busy(ticketSubmit, async () => {
          try {
            const t = await api.issueTicket(service, c.id);
            ticketStatus.textContent = `Sorszám: ${t.display_number}. Amikor behívják, az ablaknál ülő ügyintéző látja az ügyfél adatait.`;
            ticketStatus.focus();
          } catch (e) {
            if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
            if (e instanceof ApiError && e.kind === 'not-configured') {
              return errors.show(new ApiError(e.status, { ...e.problem, detail: 'Nincs ügyfélhívó rendszer bekötve: egy adminisztrátor telepítheti a bővítményét a Bővítmények oldalon.' }, 'hu'));
            }
            return errors.show(e, { service: ticketService });
          }
        });
      });

      replaceChildren(selectedBox, h('section', { 'aria-labelledby': 'client-selected-heading', class: 'selected-client' },
        heading,
        h('dl', { class: 'details', 'data-testid': 'selected-details' },
          item('Név', fullName(c)),
          item('Születési név', c.identity.birth_name || 'azonos a névvel'),
          item('Anyja születési neve', c.identity.mother_birth_name),
          item('Születési hely', c.identity.birth_place),
          item('Születési idő', dateEl(c.identity.birth_date)),
          item('E-mail-cím', c.email),
          item('Állandó lakcím', addressText(c, 'permanent')),
          item('Lakossági kártya száma', c.resident_card),
          [h('dt', {}, 'Okmányszám'), documentValue]),
        h('h3', { id: 'identify-heading' }, 'Személyes azonosítás'),
        h('p', { class: 'hint' },
          'Az ügyfél által bemutatott okmányt és az ügyfél adatait a központi nyilvántartás ellenőrzi. ',
          'Egyezés esetén az okmány száma rögzül; eltérés esetén semmi sem változik.'),
        form,
        status,
        h('h3', { id: 'ticket-heading' }, 'Sorszám az ügyfélhívóból'),
        ticketForm,
        ticketStatus));
      if (focus) heading.focus();
    };

    // ---- search ----
    const docInput = h('input', {
      id: 'search-document', name: 'id_document', type: 'text', autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'characters', 'data-testid': 'search-document',
    });
    const docSubmit = h('button', { type: 'submit', 'data-testid': 'search-document-submit' }, 'Keresés okmányszámra');
    const docForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'search-document-form', 'aria-labelledby': 'search-document-heading' },
      h('h3', { id: 'search-document-heading' }, 'Okmányszám szerint'),
      h('div', { class: 'field' }, h('label', { for: 'search-document' }, 'Okmány száma'), docInput),
      h('div', { class: 'actions' }, docSubmit));

    const searchFamily = h('input', { id: 'search-family', name: 'family_name', type: 'text', autocomplete: 'off', 'data-testid': 'search-family' });
    const searchGiven = h('input', { id: 'search-given', name: 'given_name', type: 'text', autocomplete: 'off', 'data-testid': 'search-given' });
    const searchBirth = h('input', { id: 'search-birth', name: 'birth_date', type: 'date', autocomplete: 'off', 'data-testid': 'search-birth' });
    const nameSubmit = h('button', { type: 'submit', 'data-testid': 'search-name-submit' }, 'Keresés névre');
    const nameForm = h('form', { novalidate: true, class: 'filter', 'data-testid': 'search-name-form', 'aria-labelledby': 'search-name-heading' },
      h('h3', { id: 'search-name-heading' }, 'Név és születési idő szerint'),
      h('div', { class: 'field' }, h('label', { for: 'search-family' }, 'Családi név'), searchFamily),
      h('div', { class: 'field' }, h('label', { for: 'search-given' }, 'Utónév'), searchGiven),
      h('div', { class: 'field' }, h('label', { for: 'search-birth' }, 'Születési idő'), searchBirth),
      h('div', { class: 'actions' }, nameSubmit));

    const search = (button: HTMLButtonElement, query: ClientQuery, reason: string, fields: Record<string, FieldControl>) =>
      this.busy(button, async () => {
        let found: ClientRecord[];
        try {
          found = await api.searchClients(query, reason);
        } catch (e) {
          return failed(e, fields);
        }
        showResults(found, `Találatok: ${number(found.length)} ügyfél${found.length === 100 ? ' (legfeljebb 100 látszik)' : ''}.`);
        replaceChildren(listStatus, found.length ? `${number(found.length)} találat.` : 'Nincs találat.');
      });

    docForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const problems: { field: string; message: string }[] = [];
      const reason = reasonFor(problems);
      const doc = docInput.value.trim();
      if (!doc) problems.push({ field: 'id_document', message: 'Adja meg az okmány számát.' });
      const fields = { id_document: docInput };
      if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...fields });
      void search(docSubmit, { id_document: doc }, reason, fields);
    });
    nameForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      const problems: { field: string; message: string }[] = [];
      const reason = reasonFor(problems);
      const q = { family_name: searchFamily.value.trim(), given_name: searchGiven.value.trim(), birth_date: searchBirth.value };
      if (!q.family_name) problems.push({ field: 'family_name', message: 'Adja meg a családi nevet.' });
      if (!q.given_name) problems.push({ field: 'given_name', message: 'Adja meg az utónevet.' });
      if (!DATE.test(q.birth_date)) problems.push({ field: 'birth_date', message: 'Adja meg a születési időt (év, hónap, nap).' });
      const fields = { family_name: searchFamily, given_name: searchGiven, birth_date: searchBirth };
      if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...fields });
      void search(nameSubmit, q, reason, fields);
    });

    // ---- a new natural person ----
    const input = (id: string, name: string, attrs: Record<string, string | boolean> = {}) =>
      h('input', { id, name, type: 'text', autocomplete: 'off', 'data-testid': id, ...attrs });
    const family = input('new-family', 'family_name', { required: true });
    const given = input('new-given', 'given_name', { required: true });
    const birthName = input('new-birth-name', 'birth_name', { 'aria-describedby': 'new-birth-name-hint' });
    const mother = input('new-mother', 'mother_birth_name', { required: true, 'aria-describedby': 'new-mother-hint' });
    const birthPlace = input('new-birth-place', 'birth_place', { required: true, 'aria-describedby': 'new-birth-place-hint' });
    const birthDate = input('new-birth-date', 'birth_date', { type: 'date', required: true });
    const email = input('new-email', 'email', { type: 'email', spellcheck: 'false', autocapitalize: 'none' });
    const postcode = input('new-postcode', 'postcode', { inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', class: 'short' });
    const city = input('new-city', 'city');
    const street = input('new-street', 'street', { 'aria-describedby': 'new-street-hint' });
    const residentCard = input('new-resident-card', 'resident_card', { 'aria-describedby': 'new-resident-card-hint' });
    const newFields: Record<string, FieldControl> = {
      'identity.family_name': family,
      'identity.given_name': given,
      'identity.birth_name': birthName,
      'identity.mother_birth_name': mother,
      'identity.birth_place': birthPlace,
      'identity.birth_date': birthDate,
      email,
      'address.postcode': postcode,
      'address.city': city,
      'address.street': street,
      resident_card: residentCard,
    };
    const field = (control: HTMLInputElement, label: string, hint?: string) => h('div', { class: 'field' },
      h('label', { for: control.id }, label),
      hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null,
      control);
    const createSubmit = h('button', { type: 'submit', 'data-testid': 'new-client-submit' }, 'Ügyfél felvétele');
    const newForm = h('form', { novalidate: true, 'data-testid': 'new-client-form', 'aria-labelledby': 'new-client-heading' },
      field(family, 'Családi név'),
      field(given, 'Utónév'),
      field(birthName, 'Születési név (nem kötelező)', 'Csak ha eltér a jelenlegi névtől; teljes név, a családi névvel kezdve.'),
      field(mother, 'Anyja születési neve', 'Teljes név, például Kovács Ilona.'),
      field(birthPlace, 'Születési hely', 'Település; külföldön születetteknél az ország.'),
      field(birthDate, 'Születési idő'),
      field(email, 'E-mail-cím (nem kötelező)'),
      h('fieldset', {},
        h('legend', {}, 'Állandó lakcím (nem kötelező)'),
        field(postcode, 'Irányítószám'),
        field(city, 'Település'),
        field(street, 'Közterület és házszám', 'Például Böszörményi út 23-25. 2. em. 4.')),
      field(residentCard, 'Lakossági kártya száma (nem kötelező)', 'Egy kártyaszám csak egy ügyfélhez tartozhat.'),
      createSubmit);

    newForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      listStatus.classList.remove('ok');
      replaceChildren(listStatus);
      const problems: { field: string; message: string }[] = [];
      const reason = reasonFor(problems);
      const v = (i: HTMLInputElement) => i.value.trim();
      const need = (i: HTMLInputElement, key: string, message: string) => {
        if (!v(i)) problems.push({ field: key, message });
      };
      need(family, 'identity.family_name', 'Adja meg a családi nevet.');
      need(given, 'identity.given_name', 'Adja meg az utónevet.');
      need(mother, 'identity.mother_birth_name', 'Adja meg az anyja születési nevét.');
      need(birthPlace, 'identity.birth_place', 'Adja meg a születési helyet.');
      if (!DATE.test(birthDate.value)) problems.push({ field: 'identity.birth_date', message: 'Adja meg a születési időt (év, hónap, nap).' });
      const hasAddress = [postcode, city, street].some((i) => v(i));
      if (hasAddress) {
        if (!/^[1-9][0-9]{3}$/.test(v(postcode))) {
          problems.push({ field: 'address.postcode', message: 'Az irányítószám négy számjegy, 1000 és 9999 között.' });
        }
        need(city, 'address.city', 'Adja meg a települést, vagy hagyja üresen a lakcím minden mezőjét.');
        need(street, 'address.street', 'Adja meg a közterületet és a házszámot, vagy hagyja üresen a lakcím minden mezőjét.');
      }
      if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...newFields });
      const body: NewClient = {
        identity: {
          family_name: v(family),
          given_name: v(given),
          birth_name: v(birthName) || null,
          mother_birth_name: v(mother),
          birth_place: v(birthPlace),
          birth_date: birthDate.value,
        },
        email: v(email) || null,
        addresses: hasAddress ? [{ kind: 'permanent', postcode: v(postcode), city: v(city), street: v(street) }] : [],
        resident_card: v(residentCard) || null,
      };
      void this.busy(createSubmit, async () => {
        let created: ClientRecord;
        try {
          created = await api.createClient(body, reason);
        } catch (e) {
          // The server names the address as a whole: show it on the part that is wrong.
          const addressPart = e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'addresses' && /postcode/i.test(fe.message))
            ? postcode : v(city) ? street : city;
          return failed(e, { ...newFields, addresses: addressPart });
        }
        newForm.reset();
        listStatus.classList.add('ok');
        replaceChildren(listStatus, `Új ügyfél felvéve: ${fullName(created)}, született ${calendarDate.format(new Date(`${created.identity.birth_date}T00:00:00Z`))}.`);
        showResults([created], 'Az újonnan felvett ügyfél.');
        listStatus.focus();
      });
    });

    // ---- a new organisation ----
    const orgName = input('org-name', 'name', { required: true, 'aria-describedby': 'org-name-hint' });
    const orgTax = input('org-tax', 'tax_number', {
      required: true, spellcheck: 'false', 'aria-describedby': 'org-tax-hint', class: 'medium',
    });
    const orgRegistration = input('org-registration', 'registration_number', {
      spellcheck: 'false', 'aria-describedby': 'org-registration-hint', class: 'medium',
    });
    const orgPostcode = input('org-postcode', 'postcode', { inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', class: 'short' });
    const orgCity = input('org-city', 'city');
    const orgStreet = input('org-street', 'street', { 'aria-describedby': 'org-street-hint' });
    const orgFields: Record<string, FieldControl> = {
      name: orgName,
      tax_number: orgTax,
      registration_number: orgRegistration,
      'seat.postcode': orgPostcode,
      'seat.city': orgCity,
      'seat.street': orgStreet,
    };
    const orgSubmit = h('button', { type: 'submit', 'data-testid': 'org-submit' }, 'Szervezet felvétele');
    const orgForm = h('form', { novalidate: true, 'data-testid': 'org-form', 'aria-labelledby': 'new-organisation-heading' },
      field(orgName, 'Szervezet neve', 'A bejegyzett név, például Minta Kereskedelmi Kft.'),
      field(orgTax, 'Adószám', 'xxxxxxxx-y-zz alakban, például 12345676-2-41; a 8. számjegy ellenőrző számjegy.'),
      field(orgRegistration, 'Cégjegyzékszám (nem kötelező)', 'Például 01-09-123456; más nyilvántartásban szereplő szervezetnél annak száma.'),
      h('fieldset', {},
        h('legend', {}, 'Székhely (nem kötelező)'),
        field(orgPostcode, 'Irányítószám'),
        field(orgCity, 'Település'),
        field(orgStreet, 'Közterület és házszám', 'Például Fő utca 1.')),
      orgSubmit);
    const orgStatus = this.statusLine('org-status');
    const orgSelected = h('div', { 'data-testid': 'org-selected' });

    // ---- a mandate for the selected organisation ----
    const mandateBox = h('div', { 'data-testid': 'mandate-box' });
    const mandateStatus = this.statusLine('mandate-status');

    const showOrganisation = () => {
      const sel = this.organisation;
      if (!sel) {
        replaceChildren(orgSelected);
        return;
      }
      const o = sel.org;
      replaceChildren(orgSelected, h('div', { class: 'selected-client' },
        h('h3', { id: 'org-selected-heading' }, `Kiválasztott szervezet: ${o.name}`),
        h('dl', { class: 'details', 'data-testid': 'org-details' },
          h('dt', {}, 'Név'), h('dd', { 'data-testid': 'org-detail-name' }, o.name),
          h('dt', {}, 'Adószám'), h('dd', { 'data-testid': 'org-detail-tax' }, o.tax_number),
          h('dt', {}, 'Cégjegyzékszám'), h('dd', {}, o.registration_number || '–'),
          h('dt', {}, 'Székhely'), h('dd', {}, o.seat ? `${o.seat.postcode} ${o.seat.city}, ${o.seat.street}` : '–'),
          h('dt', {}, 'Ügyfélazonosító'), h('dd', {}, h('code', { 'data-testid': 'org-detail-id' }, o.id)))));
    };

    const showMandates = () => {
      const sel = this.organisation;
      if (!sel) {
        replaceChildren(mandateBox, h('p', { 'data-testid': 'mandate-none' },
          'Előbb vegyen fel egy szervezetet az „Új szervezet” űrlappal: a meghatalmazást a kiválasztott szervezet adja.'));
        return;
      }
      const principal = h('input', {
        id: 'mandate-principal', name: 'principal', type: 'text', readonly: true, 'data-testid': 'mandate-principal',
        'aria-describedby': 'mandate-principal-hint', value: `${sel.org.name} (adószám: ${sel.org.tax_number})`,
      });
      const representative = input('mandate-representative', 'representative_account_id', {
        required: true, spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'mandate-representative-hint',
      });
      const scope = input('mandate-scope', 'scope', { required: true, spellcheck: 'false', 'aria-describedby': 'mandate-scope-hint', value: '*' });
      const from = input('mandate-from', 'valid_from', { type: 'date', required: true, value: todayIso() });
      const until = input('mandate-until', 'valid_until', { type: 'date', 'aria-describedby': 'mandate-until-hint' });
      const fields: Record<string, FieldControl> = {
        principal_client_id: principal,
        representative_account_id: representative,
        scope,
        valid_from: from,
        valid_until: until,
      };
      const submit = h('button', { type: 'submit', 'data-testid': 'mandate-submit' }, 'Meghatalmazás rögzítése');
      const form = h('form', { novalidate: true, 'data-testid': 'mandate-form', 'aria-labelledby': 'mandate-heading' },
        field(principal, 'Meghatalmazó szervezet', 'A kiválasztott szervezet; másikhoz vegye fel azt az „Új szervezet” űrlappal.'),
        field(representative, 'Képviselő portálfiókjának azonosítója', ACCOUNT_ID_HINT),
        field(scope, 'Ügytípusok', 'Ügytípuskódok vesszővel elválasztva, vagy * minden ügytípusra.'),
        field(from, 'Érvényesség első napja'),
        field(until, 'Érvényesség utolsó napja (nem kötelező)', 'Üresen hagyva visszavonásig érvényes.'),
        submit);

      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        errors.clear();
        mandateStatus.classList.remove('ok');
        replaceChildren(mandateStatus);
        const problems: { field: string; message: string }[] = [];
        const reason = reasonFor(problems);
        const accountId = representative.value.trim();
        const codes = scope.value.split(',').map((c) => c.trim()).filter(Boolean);
        if (!UUID.test(accountId)) {
          problems.push({
            field: 'representative_account_id',
            message: accountId
              ? 'Az azonosító 36 karakter: 8-4-4-4-12 hexadecimális jegy kötőjelekkel elválasztva.'
              : 'Adja meg a képviselő portálfiókjának azonosítóját.',
          });
        }
        if (!codes.length) problems.push({ field: 'scope', message: 'Adjon meg legalább egy ügytípuskódot, vagy * jelet minden ügytípusra.' });
        if (!DATE.test(from.value)) problems.push({ field: 'valid_from', message: 'Adja meg az érvényesség első napját (év, hónap, nap).' });
        if (until.value && !DATE.test(until.value)) {
          problems.push({ field: 'valid_until', message: 'Adja meg az utolsó napot (év, hónap, nap), vagy hagyja üresen.' });
        } else if (until.value && DATE.test(from.value) && until.value < from.value) {
          problems.push({ field: 'valid_until', message: 'A meghatalmazás utolsó napja nem lehet korábbi az első napjánál.' });
        }
        if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...fields });
        const body: NewMandate = {
          principal_client_id: sel.org.id,
          representative_account_id: accountId.toLowerCase(),
          scope: codes,
          valid_from: from.value,
          valid_until: until.value || null,
        };
        void this.busy(submit, async () => {
          let id: string;
          try {
            id = (await api.grantMandate(body, reason)).id;
          } catch (e) {
            return failed(e, fields, organisationFieldErrors);
          }
          sel.mandates.push({
            id,
            representativeAccountId: body.representative_account_id,
            scope: codes,
            validFrom: body.valid_from,
            validUntil: body.valid_until ?? null,
            revoked: false,
          });
          showMandates();
          mandateStatus.classList.add('ok');
          replaceChildren(mandateStatus, 'Meghatalmazás rögzítve, azonosítója: ', h('code', { 'data-testid': 'mandate-created-id' }, id), '.');
          mandateStatus.focus();
        });
      });

      const items = sel.mandates.map((m) => {
        const revoke = m.revoked ? null : h('button', { type: 'button', class: 'small secondary', 'data-testid': 'mandate-revoke' },
          'Visszavonás', h('span', { class: 'visually-hidden' }, ` (meghatalmazás ${m.id})`));
        if (revoke) revoke.addEventListener('click', () => {
          errors.clear();
          mandateStatus.classList.remove('ok');
          replaceChildren(mandateStatus);
          const problems: { field: string; message: string }[] = [];
          const reason = reasonFor(problems);
          if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose });
          void this.busy(revoke, async () => {
            try {
              await api.revokeMandate(m.id, reason);
            } catch (e) {
              if (e instanceof ApiError && e.kind === 'not-found') {
                return errors.show(new ApiError(e.status, {
                  ...e.problem, detail: 'Ez a meghatalmazás már nincs érvényben (visszavonták, vagy nem létezik); semmi sem változott.',
                }, 'hu'));
              }
              return failed(e, {}, organisationFieldErrors);
            }
            m.revoked = true;
            showMandates();
            mandateStatus.classList.add('ok');
            replaceChildren(mandateStatus, 'A meghatalmazás visszavonva: ', h('code', {}, m.id), '.');
            mandateStatus.focus();
          });
        });
        return h('li', { 'data-testid': 'mandate-item', 'data-mandate-id': m.id },
          h('code', {}, m.id), ': ',
          `ügytípusok: ${m.scope.join(', ')}; `,
          dateEl(m.validFrom), ' – ', m.validUntil ? dateEl(m.validUntil) : 'visszavonásig',
          m.revoked ? h('strong', { 'data-testid': 'mandate-revoked' }, ' (visszavonva)') : null,
          revoke ? ' ' : null, revoke);
      });

      replaceChildren(mandateBox,
        form,
        sel.mandates.length
          ? h('div', {},
            h('h3', { id: 'mandate-list-heading' }, 'Az itt rögzített meghatalmazások'),
            h('ul', { 'data-testid': 'mandate-list', 'aria-labelledby': 'mandate-list-heading' }, items))
          : null);
    };

    orgForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      orgStatus.classList.remove('ok');
      replaceChildren(orgStatus);
      const problems: { field: string; message: string }[] = [];
      const reason = reasonFor(problems);
      const v = (i: HTMLInputElement) => i.value.trim();
      if (!v(orgName)) problems.push({ field: 'name', message: 'Adja meg a szervezet nevét.' });
      const tax = v(orgTax).replace(/\s+/g, '');
      if (!tax) problems.push({ field: 'tax_number', message: 'Adja meg az adószámot.' });
      else if (!TAX_NUMBER_SHAPE.test(tax)) problems.push({ field: 'tax_number', message: 'Az adószám 11 számjegy, xxxxxxxx-y-zz alakban.' });
      const hasSeat = [orgPostcode, orgCity, orgStreet].some((i) => v(i));
      if (hasSeat) {
        if (!/^[1-9][0-9]{3}$/.test(v(orgPostcode))) {
          problems.push({ field: 'seat.postcode', message: 'Az irányítószám négy számjegy, 1000 és 9999 között.' });
        }
        if (!v(orgCity)) problems.push({ field: 'seat.city', message: 'Adja meg a települést, vagy hagyja üresen a székhely minden mezőjét.' });
        if (!v(orgStreet)) {
          problems.push({ field: 'seat.street', message: 'Adja meg a közterületet és a házszámot, vagy hagyja üresen a székhely minden mezőjét.' });
        }
      }
      if (problems.length) return errors.show(localError('Hiányzó vagy hibás adatok.', problems), { 'X-Access-Reason': purpose, ...orgFields });
      const body: NewOrganisation = {
        name: v(orgName),
        tax_number: tax,
        registration_number: v(orgRegistration) || null,
        seat: hasSeat ? { kind: 'seat', postcode: v(orgPostcode), city: v(orgCity), street: v(orgStreet) } : null,
      };
      void this.busy(orgSubmit, async () => {
        let created: Organisation;
        try {
          created = await api.createOrganisation(body, reason);
        } catch (e) {
          // The server names the seat as a whole (`addresses`): show it on the part that is wrong.
          const seatPart = e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'addresses' && /postcode/i.test(fe.message))
            ? orgPostcode : v(orgCity) ? orgStreet : orgCity;
          return failed(e, { ...orgFields, addresses: seatPart }, organisationFieldErrors);
        }
        orgForm.reset();
        this.organisation = { org: created, mandates: [] };
        showOrganisation();
        showMandates();
        replaceChildren(mandateStatus);
        orgStatus.classList.add('ok');
        replaceChildren(orgStatus, `Új szervezet felvéve: ${created.name} (adószám: ${created.tax_number}). A meghatalmazás ennek a szervezetnek a nevében rögzíthető.`);
        orgStatus.focus();
      });
    });
    showOrganisation();
    showMandates();

    this.render(title, [
      this.heading(title, 'clients-heading'),
      h('p', { class: 'lead' },
        'Természetes személy ügyfelek keresése, felvétele és személyes azonosítása; szervezetek felvétele és meghatalmazásaik rögzítése. ',
        'Minden hozzáférés a megadott céllal együtt az audit naplóba kerül.'),
      errors.el,
      h('div', { class: 'field purpose' },
        h('label', { for: 'client-reason' }, 'Ügyintézés célja'),
        h('p', { class: 'hint', id: 'client-reason-hint' },
          `Kötelező; az audit naplóba kerül. Legfeljebb ${REASON_MAX} karakter, például: személyes azonosítás, lakcímkártya ügyintézés.`),
        purpose),
      h('section', { 'aria-labelledby': 'clients-search-heading' },
        h('h2', { id: 'clients-search-heading' }, 'Keresés'),
        h('div', { class: 'columns' }, docForm, nameForm)),
      h('section', { 'aria-labelledby': 'clients-results-heading' },
        h('h2', { id: 'clients-results-heading' }, 'Találatok'),
        listStatus,
        results),
      selectedBox,
      h('section', { 'aria-labelledby': 'new-client-heading' },
        h('h2', { id: 'new-client-heading' }, 'Új ügyfél (természetes személy)'),
        newForm),
      h('section', { 'aria-labelledby': 'new-organisation-heading' },
        h('h2', { id: 'new-organisation-heading' }, 'Új szervezet'),
        h('p', { class: 'hint' }, 'Gazdasági társaság vagy más szervezet felvétele ügyfélként. Az adószám ellenőrző számjegyét a kiszolgáló ellenőrzi.'),
        orgForm,
        orgStatus,
        orgSelected),
      h('section', { 'aria-labelledby': 'mandate-heading' },
        h('h2', { id: 'mandate-heading' }, 'Meghatalmazás rögzítése'),
        h('p', { class: 'hint' }, 'A szervezet által aláírt meghatalmazás alapján: a képviselő a portálon a szervezet nevében intézhet ügyeket.'),
        mandateBox,
        mandateStatus),
    ], undefined, true);
  }

  /**
   * The clerk's counter: which counter they sit at, the queue system's feed, "call next",
   * and the card of the client called to this counter. Polls `GET /queue/counter` every
   * COUNTER_POLL_MS while the page is open; a tenant without a queue plugin gets a notice
   * and no polling. The card is fetched (an audited read) once per new call with a client.
   */
  private async counter(api: TenantApi): Promise<void> {
    const title = 'Ügyfélhívó';
    let first: CounterPage;
    try {
      first = await api.counter();
    } catch (e) {
      return this.loadFailed(title, 'counter-heading', e);
    }
    const heading = this.heading(title, 'counter-heading');
    if (!first.plugin) {
      this.render(title, [heading,
        h('p', { 'data-testid': 'counter-no-plugin' },
          'Ennél az önkormányzatnál nincs ügyfélhívó rendszer bekötve (nincs telepített ügyfélhívó-bővítmény), ',
          'ezért ez az oldal nem mutat hívásokat. Az ügyfélhívó bővítményét (pl. Q-Fusion) egy adminisztrátor ',
          'telepítheti és állíthatja be a Bővítmények oldalon.')]);
      return;
    }
    const errors = errorSummary();
    const failed = (e: unknown, fields?: Record<string, FieldControl>) => {
      if (e instanceof ApiError && e.status === 401) return this.handleAuthLoss(e);
      return errors.show(e, fields);
    };
    const status = this.statusLine('counter-status');
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
      void this.busy(save, async () => {
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
      void this.busy(callNext, async () => {
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

    this.render(title, [heading,
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
      if (this.route !== 'counter' || !this.me || !document.body.contains(cardBox)) {
        window.clearInterval(timer);
        return;
      }
      api.counter().then((p) => update(p)).catch((e) => {
        if (e instanceof ApiError && e.status === 401) {
          window.clearInterval(timer);
          return this.handleAuthLoss(e);
        }
        // A failed poll is retried on the next tick; the feed line keeps its last state.
      });
    }, COUNTER_POLL_MS);
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
    this.me = null;
    this.clientReason = '';
    this.organisation = null;
    this.route = 'overview';
    this.showNav();
    this.showContext(null);
    if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
    this.signIn('Kijelentkezett.');
  }
}
