// 6. The tenant admin's staff page (#/staff): the list, a new clerk (weak password refused on the
//    field, a good one accepted, the same e-mail again refused as a duplicate), accessible also in
//    its error state; then the new clerk signs in, in a fresh browser context.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertAccessible,
  config,
  enterTotp,
  errorSummary,
  goto,
  launchBrowser,
  signIn,
  signInAt,
  tenantUrl,
  textOf,
  totpFor,
  withPage,
} from './helpers.mjs';

const env = config(
  'KAPU_BASE_URL',
  'KAPU_TENANT_A',
  'KAPU_ADMIN_EMAIL',
  'KAPU_ADMIN_PASSWORD',
  'KAPU_ADMIN_TOTP_SECRET',
  'KAPU_CLERK_EMAIL',
);

const api = (rest) => tenantUrl(env.KAPU_TENANT_A, `api/v1/${rest}`);

// Unique per run, so that the suite can be rerun against a long-lived server.
const NEW_EMAIL = `uj.ugyintezo.${Date.now()}@example.hu`;
const NEW_NAME = 'Új Ügyintéző';
const WEAK_PASSWORD = 'rovid';
const GOOD_PASSWORD = 'Uj-Ugyintezo-Jelszo-2026';

/** The answer to the next `POST …/staff`: status, body and whether it carried the CSRF token. */
function staffPost(page) {
  return page
    .waitForResponse((r) => new URL(r.url()).pathname.endsWith('/api/v1/staff') && r.request().method() === 'POST')
    .then(async (r) => ({
      status: r.status(),
      body: await r.json().catch(() => null),
      csrf: (await r.request().allHeaders())['x-csrf-token'] ?? null,
    }));
}

/** Fills the new-account form and submits it; returns the server's answer. */
async function createStaff(page, { name, email, role, password }) {
  await page.getByLabel('Név', { exact: true }).fill(name);
  await page.getByLabel('E-mail-cím', { exact: true }).fill(email);
  await page.getByLabel('Szerepkör', { exact: true }).selectOption(role);
  await page.getByLabel('Kezdő jelszó', { exact: true }).fill(password);
  const answer = staffPost(page);
  await page.getByTestId('staff-submit').click();
  return answer;
}

/** The id of the focused element. */
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));

/** The text of the elements an input's aria-describedby names. */
const description = (locator) =>
  locator.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? `(missing #${id})`)
      .join(' | '));

