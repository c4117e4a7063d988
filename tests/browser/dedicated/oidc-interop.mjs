// Interoperability of the tenant's OpenID Provider with a relying party Kapu did not write:
// a small web server built on `openid-client` (v5, the certified Node.js OIDC client) signs a
// citizen in through headless Chromium: discovery, authorization code with PKCE (S256), state
// and nonce, the portal's sign-in and consent pages, the code exchange with client_secret_basic,
// ID token validation against the JWKS, userinfo, refresh, and RP-initiated logout.
//
// Started by the Rust test `oidc::a_relying_party_we_did_not_write_signs_in_through_chromium`,
// which registers the relying party and the citizen; it is not part of the general run
// (`node --test tests/browser/` picks only *.test.mjs; this folder holds none), and without
// its variables it fails.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { Issuer, generators } from 'openid-client';
import { config, launchBrowser, withPage } from '../helpers.mjs';

const env = process.env;
const needed = ['KAPU_OIDC_ISSUER', 'KAPU_OIDC_CLIENT_ID', 'KAPU_OIDC_CLIENT_SECRET', 'KAPU_OIDC_RP_PORT', 'KAPU_OIDC_EMAIL', 'KAPU_OIDC_PASSWORD'];
// A missing variable fails the file (with its name), never skips it.
config(...needed);

/** The relying party: /login starts the flow, /callback ends it, /logout ends the session. */
async function startRelyingParty() {
  const port = Number(env.KAPU_OIDC_RP_PORT);
  const base = `http://127.0.0.1:${port}`;
  const issuer = await Issuer.discover(env.KAPU_OIDC_ISSUER);
  const client = new issuer.Client({
    client_id: env.KAPU_OIDC_CLIENT_ID,
    client_secret: env.KAPU_OIDC_CLIENT_SECRET,
    redirect_uris: [`${base}/callback`],
    post_logout_redirect_uris: [`${base}/signed-out`],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const pending = new Map();
  const sessions = new Map();
  const html = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><title>Demo RP</title><main>${body}</main></html>`);
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, base);
    try {
      if (url.pathname === '/login') {
        const state = generators.state();
        const nonce = generators.nonce();
        const verifier = generators.codeVerifier();
        pending.set(state, { nonce, verifier });
        const to = client.authorizationUrl({
          scope: 'openid profile email',
          state,
          nonce,
          code_challenge: generators.codeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        res.writeHead(302, { location: to, 'set-cookie': `rp_state=${state}; Path=/; HttpOnly` });
        return res.end();
      }
      if (url.pathname === '/callback') {
        const state = /rp_state=([^;]+)/.exec(req.headers.cookie || '')?.[1];
        const p = pending.get(state);
        if (!p) return html(res, 400, '<h1>Unknown state</h1>');
        pending.delete(state);
        const params = client.callbackParams(req);
        const tokens = await client.callback(`${base}/callback`, params, { state, nonce: p.nonce, code_verifier: p.verifier });
        const claims = tokens.claims();
        const info = await client.userinfo(tokens.access_token);
        const refreshed = await client.refresh(tokens.refresh_token);
        assert.equal(refreshed.claims().sub, claims.sub, 'the refreshed ID token names the same person');
        sessions.set(state, { idToken: refreshed.id_token });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': `rp_session=${state}; Path=/; HttpOnly` });
        return res.end(
          `<!doctype html><html lang="en"><title>Signed in</title><main><h1>Signed in</h1>` +
            `<dl><dt>sub</dt><dd id="sub">${claims.sub}</dd><dt>iss</dt><dd id="iss">${claims.iss}</dd>` +
            `<dt>name</dt><dd id="name">${info.name}</dd><dt>email</dt><dd id="email">${info.email}</dd>` +
            `<dt>alg</dt><dd id="alg">${JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg}</dd></dl>` +
            `<a href="/logout">Sign out</a></main></html>`,
        );
      }
      if (url.pathname === '/logout') {
        const sid = /rp_session=([^;]+)/.exec(req.headers.cookie || '')?.[1];
        const s = sessions.get(sid);
        const to = client.endSessionUrl({ id_token_hint: s?.idToken, post_logout_redirect_uri: `${base}/signed-out`, state: 'bye' });
        res.writeHead(302, { location: to });
        return res.end();
      }
      if (url.pathname === '/signed-out') return html(res, 200, `<h1>Signed out</h1><p id="state">${url.searchParams.get('state')}</p>`);
      return html(res, 404, '<h1>Not found</h1>');
    } catch (e) {
      return html(res, 500, `<h1>Relying party error</h1><pre id="error">${String(e.message).replace(/</g, '&lt;')}</pre>`);
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return { base, server };
}

test('a citizen signs in to an openid-client relying party through the portal in Chromium', async () => {
  const rp = await startRelyingParty();
  let browser;
  try {
    browser = await launchBrowser();
    await withPage(browser, 'oidc-interop', {}, async (page) => {
      await page.goto(`${rp.base}/login`);
      // Kapu's sign-in form, on the tenant's portal.
      assert.ok(page.url().startsWith(`${env.KAPU_OIDC_ISSUER}/belepes?next=`), page.url());
      await page.getByLabel('E-mail-cím').fill(env.KAPU_OIDC_EMAIL);
      await page.getByLabel('Jelszó').fill(env.KAPU_OIDC_PASSWORD);
      await page.getByRole('button', { name: 'Belépés' }).click();
      // The consent screen names the application and the data it asks for.
      await page.getByRole('heading', { name: 'Hozzájárulás adatai átadásához' }).waitFor();
      const consent = await page.locator('main').innerText();
      assert.match(consent, /Interop RP/);
      assert.match(consent, /Az e-mail-címe/);
      await page.getByRole('button', { name: 'Engedélyezem' }).click();
      await page.getByRole('heading', { name: 'Signed in' }).waitFor();
      assert.equal(await page.locator('#iss').innerText(), env.KAPU_OIDC_ISSUER);
      assert.equal(await page.locator('#email').innerText(), env.KAPU_OIDC_EMAIL);
      assert.equal(await page.locator('#name').innerText(), 'Interop Ilona');
      assert.equal(await page.locator('#alg').innerText(), 'RS256');
      assert.match(await page.locator('#sub').innerText(), /^[0-9a-f-]{36}$/);

      // Consent is remembered: a second sign-in goes straight through.
      await page.goto(`${rp.base}/login`);
      await page.getByRole('heading', { name: 'Signed in' }).waitFor();

      // RP-initiated logout returns to the relying party; the portal session is over.
      await page.getByRole('link', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Signed out' }).waitFor();
      assert.equal(await page.locator('#state').innerText(), 'bye');
      await page.goto(`${rp.base}/login`);
      assert.ok(page.url().startsWith(`${env.KAPU_OIDC_ISSUER}/belepes?next=`), `signed out at Kapu too: ${page.url()}`);
    });
  } finally {
    await browser?.close();
    rp.server.close();
    rp.server.closeAllConnections();
  }
});
