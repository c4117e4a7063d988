// 9. National login (KAÜ): "Belépés KAÜ-val" on the portal's sign-in page leads to the KAÜ
//    simulator's login page; a test person signs in there and comes back to the portal signed
//    in and identified. Once with JavaScript off (the simulator's page then shows a button to
//    carry the answer back), once with it on (the answer is posted back by itself). A
//    refused answer shows why. axe-core on the portal's pages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertAccessibleWithoutScripts, config, goto, launchBrowser, tenantUrl, textOf, withPage } from './helpers.mjs';

const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_KAU_URL');
const slug = env.KAPU_TENANT_A;
const kau = env.KAPU_KAU_URL;

async function clickAndWait(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

/** From the portal's sign-in page to the simulator's login page. */
async function toKau(page) {
  await goto(page, tenantUrl(slug, 'belepes'));
  await clickAndWait(page, page.getByRole('link', { name: 'Belépés KAÜ-val' }));
  assert.ok(page.url().startsWith(`${kau}/kau/sso?`), `on the simulator: ${page.url()}`);
  assert.equal(await textOf(page.locator('h1').first()), 'Azonosítás');
}

describe('national login (KAÜ)', { timeout: 180_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('signs a test person in and identifies them, without JavaScript', async () => {
    await withPage(browser, 'kau-no-js', { javaScriptEnabled: false }, async (page) => {
      await goto(page, tenantUrl(slug, 'belepes'));
      await assertAccessibleWithoutScripts(page, 'the sign-in page with the KAÜ button');
      await toKau(page);
      await page.getByLabel(/Kovács János/).check();
      await page.getByLabel(/Ügyfélkapu\+/).check();
      await clickAndWait(page, page.getByRole('button', { name: 'Belépés' }));
      await clickAndWait(page, page.getByRole('button', { name: 'Tovább a szolgáltatóhoz' }));
      assert.equal(new URL(page.url()).pathname, `/t/${slug}/profil`);
      const body = await page.locator('main').innerText();
      assert.ok(body.includes('Kovács János'), body);
      assert.ok(body.includes('Ügyfélkapu+ (KAÜ) azonosítással azonosított'), body);
      await assertAccessibleWithoutScripts(page, 'the profile after a KAÜ sign-in');
    });
  });

  it('comes back by itself with JavaScript on', async () => {
    await withPage(browser, 'kau-js', {}, async (page) => {
      await toKau(page);
      await page.getByLabel(/Horváth Gábor/).check();
      await page.getByLabel(/DÁP/).check();
      await Promise.all([
        page.waitForURL((u) => u.pathname === `/t/${slug}/profil`, { waitUntil: 'load' }),
        page.getByRole('button', { name: 'Belépés' }).click(),
      ]);
      const body = await page.locator('main').innerText();
      assert.ok(body.includes('Horváth Gábor') && body.includes('(KAÜ)'), body);
    });
  });

  it('shows why an expired answer is refused', async () => {
    await withPage(browser, 'kau-refused', { javaScriptEnabled: false }, async (page) => {
      await toKau(page);
      await page.getByText('Tesztváltozat').click();
      await page.getByLabel('Válasz').selectOption('expired');
      await clickAndWait(page, page.getByRole('button', { name: 'Belépés' }));
      await clickAndWait(page, page.getByRole('button', { name: 'Tovább a szolgáltatóhoz' }));
      assert.equal(await textOf(page.locator('h1').first()), 'A KAÜ-belépés nem sikerült');
      assert.ok((await page.locator('[role=alert]').innerText()).includes('érvényessége lejárt'));
      assert.equal(await textOf(page.locator('#kau-code')), 'kau_expired');
      await assertAccessibleWithoutScripts(page, 'the KAÜ refusal page');
    });
  });
});
