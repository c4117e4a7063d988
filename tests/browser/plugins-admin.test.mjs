// The tenant admin's plugins page (#/plugins): an upload that is no component is refused on its
// field; the Citynform plugin is installed from its files, a configuration its schema refuses is
// shown per setting, a good one is saved without the secret ever coming back; the plugin's
// failed calls are listed; removal asks first. Accessible throughout.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertAccessible, config, enterTotp, errorSummary, launchBrowser, signInAt, tenantUrl, textOf, totpFor, withPage } from './helpers.mjs';

const env = config(
  'KAPU_TENANT_A', 'KAPU_ADMIN_EMAIL', 'KAPU_ADMIN_PASSWORD', 'KAPU_ADMIN_TOTP_SECRET',
  'KAPU_CITYNFORM_MANIFEST', 'KAPU_CITYNFORM_COMPONENT', 'KAPU_CITYNFORM_URL', 'KAPU_CITYNFORM_KEY',
);

describe('tenant admin plugins page', { timeout: 240_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('admin: installs, configures (bad values refused per setting), lists errors and removes a plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kapu-plugin-'));
    const garbage = join(dir, 'garbage.wasm');
    writeFileSync(garbage, 'this is not a WebAssembly component');
    await withPage(browser, 'plugins-admin', {}, async (page) => {
      page.on('dialog', (d) => void d.accept());
      await signInAt(page, tenantUrl(env.KAPU_TENANT_A, 'admin/'), env.KAPU_ADMIN_EMAIL, env.KAPU_ADMIN_PASSWORD, 'totp', 'admin');
      await enterTotp(page, totpFor(env.KAPU_ADMIN_TOTP_SECRET));
      await page.getByTestId('tenant-name').waitFor();
      await page.getByRole('navigation', { name: 'Menü' }).getByRole('link', { name: 'Bővítmények', exact: true }).click();
      await page.getByTestId('plugins-heading').waitFor();
      assert.match(page.url(), /#\/plugins$/);
      await assertAccessible(page, 'plugins page');

      // Not a component: refused on the component field, nothing installed.
      await page.getByTestId('plugin-manifest').setInputFiles(env.KAPU_CITYNFORM_MANIFEST);
      await page.getByTestId('plugin-component').setInputFiles(garbage);
      await page.getByTestId('plugin-install').click();
      await errorSummary(page).waitFor();
      assert.equal(await page.getByTestId('plugin-component').getAttribute('aria-invalid'), 'true');
      assert.match(await textOf(errorSummary(page)), /WebAssembly magic number/);
      await assertAccessible(page, 'plugins page with an upload error');

      // The real one: installed, waiting for its configuration, whose form opens.
      await page.getByTestId('plugin-component').setInputFiles(env.KAPU_CITYNFORM_COMPONENT);
      const installed = page.waitForResponse((r) => r.url().endsWith('/api/v1/plugins') && r.request().method() === 'POST');
      await page.getByTestId('plugin-install').click();
      assert.equal((await installed).status(), 201);
      const row = page.locator('[data-testid="plugin-row"][data-name="citynform"]');
      await row.waitFor();
      assert.equal(await textOf(row.getByTestId('plugin-status')), 'Beállításra vár');
      assert.match(await textOf(row), /parkolás/);
      await page.getByTestId('plugin-config-form').waitFor();

      // A host the manifest does not allow and a missing secret: both named at their fields.
      await page.getByTestId('plugin-setting-base-url').fill('https://evil.example/');
      await page.getByTestId('plugin-config-submit').click();
      await errorSummary(page).waitFor();
      assert.equal(await page.getByTestId('plugin-setting-base-url').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByTestId('plugin-setting-api-key').getAttribute('aria-invalid'), 'true');
      assert.match(await textOf(errorSummary(page)), /evil\.example címet a bővítmény leírója nem engedi/, 'the refusal in Hungarian, by its code');
      await assertAccessible(page, 'plugin configuration with errors');

      await page.getByTestId('plugin-setting-base-url').fill(env.KAPU_CITYNFORM_URL);
      await page.getByTestId('plugin-setting-api-key').fill(env.KAPU_CITYNFORM_KEY);
      const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/plugins/citynform/config'));
      await page.getByTestId('plugin-config-submit').click();
      const answer = await saved;
      assert.equal(answer.status(), 200);
      assert.ok(!(await answer.text()).includes(env.KAPU_CITYNFORM_KEY), 'the secret is not returned');
      await page.getByTestId('plugins-status').filter({ hasText: 'Beállítva: citynform.' }).waitFor();
      assert.equal(await textOf(row.getByTestId('plugin-status')), 'Beállítva');

      // Opening the form again shows the stored URL and only that a secret is stored.
      await row.getByTestId('plugin-configure').click();
      assert.equal(await page.getByTestId('plugin-setting-base-url').inputValue(), env.KAPU_CITYNFORM_URL);
      assert.equal(await page.getByTestId('plugin-setting-api-key').inputValue(), '');
      assert.match(await textOf(page.getByTestId('plugin-detail')), /el van tárolva/);
      assert.ok(!(await page.content()).includes(env.KAPU_CITYNFORM_KEY), 'the secret is nowhere on the page');

      await row.getByTestId('plugin-errors').click();
      await page.getByTestId('plugin-errors-empty').waitFor();
      await assertAccessible(page, 'plugin errors');

      await row.getByTestId('plugin-remove').click();
      await page.getByTestId('plugins-status').filter({ hasText: 'Eltávolítva: citynform.' }).waitFor();
      assert.equal(await page.locator('[data-testid="plugin-row"][data-name="citynform"]').count(), 0);
    });
  });
});
