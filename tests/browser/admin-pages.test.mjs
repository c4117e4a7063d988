// 5. The tenant admin's pages: audit log (with chain verification and paging) and background jobs;
//    clerks see neither.
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
  'KAPU_CLERK_PASSWORD',
);

const api = (rest) => tenantUrl(env.KAPU_TENANT_A, `api/v1/${rest}`);

const REASON = 'böngészőteszt';
/**
 * Node's HTTP client writes header strings as Latin-1 and refuses characters above U+00FF
 * (such as "ő"), so the reason goes out as its UTF-8 bytes, which the server decodes as UTF-8.
 */
const REASON_HEADER = Buffer.from(REASON, 'utf8').toString('latin1');

/** Reads of the client, so that the log has more than one page (50) of records. */
const EXTRA_READS = 52;

/** A number as the UI writes it (hu-HU groups thousands with a non-breaking space). */
const digits = (s) => Number(s.replace(/[\s\u00a0\u202f]/g, ''));

/** Calls the API with the browser context's session cookie (page.request shares the context's cookies). */
async function apiCall(page, method, rest, { body, csrf } = {}) {
  const headers = { Accept: 'application/json', 'X-Access-Reason': REASON_HEADER };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const res = await page.request.fetch(api(rest), { method, headers, data: body });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status(), json, text };
}

async function signInAdmin(page) {
  await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'admin');
  await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
  await page.getByTestId('tenant-name').waitFor();
}

/** The sequence numbers of the audit table's rows, top to bottom. */
async function shownSeqs(page) {
  return (await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).map(Number);
}

