// Munkatársak (`#/staff`): the tenant's staff accounts and a form for a new one.
import { ApiError, TENANT_ROLES, type Staff, type TenantRole } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary } from '../errors';
import { PASSWORD_MIN } from '../limits';
import { localError, sessionLost } from '../shell/problems';
import { number } from '../ui/format';
import { busy, heading, roleLabel, scrollTable, statusLine } from '../ui/widgets';
import type { Page, PageContext } from './page';

async function show(ctx: PageContext): Promise<void> {
  const { api } = ctx;
  const title = 'Munkatársak';
  let first: Staff[];
  try {
    first = await api.staff();
  } catch (e) {
    return ctx.loadFailed(title, 'staff-heading', e);
  }

  const errors = errorSummary();
  const status = statusLine('staff-status');
  const results = h('div', { 'data-testid': 'staff-results' });

  const showList = (staff: Staff[], fresh?: string) => {
    if (!staff.length) {
      replaceChildren(results, h('p', { 'data-testid': 'staff-empty' }, 'Még nincs munkatárs.'));
      return;
    }
    const rows = staff.map((s) => h('tr', {
      'data-testid': 'staff-row', 'data-email': s.email, 'data-role': s.role, class: s.id === fresh ? 'fresh' : null,
    },
      h('th', { scope: 'row' }, s.display_name),
      h('td', {}, s.email),
      h('td', {}, roleLabel[s.role]),
    ));
    const table = h('table', { 'data-testid': 'staff-table' },
      h('caption', { id: 'staff-caption' }, `Az önkormányzat munkatársai e-mail-cím szerint: ${number(staff.length)} fő.`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Név'),
        h('th', { scope: 'col' }, 'E-mail-cím'),
        h('th', { scope: 'col' }, 'Szerepkör'))),
      h('tbody', {}, rows));
    replaceChildren(results, scrollTable('staff-caption', table));
  };

  // The form for a new account.
  const name = h('input', {
    id: 'staff-name', name: 'display_name', type: 'text', autocomplete: 'off', required: true, 'data-testid': 'staff-name',
  });
  const email = h('input', {
    id: 'staff-email', name: 'email', type: 'email', autocomplete: 'off', required: true, spellcheck: 'false',
    autocapitalize: 'none', 'aria-describedby': 'staff-email-hint', 'data-testid': 'staff-email',
  });
  const role = h('select', { id: 'staff-role', name: 'role', 'aria-describedby': 'staff-role-hint', 'data-testid': 'staff-role' },
    TENANT_ROLES.map((r) => h('option', { value: r }, roleLabel[r])));
  const password = h('input', {
    id: 'staff-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
    minlength: String(PASSWORD_MIN), 'aria-describedby': 'staff-password-hint', 'data-testid': 'staff-password',
  });
  const fields = { display_name: name, email, role, password };
  const submit = h('button', { type: 'submit', 'data-testid': 'staff-submit' }, 'Munkatárs felvétele');
  const form = h('form', { novalidate: true, 'data-testid': 'staff-form', 'aria-labelledby': 'staff-new-heading' },
    h('div', { class: 'field' }, h('label', { for: 'staff-name' }, 'Név'), name),
    h('div', { class: 'field' },
      h('label', { for: 'staff-email' }, 'E-mail-cím'),
      h('p', { class: 'hint', id: 'staff-email-hint' }, 'Ezzel jelentkezik be; önkormányzaton belül egyedi.'),
      email),
    h('div', { class: 'field' },
      h('label', { for: 'staff-role' }, 'Szerepkör'),
      h('p', { class: 'hint', id: 'staff-role-hint' },
        'Az adminisztrátor a munkatársakat, az audit naplót és a háttérfeladatokat is kezeli.'),
      role),
    h('div', { class: 'field' },
      h('label', { for: 'staff-password' }, 'Kezdő jelszó'),
      h('p', { class: 'hint', id: 'staff-password-hint' },
        `Legalább ${PASSWORD_MIN} karakter, és ne tartalmazza az e-mail-cím @ előtti részét. `,
        'Az adminisztrátorok az első bejelentkezéskor kétlépcsős azonosítást (hitelesítő alkalmazást) is beállítanak.'),
      password),
    submit,
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    status.classList.remove('ok');
    replaceChildren(status);
    const wanted = {
      display_name: name.value.trim(),
      email: email.value.trim(),
      role: (TENANT_ROLES as readonly string[]).includes(role.value) ? (role.value as TenantRole) : 'clerk',
      password: password.value,
    };
    const missing = [];
    if (!wanted.display_name) missing.push({ field: 'display_name', message: 'Adja meg a munkatárs nevét.' });
    if (!wanted.email) missing.push({ field: 'email', message: 'Adja meg a munkatárs e-mail-címét.' });
    if (!wanted.password) missing.push({ field: 'password', message: 'Adjon meg kezdő jelszót.' });
    if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), fields);
    void busy(submit, async () => {
      let created: Staff;
      try {
        created = await api.createStaff(wanted);
      } catch (e) {
        if (sessionLost(e)) return ctx.fail(errors, e);
        // A refused password is cleared (it has to be retyped anyway); other fields keep their values.
        if (e instanceof ApiError && e.problem.errors?.some((fe) => fe.field === 'password')) password.value = '';
        if (e instanceof ApiError && e.kind === 'conflict') {
          return errors.show(new ApiError(e.status, { ...e.problem, detail: 'Ezzel az e-mail-címmel már van munkatársi fiók.' }, 'hu', [{
            field: 'email',
            message: `A(z) ${wanted.email} címmel már van munkatárs ennél az önkormányzatnál. Adjon meg másik e-mail-címet.`,
            lang: 'hu',
          }]), fields);
        }
        return ctx.fail(errors, e, fields);
      }
      form.reset();
      status.classList.add('ok');
      replaceChildren(status, `Új munkatárs felvéve: ${created.display_name} (${created.email}), ${roleLabel[created.role]}.`);
      try {
        showList(await api.staff(), created.id);
      } catch (e) {
        return ctx.fail(errors, e);
      }
      status.focus();
    });
  });

  showList(first);
  ctx.render(title, [
    heading(title, 'staff-heading'),
    h('p', { class: 'lead' }, 'Az önkormányzat ügyintézői és adminisztrátorai, akik a Kapu ügyintézői felületére bejelentkezhetnek.'),
    errors.el,
    h('section', { 'aria-labelledby': 'staff-list-heading' },
      h('h2', { id: 'staff-list-heading' }, 'Fiókok'),
      status,
      results),
    h('section', { 'aria-labelledby': 'staff-new-heading' },
      h('h2', { id: 'staff-new-heading' }, 'Új munkatárs'),
      form),
  ]);
}

export const staffPage: Page = { name: 'staff', hash: '#/staff', label: 'Munkatársak', permission: 'manage_staff', show };
