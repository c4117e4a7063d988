// 1. Tenant staff sign in to the admin UI at /t/{A}/admin/.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertAccessible,
  config,
  enterTotp,
  errorSummary,
  firstVisible,
  launchBrowser,
  problemFrom,
  signIn,
  signInAt,
  tenantUrl,
  textOf,
  totpFor,
  withPage,
  wrongCode,
  goto,
} from './helpers.mjs';

// What the admin UI says for the server's problem types (admin-ui/src/errors.ts).
const MESSAGES = {
  invalidCredentials: 'Hibás e-mail-cím vagy jelszó.',
  invalidTotp: 'Hibás vagy már felhasznált ellenőrző kód.',
};

/** The `lang` attribute of the error summary's main message (null when it is the page's, Hungarian). */
const langOfDetail = (page) => page.getByTestId('error-detail').getAttribute('lang');

const env = config(
  'KAPU_BASE_URL',
  'KAPU_TENANT_A',
  'KAPU_TENANT_A_NAME',
  'KAPU_TENANT_B',
  'KAPU_TENANT_B_NAME',
  'KAPU_ADMIN_EMAIL',
  'KAPU_ADMIN_PASSWORD',
  'KAPU_ADMIN_TOTP_SECRET',
  'KAPU_CLERK_EMAIL',
  'KAPU_CLERK_PASSWORD',
  'KAPU_TENANT_A_HOST',
);

