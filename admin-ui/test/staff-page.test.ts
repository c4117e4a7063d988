// A page driven through the PageContext the shell gives it, with a fake API: what the staff
// page sends, what it refuses locally, and that an ended session goes to the shell's handler.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type Me, type NewStaff, type Staff, type TenantApi } from '../src/api/client';
import { showProblem } from '../src/shell/problems';
import type { PageContext } from '../src/pages/page';
import { staffPage } from '../src/pages/staff';

const admin: Staff = { id: 'a1', email: 'admin@example.hu', display_name: 'Admin Anna', role: 'admin' };

function harness(api: Partial<TenantApi>) {
  const main = document.createElement('main');
  document.body.replaceChildren(main);
  const lost = vi.fn();
  const kept = new Map<string, unknown>();
  const ctx: PageContext = {
    api: api as TenantApi,
    me: { staff: admin, permissions: ['manage_staff'] } as unknown as Me,
    memory: { get: (k, initial) => (kept.has(k) ? kept.get(k) : initial) as never, set: (k, v) => void kept.set(k, v) },
    render: (_title, nodes) => main.replaceChildren(...nodes.filter((n): n is Node => n !== null)),
    fail: (errors, e, fields) => showProblem(errors, e, lost, fields),
    loadFailed: vi.fn(),
    isCurrent: () => true,
  };
  const $ = <T extends HTMLElement>(testid: string) => main.querySelector<T>(`[data-testid="${testid}"]`)!;
  const submit = async (form: HTMLFormElement) => {
    form.requestSubmit();
    await vi.waitFor(() => expect(form.querySelector('[aria-busy]')).toBeNull());
    await new Promise((r) => setTimeout(r, 0));
  };
  return { ctx, main, lost, $, submit };
}

describe('the staff page', () => {
  it('lists the accounts with their roles in Hungarian', async () => {
    const t = harness({ staff: async () => [admin] });
    await staffPage.show(t.ctx);
    const row = t.$('staff-row');
    expect(row.querySelector('th')?.textContent).toBe('Admin Anna');
    expect(row.textContent).toContain('adminisztrátor');
  });

  it('refuses an empty form locally and sends nothing', async () => {
    const createStaff = vi.fn();
    const t = harness({ staff: async () => [admin], createStaff });
    await staffPage.show(t.ctx);
    await t.submit(t.$<HTMLFormElement>('staff-form'));
    expect(createStaff).not.toHaveBeenCalled();
    expect(t.$('staff-name').getAttribute('aria-invalid')).toBe('true');
    expect(t.$('error-summary').textContent).toContain('Adja meg a munkatárs nevét.');
  });

  it('sends the trimmed form and announces the new account', async () => {
    const sent: NewStaff[] = [];
    const clerk: Staff = { id: 'c1', email: 'uj@example.hu', display_name: 'Új Ügyintéző', role: 'clerk' };
    const t = harness({ staff: async () => (sent.length ? [admin, clerk] : [admin]), createStaff: async (s) => (sent.push(s), clerk) });
    await staffPage.show(t.ctx);
    t.$<HTMLInputElement>('staff-name').value = ' Új Ügyintéző ';
    t.$<HTMLInputElement>('staff-email').value = 'uj@example.hu ';
    t.$<HTMLInputElement>('staff-password').value = 'hosszu-jelszo-123';
    await t.submit(t.$<HTMLFormElement>('staff-form'));
    expect(sent).toEqual([{ display_name: 'Új Ügyintéző', email: 'uj@example.hu', role: 'clerk', password: 'hosszu-jelszo-123' }]);
    expect(t.$('staff-status').textContent).toBe('Új munkatárs felvéve: Új Ügyintéző (uj@example.hu), ügyintéző.');
    expect(t.main.querySelectorAll('[data-testid="staff-row"]').length).toBe(2);
  });

  it('hands an ended session to the shell instead of showing it', async () => {
    const expired = new ApiError(401, { type: 'urn:kapu:problem:unauthenticated', title: 'Unauthenticated', status: 401, detail: 'session expired' });
    const t = harness({ staff: async () => [admin], createStaff: async () => { throw expired; } });
    await staffPage.show(t.ctx);
    t.$<HTMLInputElement>('staff-name').value = 'X';
    t.$<HTMLInputElement>('staff-email').value = 'x@example.hu';
    t.$<HTMLInputElement>('staff-password').value = 'hosszu-jelszo-123';
    await t.submit(t.$<HTMLFormElement>('staff-form'));
    expect(t.lost).toHaveBeenCalledWith(expired);
    expect(t.$('error-summary').classList.contains('visible')).toBe(false);
  });
});