/** The field error linked to an input by aria-describedby (an id ending in `-error`), as text. */
async function fieldError(page, locator) {
  const ids = ((await locator.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const id = ids.find((i) => i.endsWith('-error'));
  assert.ok(id, `no error linked by aria-describedby="${ids.join(' ')}"`);
  return textOf(page.locator(`#${id}`));
}

/** The staff table's row for an e-mail address, as text. */
const rowFor = (page, email) => page.locator(`[data-testid="staff-row"][data-email="${email}"]`);

describe('tenant admin staff page', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('admin: lists staff, creates a clerk (weak password and duplicate e-mail refused), accessible', async () => {
    await withPage(browser, 'staff-admin', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'admin');
      await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
      await page.getByTestId('tenant-name').waitFor();

      // The staff page, from the admin navigation.
      const link = page.getByRole('navigation', { name: 'Menü' }).getByRole('link', { name: 'Munkatársak', exact: true });
      await link.click();
      await page.getByTestId('staff-heading').waitFor();
      assert.match(page.url(), /#\/staff$/, 'the staff page has its own fragment');
      assert.equal(await page.getByTestId('nav-staff').getAttribute('aria-current'), 'page', 'staff is the current page');
      assert.equal(await focusedTestId(page), 'staff-heading', 'focus moves to the new page heading');
      assert.match(await page.title(), /^Munkatársak/, 'document title names the page');

      // The list: caption, column headers, the two accounts the harness made, roles in Hungarian.
      const table = page.getByTestId('staff-table');
      await table.waitFor();
      assert.match(await textOf(table.locator('caption')), /munkatárs/i, 'the staff table has a caption');
      for (const header of ['Név', 'E-mail-cím', 'Szerepkör']) {
        assert.equal(await table.getByRole('columnheader', { name: header, exact: true }).count(), 1, `column header "${header}"`);
      }
      const initialRows = await page.getByTestId('staff-row').count();
      assert.ok(initialRows >= 2, `at least the admin and the clerk are listed, got ${initialRows} row(s)`);
      const adminRow = await textOf(rowFor(page, env.KAPU_ADMIN_EMAIL));
      assert.match(adminRow, /adminisztrátor/, `the admin's row says "adminisztrátor": "${adminRow}"`);
      const clerkRow = await textOf(rowFor(page, env.KAPU_CLERK_EMAIL));
      assert.match(clerkRow, /ügyintéző/, `the clerk's row says "ügyintéző": "${clerkRow}"`);
      assert.equal(await rowFor(page, env.KAPU_ADMIN_EMAIL).getByRole('rowheader').count(), 1, 'each row has a row header');

      // The form: labelled inputs with the right autocomplete and hints.
      const email = page.getByLabel('E-mail-cím', { exact: true });
      const password = page.getByLabel('Kezdő jelszó', { exact: true });
      assert.equal(await email.getAttribute('autocomplete'), 'off', 'the e-mail input has autocomplete="off"');
      assert.equal(await password.getAttribute('autocomplete'), 'new-password', 'the password input has autocomplete="new-password"');
      assert.equal(await password.getAttribute('type'), 'password', 'the password is masked');
      const hint = await description(password);
      assert.match(hint, /12 karakter/, `the password hint gives the minimum length: "${hint}"`);
      assert.match(hint, /kétlépcsős/, `the password hint mentions two-factor sign-in for admins: "${hint}"`);
      const roles = await page.getByLabel('Szerepkör', { exact: true }).locator('option').allInnerTexts();
      assert.deepEqual(roles.map((r) => r.trim()), ['ügyintéző', 'adminisztrátor'], 'role options in Hungarian');
      await assertAccessible(page, 'the staff page');

      // A weak password: 422, shown on the password field and in the focused error summary.
      const weak = await createStaff(page, { name: NEW_NAME, email: NEW_EMAIL, role: 'clerk', password: WEAK_PASSWORD });
      assert.equal(weak.status, 422, `weak password: HTTP ${weak.status} ${JSON.stringify(weak.body)}`);
      assert.ok(weak.csrf, 'POST /staff carries X-CSRF-Token');
      assert.ok(weak.body?.errors?.some((e) => e.field === 'password'), `a password field error: ${JSON.stringify(weak.body)}`);
      const summary = errorSummary(page);
      await summary.waitFor();
      assert.equal(await focusedTestId(page), 'error-summary', 'the error summary gets focus');
      assert.equal(await password.getAttribute('aria-invalid'), 'true', 'the password input is marked invalid');
      const pwError = await fieldError(page, password);
      assert.match(pwError, /legalább 12 karakter/i, `the password error is linked to the input, in Hungarian: "${pwError}"`);
      assert.equal(await summary.locator('a[href="#staff-password"]').count(), 1, 'the summary links to the password input');
      assert.equal(await email.getAttribute('aria-invalid'), null, 'the e-mail input is not marked');
      assert.equal(await rowFor(page, NEW_EMAIL).count(), 0, 'no account was made');
      await assertAccessible(page, 'the staff page with a password error');

      // A good password: 201, a success status, the new row in the refreshed list.
      const good = await createStaff(page, { name: NEW_NAME, email: NEW_EMAIL, role: 'clerk', password: GOOD_PASSWORD });
      assert.equal(good.status, 201, `good password: HTTP ${good.status} ${JSON.stringify(good.body)}`);
      assert.equal(good.body?.role, 'clerk', 'a clerk was made');
      const status = page.getByTestId('staff-status');
      await page.waitForFunction(() => /felvéve/.test(document.querySelector('[data-testid="staff-status"]')?.textContent ?? ''));
      assert.equal(await status.getAttribute('aria-live'), 'polite', 'the success message is in a live region');
      assert.ok((await textOf(status)).includes(NEW_EMAIL), 'the success message names the new account');
      assert.equal(await summary.isVisible(), false, 'the error summary is gone');
      assert.equal(await password.getAttribute('aria-invalid'), null, 'the password input is no longer marked');
      const newRow = rowFor(page, NEW_EMAIL);
      await newRow.waitFor();
      const newRowText = await textOf(newRow);
      assert.ok(newRowText.includes(NEW_NAME) && /ügyintéző/.test(newRowText), `the new row: "${newRowText}"`);
      assert.equal(await page.getByTestId('staff-row').count(), initialRows + 1, 'the list has one more row');
      assert.equal(await email.inputValue(), '', 'the form is emptied after success');

      // The same e-mail again: 409, a Hungarian message on the e-mail field.
      const dup = await createStaff(page, { name: 'Másik Név', email: NEW_EMAIL, role: 'clerk', password: GOOD_PASSWORD });
      assert.equal(dup.status, 409, `duplicate e-mail: HTTP ${dup.status} ${JSON.stringify(dup.body)}`);
      assert.equal(dup.body?.type, 'urn:kapu:problem:conflict', 'duplicate e-mail problem type');
      await summary.waitFor();
      assert.equal(await focusedTestId(page), 'error-summary', 'the error summary gets focus');
      assert.equal(await email.getAttribute('aria-invalid'), 'true', 'the e-mail input is marked invalid');
      const emailError = await fieldError(page, email);
      assert.match(emailError, /már van munkatárs/, `the duplicate error is on the e-mail input, in Hungarian: "${emailError}"`);
      assert.equal(await summary.locator('a[href="#staff-email"]').count(), 1, 'the summary links to the e-mail input');
      assert.equal(await status.innerText(), '', 'the old success message is gone');
      assert.equal(await page.getByTestId('staff-row').count(), initialRows + 1, 'no second account');
      await assertAccessible(page, 'the staff page with a duplicate e-mail error');

      // A reload stays on the page.
      await page.reload();
      await page.getByTestId('staff-heading').waitFor();
      await rowFor(page, NEW_EMAIL).waitFor();
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it('the new clerk signs in (fresh context) at #/staff and is told the page is not theirs', async () => {
    await withPage(browser, 'staff-new-clerk', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/#/staff'));
      await page.getByTestId('signin-form').waitFor();
      const step = await signIn(page, NEW_EMAIL, GOOD_PASSWORD);
      if (step === 'error') assert.fail(`the new clerk could not sign in: "${await textOf(errorSummary(page))}"`);
      assert.equal(step, 'home', 'a clerk without TOTP goes straight in');
      await page.getByTestId('forbidden-heading').waitFor();
      const who = await textOf(page.getByTestId('who'));
      assert.ok(who.includes(NEW_NAME) && who.includes('ügyintéző'), `signed in as the new clerk: "${who}"`);
      assert.match(await textOf(page.getByTestId('forbidden-message')), /Ezt az oldalt nem nyithatja meg: „Munkatársak”/);
      assert.equal(await page.getByTestId('staff-heading').count(), 0, 'no staff page for a clerk');
      assert.equal(await page.getByTestId('nav-staff').count(), 0, 'no staff link for a clerk');
      const links = (await page.getByRole('navigation', { name: 'Menü' }).getByRole('link').allInnerTexts()).map((l) => l.trim());
      assert.deepEqual(links, ['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó'], 'a clerk\'s navigation');
      // The server agrees: a clerk may neither list nor create staff.
      const me = await page.request.get(api('me'));
      const csrf = (await me.json()).csrf_token;
      const list = await page.request.get(api('staff'));
      assert.equal(list.status(), 403, `clerk GET /staff: HTTP ${list.status()}`);
      const create = await page.request.post(api('staff'), {
        headers: { 'X-CSRF-Token': csrf },
        data: { email: `x.${Date.now()}@example.hu`, display_name: 'X', role: 'clerk', password: GOOD_PASSWORD },
      });
      assert.equal(create.status(), 403, `clerk POST /staff: HTTP ${create.status()}`);
      assert.equal((await create.json()).type, 'urn:kapu:problem:forbidden', 'clerk POST /staff: problem type');
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