describe('tenant admin pages (audit log, background jobs)', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('admin: audit log lists, filters, pages and verifies; jobs page renders; both accessible', async () => {
    await withPage(browser, 'admin-pages', {}, async (page) => {
      await signInAdmin(page);

      // The admin navigation, with the overview current.
      const nav = page.getByRole('navigation', { name: 'Menü' });
      await nav.waitFor();
      const links = await nav.getByRole('link').allInnerTexts();
      assert.deepEqual(links.map((l) => l.trim()), ['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó', 'Munkatársak', 'Audit napló', 'Háttérfeladatok', 'Alkalmazások (SSO)', 'Bővítmények'], 'admin navigation links');
      assert.equal(await page.getByTestId('nav-overview').getAttribute('aria-current'), 'page', 'overview is the current page');

      // A client to read, created through the API with the browser's session.
      const me = await apiCall(page, 'GET', 'me');
      assert.equal(me.status, 200, `GET /me: HTTP ${me.status} ${me.text}`);
      const csrf = me.json?.csrf_token;
      assert.ok(csrf, `/me has no csrf_token: ${me.text}`);
      const created = await apiCall(page, 'POST', 'clients', {
        csrf,
        body: {
          email: 'teszt.elek@example.hu',
          identity: {
            family_name: 'Teszt',
            given_name: 'Elek',
            mother_birth_name: 'Minta Mária',
            birth_place: 'Pécs',
            birth_date: '1975-04-03',
          },
          id_document: '112233AB',
        },
      });
      assert.equal(created.status, 201, `POST /clients: HTTP ${created.status} ${created.text}`);
      const clientId = created.json?.id;
      assert.match(String(clientId), /^[0-9a-f-]{36}$/, `client id in ${created.text}`);
      for (let i = 0; i <= EXTRA_READS; i++) {
        const read = await apiCall(page, 'GET', `clients/${clientId}`);
        assert.equal(read.status, 200, `GET /clients/{id} (#${i + 1}): HTTP ${read.status} ${read.text}`);
      }

      // The audit page, newest first.
      await page.getByTestId('nav-audit').click();
      await page.getByTestId('audit-heading').waitFor();
      assert.match(page.url(), /#\/audit$/, 'the audit page has its own fragment');
      assert.equal(await page.getByTestId('nav-audit').getAttribute('aria-current'), 'page', 'audit is the current page');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'audit-heading',
        'focus moves to the new page heading');
      assert.match(await page.title(), /^Audit napló/, 'document title names the page');
      const table = page.getByTestId('audit-table');
      await table.waitFor();
      assert.ok((await textOf(table.locator('caption'))).length > 0, 'the audit table has a caption');
      for (const header of ['Sorszám', 'Időpont', 'Végrehajtó', 'Művelet', 'Ügyfél', 'Indok', 'Részletek']) {
        assert.equal(await table.getByRole('columnheader', { name: header, exact: true }).count(), 1, `column header "${header}"`);
      }
      const firstPage = await shownSeqs(page);
      assert.equal(firstPage.length, 50, `the first page shows 50 records (there are more than 50), got ${firstPage.length}`);
      for (let i = 1; i < firstPage.length; i++) {
        assert.ok(firstPage[i] < firstPage[i - 1], `records newest first: ${firstPage.slice(0, 10).join(', ')}…`);
      }
      const newest = table.getByTestId('audit-row').first();
      const newestText = await textOf(newest);
      assert.ok(newestText.includes('client.read'), `newest record is the client read: "${newestText}"`);
      assert.ok(newestText.includes(clientId), `newest record names the client: "${newestText}"`);
      assert.ok(newestText.includes(REASON), `newest record gives the reason "${REASON}": "${newestText}"`);
      assert.ok(newestText.includes(env.KAPU_ADMIN_EMAIL), `newest record names the admin: "${newestText}"`);
      assert.match(newestText, /[0-9a-f]{64}/, 'newest record shows its hash');

      // Older records: before = the smallest sequence number shown.
      const older = page.getByTestId('audit-older');
      const olderReq = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/audit'));
      await older.click();
      const req = new URL((await olderReq).url());
      assert.equal(req.searchParams.get('before'), String(Math.min(...firstPage)), `"Régebbiek" asks before the smallest seq: ${req}`);
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="audit-row"]').length > n,
        firstPage.length,
      );
      const both = await shownSeqs(page);
      assert.deepEqual(both.slice(0, firstPage.length), firstPage, 'older records are added below the first page');
      for (let i = 1; i < both.length; i++) assert.ok(both[i] < both[i - 1], 'still newest first, no repeats');
      assert.match(await textOf(page.getByTestId('audit-list-status')), /régebbi bejegyzés betöltve/, 'paging is announced');

      // Verify the chain: an aria-live status says it is intact.
      const status = page.getByTestId('verify-status');
      assert.equal(await status.getAttribute('role'), 'status', 'verification result is a status region');
      await page.getByTestId('verify-chain').click();
      await page.waitForFunction(() => /A lánc (ép|sérült)/.test(document.querySelector('[data-testid="verify-status"]')?.textContent ?? ''));
      const verdict = await textOf(status);
      const m = /^A lánc ép, ([\d\s\u00a0\u202f]+) bejegyzés/.exec(verdict);
      assert.ok(m, `verification should say the chain is intact, says "${verdict}"`);
      assert.ok(digits(m[1]) >= both.length, `verified ${m[1]} records, at least the ${both.length} shown`);

      // Filter by client: only records about that client.
      await page.getByLabel('Ügyfél azonosítója').fill('nem-uuid');
      await page.getByTestId('audit-filter-submit').click();
      await errorSummary(page).waitFor();
      assert.equal(await page.getByLabel('Ügyfél azonosítója').getAttribute('aria-invalid'), 'true', 'a bad client id is marked');
      await page.getByLabel('Ügyfél azonosítója').fill(clientId);
      const filterReq = page.waitForRequest((r) => new URL(r.url()).searchParams.get('client') === clientId);
      await page.getByTestId('audit-filter-submit').click();
      await filterReq;
      await page.waitForFunction(
        () => /Szűrve/.test(document.querySelector('[data-testid="audit-list-status"]')?.textContent ?? ''),
      );
      assert.equal(await page.getByTestId('audit-row').count(), 50, 'the filtered first page is full (1 create + 53 reads)');
      // Its older page keeps the filter and ends with the client's creation.
      const filteredOlder = page.waitForRequest((r) => {
        const u = new URL(r.url());
        return u.searchParams.get('client') === clientId && u.searchParams.has('before');
      });
      await page.getByTestId('audit-older').click();
      await filteredOlder;
      await page.getByTestId('audit-no-more').waitFor();
      const filtered = await page.getByTestId('audit-row').allInnerTexts();
      assert.equal(filtered.length, EXTRA_READS + 2, 'all records about the client: its creation and every read');
      for (const row of filtered) assert.ok(row.includes(clientId), `filtered row is about the client: "${row}"`);
      assert.ok(filtered.at(-1).includes('client.create'), `the oldest record about the client is its creation: "${filtered.at(-1)}"`);
      assert.ok(await page.getByTestId('audit-filter-clear').isVisible(), 'the filter can be cleared');

      await assertAccessible(page, 'the audit log');

      // Background jobs: nothing has been enqueued in this tenant, so the list is empty.
      await page.getByTestId('nav-jobs').click();
      await page.getByTestId('jobs-heading').waitFor();
      assert.match(page.url(), /#\/jobs$/, 'the jobs page has its own fragment');
      assert.equal(await page.getByTestId('nav-jobs').getAttribute('aria-current'), 'page', 'jobs is the current page');
      const empty = page.getByTestId('jobs-empty');
      await empty.waitFor();
      assert.match(await textOf(empty), /^Nincs .*háttérfeladat\.$/, 'empty jobs message');
      await page.getByLabel('Állapot').selectOption('dead');
      const jobsReq = page.waitForRequest((r) => new URL(r.url()).searchParams.get('state') === 'dead');
      await page.getByTestId('jobs-filter-submit').click();
      await jobsReq;
      await page.waitForFunction(() => /Sikertelen/.test(document.querySelector('[data-testid="jobs-empty"]')?.textContent ?? ''));
      await assertAccessible(page, 'the background jobs page');

      // A reload stays on the page (the fragment), back to the overview by the navigation.
      await page.reload();
      await page.getByTestId('jobs-heading').waitFor();
      await page.getByTestId('nav-overview').click();
      await page.getByTestId('tenant-name').waitFor();
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });

  it('clerk: only the overview, the cases, the clients and the counter in the navigation; an admin page says it is not allowed', async () => {
    await withPage(browser, 'clerk-no-admin-pages', {}, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/#/audit'));
      await page.getByTestId('signin-form').waitFor();
      const step = await signIn(page, env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD);
      if (step === 'error') assert.fail(`clerk sign-in failed: "${await textOf(errorSummary(page))}"`);
      // #/audit is not the clerk's: a clear Hungarian message instead of the page (or of the overview).
      await page.getByTestId('forbidden-heading').waitFor();
      assert.equal(await textOf(page.getByTestId('forbidden-heading')), 'Nincs jogosultsága');
      assert.match(await textOf(page.getByTestId('forbidden-message')), /Ezt az oldalt nem nyithatja meg: „Audit napló”/);
      assert.match(page.url(), /#\/audit$/, 'the address still names the page asked for');
      assert.equal(await page.getByTestId('audit-heading').count(), 0, 'no audit page for a clerk');
      assert.match(await page.title(), /^Nincs jogosultsága/, 'page title');
      await assertAccessible(page, 'the "no permission" page');
      await page.getByTestId('forbidden-home').click();
      await page.getByTestId('tenant-name').waitFor();
      const clerkNav = page.getByRole('navigation', { name: 'Menü' });
      const clerkLinks = (await clerkNav.getByRole('link').allInnerTexts()).map((l) => l.trim());
      assert.deepEqual(clerkLinks, ['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó'], 'a clerk\'s navigation: the overview, the cases, the clients and the counter');
      assert.equal(await page.getByRole('link', { name: 'Audit napló' }).count(), 0, 'no audit link for a clerk');
      // The server agrees: the admin endpoints are forbidden to clerks.
      for (const rest of ['audit', 'audit/verify', 'jobs', 'staff']) {
        const r = await apiCall(page, 'GET', rest);
        assert.equal(r.status, 403, `clerk GET /${rest}: HTTP ${r.status} ${r.text}`);
        assert.equal(r.json?.type, 'urn:kapu:problem:forbidden', `clerk GET /${rest}: problem type`);
      }
      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
