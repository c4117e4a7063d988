import assert from 'node:assert/strict';
// Shared helpers for the browser tests: configuration, Chromium, TOTP, axe-core.
// Not a test file itself (node --test only picks up *.test.mjs here).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as OTPAuth from 'otpauth';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

// ---- configuration ---------------------------------------------------------

/** Reads the environment the Rust test harness sets; fails loudly if something is missing. */
export function config(...names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    throw new Error(
      `missing environment variable(s): ${missing.join(', ')}.\n` +
        'These tests are meant to be started by the Rust test that boots `kapu serve`; see tests/browser/README.md.',
    );
  }
  const out = {};
  for (const n of names) out[n] = process.env[n];
  return out;
}

export function baseUrl() {
  return config('KAPU_BASE_URL').KAPU_BASE_URL.replace(/\/+$/, '');
}

/** `http://host/t/{slug}/` + rest */
export function tenantUrl(slug, rest = '') {
  return `${baseUrl()}/t/${encodeURIComponent(slug)}/${rest}`;
}

/** The portal's link to English: hreflang="en" / lang="en", or an href with lang=en. */
export const ENGLISH_SWITCH = 'a[hreflang="en"], a[lang="en"], a[href*="lang=en"]';

// ---- Chromium --------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches Debian's Chromium (never a downloaded browser). Playwright gives every
 * launch a fresh, temporary user-data-dir and removes it on close.
 */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  try {
    return await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (e) {
    throw new Error(
      `could not start Chromium at ${executablePath} (set CHROMIUM, or: apt-get install -y chromium):\n${e.message}`,
    );
  }
}

/**
 * A new context + page with diagnostics collected for failure reports.
 * Options are Playwright context options (e.g. { javaScriptEnabled: false }).
 */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ locale: 'hu-HU', viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => log.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 500) log.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.kapuLog = log;
  return { context, page };
}

/**
 * Runs `body(page)`; on failure adds the page URL, a visible text excerpt, the
 * browser log and a screenshot path to the error, so the failure says what the
 * browser saw.
 */
