// Typed access to the Kapu API. All types come from schema.d.ts and platform-schema.d.ts,
// which are generated from the server's two API documents, openapi.json (a municipality's)
// and openapi-platform.json (the operators') (`npm run gen:api`), so a change in the
// server's contract shows up here as a type error.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components as PlatformComponents, paths as PlatformPaths } from './platform-schema';
import type { components, paths } from './schema';

type Schemas = components['schemas'];
type PlatformSchemas = PlatformComponents['schemas'];
export type Staff = Schemas['StaffView'];
export type Role = Schemas['RoleView'];
export type LoginResponse = Schemas['LoginResponse'];
export type Me = Schemas['Me'];
/** Something the signed-in staff member may do (`/me` → `permissions`). */
export type Permission = Schemas['PermissionView'];
export type MfaState = Schemas['MfaView'];
export type Scope = Schemas['ScopeView'];
export type Overview = Schemas['Overview'];
export type TenantList = PlatformSchemas['TenantList'];
export type TenantSummary = PlatformSchemas['TenantView'];
export type TotpEnrolment = Schemas['TotpEnrolmentView'];
export type Problem = Schemas['Problem'];
export type FieldError = Schemas['FieldError'];
export type AuditRecord = Schemas['AuditRecordView'];
export type AuditVerification = Schemas['AuditVerification'];
export type Job = Schemas['JobView'];
export type ClientRecord = Schemas['ClientView'];
export type NewClient = Schemas['NewClientRequest'];
export type Address = Schemas['AddressView'];
export type DocumentKind = Schemas['DocumentKindView'];
export type IdentifyRequest = Schemas['IdentifyRequest'];
export type Identification = Schemas['IdentificationView'];
export type Organisation = Schemas['OrganisationView'];
export type NewOrganisation = Schemas['NewOrganisationRequest'];
export type NewMandate = Schemas['NewMandateRequest'];
export type Created = Schemas['Created'];
export type RelyingParty = Schemas['RelyingPartyView'];
export type NewRelyingParty = Schemas['NewRelyingPartyRequest'];
export type RegisteredRelyingParty = Schemas['RegisteredRelyingParty'];
export type CaseItem = Schemas['CaseItem'];
export type CaseView = Schemas['CaseView'];
export type CaseHandler = Schemas['CaseHandler'];

/** The states of a filed case (`GET /cases?state=`). */
export const CASE_STATES = [
  'submitted', 'awaiting_payment', 'in_review', 'awaiting_information', 'decided', 'delivered', 'rejected', 'withdrawn',
] as const;
export type CaseState = (typeof CASE_STATES)[number];

/** Worklist filters. */
export interface CaseFilter {
  state?: CaseState;
  case_type?: string;
  assignee?: string;
  overdue?: boolean;
}
export type Plugin = Schemas['PluginView'];
export type PluginSetting = Schemas['SettingView'];
export type PluginCallError = Schemas['CallErrorView'];
export type InstallPlugin = Schemas['InstallRequest'];
export type CounterPage = Schemas['CounterPage'];
export type QueueCall = Schemas['CallView'];
export type QueueTicket = Schemas['TicketView'];
export type CalledCard = Schemas['CardView'];
/** The scopes a relying party may be allowed, in the order the form offers them. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'kapu_identity'] as const;
/** The document kinds the registry knows, in the order the form offers them. */
export const DOCUMENT_KINDS = ['identity_card', 'passport', 'driving_licence'] as const satisfies readonly DocumentKind[];
/** A new tenant staff account; tenants make clerks and admins only (operators live on the platform). */
export type NewStaff = Omit<Schemas['NewStaffRequest'], 'role'> & { role: TenantRole };
/** The roles a tenant admin can give. */
export const TENANT_ROLES = ['clerk', 'admin'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/** Where the app is mounted: `/t/{slug}/admin/` gives a tenant prefix, anything else none. */
export interface Mount {
  /** `/t/{slug}` or the empty string */
  prefix: string;
  /** the tenant slug when mounted under `/t/{slug}/` */
  tenantSlug: string | null;
}

export function mountOf(pathname: string): Mount {
  const m = /^\/t\/([^/]+)\//.exec(pathname);
  if (m && m[1]) return { prefix: `/t/${m[1]}`, tenantSlug: decodeURIComponent(m[1]) };
  return { prefix: '', tenantSlug: null };
}

/** `/t/{slug}/api/v1` under a tenant prefix, otherwise `/api/v1`. */
export function apiBaseOf(pathname: string): string {
  return `${mountOf(pathname).prefix}/api/v1`;
}

/** An API call that failed; `problem` is the server's RFC 9457 body (or a local stand-in). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /**
     * The language of `problem.detail`: the response's `Content-Language`, else `en`
     * (the server writes its details in English); `hu` for the app's own errors.
     */
    readonly lang: string = 'en',
    /** Field errors the app worded itself (a local check, a page's own wording). */
    readonly shown?: { field: string; message: string; lang?: string }[],
  ) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
  }

  /** e.g. `invalid-credentials` for `urn:kapu:problem:invalid-credentials` */
  get kind(): string {
    return this.problem.type.replace(/^urn:kapu:problem:/, '');
  }
}

