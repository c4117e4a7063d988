// 7. TOTP enrolment of a new admin: tenant A's admin creates an admin account on the staff page;
//    that admin's first sign-in (fresh context) sets up two-factor sign-in from the secret the page
//    shows (a wrong code first is refused), and the next sign-in asks for a code instead.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import {
  assertAccessible,
  config,
  enterTotp,
  errorSummary,
  firstVisible,
  freshCode,
  goto,
  launchBrowser,
  problemFrom,
  signIn,
  signInAt,
  tenantUrl,
  textOf,
  totpFor,
  waitForStepAfter,
  withPage,
  wrongCode,
} from './helpers.mjs';

const env = config(
  'KAPU_BASE_URL',
  'KAPU_TENANT_A',
  'KAPU_TENANT_A_NAME',
  'KAPU_ADMIN_EMAIL',
  'KAPU_ADMIN_PASSWORD',
  'KAPU_ADMIN_TOTP_SECRET',
);

// Unique per run, so that the suite can be rerun against a long-lived server.
const NEW_EMAIL = `uj.admin.${Date.now()}@example.hu`;
const NEW_NAME = 'Új Adminisztrátor';
const NEW_PASSWORD = 'Masodik-Admin-Jelszo-2026';

// What the admin UI says for `invalid-totp` (admin-ui/src/errors.ts; the start of the message).
const INVALID_TOTP = 'Hibás vagy már felhasznált ellenőrző kód.';

const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));

/** The answer to the next `POST …/staff`. */
function staffPost(page) {
  return page
    .waitForResponse((r) => new URL(r.url()).pathname.endsWith('/api/v1/staff') && r.request().method() === 'POST')
    .then(async (r) => ({ status: r.status(), body: await r.json().catch(() => null) }));
}

/** Submits a code on the enrolment step; returns 'home' or 'error' and the server's answer. */
async function submitEnrolCode(page, code) {
  const answer = problemFrom(page, '/auth/totp/enrol/confirm');
  await page.getByTestId('totp-code').fill(code);
  await page.getByTestId('enrol-submit').click();
  const outcome = await firstVisible(page, { home: page.getByTestId('signout'), error: errorSummary(page) });
  return { outcome, answer: await answer };
}

