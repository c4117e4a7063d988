// The load generator of `kapu bench oidc`: the same code drives Kapu and oidc-provider.
// One flow = authorize with an existing session (302/303 with a code), the code exchange at the
// token endpoint (client_secret_basic, PKCE verifier), and userinfo with the access token.
// Each of `clients` workers first signs in once (its own session), then loops flows for
// `seconds`; prints flows/s and latency percentiles of whole flows as JSON, and the load
// generator's own CPU use (user + system time over the run's wall time; 100 = one core), to
// show whether it could be the limit. Requests go through node:http with keep-alive (one
// connection per worker), which costs a fraction of what fetch costs per request.
//
//   node load.mjs kapu <issuer> <client_id> <secret> <redirect_uri> <email> <password> <clients> <seconds>
//   node load.mjs oidc-provider <issuer> <client_id> <secret> <redirect_uri> - - <clients> <seconds>
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

const [kind, issuer, clientId, secret, redirectUri, email, password, clientsArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg || 2);
const seconds = Number(secondsArg || 10);
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** One keep-alive HTTP request; resolves to { status, headers, text }. */
function request(agent, url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      { agent, method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, url, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const discovery = JSON.parse((await request(new http.Agent(), `${issuer}/.well-known/openid-configuration`)).text);

/** A minimal cookie jar: name=value pairs from Set-Cookie. */
class Jar {
  cookies = new Map();
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  take(res) {
    for (const c of res.headers['set-cookie'] || []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const v = pair.slice(i + 1);
      if (v === '') this.cookies.delete(pair.slice(0, i));
      else this.cookies.set(pair.slice(0, i), v);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function go(jar, url, init = {}) {
  const res = await request(jar.agent, new URL(url, issuer).toString(), { ...init, headers: { ...(init.headers || {}), cookie: jar.header() } });
  jar.take(res);
  return res;
}

const hidden = (html) =>
  [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => [k, v.replace(/&amp;/g, '&').replace(/&#x2f;/g, '/').replace(/&quot;/g, '"')]);

function authorizeUrl() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const u = new URL(discovery.authorization_endpoint);
  const state = randomBytes(8).toString('base64url');
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile email', state,
    nonce: randomBytes(8).toString('base64url'), code_challenge: challenge, code_challenge_method: 'S256',
  })) u.searchParams.set(k, v);
  return { url: u.toString(), verifier };
}

/** Follows redirects inside the provider until one leaves for the redirect URI (or a page answers). */
async function follow(jar, res) {
  while (res.status >= 300 && res.status < 400) {
    const loc = res.headers.location;
    if (loc.startsWith(redirectUri)) return { code: new URL(loc).searchParams.get('code') };
    res = await go(jar, new URL(loc, res.url).toString());
  }
  return { page: res.text, url: res.url };
}

/** Signs the worker in and consents once, so that later authorizations need no page. */
async function signIn(jar) {
  const { url } = authorizeUrl();
  if (kind === 'kapu') {
    let r = await follow(jar, await go(jar, url));
    const login = hidden(r.page);
    const form = new URLSearchParams([...login, ['email', email], ['password', password]]);
    const next = login.find(([k]) => k === 'next')[1];
    const loginPath = new URL(`${issuer}/belepes`).pathname;
    r = await follow(jar, await go(jar, loginPath, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    if (r.page !== undefined) {
      const consent = new URLSearchParams([...hidden(r.page), ['decision', 'allow']]);
      r = await follow(jar, await go(jar, `${issuer}/oidc/consent`, { method: 'POST', body: consent.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    }
    if (!r.code) throw new Error(`kapu sign-in did not end with a code (next=${next})`);
  } else {
    let r = await follow(jar, await go(jar, url));
    // devInteractions: the login form, then the consent form.
    for (let step = 0; step < 3 && !r.code; step++) {
      const action = /action="([^"]+)"/.exec(r.page)[1];
      const fields = new URLSearchParams([...r.page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => [k, v]));
      if (r.page.includes('name="login"')) fields.set('login', 'bench'), fields.set('password', 'x');
      r = await follow(jar, await go(jar, new URL(action, r.url).toString(), { method: 'POST', body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    }
    if (!r.code) throw new Error('oidc-provider sign-in did not end with a code');
  }
}

async function flow(jar) {
  const { url, verifier } = authorizeUrl();
  const a = await go(jar, url);
  const loc = a.headers.location || '';
  if (!loc.startsWith(redirectUri)) throw new Error(`authorize answered ${a.status} ${loc}`);
  const code = new URL(loc).searchParams.get('code');
  const t = await request(jar.agent, discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
  });
  const tokens = JSON.parse(t.text);
  if (!tokens.id_token) throw new Error(`token answered ${t.status} ${t.text}`);
  const u = await request(jar.agent, discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const info = JSON.parse(u.text);
  if (!info.sub) throw new Error(`userinfo answered ${u.status}`);
}

const latencies = [];
const end = performance.now() + seconds * 1000;
let start;
let cpuAtStart;
await Promise.all(Array.from({ length: clients }, async () => {
  const jar = new Jar();
  await signIn(jar);
  await flow(jar); // warm-up
  if (start === undefined) {
    start = performance.now();
    cpuAtStart = process.cpuUsage();
  }
  while (performance.now() < end) {
    const t0 = performance.now();
    await flow(jar);
    latencies.push(performance.now() - t0);
  }
}));
const elapsed = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(JSON.stringify({
  provider: kind, clients, seconds: Number(elapsed.toFixed(2)), flows: latencies.length,
  flows_per_s: Number((latencies.length / elapsed).toFixed(1)), p50_ms: Number(pct(50).toFixed(2)), p99_ms: Number(pct(99).toFixed(2)),
  load_generator_cpu_pct: Number((((cpu.user + cpu.system) / 1e6 / elapsed) * 100).toFixed(1)),
}));
