// 7. Citizen accounts on the portal, with JavaScript disabled: registration (a guessable
//    password is refused with an error summary and a field error, a strong one accepted),
//    the confirmation e-mail from the SMTP simulator, sign-in, the profile page, sign-out,
//    and the English sign-in page. axe-core on every form state.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { assertAccessibleWithoutScripts, config, ENGLISH_SWITCH, goto, launchBrowser, tenantUrl, textOf, withPage } from './helpers.mjs';

// KAPU_MAILBOX_URL: the SMTP simulator's HTTP mailbox API, where the confirmation e-mail is read.
const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_MAILBOX_URL');
const slug = env.KAPU_TENANT_A;
const mailbox = env.KAPU_MAILBOX_URL.replace(/\/+$/, '');

// JavaScript off, as a citizen's browser may be. (axe-core runs on a copy of the DOM in a
// context with JavaScript on: see assertAccessibleWithoutScripts.)
const NO_JS = { javaScriptEnabled: false };

const citizen = {
  name: 'Polgár Teszt Anna',
  email: `polgar.${Date.now()}@example.hu`,
  weak: 'password123',
  strong: 'Zöld-Kerítés-Alatt-Hét-Macska',
};
let registered = false;

/** Submits the page's form with its submit button and waits for the answer page. */
async function submit(page, buttonName) {
  const [res] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: buttonName, exact: true }).click(),
  ]);
  return res;
}

async function h1(page) {
  return textOf(page.locator('h1').first());
}

/** Polls the SMTP simulator (bounded) for the newest message to `address`; returns it in full. */
async function mailTo(address, timeout = 30_000) {
  const want = address.toLowerCase();
  const deadline = Date.now() + timeout;
  let seen = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${mailbox}/messages`);
    if (!res.ok) throw new Error(`GET ${mailbox}/messages answered HTTP ${res.status}`);
    seen = await res.json();
    const hit = seen
      .filter((m) => (m.rcpt_to ?? []).some((r) => r.replace(/^<|>$/g, '').toLowerCase() === want))
      .sort((a, b) => b.id - a.id)[0];
    if (hit) {
      const full = await fetch(`${mailbox}/messages/${hit.id}`);
      if (!full.ok) throw new Error(`GET ${mailbox}/messages/${hit.id} answered HTTP ${full.status}`);
      return full.json();
    }
    await sleep(200);
  }
  const recent = seen.slice(-5).map((m) => `#${m.id} to ${JSON.stringify(m.rcpt_to)}: ${m.subject}`);
  throw new Error(
    `no e-mail to ${address} arrived in the SMTP simulator within ${timeout} ms ` +
      `(is a job worker sending mail?); latest messages:\n  ${recent.join('\n  ') || '(none)'}`,
  );
}

