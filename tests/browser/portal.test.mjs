// 3. The citizen portal home of each tenant: its own name, Hungarian by default,
//    an English switch, and all of it without JavaScript.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { config, ENGLISH_SWITCH, goto, launchBrowser, tenantUrl, textOf, withPage } from './helpers.mjs';

const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_TENANT_A_NAME', 'KAPU_TENANT_B', 'KAPU_TENANT_B_NAME');


const tenants = [
  { slug: env.KAPU_TENANT_A, name: env.KAPU_TENANT_A_NAME, other: env.KAPU_TENANT_B_NAME },
  { slug: env.KAPU_TENANT_B, name: env.KAPU_TENANT_B_NAME, other: env.KAPU_TENANT_A_NAME },
];

async function assertTenantPage(page, t, lang) {
  assert.equal(await page.locator('html').getAttribute('lang'), lang, `<html lang> on ${page.url()}`);
  const title = await page.title();
  assert.ok(title.includes(t.name), `<title> "${title}" should contain "${t.name}"`);
  const h1 = page.locator('h1');
  assert.ok((await h1.count()) >= 1, 'the page has an h1');
  const h1Text = await textOf(h1.first());
  assert.ok(h1Text.includes(t.name), `<h1> "${h1Text}" should contain "${t.name}"`);
  const body = await page.locator('body').innerText();
  if (!t.name.includes(t.other) && !t.other.includes(t.name)) assert.ok(!body.includes(t.other), `the other tenant's name "${t.other}" must not appear`);
}

describe('citizen portal home (JavaScript disabled)', { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const t of tenants) {
    it(`/t/${t.slug}/ shows "${t.name}" in Hungarian, and in English after the switch`, async () => {
      await withPage(browser, `portal-${t.slug}`, { javaScriptEnabled: false }, async (page) => {
        const res = await goto(page, tenantUrl(t.slug));
        assert.match(res.headers()['content-type'] ?? '', /^text\/html/, 'portal home content type');
        await assertTenantPage(page, t, 'hu');

        const sw = page.locator(ENGLISH_SWITCH);
        assert.ok((await sw.count()) > 0, `no English switch found (looked for ${ENGLISH_SWITCH})`);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), sw.first().click()]);
        assert.ok(new URL(page.url()).pathname.startsWith(`/t/${t.slug}/`), `the switch stays on the tenant: ${page.url()}`);
        await assertTenantPage(page, t, 'en');
      });
    });
  }
});