export async function withPage(browser, name, options, body) {
  const { context, page } = await openPage(browser, options);
  try {
    await body(page);
  } catch (err) {
    const notes = [];
    try {
      notes.push(`page URL: ${page.url()}`);
      const text = (await page.locator('body').innerText({ timeout: 2_000 })).replace(/\s+\n/g, '\n').trim();
      notes.push(`visible text:\n  ${text.slice(0, 1500).split('\n').join('\n  ')}`);
    } catch {
      /* the page may be gone */
    }
    try {
      const file = join(tmpdir(), `kapu-browser-${name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
      notes.push(`screenshot: ${file}`);
    } catch {
      /* best effort */
    }
    if (page.kapuLog.length) notes.push(`browser log:\n  ${page.kapuLog.slice(-20).join('\n  ')}`);
    err.message = `${err.message}\n--- ${name} ---\n${notes.join('\n')}`;
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

/** Navigates and insists on a 2xx HTML answer. */
export async function goto(page, url) {
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res) throw new Error(`no response for ${url}`);
  if (!res.ok()) throw new Error(`GET ${url} answered HTTP ${res.status()}`);
  return res;
}

// ---- TOTP ------------------------------------------------------------------

const PERIOD = 30;

export function totpFor(secretBase32) {
  return new OTPAuth.TOTP({
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secretBase32.replace(/[\s=]/g, '').toUpperCase()),
  });
}

export function currentStep(now = Date.now()) {
  return Math.floor(now / 1000 / PERIOD);
}

/** Polls the clock (no blind sleep) until the 30 s step is past `step`. */
export async function waitForStepAfter(step) {
  const deadline = Date.now() + (PERIOD + 5) * 1000;
  while (currentStep() <= step) {
    if (Date.now() > deadline) throw new Error('clock did not reach the next TOTP step');
    await sleep(250);
  }
}

/**
 * A code for the current step; if the step ends within `margin` seconds, waits
 * for the next one so that the code is not stale by the time the server checks it.
 */
export async function freshCode(totp, margin = 3) {
  const left = PERIOD - ((Date.now() / 1000) % PERIOD);
  if (left < margin) await waitForStepAfter(currentStep());
  const now = Date.now();
  return { code: totp.generate({ timestamp: now }), step: currentStep(now) };
}

/** Six digits that are valid in none of the steps the server may accept (now ± 2). */
export function wrongCode(totp) {
  const now = Date.now();
  const valid = new Set();
  for (let d = -2; d <= 2; d++) valid.add(totp.generate({ timestamp: now + d * PERIOD * 1000 }));
  for (let n = 0; ; n++) {
    const c = String((123456 + n * 111111) % 1_000_000).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

// ---- admin UI helpers ------------------------------------------------------

/** The error summary of the admin UI. */
export function errorSummary(page) {
  return page.getByTestId('error-summary');
}

/**
 * Waits until one of the named locators is visible; returns its name.
 * Lets a test say "expected the overview, got this error instead".
 */
export async function firstVisible(page, candidates, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const [name, loc] of Object.entries(candidates)) {
      if (await loc.first().isVisible().catch(() => false)) return name;
    }
    await sleep(100);
  }
  throw new Error(`none of [${Object.keys(candidates).join(', ')}] became visible within ${timeout} ms`);
}

export async function textOf(locator) {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

/** The detail of the latest problem+json response to a request whose path ends with `suffix`. */
export function problemFrom(page, suffix) {
  return page
    .waitForResponse((r) => new URL(r.url()).pathname.endsWith(suffix) && r.request().method() === 'POST')
    .then(async (r) => ({ status: r.status(), body: await r.json().catch(() => null) }));
}

/**
 * Signs in on an open admin UI sign-in page. Returns what the page shows next:
 * 'totp', 'enrol', 'home' or 'error'.
 */
export async function signIn(page, email, password) {
  await page.getByLabel('E-mail-cím').fill(email);
  await page.getByLabel('Jelszó', { exact: true }).fill(password);
  await page.getByTestId('signin-submit').click();
  return firstVisible(page, {
    totp: page.getByTestId('totp-form'),
    enrol: page.getByTestId('enrol-form'),
    home: page.getByTestId('signout'),
    error: errorSummary(page),
  });
}

/**
 * Enters the current TOTP code. If the server refuses it (for instance because a
 * code of this 30 s step was already used, by an earlier test run or login),
 * waits for the next step by polling the clock and tries once more.
 */
/**
 * Opens `url`, waits for the sign-in form, signs in and fails the test unless the step that
 * follows is `expected` (`home` or `totp`). `who` names the account in failure messages.
 */
export async function signInAt(page, url, email, password, expected, who) {
  await goto(page, url);
  await page.getByTestId('signin-form').waitFor();
  const step = await signIn(page, email, password);
  if (step === 'error') assert.fail(`${who} sign-in failed: "${await textOf(errorSummary(page))}"`);
  assert.equal(step, expected, `${who}: expected the ${expected} step after the password`);
  return step;
}

export async function enterTotp(page, totp) {
  const code = page.getByTestId('totp-code');
  let attempt = await freshCode(totp);
  for (let tries = 1; ; tries++) {
    await code.fill(attempt.code);
    await page.getByTestId('totp-submit').click();
    const outcome = await firstVisible(page, { home: page.getByTestId('signout'), error: errorSummary(page) });
    if (outcome === 'home') return;
    const shown = await textOf(errorSummary(page));
    if (tries >= 2) throw new Error(`TOTP code refused twice; the page says: "${shown}"`);
    // Probably a replayed code: wait for a new step, then use its code.
    await waitForStepAfter(attempt.step);
    attempt = await freshCode(totp, 0);
  }
}

// ---- axe-core --------------------------------------------------------------

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Runs axe-core (WCAG 2.1 A + AA) in the page; returns the violations. */
export async function axeViolations(page) {
  // page.evaluate goes through the DevTools protocol, so a strict CSP on the page does not block it.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    (tags) =>
      // eslint-disable-next-line no-undef
      window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    WCAG_TAGS,
  );
  return result.violations;
}

export function formatViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 8)
        .map((n) => {
          const summary = (n.failureSummary || '').split('\n').map((l) => `        ${l.trim()}`).join('\n');
          return `    - ${n.target.join(' ')}\n      ${n.html.slice(0, 200)}\n${summary}`;
        })
        .join('\n');
      const more = v.nodes.length > 8 ? `\n    … and ${v.nodes.length - 8} more element(s)` : '';
      return `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.helpUrl}\n${nodes}${more}`;
    })
    .join('\n');
}

/** Fails with a readable list when axe finds WCAG 2.1 AA violations. */
export async function assertAccessible(page, what) {
  const violations = await axeViolations(page);
  if (violations.length) {
    throw new Error(`axe-core: ${violations.length} WCAG 2.1 AA violation(s) on ${what} (${page.url()}):\n${formatViolations(violations)}`);
  }
}

/**
 * axe-core for a page opened with JavaScript disabled. There, timers never fire, so axe
 * cannot run in the page itself (and a second DevTools session cannot turn scripts back
 * on). Instead the page's current DOM is served, at the same URL, to a fresh context with
 * JavaScript on (its stylesheets and images still come from the server), and axe checks that.
 */
export async function assertAccessibleWithoutScripts(page, what) {
  const url = page.url();
  const html = await page.content();
  const context = await page.context().browser().newContext({
    bypassCSP: true,
    javaScriptEnabled: true,
    locale: 'hu-HU',
    viewport: page.viewportSize() ?? { width: 1280, height: 900 },
  });
  try {
    context.setDefaultTimeout(30_000);
    const copy = await context.newPage();
    await copy.route(
      (u) => u.href === url,
      (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    await copy.goto(url, { waitUntil: 'load' });
    await assertAccessible(copy, `${what} (its DOM, rendered without JavaScript)`);
  } finally {
    await context.close().catch(() => {});
  }
}