describe('citizen accounts on the portal (JavaScript disabled)', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('registration: a guessable password is refused accessibly, a strong one is accepted; no sign-in before confirming', { timeout: 90_000 }, async () => {
    await withPage(browser, 'portal-register', NO_JS, async (page) => {
      await goto(page, tenantUrl(slug, 'regisztracio'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'hu', '<html lang> of the registration page');
      assert.equal(await h1(page), 'Regisztráció', 'h1 of the registration page');
      assert.equal(await page.locator('.error-summary').count(), 0, 'the empty form shows no error summary');
      await assertAccessibleWithoutScripts(page, 'the empty registration form');

      // A guessable password.
      await page.getByLabel('Név', { exact: true }).fill(citizen.name);
      await page.getByLabel('E-mail-cím', { exact: true }).fill(citizen.email);
      await page.getByLabel('Jelszó', { exact: true }).fill(citizen.weak);
      const refused = await submit(page, 'Regisztrálok');
      assert.equal(refused?.status(), 422, `a guessable password answers 422 (got ${refused?.status()})`);
      assert.ok((await page.title()).startsWith('Hiba:'), `the <title> "${await page.title()}" starts with "Hiba:"`);

      const summary = page.locator('.error-summary');
      await summary.waitFor();
      assert.equal(
        await page.evaluate(() => document.activeElement?.classList.contains('error-summary') ?? false),
        true,
        'the error summary has the focus when the page loads (autofocus, no script needed)',
      );
      const link = summary.locator('a[href="#password"]');
      assert.equal(await link.count(), 1, 'the error summary links to the password field (href="#password")');
      const fieldError = page.locator('#password-error');
      assert.ok(await fieldError.isVisible(), 'the password field shows its error (#password-error)');
      const message = await textOf(fieldError);
      assert.match(message, /kitalálható/, `the password error says it is guessable: "${message}"`);
      assert.equal(await textOf(link), message, 'the summary repeats the field error');

      const password = page.locator('#password');
      assert.equal(await password.getAttribute('aria-invalid'), 'true', 'the password input is aria-invalid');
      const describedBy = (await password.getAttribute('aria-describedby')) ?? '';
      assert.ok(describedBy.split(/\s+/).includes('password-error'), `aria-describedby "${describedBy}" names password-error`);
      assert.equal(await password.inputValue(), '', 'the refused password is not sent back');
      assert.equal(await page.locator('#display_name').inputValue(), citizen.name, 'the name is kept');
      assert.equal(await page.locator('#email').inputValue(), citizen.email, 'the e-mail address is kept');
      assert.equal(await page.locator('#email').getAttribute('aria-invalid'), null, 'the e-mail input is not marked invalid');

      // The summary's link takes the keyboard to the field, without JavaScript.
      await link.click();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'the summary link focuses the password input');
      await assertAccessibleWithoutScripts(page, 'the registration form with a password error');

      // A strong password.
      await password.fill(citizen.strong);
      const accepted = await submit(page, 'Regisztrálok');
      assert.equal(accepted?.status(), 200, `a strong password answers 200 (got ${accepted?.status()})`);
      assert.equal(await h1(page), 'Nézze meg a postafiókját', 'h1 after registering');
      assert.equal(await page.locator('.error-summary').count(), 0, 'no error summary after registering');
      await assertAccessibleWithoutScripts(page, 'the "check your mailbox" page');
      registered = true;

      // Not confirmed yet: the right password does not sign in, and says why.
      await goto(page, tenantUrl(slug, 'belepes'));
      await page.getByLabel('E-mail-cím', { exact: true }).fill(citizen.email);
      await page.getByLabel('Jelszó', { exact: true }).fill(citizen.strong);
      const early = await submit(page, 'Belépés');
      assert.equal(early?.status(), 403, `signing in before confirming answers 403 (got ${early?.status()})`);
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/belepes`, 'no sign-in before confirming');
      const said = await textOf(page.locator('.error-summary'));
      assert.match(said, /erősítse meg az e-mail-címét/, `the sign-in error asks to confirm the address first: "${said}"`);
      assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true', 'the e-mail input carries the error');
      await assertAccessibleWithoutScripts(page, 'the sign-in form with an error');
    });
  });

  it('the e-mailed link confirms the address; sign-in, profile, sign-out', { timeout: 120_000 }, async () => {
    assert.ok(registered, `the registration of ${citizen.email} did not succeed in the previous test`);
    const mail = await mailTo(citizen.email);
    const text = mail.text ?? '';
    const found = text.match(/https?:\/\/\S+?\/email-megerosites\?token=[^\s<>"]+/);
    assert.ok(found, `the confirmation e-mail (subject "${mail.subject}") has an …/email-megerosites?token=… link:\n${text}`);
    const confirmUrl = found[0];
    assert.equal(new URL(confirmUrl).origin, new URL(env.KAPU_BASE_URL).origin, `the link ${confirmUrl} points at the server`);
    assert.equal(new URL(confirmUrl).pathname, new URL(tenantUrl(slug, 'email-megerosites')).pathname, 'the link is under the tenant');

    await withPage(browser, 'portal-confirm-signin', NO_JS, async (page) => {
      await goto(page, confirmUrl);
      assert.equal(await h1(page), 'E-mail-cím megerősítve', 'h1 of the confirmation page');
      await assertAccessibleWithoutScripts(page, 'the confirmation page');

      // The link works once.
      const again = await page.goto(confirmUrl, { waitUntil: 'load' });
      assert.equal(again?.status(), 400, `a used link answers 400 (got ${again?.status()})`);
      assert.equal(await h1(page), 'A hivatkozás nem érvényes', 'h1 for a used link');

      // Sign in.
      await goto(page, tenantUrl(slug, 'belepes'));
      assert.equal(await h1(page), 'Belépés', 'h1 of the sign-in page');
      await assertAccessibleWithoutScripts(page, 'the sign-in page');
      await page.getByLabel('E-mail-cím', { exact: true }).fill(citizen.email);
      await page.getByLabel('Jelszó', { exact: true }).fill(citizen.strong);
      await submit(page, 'Belépés');
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/profil`, 'signing in lands on the profile');
      assert.equal(await h1(page), 'Adataim', 'h1 of the profile');
      const facts = await textOf(page.locator('main'));
      assert.ok(facts.includes(citizen.name), `the profile shows the name "${citizen.name}": ${facts}`);
      assert.ok(facts.includes(citizen.email), `the profile shows the e-mail address: ${facts}`);
      assert.ok(facts.includes('Regisztrált'), `the profile shows the level "Regisztrált": ${facts}`);
      await assertAccessibleWithoutScripts(page, 'the profile page');

      // Sign out.
      await submit(page, 'Kilépés');
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/`, 'signing out lands on the home page');
      const nav = page.getByRole('navigation', { name: 'Fiók' });
      assert.ok(await nav.getByRole('link', { name: 'Belépés', exact: true }).isVisible(), 'the home page offers sign-in again');
      await goto(page, tenantUrl(slug, 'profil'));
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/belepes`, 'after sign-out the profile sends to the sign-in page');
    });
  });

  it('the sign-in page in English', { timeout: 60_000 }, async () => {
    await withPage(browser, 'portal-signin-en', NO_JS, async (page) => {
      await goto(page, tenantUrl(slug, 'belepes'));
      assert.equal(await page.locator('html').getAttribute('lang'), 'hu', '<html lang> before the switch');
      const sw = page.locator(ENGLISH_SWITCH);
      assert.ok((await sw.count()) > 0, `no English switch found (looked for ${ENGLISH_SWITCH})`);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), sw.first().click()]);
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/belepes`, 'the switch stays on the sign-in page');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en', '<html lang> after the switch');
      assert.equal(await h1(page), 'Sign in', 'h1 in English');
      assert.ok(await page.getByLabel('Password', { exact: true }).isVisible(), 'the password input is labelled in English');
      await assertAccessibleWithoutScripts(page, 'the English sign-in page');
    });
  });
});
