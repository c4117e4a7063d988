// 12. Cases end to end, without JavaScript on the portal: a KAÜ-identified resident applies for
//     a residential parking permit (a wrong plate first: the error summary links to the field,
//     which is marked aria-invalid), gets a case number and the automated decision, whose sealed
//     PDF then arrives on the case page: downloading it delivers it (the case shows delivered);
//     applies for
//     an official certificate (fixed duty: it waits for the payment, which the harness confirms
//     through the payments interface, and is then decided automatically); applies for a
//     public-space use permit (fee from area, days and zone), a clerk asks for missing
//     information in the admin UI, the resident answers on the portal, the clerk drafts the
//     decision and sends it to a signatory; the drafter cannot approve it, the admin does, and
//     the case card then shows the sealed decision, which the resident's case page links.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  assertAccessible,
  assertAccessibleWithoutScripts,
  config,
  enterTotp,
  errorSummary,
  goto,
  launchBrowser,
  signInAt,
  tenantUrl,
  textOf,
  totpFor,
  withPage,
} from './helpers.mjs';

const env = config(
  'KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_CITIZEN_EMAIL', 'KAPU_CITIZEN_PASSWORD', 'KAPU_CLERK_EMAIL', 'KAPU_CLERK_PASSWORD',
  'KAPU_ADMIN_EMAIL', 'KAPU_ADMIN_PASSWORD', 'KAPU_ADMIN_TOTP_SECRET',
);
const portal = (rest) => tenantUrl(env.KAPU_TENANT_A, rest);
const YEAR = new Date().getFullYear();
const iso = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function citizenSignIn(page) {
  await goto(page, portal('belepes'));
  await page.locator('#email').fill(env.KAPU_CITIZEN_EMAIL);
  await page.locator('#password').fill(env.KAPU_CITIZEN_PASSWORD);
  await page.getByRole('button', { name: 'Belépés' }).click();
  await page.waitForURL(/\/profil$/);
}

/** The case number and state on the case page the portal shows after submitting. */
async function filedCase(page) {
  await page.locator('#filed').waitFor();
  const number = (await textOf(page.locator('#case-number'))).replace(/^.*:\s*/, '');
  assert.match(number, new RegExp(`^HV-${YEAR}-\\d{6}$`));
  return { number, id: new URL(page.url()).pathname.split('/').pop() };
}

/** Reloads the case page until it shows a file number: the worker files the case in DMS One (the records simulator). */
async function waitForFileNumber(page, timeout = 15_000) {
  const until = Date.now() + timeout;
  for (;;) {
    if (await page.locator('#file-number').count()) return textOf(page.locator('#file-number'));
    if (Date.now() > until) assert.fail('the case was not filed in the records system');
    await page.waitForTimeout(250);
    await page.reload();
  }
}

/** Reloads the case page until its state is `state` (the harness confirms payments in the background). */
async function waitForState(page, state, timeout = 15_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const shown = await page.locator('#case-state').getAttribute('data-state');
    if (shown === state) return;
    if (Date.now() > until) assert.fail(`case state stayed ${shown}, expected ${state}`);
    await page.waitForTimeout(250);
    await page.reload();
  }
}