describe('staff sign-in (tenant admin UI)', { timeout: 180_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('admin: wrong password and wrong TOTP show errors, then password + TOTP reach the overview', async () => {
    await withPage(browser, 'admin-signin', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'hu', '<html lang> of the admin UI');
      await page.getByTestId('signin-form').waitFor();

      // Wrong password: the error summary gets focus and says so in Hungarian (the app words the
      // server's problem types itself; the server's `detail` is English).
      const refused = problemFrom(page, '/auth/login');
      const first = await signIn(page, env.KAPU_ADMIN_EMAIL, `${env.KAPU_ADMIN_PASSWORD}-wrong`);
      const { status, body } = await refused;
      assert.equal(first, 'error', `a wrong password should show an error, the page went to "${first}"`);
      assert.equal(status, 401, `login with a wrong password: HTTP ${status} ${JSON.stringify(body)}`);
      assert.equal(body?.type, 'urn:kapu:problem:invalid-credentials', 'problem type of a wrong password');
      assert.ok(body?.detail, `the 401 problem has no detail: ${JSON.stringify(body)}`);
      const shown = await textOf(errorSummary(page));
      assert.ok(shown.includes(MESSAGES.invalidCredentials), `error summary "${shown}" should say "${MESSAGES.invalidCredentials}"`);
      assert.equal(await langOfDetail(page), null, 'the Hungarian message needs no lang attribute of its own');
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute('data-testid')),
        'error-summary',
        'focus should move to the error summary',
      );

      // Right password: the TOTP step.
      const step = await signIn(page, env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD);
      if (step === 'error') assert.fail(`sign-in with the right password failed: "${await textOf(errorSummary(page))}"`);
      assert.equal(step, 'totp', 'an admin with TOTP enabled must be asked for a code');
      const code = page.getByTestId('totp-code');
      assert.equal(await code.getAttribute('autocomplete'), 'one-time-code', 'TOTP field autocomplete');
      assert.equal(await code.getAttribute('inputmode'), 'numeric', 'TOTP field inputmode');
      assert.equal(await page.getByLabel('Ellenőrző kód').count(), 1, 'the TOTP field has a label');
      await assertAccessible(page, 'the TOTP step');

      // Wrong code: an error, and we stay on the TOTP step.
      const totp = totpFor(env.KAPU_ADMIN_TOTP_SECRET);
      const refusedTotp = problemFrom(page, '/auth/totp');
      await code.fill(wrongCode(totp));
      await page.getByTestId('totp-submit').click();
      const afterWrong = await firstVisible(page, { error: errorSummary(page), home: page.getByTestId('signout') });
      assert.equal(afterWrong, 'error', 'a wrong TOTP code must not sign in');
      const wrong = await refusedTotp;
      assert.equal(wrong.status, 401, `wrong TOTP: HTTP ${wrong.status} ${JSON.stringify(wrong.body)}`);
      assert.equal(wrong.body?.type, 'urn:kapu:problem:invalid-totp', 'problem type of a wrong TOTP code');
      const wrongShown = await textOf(errorSummary(page));
      assert.ok(wrongShown.includes(MESSAGES.invalidTotp), `TOTP error shown: "${wrongShown}", expected "${MESSAGES.invalidTotp}"`);
      assert.ok(await page.getByTestId('totp-form').isVisible(), 'still on the TOTP step after a wrong code');

      // Right code: the overview of tenant A.
      await enterTotp(page, totp);
      const name = page.getByTestId('tenant-name');
      await name.waitFor();
      assert.equal(await textOf(name), env.KAPU_TENANT_A_NAME, 'overview heading shows tenant A');
      const body2 = await page.locator('main').innerText();
      const [a, b] = [env.KAPU_TENANT_A_NAME, env.KAPU_TENANT_B_NAME];
      if (!a.includes(b) && !b.includes(a)) assert.ok(!body2.includes(b), `tenant B's name must not appear on tenant A's overview`);
      for (const id of ['staff-count', 'client-count', 'jobs-pending', 'jobs-dead']) {
        assert.match(await textOf(page.getByTestId(id)), /^\d[\d\s\u00a0]*$/, `${id} is a number`);
      }
      await assertAccessible(page, 'the overview');

      // A reload keeps the session (cookie), then signing out returns to the sign-in form.
      await page.reload();
      await page.getByTestId('tenant-name').waitFor();
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
      await page.reload();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it('clerk without TOTP goes straight to the overview', async () => {
    await withPage(browser, 'clerk-signin', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'clerk');
      const name = page.getByTestId('tenant-name');
      await name.waitFor();
      assert.equal(await textOf(name), env.KAPU_TENANT_A_NAME, 'overview heading shows tenant A');
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it("tenant A's clerk cannot sign in to tenant B", async () => {
    await withPage(browser, 'cross-tenant-signin', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_B, 'admin/'));
      await page.getByTestId('signin-form').waitFor();
      const refused = problemFrom(page, '/auth/login');
      const step = await signIn(page, env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD);
      assert.equal(step, 'error', `tenant A's clerk signing in at tenant B reached "${step}"`);
      const { status, body } = await refused;
      assert.equal(status, 401, `A's clerk at B: HTTP ${status} ${JSON.stringify(body)}`);
      assert.equal(body?.type, 'urn:kapu:problem:invalid-credentials', "A's clerk at B: problem type");
    });
  });

  // The harness gives tenant A a host name of its own (e.g. hegyvidek.localhost:8080; Chromium
  // resolves *.localhost to the loopback address). There the app sits at a bare /admin/ and must
  // find out by itself that it is the staff app, not the operators' console.
  const host = env.KAPU_TENANT_A_HOST;
  it("on tenant A's own host, /admin/ is A's staff app", async () => {
    await withPage(browser, 'tenant-host-admin', {}, async (page) => {
      const origin = new URL(env.KAPU_BASE_URL);
      await goto(page, `${origin.protocol}//${host}/admin/`);
      await page.getByTestId('signin-form').waitFor();
      assert.match(await textOf(page.getByTestId('context')), /Ügyintézői felület/, 'the app knows it is the staff app');
      const step = await signIn(page, env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD);
      if (step === 'error') assert.fail(`clerk sign-in on the tenant host failed: "${await textOf(errorSummary(page))}"`);
      assert.equal(step, 'home', 'a clerk without TOTP gets mfa "passed"');
      const name = page.getByTestId('tenant-name');
      await name.waitFor();
      assert.equal(await textOf(name), env.KAPU_TENANT_A_NAME, 'overview heading shows tenant A');
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
