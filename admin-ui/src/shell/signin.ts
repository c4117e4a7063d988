// The sign-in views: e-mail and password, the TOTP step, and TOTP enrolment (QR code and
// secret, then a first code).
import { ApiError, type LoginResponse, type PlatformApi, type TenantApi } from '../api/client';
import { h, replaceChildren } from '../dom';
import { errorSummary } from '../errors';
import { qrSvg } from '../qr';
import { normaliseCode } from '../ui/format';
import { busy, heading } from '../ui/widgets';
import { localError, sessionLost } from './problems';

/** What the sign-in views need of the shell. */
export interface AuthShell {
  readonly api: TenantApi | PlatformApi;
  render(title: string, nodes: (Node | null)[], focus?: HTMLElement): void;
  /** A sign-in step succeeded: remember its CSRF token and go on to what the session needs next. */
  stepDone(r: LoginResponse): Promise<void> | void;
  /** The session is over (the shell's one handler for an expired session). */
  sessionLost(e: ApiError): void;
  signOut(): Promise<void>;
}

export function signInView(shell: AuthShell, notice?: string): void {
  const errors = errorSummary();
  const email = h('input', {
    id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true,
    spellcheck: 'false', autocapitalize: 'none', 'data-testid': 'email',
  });
  const password = h('input', {
    id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    'data-testid': 'password',
  });
  const submit = h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Bejelentkezés');
  const form = h('form', { novalidate: true, 'data-testid': 'signin-form', 'aria-labelledby': 'signin-heading' },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'E-mail-cím'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Jelszó'), password),
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const missing = [];
    if (!email.value.trim()) missing.push({ field: 'email', message: 'Adja meg az e-mail-címét.' });
    if (!password.value) missing.push({ field: 'password', message: 'Adja meg a jelszavát.' });
    if (missing.length) return errors.show(localError('Hiányzó adatok.', missing), { email, password });
    void busy(submit, async () => {
      try {
        await shell.stepDone(await shell.api.login(email.value.trim(), password.value));
      } catch (e) {
        password.value = '';
        errors.show(e, { email, password });
      }
    });
  });
  const title = heading('Bejelentkezés', 'signin-heading');
  title.id = 'signin-heading';
  shell.render('Bejelentkezés', [
    title,
    h('p', { class: 'lead' }, shell.api.scope === 'platform'
      ? 'A Kapu platform üzemeltetőinek felülete.'
      : 'Az önkormányzat munkatársainak felülete.'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    errors.el,
    form,
  ], notice ? undefined : email);
}

function codeForm(shell: AuthShell, testid: string, submitLabel: string, onCode: (code: string) => Promise<LoginResponse>) {
  const errors = errorSummary();
  const code = h('input', {
    id: 'totp-code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]*', maxlength: '9', required: true, 'aria-describedby': 'totp-code-hint',
    spellcheck: 'false', 'data-testid': 'totp-code', class: 'code',
  });
  const submit = h('button', { type: 'submit', 'data-testid': `${testid}-submit` }, submitLabel);
  const form = h('form', { novalidate: true, 'data-testid': `${testid}-form` },
    h('div', { class: 'field' },
      h('label', { for: 'totp-code' }, 'Ellenőrző kód'),
      h('p', { class: 'hint', id: 'totp-code-hint' }, 'A hitelesítő alkalmazásban látható hatjegyű szám.'),
      code),
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    errors.clear();
    const value = normaliseCode(code.value);
    if (value.length !== 6) {
      return errors.show(localError('Hibás kód.', [{ field: 'code', message: 'Adja meg a hatjegyű kódot.' }]), { code });
    }
    void busy(submit, async () => {
      try {
        await shell.stepDone(await onCode(value));
      } catch (e) {
        if (sessionLost(e)) return shell.sessionLost(e);
        code.value = '';
        errors.show(e, { code });
      }
    });
  });
  return { errors, code, form };
}

const backToSignIn = (shell: AuthShell): HTMLButtonElement =>
  h('button', { type: 'button', class: 'link', onclick: () => void shell.signOut() }, 'Vissza a bejelentkezéshez');

export function totpView(shell: AuthShell): void {
  const { errors, code, form } = codeForm(shell, 'totp', 'Ellenőrzés', (c) => shell.api.totp(c));
  shell.render('Kétlépcsős azonosítás', [
    heading('Kétlépcsős azonosítás', 'totp-heading'),
    h('p', { class: 'lead' }, 'Adja meg a hitelesítő alkalmazásban látható kódot.'),
    errors.el,
    form,
    backToSignIn(shell),
  ], code);
}

export async function enrolView(shell: AuthShell): Promise<void> {
  const { errors, code, form } = codeForm(shell, 'enrol', 'Beállítás befejezése', (c) => shell.api.enrolConfirm(c));
  const secretBox = h('div', { class: 'enrol-secret', 'data-testid': 'enrol-details' }, h('p', {}, 'Kulcs létrehozása…'));
  shell.render('Kétlépcsős azonosítás beállítása', [
    heading('Kétlépcsős azonosítás beállítása', 'enrol-heading'),
    h('p', { class: 'lead' },
      'A fiókjához kötelező a kétlépcsős azonosítás. Olvassa be a QR-kódot a hitelesítő alkalmazással, ',
      'vagy írja be kézzel a titkos kulcsot, majd adja meg az alkalmazás által mutatott kódot.'),
    errors.el,
    secretBox,
    form,
    backToSignIn(shell),
  ]);
  try {
    const enrolment = await shell.api.enrol();
    replaceChildren(secretBox,
      qrSvg(enrolment.otpauth_uri, 'QR-kód a hitelesítő alkalmazás beállításához'),
      h('dl', {},
        h('dt', {}, 'Titkos kulcs'),
        h('dd', {}, h('code', { 'data-testid': 'enrol-secret', class: 'secret' }, enrolment.secret)),
        h('dt', {}, 'Beállítási hivatkozás (otpauth URI)'),
        h('dd', {}, h('code', { 'data-testid': 'enrol-uri', class: 'uri' }, enrolment.otpauth_uri)),
      ),
    );
    code.focus();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return shell.sessionLost(e);
    replaceChildren(secretBox);
    errors.show(e);
  }
}
