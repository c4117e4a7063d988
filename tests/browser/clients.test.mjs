// 7. The clients page (#/clients) for a clerk: the purpose of access (required, percent-encoded, sent
//    as X-Access-Reason with every call), a new natural person (a 422 shown on the field), the
//    search by name and birth date and by document number, and the in-person identification
//    against the registry simulator: "Minta Márta" is identified, the same person with another
//    mother's name is a mismatch that changes nothing. axe on the page empty, with results and
//    after the mismatch.
import assert from 'node:assert/strict';
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

// The registry simulator's person (platform/kapu-sim/src/registry.rs), with her identity card.
const MARTA = {
  family: 'Minta',
  given: 'Márta',
  mother: 'Kovács Ilona',
  birthPlace: 'Budapest',
  birthDate: '1980-05-17',
  postcode: '1126',
  city: 'Budapest',
  street: 'Böszörményi út 23-25.',
};
const DOCUMENT = '123456AB';

// Unique per run (the search by name finds earlier runs' clients too); no resident card, which is unique.
const RUN = Date.now();
const MARTA_EMAIL = `minta.marta.${RUN}@example.hu`;
const OTHER_EMAIL = `minta.marta.iren.${RUN}@example.hu`;

/** The purpose the clerk gives, in Hungarian; it travels percent-encoded. */
const REASON = 'személyes azonosítás (böngészőteszt)';

/** The id of the focused element. */
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));