function isProblem(v: unknown): v is Problem {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string'
    && typeof (v as { title?: unknown }).title === 'string';
}

function toApiError(response: Response, body: unknown): ApiError {
  const status = response.status;
  if (isProblem(body)) {
    const lang = response.headers.get('content-language')?.split(',')[0]?.trim() || 'en';
    return new ApiError(status, { ...body, status: body.status ?? status }, lang);
  }
  return new ApiError(status, {
    type: 'about:blank',
    code: 'http-error',
    args: {},
    title: `HTTP ${status}`,
    status,
    detail: `Váratlan válasz a kiszolgálótól (HTTP ${status}).`,
  }, 'hu');
}

const networkError = () =>
  new ApiError(0, {
    type: 'urn:kapu:problem:network',
    code: 'http-error',
    args: {},
    title: 'Network error',
    status: 0,
    detail: 'A kiszolgáló nem érhető el. Ellenőrizze a hálózati kapcsolatot, majd próbálja újra.',
  }, 'hu');

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Turns an openapi-fetch result into its data or a thrown ApiError. */
async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let r: FetchResult<T>;
  try {
    r = await call;
  } catch {
    throw networkError();
  }
  if (r.response.ok) return r.data as T;
  throw toApiError(r.response, r.error);
}

/** Holds the CSRF token from the latest login/me response. */
export class Session {
  csrfToken: string | null = null;
}

/** A client of a municipality's API (`paths`) or, with `PlatformPaths`, of the operators'. */
export function makeClient<P extends {} = paths>(pathname: string, session: Session) {
  const { prefix } = mountOf(pathname);
  const client = createClient<P>({
    baseUrl: `${location.origin}${prefix}`,
    credentials: 'same-origin',
    headers: { Accept: 'application/json, application/problem+json' },
  });
  const csrf: Middleware = {
    onRequest({ request }) {
      const safe = request.method === 'GET' || request.method === 'HEAD';
      const isLogin = new URL(request.url).pathname.endsWith('/auth/login');
      if (!safe && !isLogin && session.csrfToken) {
        request.headers.set('X-CSRF-Token', session.csrfToken);
      }
      return request;
    },
  };
  client.use(csrf);
  return client;
}

type Client = ReturnType<typeof makeClient<paths>>;
type PlatformClient = ReturnType<typeof makeClient<PlatformPaths>>;

/** The auth endpoints; the tenant and platform variants differ only in their paths. */
export interface AuthApi {
  readonly scope: Scope;
  login(email: string, password: string): Promise<LoginResponse>;
  totp(code: string): Promise<LoginResponse>;
  enrol(): Promise<TotpEnrolment>;
  enrolConfirm(code: string): Promise<LoginResponse>;
  logout(): Promise<void>;
  me(): Promise<Me>;
}

/** Filters and paging of the audit log. */
export interface AuditQuery {
  /** only records about this client (UUID) */
  client?: string;
  /** only records with a smaller sequence number (the smallest one shown so far) */
  before?: number;
  limit?: number;
}

