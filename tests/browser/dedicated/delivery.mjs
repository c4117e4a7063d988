// A citizen downloads a sealed decision from the portal, with JavaScript off: "Dokumentumaim"
// lists it as not downloaded yet; "Letöltés (PDF)" downloads the PDF (its SHA-256 is the one
// the page shows); the page then shows it delivered; a download certificate is requested and
// appears. axe-core on the page in each state.
//
// Started by the Rust test `delivery::a_citizen_downloads_a_decision_in_chromium`, which issues
// the decision (seal, TSA simulator) and makes the citizen; it is not part of the general
// run (`node --test tests/browser/` picks only *.test.mjs; this folder holds none), and
// without its variables it fails.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertAccessibleWithoutScripts, config, goto, launchBrowser, tenantUrl, textOf, withPage } from '../helpers.mjs';

const env = process.env;
const needed = ['KAPU_BASE_URL', 'KAPU_DELIVERY_TENANT', 'KAPU_DELIVERY_EMAIL', 'KAPU_DELIVERY_PASSWORD', 'KAPU_DELIVERY_REFERENCE'];
// A missing variable fails the file (with its name), never skips it.
config(...needed);
const NO_JS = { javaScriptEnabled: false, acceptDownloads: true };

async function submit(page, buttonName) {
  const [res] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: buttonName, exact: true }).click(),
  ]);
  return res;
}

test('a citizen downloads a decision from the portal and asks for a download certificate', { timeout: 180_000 }, async () => {
  const slug = env.KAPU_DELIVERY_TENANT;
  const reference = env.KAPU_DELIVERY_REFERENCE;
  const browser = await launchBrowser();
  try {
    await withPage(browser, 'delivery', NO_JS, async (page) => {
      await goto(page, tenantUrl(slug, 'belepes'));
      await page.getByLabel('E-mail-cím', { exact: true }).fill(env.KAPU_DELIVERY_EMAIL);
      await page.getByLabel('Jelszó', { exact: true }).fill(env.KAPU_DELIVERY_PASSWORD);
      await submit(page, 'Belépés');

      // The navigation leads to the documents.
      await page.getByRole('navigation', { name: 'Fiók' }).getByRole('link', { name: 'Dokumentumaim', exact: true }).click();
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/dokumentumok`);
      assert.equal(await textOf(page.locator('h1')), 'Dokumentumaim');
      const item = page.locator('li.document', { hasText: reference });
      assert.equal(await item.count(), 1, `one document with ${reference}`);
      const before = await textOf(item);
      assert.ok(before.includes('Határozat') && before.includes('Még nem töltötte le.'), before);
      assert.equal(await item.getByRole('button', { name: 'Letöltési igazolás kérése' }).count(), 0, 'no certificate before the download');
      await assertAccessibleWithoutScripts(page, 'the documents page before the download');
      const shown = (await textOf(item.locator('code.sha256'))).trim();

      // The download: a PDF whose hash is the one shown.
      const [download] = await Promise.all([page.waitForEvent('download'), item.getByRole('link', { name: /Letöltés \(PDF\)/ }).click()]);
      assert.match(download.suggestedFilename(), /^hatarozat-.*\.pdf$/);
      const bytes = await readFile(await download.path());
      assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF');
      assert.equal(createHash('sha256').update(bytes).digest('hex'), shown, 'the SHA-256 shown is the file downloaded');

      // Delivered now; a download certificate can be asked for.
      await goto(page, tenantUrl(slug, 'dokumentumok'));
      const after = await textOf(page.locator('li.document', { hasText: reference }).first());
      assert.ok(after.includes('Kézbesítve (letöltve)'), after);
      await assertAccessibleWithoutScripts(page, 'the documents page after the download');
      await submit(page, 'Letöltési igazolás kérése');
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/dokumentumok`);

      // The certificate is issued by the worker; reload (bounded) until it is listed.
      const deadline = Date.now() + 60_000;
      let link = page.getByRole('link', { name: 'Letöltési igazolás letöltése (PDF)' });
      while ((await link.count()) === 0) {
        assert.ok(Date.now() < deadline, 'the download certificate appears within 60 s');
        await sleep(500);
        await goto(page, tenantUrl(slug, 'dokumentumok'));
        link = page.getByRole('link', { name: 'Letöltési igazolás letöltése (PDF)' });
      }
      const [certificate] = await Promise.all([page.waitForEvent('download'), link.first().click()]);
      assert.match(certificate.suggestedFilename(), /^letoltesi-igazolas-.*\.pdf$/);
      const cert = await readFile(await certificate.path());
      assert.equal(cert.subarray(0, 5).toString('latin1'), '%PDF-');
      await assertAccessibleWithoutScripts(page, 'the documents page with the certificate');

      // The English page.
      await goto(page, `${tenantUrl(slug, 'dokumentumok')}?lang=en`);
      assert.equal(await textOf(page.locator('h1')), 'My documents');
      assert.ok((await textOf(page.locator('main'))).includes('Delivered (downloaded)'));
    });
  } finally {
    await browser.close();
  }
});