/** The field error linked to an input by aria-describedby (an id ending in `-error`), as text. */
async function fieldError(page, locator) {
  const ids = ((await locator.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const id = ids.find((i) => i.endsWith('-error'));
  assert.ok(id, `no error linked by aria-describedby="${ids.join(' ')}"`);
  return textOf(page.locator(`#${id}`));
}

/** Counts the requests to the clients API from now on. */
function countClientCalls(page) {
  const seen = [];
  page.on('request', (r) => {
    if (/\/api\/v1\/clients(\/|\?|$)/.test(new URL(r.url()).pathname + new URL(r.url()).search)) seen.push(r);
  });
  return seen;
}

/** The answer to the next request to the clients API with this method, with the request's headers. */
function clientsCall(page, method, pathSuffix) {
  return page
    .waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname.endsWith(pathSuffix))
    .then(async (r) => ({
      status: r.status(),
      body: await r.json().catch(() => null),
      headers: await r.request().allHeaders(),
      url: r.url(),
    }));
}

async function fillPerson(page, p) {
  await page.getByTestId('new-family').fill(p.family);
  await page.getByTestId('new-given').fill(p.given);
  await page.getByTestId('new-mother').fill(p.mother);
  await page.getByTestId('new-birth-place').fill(p.birthPlace);
  await page.getByTestId('new-birth-date').fill(p.birthDate);
  await page.getByTestId('new-email').fill(p.email);
  await page.getByTestId('new-postcode').fill(p.postcode);
  await page.getByTestId('new-city').fill(p.city);
  await page.getByTestId('new-street').fill(p.street);
}

/** Creates a person through the form; asserts the 201 and the success status. */
async function createPerson(page, p) {
  await fillPerson(page, p);
  const answer = clientsCall(page, 'POST', '/api/v1/clients');
  await page.getByTestId('new-client-submit').click();
  const r = await answer;
  assert.equal(r.status, 201, `POST /clients: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(decodeURIComponent(r.headers['x-access-reason']), REASON, 'the purpose goes out as X-Access-Reason');
  assert.ok(r.headers['x-csrf-token'], 'POST /clients carries X-CSRF-Token');
  assert.equal(r.body?.identity?.mother_birth_name, p.mother, 'the server stored the mother’s name');
  assert.deepEqual(r.body?.addresses, [{ kind: 'permanent', postcode: p.postcode, city: p.city, street: p.street }], 'permanent address');
  assert.equal(r.body?.resident_card ?? null, null, 'no resident card');
  const status = page.getByTestId('clients-status');
  await page.waitForFunction(
    (el) => el.textContent.includes('Új ügyfél felvéve'),
    await status.elementHandle(),
  );
  assert.match(await textOf(status), /Új ügyfél felvéve: Minta Márta, született 1980\. május 17\./, 'success status');
  assert.equal(await focusedTestId(page), 'clients-status', 'focus moves to the status');
  return r.body;
}

const rowFor = (page, email) => page.locator(`[data-testid="client-row"][data-email="${email}"]`);

/** Selects the row's client and identifies her with the identity card; returns the status text. */
async function identify(page, email) {
  await rowFor(page, email).getByTestId('client-select').click();
  const heading = page.getByTestId('selected-heading');
  await heading.waitFor();
  assert.equal(await textOf(heading), 'Kiválasztott ügyfél: Minta Márta', 'the selected client');
  assert.equal(await focusedTestId(page), 'selected-heading', 'focus moves to the selected client');
  assert.match(await textOf(page.getByTestId('selected-details')), new RegExp(email.replace(/\./g, '\\.')), 'the details show her e-mail');
  await page.getByLabel('Okmány fajtája', { exact: true }).selectOption({ label: 'Személyi igazolvány' });
  await page.getByTestId('identify-number').fill(DOCUMENT);
  const answer = clientsCall(page, 'POST', '/identify');
  await page.getByTestId('identify-submit').click();
  const r = await answer;
  assert.equal(r.status, 200, `POST /identify: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(decodeURIComponent(r.headers['x-access-reason']), REASON, 'identify sends the purpose');
  const status = page.getByTestId('identify-status');
  await page.waitForFunction((el) => el.textContent.trim() !== '', await status.elementHandle());
  assert.equal(await status.getAttribute('role'), 'status', 'the outcome is in a status region');
  assert.equal(await status.getAttribute('aria-live'), 'polite', 'the outcome is announced');
  assert.equal(await focusedTestId(page), 'identify-status', 'focus moves to the outcome');
  return { status: await textOf(status), body: r.body };
}

describe('clients page (clerk)', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('clerk: purpose, new clients, search, in-person identification (match and mismatch), accessible', async () => {
    await withPage(browser, 'clients-clerk', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'clerk');
      await page.getByTestId('tenant-name').waitFor();

      // The clerk's navigation: the overview, the cases and the clients, nothing of the admin's.
      const nav = page.getByRole('navigation', { name: 'Menü' });
      await nav.waitFor();
      const links = (await nav.getByRole('link').allInnerTexts()).map((l) => l.trim());
      assert.deepEqual(links, ['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó'], 'clerk navigation links');
      await nav.getByRole('link', { name: 'Ügyfelek', exact: true }).click();
      await page.getByTestId('clients-heading').waitFor();
      assert.match(page.url(), /#\/clients$/, 'the fragment names the page');
      assert.equal(await page.getByTestId('nav-clients').getAttribute('aria-current'), 'page', 'clients is the current page');
      assert.equal(await focusedTestId(page), 'clients-heading', 'focus moves to the heading');
      assert.match(await page.title(), /^Ügyfelek – /, 'page title');
      await assertAccessible(page, 'the clients page, empty');

      const calls = countClientCalls(page);
      const purpose = page.getByLabel('Ügyintézés célja', { exact: true });
      assert.equal(await purpose.getAttribute('required'), '', 'the purpose is required');

      // Without a purpose nothing is sent; the error is on the purpose field.
      await page.getByTestId('search-family').fill(MARTA.family);
      await page.getByTestId('search-given').fill(MARTA.given);
      await page.getByTestId('search-birth').fill(MARTA.birthDate);
      await page.getByTestId('search-name-submit').click();
      await errorSummary(page).waitFor();
      assert.equal(await purpose.getAttribute('aria-invalid'), 'true', 'the purpose input is marked invalid');
      assert.match(await fieldError(page, purpose), /ügyintézés célját/, 'the error under the purpose');
      assert.equal(await focusedTestId(page), 'error-summary', 'focus moves to the error summary');

      assert.equal(calls.length, 0, `no client call without a purpose (saw ${calls.map((r) => r.url()).join(', ')})`);
      // Hungarian purposes travel percent-encoded (fetch cannot put UTF-8 in a header).
      await purpose.fill(REASON);

      // A birth date in the future: the server's 422, on the birth date input.
      await fillPerson(page, { ...MARTA, birthDate: '2100-01-01', email: MARTA_EMAIL });
      const refused = clientsCall(page, 'POST', '/api/v1/clients');
      await page.getByTestId('new-client-submit').click();
      const r422 = await refused;
      assert.equal(r422.status, 422, `future birth date: HTTP ${r422.status} ${JSON.stringify(r422.body)}`);
      assert.equal(r422.body?.errors?.[0]?.field, 'identity.birth_date', 'the server names the field');
      const birthInput = page.getByTestId('new-birth-date');
      await page.waitForFunction(() => document.getElementById('new-birth-date')?.getAttribute('aria-invalid') === 'true');
      assert.equal(await fieldError(page, birthInput), 'Nem lehet a jövőben.', 'Hungarian error under the birth date');
      assert.equal(await page.locator('#error-summary a[href="#new-birth-date"]').count(), 1, 'the summary links to the input');
      assert.equal(await focusedTestId(page), 'error-summary', 'focus moves to the error summary');
      assert.equal(await page.getByTestId('new-family').inputValue(), MARTA.family, 'the other fields are kept');

      // Minta Márta, then the same person with another mother's name.
      const marta = await createPerson(page, { ...MARTA, email: MARTA_EMAIL });
      assert.equal(await errorSummary(page).isVisible(), false, 'the error summary is gone');
      assert.equal(await birthInput.getAttribute('aria-invalid'), null, 'the birth date is no longer marked');
      await rowFor(page, MARTA_EMAIL).waitFor();
      const other = await createPerson(page, { ...MARTA, mother: 'Kovács Irén', email: OTHER_EMAIL });
      assert.notEqual(other.id, marta.id, 'two clients');

      // Found by name and birth date (earlier runs' Mártas too).
      await page.getByTestId('search-family').fill(MARTA.family);
      await page.getByTestId('search-given').fill(MARTA.given);
      await page.getByTestId('search-birth').fill(MARTA.birthDate);
      const searched = clientsCall(page, 'GET', '/api/v1/clients');
      await page.getByTestId('search-name-submit').click();
      const s = await searched;
      assert.equal(s.status, 200, `GET /clients: HTTP ${s.status} ${JSON.stringify(s.body)}`);
      assert.equal(decodeURIComponent(s.headers['x-access-reason']), REASON, 'the search sends the purpose');
      const q = new URL(s.url).searchParams;
      assert.deepEqual([q.get('family_name'), q.get('given_name'), q.get('birth_date')], ['Minta', 'Márta', '1980-05-17'], 'search query');
      await rowFor(page, OTHER_EMAIL).waitFor();
      const martaRow = rowFor(page, MARTA_EMAIL);
      await martaRow.waitFor();
      const rowText = await textOf(martaRow);
      for (const part of ['Minta Márta', '1980. május 17.', 'Kovács Ilona', MARTA_EMAIL]) {
        assert.ok(rowText.includes(part), `her row shows "${part}": "${rowText}"`);
      }
      assert.equal(await textOf(martaRow.getByTestId('client-document')), '–', 'no document number yet');
      assert.equal(await page.locator('#clients-caption').count(), 1, 'the table has a caption');
      assert.match(await textOf(page.getByTestId('clients-status')), /találat/, 'the status counts the results');
      await assertAccessible(page, 'the clients page with results');

      // Identified: the registry confirms her data and the identity card.
      const ok = await identify(page, MARTA_EMAIL);
      assert.equal(ok.body?.outcome, 'identified', `identify: ${JSON.stringify(ok.body)}`);
      assert.match(ok.status, /^Azonosítva/, `the outcome says "Azonosítva": "${ok.status}"`);
      assert.equal(await textOf(page.getByTestId('selected-document')), DOCUMENT, 'the document number is recorded');
      assert.equal(await textOf(rowFor(page, MARTA_EMAIL).getByTestId('client-document')), DOCUMENT, 'and shown in her row');

      // The same document for the person with another mother's name: a mismatch, nothing changed.
      const mismatch = await identify(page, OTHER_EMAIL);
      assert.equal(mismatch.body?.outcome, 'mismatch', `identify: ${JSON.stringify(mismatch.body)}`);
      assert.deepEqual(mismatch.body?.fields, ['mother_birth_name'], 'the registry names the mother’s name');
      assert.ok(mismatch.status.includes('anyja születési neve'), `the differing field in Hungarian: "${mismatch.status}"`);
      assert.match(mismatch.status, /semmi sem változott/i, `the outcome says nothing changed: "${mismatch.status}"`);
      assert.doesNotMatch(mismatch.status, /Azonosítva/, 'not identified');
      const fields = (await page.getByTestId('identify-fields').getByRole('listitem').allInnerTexts()).map((t) => t.trim());
      assert.deepEqual(fields, ['anyja születési neve'], 'the differing fields, listed');
      assert.equal(await textOf(page.getByTestId('selected-document')), '–', 'no document recorded for her');
      await assertAccessible(page, 'the clients page after a mismatch');

      // Found by the document number: Márta (whose document is now recorded), not the other.
      await page.getByTestId('search-document').fill('123456 ab');
      const byDoc = clientsCall(page, 'GET', '/api/v1/clients');
      await page.getByTestId('search-document-submit').click();
      const d = await byDoc;
      assert.equal(d.status, 200, `GET /clients?id_document: HTTP ${d.status}`);
      assert.equal(new URL(d.url).searchParams.get('id_document'), '123456 ab', 'sent as typed');
      await rowFor(page, MARTA_EMAIL).waitFor();
      assert.equal(await rowFor(page, OTHER_EMAIL).count(), 0, 'the mismatched person has no document');

      // A reload stays on the page.
      await page.reload();
      await page.getByTestId('clients-heading').waitFor();
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
