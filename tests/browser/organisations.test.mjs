// 8. Organisations and mandates on the clients page (#/clients) for a clerk: a new organisation
//    with a mistyped tax number (the server's check-digit error, worded in Hungarian on the tax
//    number input), then a valid one (unique per run), which becomes the selected organisation;
//    a mandate for it with a representative account id that does not exist (the server's 422,
//    worded in Hungarian on that input). axe on the empty sections, the error states and the
//    created state. (A mandate with a real portal account is covered by the Rust e2e tests.)
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  assertAccessible,
  config,
  errorSummary,
  goto,
  launchBrowser,
  signIn,
  signInAt,
  tenantUrl,
  textOf,
  withPage,
} from './helpers.mjs';

const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_CLERK_EMAIL', 'KAPU_CLERK_PASSWORD');

/** A tax number whose check digit (the 8th) is wrong: 10773381-2-44 is the right one. */
const MISTYPED_TAX = '10773382-2-44';

/** A valid tax number, unique per run (a tax number can be registered once per tenant). */
function uniqueTaxNumber() {
  const d = Array.from({ length: 7 }, () => randomInt(10));
  const sum = [9, 7, 3, 1, 9, 7, 3].reduce((s, w, i) => s + w * d[i], 0);
  return `${d.join('')}${(10 - (sum % 10)) % 10}-2-44`;
}

const TAX = uniqueTaxNumber();
const ORG_NAME = `Böngészőteszt Kereskedelmi Kft. ${Date.now()}`;

/** The purpose the clerk gives, in Hungarian; it travels percent-encoded. */
const REASON = 'meghatalmazás rögzítése (böngészőteszt)';

/** The data-testid of the focused element. */
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));

/** The field error linked to an input by aria-describedby (an id ending in `-error`), as text. */
async function fieldError(page, locator) {
  const ids = ((await locator.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const id = ids.find((i) => i.endsWith('-error'));
  assert.ok(id, `no error linked by aria-describedby="${ids.join(' ')}"`);
  return textOf(page.locator(`#${id}`));
}

/** The answer to the next POST whose path ends with `suffix`, with the request's headers and body. */
function postTo(page, suffix) {
  return page
    .waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith(suffix))
    .then(async (r) => ({
      status: r.status(),
      body: await r.json().catch(() => null),
      headers: await r.request().allHeaders(),
      sent: r.request().postDataJSON(),
    }));
}

/** Records the requests to the mandates API from now on. */
function mandateCalls(page) {
  const seen = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.includes('/api/v1/mandates')) seen.push(r.url());
  });
  return seen;
}

/** Today's date in the browser's time zone (the tests and Chromium share it), as `YYYY-MM-DD`. */
function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