/** The job states the server knows (`GET /jobs?state=`). */
export const JOB_STATES = ['pending', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Client search: by ID document number, or by family name + given name + birth date
 * (`YYYY-MM-DD`); the server refuses a partial name query.
 */
export type ClientQuery =
  | { id_document: string }
  | { family_name: string; given_name: string; birth_date: string };

export interface TenantApi extends AuthApi {
  readonly scope: 'tenant';
  overview(): Promise<Overview>;
  /** Newest first. Admins only (clerks get 403 `forbidden`). */
  audit(q: AuditQuery): Promise<AuditRecord[]>;
  verifyAudit(): Promise<AuditVerification>;
  /** Newest first; all states when `state` is undefined. Admins only. */
  jobs(state?: JobState): Promise<Job[]>;
  /** Puts a dead job back in the queue (404 `not-found` if it is not dead). */
  retryJob(id: number): Promise<void>;
  /** The tenant's staff accounts, by e-mail. Admins only. */
  staff(): Promise<Staff[]>;
  /** Creates a staff account (422 `validation` per field, 409 `conflict` for a taken e-mail). Admins only. */
  createStaff(s: NewStaff): Promise<Staff>;
  /**
   * Client calls (clerks and admins). `reason` is the purpose of the access, sent as
   * `X-Access-Reason` (percent-encoded, see `reasonHeader`) and recorded in the audit log.
   */
  searchClients(q: ClientQuery, reason: string): Promise<ClientRecord[]>;
  /** Registers a natural person (422 `validation` per field). */
  createClient(c: NewClient, reason: string): Promise<ClientRecord>;
  /** In-person identification against the central registry (503 `unavailable` if it cannot be reached). */
  identifyClient(id: string, r: IdentifyRequest, reason: string): Promise<Identification>;
  /** Registers an organisation (422 `validation` per field; a tax number already registered is a `tax_number` error). */
  createOrganisation(o: NewOrganisation, reason: string): Promise<Organisation>;
  /** Records a mandate: a representative's portal account acting for a principal (422 `validation` per field). */
  grantMandate(m: NewMandate, reason: string): Promise<Created>;
  /** Ends a mandate (404 `not-found` if there is no active mandate with this id). */
  revokeMandate(id: string, reason: string): Promise<void>;
  /** The OpenID Provider's relying parties, oldest first. Admins only. */
  relyingParties(): Promise<RelyingParty[]>;
  /** Registers a relying party; a confidential one's secret is in the answer, once (422 `validation` per field). */
  createRelyingParty(p: NewRelyingParty): Promise<RegisteredRelyingParty>;
  /** Removes a relying party with its consents and tokens. */
  deleteRelyingParty(clientId: string): Promise<void>;
  /** Rotates the ID-token signing keys; returns the new key ids. */
  rotateKeys(): Promise<string[]>;
  /** The worklist, oldest deadline first (clerks and admins). */
  cases(f: CaseFilter): Promise<CaseItem[]>;
  /** A case with its history and rule trace; the read is audited. */
  caseDetail(id: string): Promise<CaseView>;
  /** Staff who may be assigned cases or sign decisions. */
  caseHandlers(): Promise<CaseHandler[]>;
  assignCase(id: string, assigneeId: string | null): Promise<void>;
  /** Asks the client for missing information by `due` (YYYY-MM-DD); the deadline pauses. */
  requestInformation(id: string, request: string, due: string): Promise<void>;
  /** Drafts the decision from the case type's template; returns its text. */
  draftDecision(id: string, outcome: 'grant' | 'refuse', reason: string): Promise<string>;
  /** Sends the draft to a signatory other than its drafter (409 `conflict` otherwise). */
  sendToSignatory(id: string, signatoryId: string): Promise<void>;
  /** The signatory approves: the case is decided (409 `conflict` for the drafter). */
  approveDecision(id: string): Promise<void>;
  rejectCase(id: string, reason: string): Promise<void>;
  /** The tenant's plugins with manifest, status and latest error, by name. Admins only. */
  plugins(): Promise<Plugin[]>;
  /** Installs or upgrades a plugin (422 `validation` on `manifest`, `component` or `sha256`). */
  installPlugin(p: InstallPlugin): Promise<Plugin>;
  /** Configures a plugin (422 `validation` per setting, as `values.<setting>`); a secret left out is kept. */
  configurePlugin(name: string, values: Record<string, string>): Promise<Plugin>;
  /** Removes a plugin with its configuration. */
  removePlugin(name: string): Promise<void>;
  /** The recorded failed calls of a plugin, newest first. */
  pluginErrors(name: string): Promise<PluginCallError[]>;
  /** The clerk's counter page: the queue plugin (none: nothing to poll), the counter, the feed, the latest calls. */
  counter(): Promise<CounterPage>;
  /** Sets the counter the clerk sits at (422 `validation` on `counter`, 409 `not-configured` without a queue plugin). */
  setCounter(counter: string): Promise<CounterPage>;
  /** The clerk's "call next" (409 `not-configured` without a counter, 502 `local-system-failed`); null when nobody waits. */
  callNext(): Promise<QueueCall | null>;
  /** Issues a queue ticket, for a client or none (502 `local-system-failed` when the queue system fails). */
  issueTicket(service: string, clientId: string | null): Promise<QueueTicket>;
  /** The called client's card, for the clerk at the counter it was called to; the read is audited. */
  calledCard(callId: number): Promise<CalledCard>;
}

/**
 * The purpose as a header value. fetch only takes header values as Latin-1 byte strings (it
 * refuses ő and ű), so the purpose travels percent-encoded, as the server expects.
 */
export function reasonHeader(reason: string): string {
  return encodeURIComponent(reason);
}

export interface PlatformApi extends AuthApi {
  readonly scope: 'platform';
  tenants(): Promise<TenantList>;
  /** This year and the next two, each with its working-day decree or null. */
  calendar(): Promise<PlatformSchemas['CalendarOutlook']>;
}

export function tenantApi(c: Client): TenantApi {
  return {
    scope: 'tenant',
    login: (email, password) => unwrap(c.POST('/api/v1/auth/login', { body: { email, password } })),
    totp: (code) => unwrap(c.POST('/api/v1/auth/totp', { body: { code } })),
    enrol: () => unwrap(c.POST('/api/v1/auth/totp/enrol')),
    enrolConfirm: (code) => unwrap(c.POST('/api/v1/auth/totp/enrol/confirm', { body: { code } })),
    logout: async () => {
      await unwrap(c.POST('/api/v1/auth/logout', { parseAs: 'text' }));
    },
    me: () => unwrap(c.GET('/api/v1/me')),
    overview: () => unwrap(c.GET('/api/v1/overview')),
    audit: async ({ client, before, limit }) =>
      (await unwrap(c.GET('/api/v1/audit', { params: { query: { client, before, limit } } }))).records,
    verifyAudit: () => unwrap(c.GET('/api/v1/audit/verify')),
    jobs: async (state) => (await unwrap(c.GET('/api/v1/jobs', { params: { query: { state } } }))).jobs,
    retryJob: async (id) => {
      await unwrap(c.POST('/api/v1/jobs/{id}/retry', { params: { path: { id } }, parseAs: 'text' }));
    },
    staff: async () => (await unwrap(c.GET('/api/v1/staff'))).staff,
    createStaff: (body) => unwrap(c.POST('/api/v1/staff', { body })),
    searchClients: async (query, reason) =>
      (await unwrap(c.GET('/api/v1/clients', { params: { query, header: { 'X-Access-Reason': reasonHeader(reason) } } }))).clients,
    createClient: (body, reason) =>
      unwrap(c.POST('/api/v1/clients', { body, params: { header: { 'X-Access-Reason': reasonHeader(reason) } } })),
    identifyClient: (id, body, reason) =>
      unwrap(c.POST('/api/v1/clients/{id}/identify', { body, params: { path: { id }, header: { 'X-Access-Reason': reasonHeader(reason) } } })),
    createOrganisation: (body, reason) =>
      unwrap(c.POST('/api/v1/organisations', { body, params: { header: { 'X-Access-Reason': reasonHeader(reason) } } })),
    grantMandate: (body, reason) =>
      unwrap(c.POST('/api/v1/mandates', { body, params: { header: { 'X-Access-Reason': reasonHeader(reason) } } })),
    revokeMandate: async (id, reason) => {
      await unwrap(c.POST('/api/v1/mandates/{id}/revoke', {
        params: { path: { id }, header: { 'X-Access-Reason': reasonHeader(reason) } },
        parseAs: 'text',
      }));
    },
    relyingParties: async () => (await unwrap(c.GET('/api/v1/oidc/clients'))).relying_parties,
    createRelyingParty: (body) => unwrap(c.POST('/api/v1/oidc/clients', { body })),
    deleteRelyingParty: async (client_id) => {
      await unwrap(c.DELETE('/api/v1/oidc/clients/{client_id}', { params: { path: { client_id } }, parseAs: 'text' }));
    },
    rotateKeys: async () => (await unwrap(c.POST('/api/v1/oidc/keys/rotate'))).active_kids,
    cases: async (query) => (await unwrap(c.GET('/api/v1/cases', { params: { query } }))).cases,
    caseDetail: (id) => unwrap(c.GET('/api/v1/cases/{id}', { params: { path: { id } } })),
    caseHandlers: async () => (await unwrap(c.GET('/api/v1/case-handlers'))).handlers,
    assignCase: async (id, assigneeId) => {
      await unwrap(c.POST('/api/v1/cases/{id}/assign', { params: { path: { id } }, body: { assignee_id: assigneeId }, parseAs: 'text' }));
    },
    requestInformation: async (id, request, due) => {
      await unwrap(c.POST('/api/v1/cases/{id}/request-information', { params: { path: { id } }, body: { request, due }, parseAs: 'text' }));
    },
    draftDecision: async (id, outcome, reason) =>
      (await unwrap(c.POST('/api/v1/cases/{id}/draft-decision', { params: { path: { id } }, body: { outcome, reason } }))).text,
    sendToSignatory: async (id, signatoryId) => {
      await unwrap(c.POST('/api/v1/cases/{id}/send-to-signatory', { params: { path: { id } }, body: { signatory_id: signatoryId }, parseAs: 'text' }));
    },
    approveDecision: async (id) => {
      await unwrap(c.POST('/api/v1/cases/{id}/approve', { params: { path: { id } }, parseAs: 'text' }));
    },
    rejectCase: async (id, reason) => {
      await unwrap(c.POST('/api/v1/cases/{id}/reject', { params: { path: { id } }, body: { reason }, parseAs: 'text' }));
    },
    plugins: async () => (await unwrap(c.GET('/api/v1/plugins'))).plugins,
    installPlugin: (body) => unwrap(c.POST('/api/v1/plugins', { body })),
    configurePlugin: (name, values) => unwrap(c.PUT('/api/v1/plugins/{name}/config', { params: { path: { name } }, body: { values } })),
    removePlugin: async (name) => {
      await unwrap(c.DELETE('/api/v1/plugins/{name}', { params: { path: { name } }, parseAs: 'text' }));
    },
    pluginErrors: async (name) => (await unwrap(c.GET('/api/v1/plugins/{name}/errors', { params: { path: { name } } }))).errors,
    counter: () => unwrap(c.GET('/api/v1/queue/counter')),
    setCounter: (counter) => unwrap(c.PUT('/api/v1/queue/counter', { body: { counter } })),
    callNext: async () => (await unwrap(c.POST('/api/v1/queue/counter/call-next'))).call ?? null,
    issueTicket: (service, clientId) => unwrap(c.POST('/api/v1/queue/tickets', { body: { service, client_id: clientId } })),
    calledCard: (id) => unwrap(c.GET('/api/v1/queue/calls/{id}/card', { params: { path: { id } } })),
  };
}

export function platformApi(c: PlatformClient): PlatformApi {
  return {
    scope: 'platform',
    login: (email, password) => unwrap(c.POST('/api/v1/platform/auth/login', { body: { email, password } })),
    totp: (code) => unwrap(c.POST('/api/v1/platform/auth/totp', { body: { code } })),
    enrol: () => unwrap(c.POST('/api/v1/platform/auth/totp/enrol')),
    enrolConfirm: (code) => unwrap(c.POST('/api/v1/platform/auth/totp/enrol/confirm', { body: { code } })),
    logout: async () => {
      await unwrap(c.POST('/api/v1/platform/auth/logout', { parseAs: 'text' }));
    },
    me: () => unwrap(c.GET('/api/v1/platform/me')),
    tenants: () => unwrap(c.GET('/api/v1/platform/tenants')),
    calendar: () => unwrap(c.GET('/api/v1/platform/calendar')),
  };
}

async function meOrError(api: AuthApi): Promise<Me | ApiError> {
  try {
    return await api.me();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
}

export interface Discovery {
  api: TenantApi | PlatformApi;
  /** null when nobody is signed in */
  me: Me | null;
}

/**
 * Finds out whether this is a tenant's staff app or the operators' console.
 *
 * - Under `/t/{slug}/` it is always the tenant's: `GET /t/{slug}/api/v1/me`.
 * - At a bare `/admin/` the host is either a tenant's own domain or the platform
 *   host. Both `GET /api/v1/me` and `GET /api/v1/platform/me` are asked:
 *   a 200 answer says so itself (`scope`); otherwise the platform console is
 *   chosen unless its `me` is missing (404 etc.) while the tenant one answered
 *   401. So the server must not serve `/api/v1/platform/*` on tenant hosts.
 */
export async function discover(pathname: string, session: Session): Promise<Discovery> {
  const tenant = tenantApi(makeClient<paths>(pathname, session));
  const platform = platformApi(makeClient<PlatformPaths>(pathname, session));
  const remember = (me: Me): Me => {
    session.csrfToken = me.csrf_token;
    return me;
  };

  if (mountOf(pathname).tenantSlug !== null) {
    const r = await meOrError(tenant);
    if (!(r instanceof ApiError)) return { api: tenant, me: remember(r) };
    if (r.status === 401) return { api: tenant, me: null };
    throw r;
  }

  const [t, p] = await Promise.all([meOrError(tenant), meOrError(platform)]);
  if (!(p instanceof ApiError)) return { api: platform, me: remember(p) };
  if (!(t instanceof ApiError)) {
    return { api: t.scope === 'platform' ? platform : tenant, me: remember(t) };
  }
  if (p.status === 401) return { api: platform, me: null };
  if (t.status === 401) return { api: tenant, me: null };
  throw t.status === 0 ? t : p;
}
