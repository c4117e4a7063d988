// Alkalmazások (SSO) (`#/oidc`): the relying parties of the tenant's OpenID Provider, a
// registration form and the rotation of its signing keys.
import { OIDC_SCOPES, type RelyingParty } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary } from '../errors';
import { localError } from '../shell/problems';
import { number } from '../ui/format';
import { busy, heading, scrollTable, statusLine } from '../ui/widgets';
import type { Page, PageContext } from './page';

const scopeLabels: Record<string, string> = {
  openid: 'openid – azonosító (kötelező)',
  profile: 'profile – név',
  email: 'email – e-mail-cím',
  address: 'address – lakcím',
  phone: 'phone – telefonszám',
  kapu_identity: 'kapu_identity – természetes személyazonosító adatok és azonosítási szint',
};

/** The OpenID Provider's relying parties: the list, a registration form and key rotation. */
async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Alkalmazások (SSO)';
  let first: RelyingParty[];
  try {
    first = await api.relyingParties();
  } catch (e) {
    return ctx.loadFailed(title, 'oidc-heading', e);
  }
  const errors = errorSummary();
  const status = statusLine('oidc-status');
  const results = h('div', { 'data-testid': 'oidc-results' });
  const kindLabel = (k: string) => (k === 'public' ? 'nyilvános (PKCE)' : 'bizalmas (titokkal)');

  const deleteButton = (p: RelyingParty) => {
    const del = h('button', { type: 'button', class: 'secondary', 'data-testid': 'oidc-delete', 'aria-label': `${p.name} törlése` }, 'Törlés');
    del.addEventListener('click', () => void busy(del, async () => {
      if (!confirm(`Biztosan törli: ${p.name}? A kiadott tokenjei is érvényüket vesztik.`)) return;
      try {
        await api.deleteRelyingParty(p.client_id);
        showList(await api.relyingParties());
      } catch (e) {
        return ctx.fail(errors, e);
      }
      replaceChildren(status, `Törölve: ${p.name}.`);
      status.focus();
    }));
    return del;
  };

  const showList = (parties: RelyingParty[], fresh?: string) => {
    if (!parties.length) {
      replaceChildren(results, h('p', { 'data-testid': 'oidc-empty' }, 'Még nincs regisztrált alkalmazás.'));
      return;
    }
    const rows = parties.map((p) => h('tr', { 'data-testid': 'oidc-row', 'data-client-id': p.client_id, class: p.client_id === fresh ? 'fresh' : null },
      h('th', { scope: 'row' }, p.name),
      h('td', {}, h('code', {}, p.client_id)),
      h('td', {}, kindLabel(p.kind)),
      h('td', {}, p.redirect_uris.join(' ')),
      h('td', {}, p.allowed_scopes.join(' ')),
      h('td', {}, p.id_token_alg),
      h('td', {}, deleteButton(p)),
    ));
    const table = h('table', { 'data-testid': 'oidc-table' },
      h('caption', { id: 'oidc-caption' }, `Regisztrált alkalmazások: ${number(parties.length)}.`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Név'),
        h('th', { scope: 'col' }, 'Ügyfél-azonosító (client_id)'),
        h('th', { scope: 'col' }, 'Típus'),
        h('th', { scope: 'col' }, 'Visszatérési címek'),
        h('th', { scope: 'col' }, 'Hatókörök'),
        h('th', { scope: 'col' }, 'Aláírás'),
        h('th', { scope: 'col' }, 'Művelet'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('oidc-caption', table));
  };

  const name = h('input', { id: 'oidc-name', name: 'name', type: 'text', autocomplete: 'off', required: true, 'data-testid': 'oidc-name' });
  const kind = h('select', { id: 'oidc-kind', name: 'kind', 'aria-describedby': 'oidc-kind-hint', 'data-testid': 'oidc-kind' },
    h('option', { value: 'confidential' }, kindLabel('confidential')),
    h('option', { value: 'public' }, kindLabel('public')));
  const redirects = h('input', {
    id: 'oidc-redirects', name: 'redirect_uris', type: 'text', autocomplete: 'off', required: true, spellcheck: 'false',
    'aria-describedby': 'oidc-redirects-hint', 'data-testid': 'oidc-redirects',
  });
  const logoutRedirects = h('input', {
    id: 'oidc-logout-redirects', name: 'post_logout_redirect_uris', type: 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'oidc-redirects-hint', 'data-testid': 'oidc-logout-redirects',
  });
  const alg = h('select', { id: 'oidc-alg', name: 'id_token_alg', 'data-testid': 'oidc-alg' },
    h('option', { value: 'RS256' }, 'RS256'), h('option', { value: 'ES256' }, 'ES256'));
  const scopeBoxes = OIDC_SCOPES.map((sc) => h('input', {
    id: `oidc-scope-${sc}`, type: 'checkbox', name: 'allowed_scopes', value: sc, checked: sc === 'openid', 'data-testid': `oidc-scope-${sc}`,
  }));
  const fields = { name, kind, redirect_uris: redirects, post_logout_redirect_uris: logoutRedirects, allowed_scopes: scopeBoxes[0]!, id_token_alg: alg };
  const submit = h('button', { type: 'submit', 'data-testid': 'oidc-submit' }, 'Alkalmazás regisztrálása');
  const secretBox = h('div', { 'data-testid': 'oidc-secret', role: 'status', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, 'data-testid': 'oidc-form', 'aria-labelledby': 'oidc-new-heading' },
    h('div', { class: 'field' }, h('label', { for: 'oidc-name' }, 'Név (a hozzájárulási képernyőn látszik)'), name),
    h('div', { class: 'field' },
      h('label', { for: 'oidc-kind' }, 'Típus'),
      h('p', { class: 'hint', id: 'oidc-kind-hint' }, 'Bizalmas: szerveroldali alkalmazás titokkal. Nyilvános: böngészős vagy mobil alkalmazás, titok nélkül, PKCE-vel.'),
      kind),
    h('div', { class: 'field' },
      h('label', { for: 'oidc-redirects' }, 'Visszatérési címek (redirect URI)'),
      h('p', { class: 'hint', id: 'oidc-redirects-hint' }, 'Pontos címek szóközzel elválasztva; https, vagy http csak 127.0.0.1, localhost, [::1] esetén.'),
      redirects),
    h('div', { class: 'field' }, h('label', { for: 'oidc-logout-redirects' }, 'Kilépés utáni visszatérési címek (nem kötelező)'), logoutRedirects),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Engedélyezett hatókörök'),
      scopeBoxes.map((box, i) => h('div', {}, box, ' ', h('label', { for: box.id }, scopeLabels[OIDC_SCOPES[i]!] ?? OIDC_SCOPES[i]!)))),
    h('div', { class: 'field' }, h('label', { for: 'oidc-alg' }, 'Azonosító token aláírása'), alg),
    submit,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    replaceChildren(status);
    replaceChildren(secretBox);
    const split = (v: string) => v.split(/\s+/).filter(Boolean);
    const wanted = {
      name: name.value.trim(),
      kind: kind.value === 'public' ? 'public' as const : 'confidential' as const,
      redirect_uris: split(redirects.value),
      post_logout_redirect_uris: split(logoutRedirects.value),
      allowed_scopes: scopeBoxes.filter((b) => b.checked).map((b) => b.value),
      id_token_alg: alg.value === 'ES256' ? 'ES256' as const : 'RS256' as const,
    };
    const missing = [];
    if (!wanted.name) missing.push({ field: 'name', message: 'Adja meg az alkalmazás nevét.' });
    if (!wanted.redirect_uris.length) missing.push({ field: 'redirect_uris', message: 'Adjon meg legalább egy visszatérési címet.' });
    if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), fields);
    void busy(submit, async () => {
      let created;
      try {
        created = await api.createRelyingParty(wanted);
      } catch (e) {
        return ctx.fail(errors, e, fields);
      }
      form.reset();
      scopeBoxes[0]!.checked = true;
      replaceChildren(status, `Regisztrálva: ${created.name}, ügyfél-azonosító: ${created.client_id}.`);
      if (created.client_secret) {
        replaceChildren(secretBox,
          h('p', {}, 'Az ügyfél titka (client_secret) – most másolja ki, később nem látható:'),
          h('p', {}, h('code', { 'data-testid': 'oidc-secret-value' }, created.client_secret)));
      }
      try {
        showList(await api.relyingParties(), created.client_id);
      } catch (e) {
        return ctx.fail(errors, e);
      }
      status.focus();
    });
  });

  const rotate = h('button', { type: 'button', 'data-testid': 'oidc-rotate' }, 'Aláírókulcsok cseréje');
  rotate.addEventListener('click', () => void busy(rotate, async () => {
    try {
      const kids = await api.rotateKeys();
      replaceChildren(status, `Új aláírókulcsok: ${kids.join(', ')}. A régiek a tokenjeik lejártáig közzétéve maradnak.`);
    } catch (e) {
      return ctx.fail(errors, e);
    }
    status.focus();
  }));

  showList(first);
  ctx.render(title, [
    heading(title, 'oidc-heading'),
    h('p', { class: 'lead' }, 'Külső alkalmazások, amelyekbe az ügyfelek a portálfiókjukkal léphetnek be (OpenID Connect).'),
    errors.el,
    h('section', { 'aria-labelledby': 'oidc-list-heading' },
      h('h2', { id: 'oidc-list-heading' }, 'Regisztrált alkalmazások'),
      status,
      secretBox,
      results,
      rotate),
    h('section', { 'aria-labelledby': 'oidc-new-heading' },
      h('h2', { id: 'oidc-new-heading' }, 'Új alkalmazás'),
      form),
  ], { wide: true });
}

export const oidcPage: Page = {
  name: 'oidc', hash: '#/oidc', label: 'Alkalmazások (SSO)', permission: 'manage_relying_parties', show,
};
