// A page driven through the PageContext the shell gives it, with a fake API: what the staff
// page sends, what it refuses locally, and that an ended session goes to the shell's handler.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type NewStaff, type Staff } from '../src/api/client';
import { staffPage } from '../src/pages/staff';
import { admin, harness } from './harness';

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
    const expired = new ApiError(401, { type: 'urn:kapu:problem:unauthenticated', code: 'unauthenticated', args: {}, title: 'Unauthenticated', status: 401, detail: 'session expired' });
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
