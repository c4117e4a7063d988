// The tenant admin's relying-party page (#/oidc): a registration with a plain-http redirect URI
// is refused on its field, a good one shows the client secret once and the new row; the tenant
// publishes its OpenID configuration; key rotation reports the new key ids. Accessible throughout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertAccessible, config, enterTotp, errorSummary, launchBrowser, signInAt, tenantUrl, textOf, totpFor, withPage } from './helpers.mjs';

const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_ADMIN_EMAIL', 'KAPU_ADMIN_PASSWORD', 'KAPU_ADMIN_TOTP_SECRET');
const NAME = `Böngészőteszt app ${Date.now()}`;

describe('tenant admin relying-party page', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('admin: registers a relying party (bad redirect URI refused), sees the secret once, rotates keys', async () => {
    await withPage(browser, 'oidc-admin', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'admin');
      await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
      await page.getByTestId('tenant-name').waitFor();
      await page.getByRole('navigation', { name: 'Menü' }).getByRole('link', { name: 'Alkalmazások (SSO)', exact: true }).click();
      await page.getByTestId('oidc-heading').waitFor();
      assert.match(page.url(), /#\/oidc$/);
      await assertAccessible(page, 'relying-party page');

      await page.getByTestId('oidc-name').fill(NAME);
      await page.getByTestId('oidc-redirects').fill('http://example.com/callback');
      await page.getByTestId('oidc-scope-email').check();
      await page.getByTestId('oidc-submit').click();
      await errorSummary(page).waitFor();
      const redirects = page.getByTestId('oidc-redirects');
      assert.equal(await redirects.getAttribute('aria-invalid'), 'true', 'the redirect URI input is marked invalid');
      assert.match(await textOf(errorSummary(page)), /https/, 'the error says https is needed');
      await assertAccessible(page, 'relying-party page with an error');

      await redirects.fill('https://rp.example.hu/callback');
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/oidc/clients') && r.request().method() === 'POST');
      await page.getByTestId('oidc-submit').click();
      assert.equal((await answer).status(), 201);
      const secret = await textOf(page.getByTestId('oidc-secret-value'));
      assert.ok(secret.length >= 43, 'the client secret is shown once');
      const row = page.locator('[data-testid="oidc-row"]', { hasText: NAME });
      await row.waitFor();
      assert.match(await textOf(row), /https:\/\/rp\.example\.hu\/callback/);
      assert.match(await textOf(row), /openid email/);

      const clientId = await row.getAttribute('data-client-id');
      const discovery = await page.request.get(tenantUrl(env.KAPU_TENANT_A, '.well-known/openid-configuration'));
      assert.equal((await discovery.json()).issuer, tenantUrl(env.KAPU_TENANT_A).replace(/\/$/, ''));
      assert.ok(clientId.startsWith('rp_'));

      await page.getByTestId('oidc-rotate').click();
      await page.getByTestId('oidc-status').filter({ hasText: 'Új aláírókulcsok' }).waitFor();
    });
  });
});