describe('cases', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('a resident gets a parking permit decided automatically', async () => {
    await withPage(browser, 'parking permit', { javaScriptEnabled: false }, async (page) => {
      await citizenSignIn(page);
      await goto(page, portal('ugyintezes'));
      await page.getByRole('link', { name: 'Lakossági várakozási hozzájárulás' }).click();
      await assertAccessibleWithoutScripts(page, 'the parking permit form');
      await page.locator('#f-vehicle').fill('B-AB 1234');
      await page.locator('#f-address-postcode').fill('1126');
      await page.locator('#f-address-city').fill('Budapest');
      await page.locator('#f-address-street').fill('Böszörményi út 23.');
      await page.locator('#f-valid_from').fill(iso(1));
      await page.locator('#submit').click();
      const summary = page.locator('.error-summary');
      await summary.waitFor();
      const link = summary.locator('a[href="#f-vehicle"]');
      assert.match(await textOf(link), /Forgalmi rendszám: Ez nem magyar forgalmi rendszám/);
      assert.ok(await summary.locator('a[href="#f-declaration"]').count(), 'the missing declaration is listed too');
      assert.equal(await page.locator('#f-vehicle').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#f-vehicle').getAttribute('aria-describedby'), /f-vehicle-error/);
      assert.equal(await page.locator('#f-address-street').inputValue(), 'Böszörményi út 23.', 'the typed values stay');
      await assertAccessibleWithoutScripts(page, 'the form with its errors');

      await page.locator('#f-vehicle').fill('abc123');
      await page.locator('#f-declaration').check();
      await page.locator('#submit').click();
      const { number, id } = await filedCase(page);
      assert.equal(await page.locator('#case-state').getAttribute('data-state'), 'decided');
      assert.match(await textOf(page.locator('#decision')), /helyt adtunk.*első várakozási hozzájárulás díjmentes/);
      await goto(page, portal('ugyeim'));
      assert.match(await textOf(page.locator('table.cases')), new RegExp(`${number}.*Lakossági várakozási hozzájárulás.*Döntés született`, 's'));

      // The sealed decision arrives on the case page (the worker seals and time-stamps it).
      await goto(page, portal(`ugyeim/${id}`));
      const decisionLink = page.getByRole('link', { name: /A határozat letöltése/ });
      const until = Date.now() + 60_000;
      while (!(await decisionLink.count())) {
        assert.ok(Date.now() < until, 'the decision document appears within 60 s');
        await page.waitForTimeout(250);
        await page.reload();
      }
      await assertAccessibleWithoutScripts(page, 'the case page with its decision document');
      const [download] = await Promise.all([page.waitForEvent('download'), decisionLink.click()]);
      assert.match(download.suggestedFilename(), new RegExp(`^hatarozat-${number}\\.pdf$`));
      const pdf = await readFile(await download.path());
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      await page.reload();
      assert.equal(await page.locator('#case-state').getAttribute('data-state'), 'delivered');
      assert.match(await textOf(page.locator('#case-document')), /Kézbesítve \(letöltve\)/);
    });
  });

  it('an official certificate waits for its duty and is then decided automatically', async () => {
    await withPage(browser, 'official certificate', { javaScriptEnabled: false }, async (page) => {
      await citizenSignIn(page);
      await goto(page, portal('ugyintezes/official-certificate'));
      assert.match(await textOf(page.locator('#fee')), /3000 Ft illeték/);
      await page.locator('#f-purpose').selectOption('loan');
      await page.locator('#f-copies').fill('1');
      await page.locator('#submit').click();
      await filedCase(page);
      assert.match(await textOf(page.locator('#case-fee')), /^3000 Ft$/);
      await waitForState(page, 'decided');
      assert.match(await textOf(page.locator('#decision')), /helyt adtunk/);
    });
  });

  it('a public-space use permit: fee, missing information, four eyes', async () => {
    let caseId;
    let number;
    let fileNumber;
    await withPage(browser, 'public-space use, citizen', { javaScriptEnabled: false }, async (page) => {
      await citizenSignIn(page);
      await goto(page, portal('ugyintezes/public-space-use'));
      await page.locator('#f-purpose').selectOption('scaffolding');
      await page.locator('#f-location-postcode').fill('1122');
      await page.locator('#f-location-city').fill('Budapest');
      await page.locator('#f-location-street').fill('Városmajor utca 14.');
      await page.locator('#f-area_m2').fill('12');
      await page.locator('#f-from').fill(iso(10));
      await page.locator('#f-to').fill(iso(19));
      await page.locator('#f-objects-0-description').fill('homlokzati állvány');
      await page.locator('#f-objects-0-count').fill('1');
      // A Word file is refused by its content, whatever its name says.
      await page.locator('#f-site_plan').setInputFiles({ name: 'helyszinrajz.pdf', mimeType: 'application/pdf', buffer: Buffer.from('PK\u0003\u0004 not a pdf') });
      await page.locator('#submit').click();
      const link = page.locator('.error-summary a[href="#f-site_plan"]');
      assert.match(await textOf(link), /Helyszínrajz: helyszinrajz\.pdf: ilyen típusú fájlt nem fogadunk el/);
      await page.locator('#f-site_plan').setInputFiles({ name: 'helyszinrajz.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n') });
      await page.locator('#submit').click();
      ({ number, id: caseId } = await filedCase(page));
      assert.match(await textOf(page.locator('#case-fee')), /^12000 Ft$/, '12 m² × 10 days × 100 Ft in zone II');
      await waitForState(page, 'in_review');
      fileNumber = await waitForFileNumber(page);
      assert.match(fileNumber, new RegExp(`^XII/\\d+-1/${YEAR}$`), 'an iktatószám from DMS One');
    });

    await withPage(browser, 'public-space use, clerk', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'the clerk');
      await page.getByTestId('nav-cases').click();
      await page.getByTestId('cases-heading').waitFor();
      await assertAccessible(page, 'the worklist');
      await page.locator(`[data-testid="case-open"][data-case-id="${caseId}"]`).click();
      await page.getByTestId('case-heading').waitFor();
      assert.match(await textOf(page.getByTestId('rule-trace')), /clerk decides/);
      // The card shows the file number and the case's work in the local systems: filed in
      // DMS One; the tenant has no finance plugin, so the fee's receivable was not attempted.
      const filed = await textOf(page.getByTestId('case-file-number'));
      assert.ok(filed.startsWith(`${fileNumber} (érkeztetőszám: E-`), filed);
      assert.equal(await page.locator('[data-testid="local-work"][data-task="records.file"]').getAttribute('data-state'), 'done');
      assert.equal(await page.locator('[data-testid="local-work"][data-task="finance.receivable"]').getAttribute('data-state'), 'not_installed');
      assert.match(await textOf(page.locator('[data-testid="local-work"][data-task="finance.receivable"]')), /nincs bővítmény/);
      await page.getByTestId('info-request').fill('Kérjük, csatolja a tulajdonosi hozzájárulást.');
      await page.getByTestId('info-due').fill(iso(8));
      await page.getByTestId('info-send').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="case-state"]')?.textContent === 'Hiánypótlásra vár');
    });

    await withPage(browser, 'public-space use, answer', { javaScriptEnabled: false }, async (page) => {
      await citizenSignIn(page);
      await goto(page, portal(`ugyeim/${caseId}`));
      assert.match(await textOf(page.locator('#information-request')), /tulajdonosi hozzájárulást/);
      await page.locator('#answer').fill('A tulajdonosi hozzájárulást postán elküldtem, iktatószáma 123/2026.');
      await page.locator('#send-answer').click();
      await waitForState(page, 'in_review');
    });

    await withPage(browser, 'public-space use, decision', {}, async (page) => {
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_CLERK_EMAIL, env.KAPU_CLERK_PASSWORD, 'home', 'the clerk');
      await page.getByTestId('nav-cases').click();
      await page.locator(`[data-testid="case-open"][data-case-id="${caseId}"]`).click();
      await page.getByTestId('info-answer').waitFor();
      await page.getByTestId('decision-outcome').selectOption('grant');
      await page.getByTestId('decision-reason').fill('A hozzájárulás feltételei teljesülnek.');
      await page.getByTestId('decision-draft').click();
      await page.getByTestId('signatory').waitFor();
      assert.match(await textOf(page.getByTestId('decision-text')), /Közterület-használati díj: 12000 Ft\./);
      const admin = page.getByTestId('signatory').locator('option', { hasText: env.KAPU_ADMIN_EMAIL });
      await page.getByTestId('signatory').selectOption(await admin.getAttribute('value'));
      await page.getByTestId('signatory-send').click();
      await page.getByTestId('decision-approve').waitFor();
      // Four eyes: the drafter's own approval is refused.
      await page.getByTestId('decision-approve').click();
      await page.locator('[data-testid="error-summary"].visible').waitFor();
      assert.match(await textOf(errorSummary(page)), /other than its drafter \(four eyes\)/);
      await page.getByTestId('signout').click();
      // Signed out before going on: navigating away would abort the sign-out request.
      await page.getByTestId('signin-form').waitFor();

      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'the admin');
      await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
      await page.getByTestId('nav-cases').click();
      await page.locator(`[data-testid="case-open"][data-case-id="${caseId}"]`).click();
      await page.getByTestId('decision-approve').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="case-state"]')?.textContent === 'Döntés született');
      assert.match(await textOf(page.getByTestId('case-history')), /Kiadmányoz|decision approved by the signatory/);
      await assertAccessible(page, 'a decided case');
      // The case card shows the sealed decision once the worker has issued it.
      const until = Date.now() + 60_000;
      while (!(await page.locator('[data-testid="issued-decision"][data-status="issued"]').count())) {
        assert.ok(Date.now() < until, 'the case card shows the decision issued within 60 s');
        await page.waitForTimeout(250);
        await page.getByTestId('nav-cases').click();
        await page.locator(`[data-testid="case-open"][data-case-id="${caseId}"]`).click();
        await page.getByTestId('case-heading').waitFor();
      }
      assert.match(await textOf(page.getByTestId('issued-title')), /^Határozat – Közterület-használati hozzájárulás/);
      assert.match(await textOf(page.getByTestId('delivered-at')), /még nem töltötte le/);
      await assertAccessible(page, 'a case card with its issued decision');
    });

    await withPage(browser, 'public-space use, decided', { javaScriptEnabled: false }, async (page) => {
      await citizenSignIn(page);
      await goto(page, portal(`ugyeim/${caseId}`));
      assert.equal(await page.locator('#case-state').getAttribute('data-state'), 'decided');
      assert.match(await textOf(page.locator('#case-number')), new RegExp(number));
      assert.equal(await page.getByRole('link', { name: /A határozat letöltése/ }).count(), 1, 'the decision is linked');
    });
  });
});
