// A stand-in for `kapu serve`, for developing the admin UI and these tests without
// the Rust server. It implements only the contract the tests rely on, in memory.
// NOT the product: the real tests run against the real server.
//
//   node tests/browser/tools/mock-server.mjs [port]   (serves admin-ui/dist; build it first)
//   node tests/browser/tools/run-against-mock.mjs     (starts this and runs the tests)
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as OTPAuth from 'otpauth';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = join(here, '../../../admin-ui/dist');

export const FIXTURE = {
  KAPU_TENANT_A: 'hegyvidek',
  KAPU_TENANT_A_NAME: 'Hegyvidéki Önkormányzat',
  KAPU_TENANT_B: 'kisvaros',
  KAPU_TENANT_B_NAME: 'Kisváros Önkormányzata',
  KAPU_ADMIN_EMAIL: 'admin@hegyvidek.example',
  KAPU_ADMIN_PASSWORD: 'correct horse battery staple',
  KAPU_ADMIN_TOTP_SECRET: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  KAPU_CLERK_EMAIL: 'clerk@hegyvidek.example',
  KAPU_CLERK_PASSWORD: 'clerk password 123',
  KAPU_OPERATOR_EMAIL: 'ops@kapu.example',
  KAPU_OPERATOR_PASSWORD: 'operator password 456',
  KAPU_OPERATOR_TOTP_SECRET: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU',
};
const F = FIXTURE;

const tenants = {
  [F.KAPU_TENANT_A]: { slug: F.KAPU_TENANT_A, name: F.KAPU_TENANT_A_NAME, domains: ['ugyintezes.hegyvidek.example'], status: 'active' },
  [F.KAPU_TENANT_B]: { slug: F.KAPU_TENANT_B, name: F.KAPU_TENANT_B_NAME, domains: [], status: 'active' },
};

const staff = [
  { id: randomUUID(), tenant: F.KAPU_TENANT_A, email: F.KAPU_ADMIN_EMAIL, password: F.KAPU_ADMIN_PASSWORD, display_name: 'Admin Anna', role: 'admin', totp: F.KAPU_ADMIN_TOTP_SECRET },
  { id: randomUUID(), tenant: F.KAPU_TENANT_A, email: F.KAPU_CLERK_EMAIL, password: F.KAPU_CLERK_PASSWORD, display_name: 'Ügyintéző Ubul', role: 'clerk', totp: null },
  { id: randomUUID(), tenant: F.KAPU_TENANT_B, email: 'admin@kisvaros.example', password: 'x', display_name: 'B Admin', role: 'admin', totp: null },
  { id: randomUUID(), tenant: null, email: F.KAPU_OPERATOR_EMAIL, password: F.KAPU_OPERATOR_PASSWORD, display_name: 'Operátor Olga', role: 'operator', totp: F.KAPU_OPERATOR_TOTP_SECRET },
];

const sessions = new Map(); // sid -> { staff, tenant, mfa, csrf, pendingSecret }
const lastStep = new Map(); // staff id -> last accepted TOTP step

const totp = (secret) => new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });

function verifyTotp(user, secret, code) {
  const delta = totp(secret).validate({ token: String(code ?? ''), window: 1 });
  if (delta === null) return false;
  const step = Math.floor(Date.now() / 30000) + delta;
  if ((lastStep.get(user.id) ?? -1) >= step) return false; // replay
  lastStep.set(user.id, step);
  return true;
}

function send(res, status, body, headers = {}) {
  const isProblem = body && typeof body === 'object' && 'type' in body && 'status' in body;
  res.writeHead(status, {
    'content-type': isProblem ? 'application/problem+json' : 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

const problem = (res, status, kind, title, detail) =>
  send(res, status, { type: `urn:kapu:problem:${kind}`, title, status, detail });

function page(res, lang, t) {
  const other = lang === 'hu' ? 'en' : 'hu';
  const texts = {
    hu: { welcome: 'Üdvözöljük az elektronikus ügyintézés oldalán.', sw: 'English', skip: 'Ugrás a tartalomra' },
    en: { welcome: 'Welcome to the e-administration portal.', sw: 'Magyar', skip: 'Skip to content' },
  }[lang];
  const href = other === 'hu' ? './' : './?lang=en';
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'self'; script-src 'self'",
  });
  res.end(`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.name} – Kapu</title></head>
<body><a href="#main">${texts.skip}</a>
<header><nav aria-label="${lang === 'hu' ? 'Nyelv' : 'Language'}"><a href="${href}" hreflang="${other}" lang="${other}">${texts.sw}</a></nav></header>
<main id="main"><h1>${t.name}</h1><p>${texts.welcome}</p></main></body></html>`);
}

async function serveDist(res, rest) {
  const file = normalize(join(DIST, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest));
  if (!file.startsWith(DIST)) return send(res, 404, { type: 'about:blank', title: 'Not found', status: 404 });
  try {
    const data = await readFile(file);
    const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    });
    res.end(data);
  } catch {
    problem(res, 404, 'not-found', 'Not found', `${rest} not found (did you run npm run build in admin-ui?)`);
  }
}

function cookies(req) {
  return Object.fromEntries((req.headers.cookie ?? '').split(';').filter(Boolean).map((c) => c.trim().split('=')));
}

async function readJson(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return {};
  }
}

function loginResponse(s) {
  const { id, email, display_name, role } = s.staff;
  return { mfa: s.mfa, csrf_token: s.csrf, staff: { id, email, display_name, role } };
}

