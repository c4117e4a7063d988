// The counter page (#/counter) for a clerk of tenant A, whose queue system is the Q-Fusion
// simulator through the qfusion plugin: the clerk sets counter 3, issues a ticket for a client
// from the client's card, and when the counter terminal calls it to window 3 (the simulator's
// control), the client's card appears on the open counter page without a reload. A clerk of
// tenant B (no queue plugin) is told so, and the page polls nothing. axe on the page with the card.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertAccessible, config, launchBrowser, signInAt, tenantUrl, textOf, withPage } from './helpers.mjs';

const env = config(
  'KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_TENANT_B', 'KAPU_CLERK_EMAIL', 'KAPU_CLERK_PASSWORD', 'KAPU_TENANT_B_CLERK_EMAIL',
  'KAPU_QFUSION_URL',
);

/** How often the counter page polls (`COUNTER_POLL_MS` in admin-ui/src/pages/counter.ts). */
const POLL_MS = 2_000;

// The client the harness registered for tenant A (tests/kapu-tests/tests/e2e/browser.rs).
const CLIENT = { family: 'Hívó', given: 'Hanna', birthDate: '1975-03-02' };

/** Counts the counter page's polls from now on. */
function countPolls(page) {
  const seen = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/api/v1/queue/counter') && r.method() === 'GET') seen.push(r);
  });
  return seen;
}

describe('counter page (clerk)', { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('clerk at counter 3 sees the called client\'s card appear without reloading', async () => {
    await withPage(browser, 'counter-clerk', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'clerk');
      await page.getByTestId('nav-counter').click();
      await page.getByTestId('counter-heading').waitFor();
      await page.getByTestId('counter-input').fill('3');
      await page.getByTestId('counter-save').click();
      await page.getByTestId('counter-status').filter({ hasText: 'Mentve: a(z) 3. ablaknál ül.' }).waitFor();
      await page.getByTestId('counter-waiting').waitFor();

      // Reception: a ticket for the client, from her card on the clients page.
      await page.getByTestId('nav-clients').click();
      await page.getByTestId('client-reason').fill('sorszám kérése (böngészőteszt)');
      await page.getByTestId('search-family').fill(CLIENT.family);
      await page.getByTestId('search-given').fill(CLIENT.given);
      await page.getByTestId('search-birth').fill(CLIENT.birthDate);
      await page.getByTestId('search-name-submit').click();
      await page.getByTestId('client-select').first().click();
      await page.getByTestId('ticket-service').fill('A');
      await page.getByTestId('ticket-submit').click();
      const ticketStatus = page.getByTestId('ticket-status');
      await ticketStatus.filter({ hasText: 'Sorszám:' }).waitFor();
      const number = /Sorszám: ([A-Z]\d{3})/.exec(await textOf(ticketStatus))?.[1];
      assert.ok(number, 'the ticket number is shown');

      // Back at the counter page; mark the document so that a reload would show.
      await page.getByTestId('nav-counter').click();
      await page.getByTestId('counter-waiting').waitFor();
      await page.evaluate(() => {
        window.kapuNotReloaded = true;
      });
      // The counter terminal calls the next client to window 3.
      const res = await fetch(`${env.KAPU_QFUSION_URL}/sim/counters/3/call-next`, { method: 'POST' });
      assert.equal(res.status, 200, 'the simulator called a ticket');
      const name = page.getByTestId('counter-client-name');
      await name.waitFor({ timeout: 20_000 });
      assert.equal(await textOf(name), `${CLIENT.family} ${CLIENT.given}`);
      assert.equal(await textOf(page.getByTestId('counter-ticket')), number);
      assert.equal(await textOf(page.getByTestId('counter-client-level')), 'nincs portálfiókja');
      assert.equal(await textOf(page.getByTestId('counter-client-cases')), 'nincs');
      assert.equal(await page.evaluate(() => window.kapuNotReloaded), true, 'the page was not reloaded');
      await page.getByTestId('counter-feed').filter({ hasText: 'naprakészek (utolsó sikeres olvasás' }).waitFor();
      await assertAccessible(page, 'counter page with a called client');
    });
  });

  it('a tenant without a queue plugin: the page says so and polls nothing', async () => {
    await withPage(browser, 'counter-no-plugin', {}, async (page) => {
      // The page runs on Playwright's clock (flowing as usual until moved on below), so that
      // "no polling" is checked without waiting for the poll interval in real time.
      await page.clock.install();
      await signInAt(page, tenantUrl(env.KAPU_TENANT_B, 'admin/'), env.KAPU_TENANT_B_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'clerk B');
      const polls = countPolls(page);
      await page.getByTestId('nav-counter').click();
      assert.match(await textOf(page.getByTestId('counter-no-plugin')), /nincs ügyfélhívó rendszer bekötve/);
      assert.equal(await page.getByTestId('counter-form').count(), 0, 'no counter to set');
      await assertAccessible(page, 'counter page without a queue plugin');
      // Two poll intervals and a margin pass on the page's clock at once: a poll timer would fire now.
      await page.clock.runFor(2 * POLL_MS + 500);
      // Then the clerk goes to the overview. Its request starts after any fetch those timers
      // started, and the browser reports requests in the order they start, so once the overview
      // has loaded every poll would have been counted.
      await page.getByTestId('nav-overview').click();
      await page.getByTestId('tenant-name').waitFor();
      assert.equal(polls.length, 1, 'one read when the page opened, no polling');
    });
  });
});