describe('TOTP enrolment of a new tenant admin', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  // Filled by the enrolment test, used by the sign-in after it.
  let secret = null;
  let enrolStep = null;

  it('admin creates a new admin account on the staff page', async () => {
    await withPage(browser, 'enrol-create-admin', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/#/staff'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'admin');
      await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
      await page.getByTestId('staff-heading').waitFor();
      assert.match(page.url(), /#\/staff$/, 'the fragment survives the sign-in');

      await page.getByLabel('Név', { exact: true }).fill(NEW_NAME);
      await page.getByLabel('E-mail-cím', { exact: true }).fill(NEW_EMAIL);
      await page.getByLabel('Szerepkör', { exact: true }).selectOption('admin');
      await page.getByLabel('Kezdő jelszó', { exact: true }).fill(NEW_PASSWORD);
      const answer = staffPost(page);
      await page.getByTestId('staff-submit').click();
      const created = await answer;
      assert.equal(created.status, 201, `new admin: HTTP ${created.status} ${JSON.stringify(created.body)}`);
      assert.equal(created.body?.role, 'admin', 'an admin was made');
      const row = page.locator(`[data-testid="staff-row"][data-email="${NEW_EMAIL}"]`);
      await row.waitFor();
      const rowText = await textOf(row);
      assert.ok(rowText.includes(NEW_NAME) && /adminisztrátor/.test(rowText), `the new row: "${rowText}"`);
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it("the new admin's first sign-in sets up TOTP (wrong code refused), accessible", async () => {
    await withPage(browser, 'enrol-first-signin', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'));
      await page.getByTestId('signin-form').waitFor();
      const login = page.waitForResponse(
        (r) => new URL(r.url()).pathname.endsWith('/auth/login') && r.request().method() === 'POST',
      );
      const step = await signIn(page, NEW_EMAIL, NEW_PASSWORD);
      if (step === 'error') assert.fail(`the new admin could not sign in: "${await textOf(errorSummary(page))}"`);
      const loginBody = await (await login).json();
      assert.equal(loginBody?.mfa, 'enrol', `an admin without TOTP must enrol: ${JSON.stringify(loginBody)}`);
      assert.equal(step, 'enrol', 'the UI shows the enrolment step');

      // The step: a heading, the secret as text, the otpauth URI, a labelled QR code, the code input.
      await page.getByTestId('enrol-heading').waitFor();
      assert.match(await page.title(), /^Kétlépcsős azonosítás beállítása/, 'document title names the step');
      const secretEl = page.getByTestId('enrol-secret');
      await secretEl.waitFor();
      secret = (await textOf(secretEl)).replace(/\s+/g, '');
      assert.match(secret, /^[A-Z2-7]{16,}=*$/, `the secret is base32: "${secret}"`);
      const uriText = await textOf(page.getByTestId('enrol-uri'));
      const uri = OTPAuth.URI.parse(uriText);
      assert.ok(uri instanceof OTPAuth.TOTP, `a TOTP URI: ${uriText}`);
      assert.equal(uri.secret.base32, secret.replace(/=+$/, ''), 'the URI carries the secret shown as text');
      assert.equal(uri.algorithm, 'SHA1', 'URI algorithm');
      assert.equal(uri.digits, 6, 'URI digits');
      assert.equal(uri.period, 30, 'URI period');
      assert.ok(decodeURIComponent(uriText).includes(NEW_EMAIL), `the URI names the account: ${uriText}`);
      const qr = page.getByTestId('enrol-details').locator('svg[role="img"]');
      assert.equal(await qr.count(), 1, 'a QR code is shown');
      assert.match((await qr.getAttribute('aria-label')) ?? '', /QR-kód/, 'the QR code has a text alternative');
      const code = page.getByTestId('totp-code');
      assert.equal(await page.getByLabel('Ellenőrző kód').count(), 1, 'the code input has a label');
      assert.equal(await code.getAttribute('autocomplete'), 'one-time-code', 'code input autocomplete');
      assert.equal(await code.getAttribute('inputmode'), 'numeric', 'code input inputmode');
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'totp-code');
      await assertAccessible(page, 'the TOTP enrolment step');

      // A wrong code: 401 invalid-totp, an error in the focused summary, still enrolling, same secret.
      const totp = totpFor(secret);
      const wrong = await submitEnrolCode(page, wrongCode(totp));
      assert.equal(wrong.outcome, 'error', 'a wrong code must not finish the enrolment');
      assert.equal(wrong.answer.status, 401, `wrong code: HTTP ${wrong.answer.status} ${JSON.stringify(wrong.answer.body)}`);
      assert.equal(wrong.answer.body?.type, 'urn:kapu:problem:invalid-totp', 'problem type of a wrong code');
      const shown = await textOf(errorSummary(page));
      assert.ok(shown.includes(INVALID_TOTP), `error summary "${shown}" should say "${INVALID_TOTP}"`);
      assert.equal(await focusedTestId(page), 'error-summary', 'the error summary gets focus');
      assert.ok(await page.getByTestId('enrol-form').isVisible(), 'still on the enrolment step');
      assert.equal((await textOf(secretEl)).replace(/\s+/g, ''), secret, 'the secret did not change');
      await assertAccessible(page, 'the TOTP enrolment step with an error');

      // The right code: the overview of tenant A, signed in as the new admin.
      let attempt = await freshCode(totp);
      for (let tries = 1; ; tries++) {
        const right = await submitEnrolCode(page, attempt.code);
        if (right.outcome === 'home') {
          assert.equal(right.answer.status, 200, `confirm: HTTP ${right.answer.status}`);
          assert.equal(right.answer.body?.mfa, 'passed', `confirm answer: ${JSON.stringify(right.answer.body)}`);
          break;
        }
        const text = await textOf(errorSummary(page));
        if (tries >= 2) assert.fail(`the right code was refused twice: HTTP ${right.answer.status}, the page says "${text}"`);
        await waitForStepAfter(attempt.step);
        attempt = await freshCode(totp, 0);
      }
      enrolStep = attempt.step;
      const name = page.getByTestId('tenant-name');
      await name.waitFor();
      assert.equal(await textOf(name), env.KAPU_TENANT_A_NAME, 'overview heading shows tenant A');
      const who = await textOf(page.getByTestId('who'));
      assert.ok(who.includes(NEW_NAME) && who.includes('adminisztrátor'), `signed in as the new admin: "${who}"`);
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it('the next sign-in asks for the TOTP code, not enrolment; the enrolment code is not reusable', async () => {
    assert.ok(secret && enrolStep !== null, 'needs the enrolment from the previous test');
    await withPage(browser, 'enrol-second-signin', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'));
      await page.getByTestId('signin-form').waitFor();
      const login = page.waitForResponse(
        (r) => new URL(r.url()).pathname.endsWith('/auth/login') && r.request().method() === 'POST',
      );
      const step = await signIn(page, NEW_EMAIL, NEW_PASSWORD);
      if (step === 'error') assert.fail(`the new admin could not sign in again: "${await textOf(errorSummary(page))}"`);
      const loginBody = await (await login).json();
      assert.equal(loginBody?.mfa, 'required', `after enrolment the code is required: ${JSON.stringify(loginBody)}`);
      assert.equal(step, 'totp', 'the UI asks for the code');
      assert.equal(await page.getByTestId('enrol-form').count(), 0, 'no enrolment step');

      // The code used for the enrolment (its 30 s step) cannot be used again.
      const totp = totpFor(secret);
      const replay = problemFrom(page, '/auth/totp');
      await page.getByTestId('totp-code').fill(totp.generate({ timestamp: enrolStep * 30_000 }));
      await page.getByTestId('totp-submit').click();
      const outcome = await firstVisible(page, { home: page.getByTestId('signout'), error: errorSummary(page) });
      assert.equal(outcome, 'error', 'the enrolment code must not sign in a second time');
      const refused = await replay;
      assert.equal(refused.status, 401, `replayed code: HTTP ${refused.status} ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body?.type, 'urn:kapu:problem:invalid-totp', 'problem type of a replayed code');

      // A code of a later step signs in (polls the clock until there is one; bounded).
      await waitForStepAfter(enrolStep);
      await enterTotp(page, totp);
      const name = page.getByTestId('tenant-name');
      await name.waitFor();
      assert.equal(await textOf(name), env.KAPU_TENANT_A_NAME, 'overview heading shows tenant A');
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
