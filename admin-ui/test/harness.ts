// A fake shell for page tests: a PageContext over a partial API, rendering into a <main>.
import { expect, vi } from 'vitest';
import type { Me, Staff, TenantApi } from '../src/api/client';
import type { PageContext } from '../src/pages/page';
import { showProblem } from '../src/shell/problems';

export const admin: Staff = { id: 'a1', email: 'admin@example.hu', display_name: 'Admin Anna', role: 'admin' };

/** `kept` is the session memory; pass the same map to a second harness to "come back" to a page. */
export function harness(api: Partial<TenantApi>, kept = new Map<string, unknown>()) {
  const main = document.createElement('main');
  document.body.replaceChildren(main);
  const lost = vi.fn();
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