describe('organisations and mandates (clerk)', { timeout: 180_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('clerk: a mistyped tax number, a new organisation, a mandate for an unknown account; accessible', async () => {
    await withPage(browser, 'organisations-clerk', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'clerk');

      const nav = page.getByRole('navigation', { name: 'Menü' });
      await nav.waitFor();
      await nav.getByRole('link', { name: 'Ügyfelek', exact: true }).click();
      await page.getByTestId('clients-heading').waitFor();

      // The two sections, empty: the organisation form, and no mandate form before an organisation.
      const orgSection = page.getByRole('region', { name: 'Új szervezet', exact: true });
      const mandateSection = page.getByRole('region', { name: 'Meghatalmazás rögzítése', exact: true });
      await orgSection.waitFor();
      await mandateSection.waitFor();
      for (const label of ['Szervezet neve', 'Adószám', 'Cégjegyzékszám (nem kötelező)', 'Irányítószám', 'Település', 'Közterület és házszám']) {
        assert.equal(await orgSection.getByLabel(label, { exact: true }).count(), 1, `the organisation form has "${label}"`);
      }
      assert.match(await textOf(page.getByTestId('mandate-none')), /Előbb vegyen fel egy szervezetet/, 'no mandate without an organisation');
      assert.equal(await page.getByTestId('mandate-form').count(), 0, 'no mandate form yet');
      await assertAccessible(page, 'the clients page with empty organisation and mandate sections');

      await page.getByLabel('Ügyintézés célja', { exact: true }).fill(REASON);

      // A mistyped tax number: the server's 422, worded in Hungarian under the tax number input.
      const name = page.getByTestId('org-name');
      const tax = page.getByTestId('org-tax');
      await name.fill(ORG_NAME);
      await tax.fill(MISTYPED_TAX);
      const refused = postTo(page, '/api/v1/organisations');
      await page.getByTestId('org-submit').click();
      const r422 = await refused;
      assert.equal(r422.status, 422, `mistyped tax number: HTTP ${r422.status} ${JSON.stringify(r422.body)}`);
      assert.equal(r422.body?.errors?.[0]?.field, 'tax_number', 'the server names the tax number');
      assert.match(r422.body?.errors?.[0]?.message ?? '', /check digit/, 'the server says the check digit is wrong');
      assert.equal(decodeURIComponent(r422.headers['x-access-reason']), REASON, 'the purpose goes out as X-Access-Reason');
      assert.ok(r422.headers['x-csrf-token'], 'POST /organisations carries X-CSRF-Token');
      await page.waitForFunction(() => document.getElementById('org-tax')?.getAttribute('aria-invalid') === 'true');
      assert.equal(await fieldError(page, tax), 'Az adószám ellenőrző számjegye (8.) nem stimmel: elírás lehet.',
        'the Hungarian check-digit message under the tax number');
      assert.equal(await page.locator('#org-tax-error').getAttribute('lang'), null, 'the message is Hungarian (the page language)');
      assert.equal(await page.locator('#error-summary a[href="#org-tax"]').count(), 1, 'the summary links to the tax number');
      assert.equal(await focusedTestId(page), 'error-summary', 'focus moves to the error summary');
      assert.equal(await name.inputValue(), ORG_NAME, 'the name is kept');
      await assertAccessible(page, 'the organisation form with a tax number error');

      // A valid tax number: created, shown and selected.
      await tax.fill(TAX);
      const createdCall = postTo(page, '/api/v1/organisations');
      await page.getByTestId('org-submit').click();
      const created = await createdCall;
      assert.equal(created.status, 201, `POST /organisations: HTTP ${created.status} ${JSON.stringify(created.body)}`);
      assert.equal(created.body?.tax_number, TAX, 'the tax number as stored');
      assert.equal(created.sent?.seat ?? null, null, 'no seat sent');
      const org = created.body;
      const orgStatus = page.getByTestId('org-status');
      await page.waitForFunction((el) => el.textContent.includes('Új szervezet felvéve'), await orgStatus.elementHandle());
      assert.ok((await textOf(orgStatus)).includes(ORG_NAME), 'the status names the organisation');
      assert.equal(await orgStatus.getAttribute('role'), 'status', 'the outcome is in a status region');
      assert.equal(await focusedTestId(page), 'org-status', 'focus moves to the status');
      assert.equal(await errorSummary(page).isVisible(), false, 'the error summary is gone');
      assert.equal(await tax.getAttribute('aria-invalid'), null, 'the tax number is no longer marked');
      assert.equal(await textOf(page.getByTestId('org-detail-name')), ORG_NAME, 'the selected organisation’s name');
      assert.equal(await textOf(page.getByTestId('org-detail-tax')), TAX, 'its tax number');
      assert.equal(await textOf(page.getByTestId('org-detail-id')), org.id, 'its id');

      // The mandate form for it: the principal, scope * and today by default.
      const form = page.getByTestId('mandate-form');
      await form.waitFor();
      assert.match(await page.getByTestId('mandate-principal').inputValue(), new RegExp(TAX), 'the principal is the new organisation');
      const representative = mandateSection.getByLabel('Képviselő portálfiókjának azonosítója', { exact: true });
      assert.equal(await representative.count(), 1, 'the representative input is labelled');
      assert.match((await representative.getAttribute('aria-describedby')) ?? '', /mandate-representative-hint/, 'with a hint');
      assert.equal(await page.getByTestId('mandate-scope').inputValue(), '*', 'scope defaults to *');
      assert.equal(await page.getByTestId('mandate-from').inputValue(), today(), 'valid from defaults to today');
      assert.equal(await page.getByTestId('mandate-until').inputValue(), '', 'valid until is empty');
      await assertAccessible(page, 'the clients page with a new organisation and the mandate form');

      // Not an id at all: refused locally, nothing sent.
      const calls = mandateCalls(page);
      await representative.fill('nem-azonosito');
      await page.getByTestId('mandate-submit').click();
      await page.waitForFunction(() => document.getElementById('mandate-representative')?.getAttribute('aria-invalid') === 'true');
      assert.match(await fieldError(page, representative), /36 karakter/, 'a local error on the representative');
      assert.equal(calls.length, 0, `no mandate call for a malformed id (saw ${calls.join(', ')})`);

      // A well-formed id of no portal account: the server's 422 on that input, in Hungarian.
      const unknown = randomUUID();
      await representative.fill(unknown);
      const mandateCall = postTo(page, '/api/v1/mandates');
      await page.getByTestId('mandate-submit').click();
      const m = await mandateCall;
      assert.equal(m.status, 422, `unknown representative: HTTP ${m.status} ${JSON.stringify(m.body)}`);
      assert.equal(m.body?.errors?.[0]?.field, 'representative_account_id', 'the server names the representative');
      assert.deepEqual(m.sent, {
        principal_client_id: org.id,
        representative_account_id: unknown,
        scope: ['*'],
        valid_from: today(),
        valid_until: null,
      }, 'the mandate request');
      assert.equal(decodeURIComponent(m.headers['x-access-reason']), REASON, 'the mandate call sends the purpose');
      assert.ok(m.headers['x-csrf-token'], 'POST /mandates carries X-CSRF-Token');
      await page.waitForFunction(() => document.getElementById('mandate-representative-error')?.textContent.startsWith('Nincs ilyen portálfiók'));
      assert.match(await fieldError(page, representative), /^Nincs ilyen portálfiók/, 'the Hungarian error under the representative');
      assert.equal(await representative.getAttribute('aria-invalid'), 'true', 'the representative input is marked invalid');
      assert.equal(await focusedTestId(page), 'error-summary', 'focus moves to the error summary');
      assert.equal(await page.getByTestId('mandate-created-id').count(), 0, 'no mandate recorded');
      assert.equal(await page.getByTestId('mandate-list').count(), 0, 'no mandate listed');
      await assertAccessible(page, 'the mandate form with a representative error');

      // The selected organisation stays while the session lasts (page changes).
      await nav.getByRole('link', { name: 'Áttekintés', exact: true }).click();
      await page.getByTestId('tenant-name').waitFor();
      await nav.getByRole('link', { name: 'Ügyfelek', exact: true }).click();
      await page.getByTestId('clients-heading').waitFor();
      assert.equal(await textOf(page.getByTestId('org-detail-tax')), TAX, 'the organisation is still selected');
      await page.getByTestId('mandate-form').waitFor();

      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