async function api(req, res, tenantSlug, scope, path) {
  const sid = cookies(req).kapu_session;
  const s = sid ? sessions.get(sid) : undefined;
  const valid = s && s.scope === scope && s.tenant === tenantSlug;
  const method = req.method;

  if (method !== 'GET' && path !== '/auth/login') {
    if (!valid) return problem(res, 401, 'unauthenticated', 'Unauthenticated', 'Nincs bejelentkezve.');
    if (req.headers['x-csrf-token'] !== s.csrf) return problem(res, 403, 'csrf', 'CSRF token missing', 'Hiányzó vagy hibás CSRF-token.');
  }

  if (method === 'POST' && path === '/auth/login') {
    const { email, password } = await readJson(req);
    const user = staff.find((u) => u.email === email && u.password === password && u.tenant === tenantSlug
      && (scope === 'platform') === (u.role === 'operator'));
    if (!user) return problem(res, 401, 'invalid-credentials', 'Invalid credentials', 'Hibás e-mail-cím vagy jelszó.');
    const mfa = user.totp ? 'required' : user.role === 'clerk' ? 'passed' : 'enrol';
    const newSid = randomBytes(16).toString('hex');
    const sess = { staff: user, tenant: tenantSlug, scope, mfa, csrf: randomBytes(16).toString('hex') };
    sessions.set(newSid, sess);
    return send(res, 200, loginResponse(sess), { 'set-cookie': `kapu_session=${newSid}; Path=/; HttpOnly; SameSite=Strict` });
  }
  if (method === 'POST' && path === '/auth/totp') {
    if (s.mfa !== 'required') return problem(res, 409, 'conflict', 'Conflict', 'Nincs folyamatban kétlépcsős azonosítás.');
    const { code } = await readJson(req);
    if (!verifyTotp(s.staff, s.staff.totp, code)) return problem(res, 401, 'invalid-totp', 'Invalid code', 'Hibás vagy lejárt ellenőrző kód.');
    s.mfa = 'passed';
    return send(res, 200, loginResponse(s));
  }
  if (method === 'POST' && path === '/auth/totp/enrol') {
    s.pendingSecret = new OTPAuth.Secret({ size: 20 }).base32;
    const uri = totp(s.pendingSecret);
    uri.issuer = 'Kapu';
    uri.label = s.staff.email;
    return send(res, 200, { secret: s.pendingSecret, otpauth_uri: uri.toString() });
  }
  if (method === 'POST' && path === '/auth/totp/enrol/confirm') {
    const { code } = await readJson(req);
    if (!s.pendingSecret || !verifyTotp(s.staff, s.pendingSecret, code)) return problem(res, 401, 'invalid-totp', 'Invalid code', 'Hibás vagy lejárt ellenőrző kód.');
    s.staff.totp = s.pendingSecret;
    s.mfa = 'passed';
    return send(res, 200, loginResponse(s));
  }
  if (method === 'POST' && path === '/auth/logout') {
    sessions.delete(sid);
    res.writeHead(204, { 'set-cookie': 'kapu_session=; Path=/; Max-Age=0' });
    return res.end();
  }
  if (method === 'GET' && path === '/me') {
    if (!valid) return problem(res, 401, 'unauthenticated', 'Unauthenticated', 'Nincs bejelentkezve.');
    const t = tenantSlug ? { slug: tenantSlug, name: tenants[tenantSlug].name } : null;
    return send(res, 200, { ...loginResponse(s), scope, tenant: t });
  }
  if (method === 'GET' && (path === '/overview' || path === '/tenants')) {
    if (!valid) return problem(res, 401, 'unauthenticated', 'Unauthenticated', 'Nincs bejelentkezve.');
    if (s.mfa !== 'passed') return problem(res, 403, 'mfa-required', 'MFA required', 'Kétlépcsős azonosítás szükséges.');
    if (path === '/overview' && scope === 'tenant') {
      const t = tenants[tenantSlug];
      return send(res, 200, {
        tenant: { slug: t.slug, name: t.name, domains: t.domains },
        staff_count: staff.filter((u) => u.tenant === tenantSlug).length,
        client_count: 1234,
        jobs: { pending: 2, dead: 0 },
      });
    }
    if (path === '/tenants' && scope === 'platform') return send(res, 200, { tenants: Object.values(tenants) });
  }
  return problem(res, 404, 'not-found', 'Not found', `${method} ${path}`);
}

export function startMock(port = 0) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname;
      let m;
      if ((m = /^\/t\/([^/]+)(\/.*)?$/.exec(p))) {
        const t = tenants[decodeURIComponent(m[1])];
        const rest = m[2] ?? '/';
        if (!t) return problem(res, 404, 'unknown-tenant', 'Unknown tenant', 'Nincs ilyen önkormányzat.');
        if (rest === '/') return page(res, url.searchParams.get('lang') === 'en' ? 'en' : 'hu', t);
        if (rest === '/admin') return res.writeHead(308, { location: `${p}/` }).end();
        if (rest.startsWith('/admin/')) return serveDist(res, rest.slice('/admin/'.length));
        if (rest.startsWith('/api/v1/')) return api(req, res, t.slug, 'tenant', rest.slice('/api/v1'.length));
      }
      if (p === '/admin') return res.writeHead(308, { location: '/admin/' }).end();
      if (p.startsWith('/admin/')) return serveDist(res, p.slice('/admin/'.length));
      if (p.startsWith('/api/v1/platform/')) return api(req, res, null, 'platform', p.slice('/api/v1/platform'.length));
      return problem(res, 404, 'not-found', 'Not found', p);
    } catch (e) {
      console.error(e);
      problem(res, 500, 'internal', 'Internal error', String(e));
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startMock(Number(process.argv[2] ?? 8080));
  const { port } = server.address();
  console.log(`mock kapu on http://127.0.0.1:${port}/ (tenants /t/${F.KAPU_TENANT_A}/, /t/${F.KAPU_TENANT_B}/; operators /admin/)`);
}
