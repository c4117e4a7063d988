// Bővítmények (`#/plugins`): the tenant's plugins with their status and latest error,
// configuration, failed calls, installation and removal.
import type { Plugin, PluginCallError } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary, type FieldControl } from '../errors';
import { localError } from '../shell/problems';
import { number } from '../ui/format';
import { busy, heading, scrollTable, statusLine } from '../ui/widgets';
import type { Page, PageContext } from './page';

/** The plugin worlds (integration kinds), in Hungarian. */
const worldLabels: Record<string, string> = {
  parking: 'parkolás',
  records: 'iktatás',
  finance: 'pénzügy',
  registry: 'nyilvántartások',
  queue: 'ügyfélhívó',
};

/** Reads a file as base64 (the component's bytes travel base64 in JSON). */
async function fileBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The tenant's plugins: the list with status and latest error, configuration, failed calls, install and removal. */
async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Bővítmények';
  let first: Plugin[];
  try {
    first = await api.plugins();
  } catch (e) {
    return ctx.loadFailed(title, 'plugins-heading', e);
  }
  const errors = errorSummary();
  const status = statusLine('plugins-status');
  const results = h('div', { 'data-testid': 'plugins-results' });
  const detail = h('section', { 'data-testid': 'plugin-detail', 'aria-live': 'polite' });
  const failed = (e: unknown, fields?: Record<string, FieldControl>) => ctx.fail(errors, e, fields);
  const refresh = async (fresh?: string) => showList(await api.plugins(), fresh);

  const configForm = (p: Plugin) => {
    const fields: Record<string, HTMLInputElement | HTMLSelectElement> = {};
    const rows = p.settings.map((st) => {
      const id = `plugin-setting-${st.name}`;
      const hintId = `${id}-hint`;
      let control: HTMLInputElement | HTMLSelectElement;
      if (st.kind === 'boolean') {
        control = h('select', { id, name: st.name, 'data-testid': id, 'aria-describedby': hintId },
          h('option', { value: '' }, '–'), h('option', { value: 'true' }, 'igen'), h('option', { value: 'false' }, 'nem'));
        control.value = st.value ?? '';
      } else {
        control = h('input', {
          id, name: st.name, 'data-testid': id, 'aria-describedby': hintId, autocomplete: 'off', spellcheck: 'false',
          type: st.kind === 'secret' ? 'password' : st.kind === 'url' ? 'url' : 'text',
          inputmode: st.kind === 'integer' ? 'numeric' : null,
          required: st.required && !(st.kind === 'secret' && st.set),
        });
        control.value = st.value ?? '';
      }
      fields[`values.${st.name}`] = control;
      const hint = [st.description, st.kind === 'secret' && st.set ? 'Titok: el van tárolva; üresen hagyva megmarad.' : null]
        .filter(Boolean).join(' ');
      return h('div', { class: 'field' },
        h('label', { for: id }, `${st.name}${st.required ? ' (kötelező)' : ''}`),
        h('p', { class: 'hint', id: hintId }, hint || '\u00a0'),
        control);
    });
    const submit = h('button', { type: 'submit', 'data-testid': 'plugin-config-submit' }, 'Beállítások mentése');
    const form = h('form', { novalidate: true, 'data-testid': 'plugin-config-form', 'aria-labelledby': 'plugin-config-heading' }, rows, submit);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      replaceChildren(status);
      const values: Record<string, string> = {};
      for (const st of p.settings) {
        const v = fields[`values.${st.name}`]!.value.trim();
        // A secret left empty keeps the stored one: it is not sent.
        if (st.kind === 'secret' && v === '') continue;
        if (v !== '') values[st.name] = v;
      }
      void busy(submit, async () => {
        let saved: Plugin;
        try {
          saved = await api.configurePlugin(p.name, values);
        } catch (e) {
          return failed(e, fields);
        }
        replaceChildren(detail);
        try {
          await refresh(saved.name);
        } catch (e) {
          return failed(e);
        }
        // Announced once the list shows it configured (the browser test reads both).
        replaceChildren(status, `Beállítva: ${saved.name}.`);
        status.focus();
      });
    });
    replaceChildren(detail, h('h2', { id: 'plugin-config-heading', tabindex: '-1' }, `${p.name} beállításai`), form);
    detail.querySelector<HTMLElement>('h2')?.focus();
  };

  const errorList = (p: Plugin, list: PluginCallError[]) => {
    const body = list.length
      ? scrollTable('plugin-errors-caption', h('table', { 'data-testid': 'plugin-errors-table' },
        h('caption', { id: 'plugin-errors-caption' }, `${p.name}: ${number(list.length)} sikertelen hívás (legújabb elöl).`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Időpont'), h('th', { scope: 'col' }, 'Függvény'), h('th', { scope: 'col' }, 'Kód'), h('th', { scope: 'col' }, 'Üzenet'))),
        h('tbody', {}, list.map((e) => h('tr', { 'data-testid': 'plugin-error-row' },
          h('td', {}, new Date(e.at).toLocaleString('hu-HU')), h('td', {}, h('code', {}, e.function)), h('td', {}, h('code', {}, e.code)),
          h('td', { lang: 'en' }, e.message))))))
      : h('p', { 'data-testid': 'plugin-errors-empty' }, 'Nincs sikertelen hívás.');
    replaceChildren(detail, h('h2', { id: 'plugin-errors-heading', tabindex: '-1' }, `${p.name}: sikertelen hívások`), body);
    detail.querySelector<HTMLElement>('h2')?.focus();
  };

  const actions = (p: Plugin) => {
    const configure = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-configure', 'aria-label': `Beállítás: ${p.name}` }, 'Beállítás');
    configure.addEventListener('click', () => {
      errors.clear();
      configForm(p);
    });
    const errs = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-errors', 'aria-label': `Hibák: ${p.name}` }, 'Hibák');
    errs.addEventListener('click', () => void busy(errs, async () => {
      try {
        errorList(p, await api.pluginErrors(p.name));
      } catch (e) {
        return failed(e);
      }
    }));
    const remove = h('button', { type: 'button', class: 'quiet small', 'data-testid': 'plugin-remove', 'aria-label': `Eltávolítás: ${p.name}` }, 'Eltávolítás');
    remove.addEventListener('click', () => void busy(remove, async () => {
      if (!confirm(`Biztosan eltávolítja: ${p.name}? A beállításai és tárolt adatai is törlődnek.`)) return;
      try {
        await api.removePlugin(p.name);
        replaceChildren(detail);
        await refresh();
      } catch (e) {
        return failed(e);
      }
      replaceChildren(status, `Eltávolítva: ${p.name}.`);
      status.focus();
    }));
    return h('div', { class: 'actions' }, configure, ' ', errs, ' ', remove);
  };

  const showList = (list: Plugin[], fresh?: string) => {
    if (!list.length) {
      replaceChildren(results, h('p', { 'data-testid': 'plugins-empty' }, 'Még nincs telepített bővítmény.'));
      return;
    }
    const rows = list.map((p) => h('tr', { 'data-testid': 'plugin-row', 'data-name': p.name, class: p.name === fresh ? 'fresh' : null },
      h('th', { scope: 'row' }, p.name, h('br'), h('span', { class: 'hint', lang: 'en' }, p.description)),
      h('td', {}, worldLabels[p.world] ?? p.world),
      h('td', {}, `${p.version} (SDK ${p.sdk})`),
      h('td', { 'data-testid': 'plugin-status' }, p.status === 'configured' ? 'Beállítva' : 'Beállításra vár'),
      h('td', { 'data-testid': 'plugin-last-error' }, p.last_error
        ? [h('code', {}, p.last_error.code), ' ', h('span', { lang: 'en' }, p.last_error.message)]
        : '–'),
      h('td', {}, actions(p)),
    ));
    const table = h('table', { 'data-testid': 'plugins-table' },
      h('caption', { id: 'plugins-caption' }, `Telepített bővítmények: ${number(list.length)}.`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Név'),
        h('th', { scope: 'col' }, 'Terület'),
        h('th', { scope: 'col' }, 'Verzió'),
        h('th', { scope: 'col' }, 'Állapot'),
        h('th', { scope: 'col' }, 'Utolsó hiba'),
        h('th', { scope: 'col' }, 'Művelet'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('plugins-caption', table));
  };

  const manifest = h('input', { id: 'plugin-manifest', name: 'manifest', type: 'file', accept: '.toml', required: true, 'data-testid': 'plugin-manifest' });
  const component = h('input', { id: 'plugin-component', name: 'component', type: 'file', accept: '.wasm', required: true, 'data-testid': 'plugin-component' });
  const sha256 = h('input', {
    id: 'plugin-sha256', name: 'sha256', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'plugin-sha256-hint', 'data-testid': 'plugin-sha256',
  });
  const installFields = { manifest, component, sha256 };
  const submit = h('button', { type: 'submit', 'data-testid': 'plugin-install' }, 'Telepítés');
  const form = h('form', { novalidate: true, 'data-testid': 'plugin-install-form', 'aria-labelledby': 'plugin-new-heading' },
    h('div', { class: 'field' }, h('label', { for: 'plugin-manifest' }, 'Leíró (plugin.toml)'), manifest),
    h('div', { class: 'field' }, h('label', { for: 'plugin-component' }, 'Komponens (.wasm)'), component),
    h('div', { class: 'field' },
      h('label', { for: 'plugin-sha256' }, 'SHA-256 ellenőrzőösszeg (nem kötelező)'),
      h('p', { class: 'hint', id: 'plugin-sha256-hint' }, 'A gyártó által közölt érték; ha eltér, a telepítés elmarad.'),
      sha256),
    submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    replaceChildren(status);
    const m = manifest.files?.[0];
    const c = component.files?.[0];
    const missing = [];
    if (!m) missing.push({ field: 'manifest', message: 'Válassza ki a bővítmény leíróját (plugin.toml).' });
    if (!c) missing.push({ field: 'component', message: 'Válassza ki a bővítmény komponensét (.wasm).' });
    if (!m || !c) return errors.show(localError('Hiányzó adatok.', missing), installFields);
    void busy(submit, async () => {
      let installed: Plugin;
      try {
        installed = await api.installPlugin({ manifest: await m.text(), component: await fileBase64(c), sha256: sha256.value.trim() || null });
      } catch (e) {
        return failed(e, installFields);
      }
      form.reset();
      replaceChildren(status, `Telepítve: ${installed.name} ${installed.version}.${installed.status === 'configured' ? '' : ' Használat előtt állítsa be.'}`);
      try {
        await refresh(installed.name);
      } catch (e) {
        return failed(e);
      }
      if (installed.status !== 'configured') configForm(installed);
      else status.focus();
    });
  });

  showList(first);
  ctx.render(title, [
    heading(title, 'plugins-heading'),
    h('p', { class: 'lead' }, 'Csatlakozók a helyi rendszerekhez (parkolás, iktatás, pénzügy, ügyfélhívó) és a központi nyilvántartásokhoz.'),
    errors.el,
    h('section', { 'aria-labelledby': 'plugins-list-heading' },
      h('h2', { id: 'plugins-list-heading' }, 'Telepített bővítmények'),
      status,
      results),
    detail,
    h('section', { 'aria-labelledby': 'plugin-new-heading' },
      h('h2', { id: 'plugin-new-heading' }, 'Bővítmény telepítése'),
      form),
  ], { wide: true });
}

export const pluginsPage: Page = { name: 'plugins', hash: '#/plugins', label: 'Bővítmények', permission: 'manage_plugins', show };
