// A browser app as a public client of the tenant's OpenID Provider, written with a library Kapu
// did not write (`oidc-client-ts`, a widely used OIDC client for single-page apps): the page,
// served from an origin of its own, reads discovery, exchanges the code at the token endpoint
// with PKCE and no secret, reads userinfo with the bearer token and revokes its tokens, all with
// `fetch` across origins. Chromium allows that only where Kapu answers with CORS headers.
//
// Started by the Rust test `oidc::a_browser_app_signs_in_as_a_public_client_across_origins`,
// which registers the public client and the citizen; it is not part of the general run
// (`node --test tests/browser/` picks only *.test.mjs; this folder holds none), and without
// its variables it fails.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { config, launchBrowser, withPage } from '../helpers.mjs';

const env = process.env;
const needed = ['KAPU_SPA_ISSUER', 'KAPU_SPA_CLIENT_ID', 'KAPU_SPA_PORT', 'KAPU_SPA_EMAIL', 'KAPU_SPA_PASSWORD'];
// A missing variable fails the file (with its name), never skips it.
config(...needed);

const app = (issuer, clientId, base) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Menza app</title>
<script src="/oidc-client-ts.min.js"></script></head>
<body><main><h1 id="status">Loading</h1><dl>
<dt>name</dt><dd id="name"></dd><dt>email</dt><dd id="email"></dd><dt>after revocation</dt><dd id="revoked"></dd>
</dl><button id="login" hidden>Sign in</button><pre id="error"></pre></main>
<script>
const mgr = new oidc.UserManager({
  authority: ${JSON.stringify(issuer)}, client_id: ${JSON.stringify(clientId)},
  redirect_uri: ${JSON.stringify(`${base}/`)}, response_type: 'code', scope: 'openid profile email',
  loadUserInfo: true,
});
const show = (id, text) => { document.getElementById(id).textContent = text; };
(async () => {
  try {
    if (new URLSearchParams(location.search).has('code')) {
      const user = await mgr.signinRedirectCallback();
      show('name', user.profile.name);
      show('email', user.profile.email);
      const access = user.access_token;
      await mgr.revokeTokens(['access_token', 'refresh_token']);
      const after = await fetch(${JSON.stringify(`${issuer}/oidc/userinfo`)}, { headers: { Authorization: 'Bearer ' + access } });
      show('revoked', String(after.status));
      show('status', 'Signed in');
    } else {
      document.getElementById('login').hidden = false;
      document.getElementById('login').onclick = () => mgr.signinRedirect();
      show('status', 'Signed out');
    }
  } catch (e) {
    show('error', String(e && e.message || e));
    show('status', 'Failed');
  }
})();
</script></body></html>`;

async function startApp() {
  const port = Number(env.KAPU_SPA_PORT);
  const base = `http://127.0.0.1:${port}`;
  // The library's own browser build (it exports no such subpath, so read the file).
  const lib = await readFile(new URL('../node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js', import.meta.url));
  const page = app(env.KAPU_SPA_ISSUER, env.KAPU_SPA_CLIENT_ID, base);
  const server = createServer((req, res) => {
    const path = new URL(req.url, base).pathname;
    if (path === '/oidc-client-ts.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(lib);
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page);
    }
    res.writeHead(404);
    return res.end();
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return { base, server };
}

test('a single-page app signs a citizen in as a public client, fetching across origins', async () => {
  const spa = await startApp();
  let browser;
  try {
    browser = await launchBrowser();
    await withPage(browser, 'oidc-spa', {}, async (page) => {
      await page.goto(`${spa.base}/`);
      await page.getByRole('heading', { name: 'Signed out' }).waitFor();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${env.KAPU_SPA_ISSUER}/belepes?next=`));
      await page.getByLabel('E-mail-cím').fill(env.KAPU_SPA_EMAIL);
      await page.getByLabel('Jelszó').fill(env.KAPU_SPA_PASSWORD);
      await page.getByRole('button', { name: 'Belépés' }).click();
      await page.getByRole('heading', { name: 'Hozzájárulás adatai átadásához' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Menza app/);
      await page.getByRole('button', { name: 'Engedélyezem' }).click();
      await page.locator('#status:text-matches("Signed in|Failed")').waitFor();
      assert.equal(await page.locator('#error').innerText(), '', 'the app reports no error');
      assert.equal(await page.locator('#status').innerText(), 'Signed in');
      assert.equal(await page.locator('#name').innerText(), 'Spa Sára');
      assert.equal(await page.locator('#email').innerText(), env.KAPU_SPA_EMAIL);
      assert.equal(await page.locator('#revoked').innerText(), '401', 'the revoked access token no longer reads userinfo');
    });
  } finally {
    await browser?.close();
    spa.server.close();
    spa.server.closeAllConnections();
  }
});
