// The load generator of `kapu bench oidc`: the same code drives Kapu and oidc-provider.
// One flow = authorize with an existing session (302/303 with a code), the code exchange at the
// token endpoint (client_secret_basic, PKCE verifier), and userinfo with the access token.
// Each of `clients` keep-alive workers first signs in once (its own session), then loops flows
// for `seconds`; prints flows/s and latency percentiles of whole flows as JSON.
//
//   node load.mjs kapu <issuer> <client_id> <secret> <redirect_uri> <email> <password> <clients> <seconds>
//   node load.mjs oidc-provider <issuer> <client_id> <secret> <redirect_uri> - - <clients> <seconds>
import { createHash, randomBytes } from 'node:crypto';

const [kind, issuer, clientId, secret, redirectUri, email, password, clientsArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg || 2);
const seconds = Number(secondsArg || 10);
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();

/** A minimal cookie jar: name=value pairs from Set-Cookie. */
class Jar {
  cookies = new Map();
  take(res) {
    for (const c of res.headers.getSetCookie()) {
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
  const res = await fetch(new URL(url, issuer), { ...init, redirect: 'manual', headers: { ...(init.headers || {}), cookie: jar.header() } });
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
    const loc = res.headers.get('location');
    if (loc.startsWith(redirectUri)) return { code: new URL(loc).searchParams.get('code') };
    res = await go(jar, loc);
  }
  return { page: await res.text(), url: res.url };
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
    r = await follow(jar, await go(jar, loginPath, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    if (r.page !== undefined) {
      const consent = new URLSearchParams([...hidden(r.page), ['decision', 'allow']]);
      r = await follow(jar, await go(jar, `${issuer}/oidc/consent`, { method: 'POST', body: consent, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    }
    if (!r.code) throw new Error(`kapu sign-in did not end with a code (next=${next})`);
  } else {
    let r = await follow(jar, await go(jar, url));
    // devInteractions: the login form, then the consent form.
    for (let step = 0; step < 3 && !r.code; step++) {
      const action = /action="([^"]+)"/.exec(r.page)[1];
      const fields = new URLSearchParams([...r.page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map(([, k, v]) => [k, v]));
      if (r.page.includes('name="login"')) fields.set('login', 'bench'), fields.set('password', 'x');
      r = await follow(jar, await go(jar, action, { method: 'POST', body: fields, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    }
    if (!r.code) throw new Error('oidc-provider sign-in did not end with a code');
  }
}

async function flow(jar) {
  const { url, verifier } = authorizeUrl();
  const a = await go(jar, url);
  const loc = a.headers.get('location') || '';
  await a.arrayBuffer();
  if (!loc.startsWith(redirectUri)) throw new Error(`authorize answered ${a.status} ${loc}`);
  const code = new URL(loc).searchParams.get('code');
  const t = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  const tokens = await t.json();
  if (!tokens.id_token) throw new Error(`token answered ${t.status} ${JSON.stringify(tokens)}`);
  const u = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const info = await u.json();
  if (!info.sub) throw new Error(`userinfo answered ${u.status}`);
}

const latencies = [];
const end = performance.now() + seconds * 1000;
let start;
await Promise.all(Array.from({ length: clients }, async () => {
  const jar = new Jar();
  await signIn(jar);
  await flow(jar); // warm-up
  start ??= performance.now();
  while (performance.now() < end) {
    const t0 = performance.now();
    await flow(jar);
    latencies.push(performance.now() - t0);
  }
}));
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(JSON.stringify({
  provider: kind, clients, seconds: Number(elapsed.toFixed(2)), flows: latencies.length,
  flows_per_s: Number((latencies.length / elapsed).toFixed(1)), p50_ms: Number(pct(50).toFixed(2)), p99_ms: Number(pct(99).toFixed(2)),
}));
