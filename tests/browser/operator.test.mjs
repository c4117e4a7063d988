// 2. The operator signs in at /admin/ on the platform host and sees every tenant.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  baseUrl,
  config,
  enterTotp,
  errorSummary,
  goto,
  launchBrowser,
  signIn,
  textOf,
  totpFor,
  withPage,
} from './helpers.mjs';

const env = config(
  'KAPU_BASE_URL',
  'KAPU_TENANT_A',
  'KAPU_TENANT_A_NAME',
  'KAPU_TENANT_B',
  'KAPU_TENANT_B_NAME',
  'KAPU_OPERATOR_EMAIL',
  'KAPU_OPERATOR_PASSWORD',
  'KAPU_OPERATOR_TOTP_SECRET',
);

describe('operator console', { timeout: 180_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('operator signs in with TOTP and sees both tenants in the tenant list', async () => {
    await withPage(browser, 'operator-signin', {}, async (page) => {
      await goto(page, `${baseUrl()}/admin/`);
      await page.getByTestId('signin-form').waitFor();
      assert.match(await textOf(page.getByTestId('context')), /Üzemeltetői konzol/, 'the app knows it is the operator console');

      const step = await signIn(page, env.KAPU_OPERATOR_EMAIL, env.KAPU_OPERATOR_PASSWORD);
      if (step === 'error') assert.fail(`operator sign-in failed: "${await textOf(errorSummary(page))}"`);
      assert.equal(step, 'totp', 'an operator with TOTP enabled must be asked for a code');
      await enterTotp(page, totpFor(env.KAPU_OPERATOR_TOTP_SECRET));

      const table = page.getByTestId('tenant-table');
      await table.waitFor();
      const rows = page.getByTestId('tenant-row');
      const seen = await rows.evaluateAll((trs) =>
        trs.map((tr) => ({ slug: tr.getAttribute('data-slug'), text: tr.textContent.replace(/\s+/g, ' ').trim() })),
      );
      for (const [slug, name] of [
        [env.KAPU_TENANT_A, env.KAPU_TENANT_A_NAME],
        [env.KAPU_TENANT_B, env.KAPU_TENANT_B_NAME],
      ]) {
        const row = seen.find((r) => r.slug === slug);
        assert.ok(row, `tenant "${slug}" missing from the tenant list; rows: ${JSON.stringify(seen)}`);
        assert.ok(row.text.includes(name), `row of "${slug}" should show "${name}": ${row.text}`);
      }
      // Under the tenants, the working-day calendar's coming years, each with its decree or
      // marked as missing (counting into a year without one waits).
      const years = await page.getByTestId('calendar-year').evaluateAll((trs) =>
        trs.map((tr) => ({ year: Number(tr.getAttribute('data-year')), decreed: tr.getAttribute('data-decreed') })),
      );
      const thisYear = new Date().getFullYear();
      assert.deepEqual(years.map((y) => y.year), [thisYear, thisYear + 1, thisYear + 2], 'this year and the next two');
      for (const y of years.filter((y) => y.decreed === 'false')) {
        assert.match(await textOf(page.getByTestId('calendar-missing')), new RegExp(String(y.year)), `${y.year} is named as missing`);
      }
      assert.equal(await table.getByRole('columnheader').count(), 4, 'the tenant table has column headers');

      await page.getByTestId('signout').click();
      await page.getByTestId('signin-form').waitFor();
    });
  });
});
