// 4. axe-core: no WCAG 2.1 A/AA violation on the portal home (both languages)
//    and on the admin sign-in pages.
import { after, before, describe, it } from 'node:test';
import { assertAccessible, baseUrl, config, ENGLISH_SWITCH, goto, launchBrowser, tenantUrl, withPage } from './helpers.mjs';

const env = config('KAPU_BASE_URL', 'KAPU_TENANT_A', 'KAPU_TENANT_B');

describe('accessibility (axe-core, WCAG 2.1 AA)', { timeout: 180_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const slug of [env.KAPU_TENANT_A, env.KAPU_TENANT_B]) {
    it(`portal home of ${slug}, Hungarian and English`, async () => {
      await withPage(browser, `a11y-portal-${slug}`, { bypassCSP: true }, async (page) => {
        await goto(page, tenantUrl(slug));
        await assertAccessible(page, `the portal home of ${slug} (hu)`);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator(ENGLISH_SWITCH).first().click()]);
        await assertAccessible(page, `the portal home of ${slug} (en)`);
      });
    });
  }

  it('admin sign-in page of a tenant', async () => {
    await withPage(browser, 'a11y-admin-signin', { bypassCSP: true }, async (page) => {
      await goto(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'));
      await page.getByTestId('signin-form').waitFor();
      await assertAccessible(page, 'the tenant admin sign-in page');
    });
  });

  it('operator console sign-in page', async () => {
    await withPage(browser, 'a11y-operator-signin', { bypassCSP: true }, async (page) => {
      await goto(page, `${baseUrl()}/admin/`);
      await page.getByTestId('signin-form').waitFor();
      await assertAccessible(page, 'the operator sign-in page');
    });
  });
});
