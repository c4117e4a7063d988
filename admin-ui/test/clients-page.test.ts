// The clients page through a fake shell: the purpose of the access is required before any
// call, travels with every search, and is kept while the session lasts.
import { describe, expect, it, vi } from 'vitest';
import type { ClientQuery, ClientRecord } from '../src/api/client';
import { clientsPageDef } from '../src/pages/clients';
import { harness } from './harness';

const marta = {
  id: '0190f3c2-7a1b-7c3d-9e4f-1a2b3c4d5e6f', email: 'marta@example.hu', id_document: null, resident_card: null,
  identity: { family_name: 'Minta', given_name: 'Márta', birth_name: null, mother_birth_name: 'Kovács Ilona', birth_place: 'Budapest', birth_date: '1980-05-17' },
  addresses: [],
} as unknown as ClientRecord;

function fillNameSearch(t: ReturnType<typeof harness>) {
  t.$<HTMLInputElement>('search-family').value = 'Minta';
  t.$<HTMLInputElement>('search-given').value = 'Márta';
  t.$<HTMLInputElement>('search-birth').value = '1980-05-17';
}

describe('the clients page', () => {
  it('refuses a search without a purpose, on the purpose field, and sends nothing', async () => {
    const searchClients = vi.fn();
    const t = harness({ searchClients });
    await clientsPageDef.show(t.ctx);
    fillNameSearch(t);
    await t.submit(t.$<HTMLFormElement>('search-name-form'));
    expect(searchClients).not.toHaveBeenCalled();
    const purpose = t.$<HTMLInputElement>('client-reason');
    expect(purpose.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('client-reason-error')?.textContent).toMatch(/ügyintézés célját/);
  });

  it('sends the purpose with the search and lists what it found', async () => {
    const calls: [ClientQuery, string][] = [];
    const t = harness({ searchClients: async (q, reason) => (calls.push([q, reason]), [marta]) });
    await clientsPageDef.show(t.ctx);
    t.$<HTMLInputElement>('client-reason').value = ' személyes azonosítás ';
    fillNameSearch(t);
    await t.submit(t.$<HTMLFormElement>('search-name-form'));
    expect(calls).toEqual([[{ family_name: 'Minta', given_name: 'Márta', birth_date: '1980-05-17' }, 'személyes azonosítás']]);
    expect(t.$('client-row').querySelector('th')?.textContent).toBe('Minta Márta');
    expect(t.$('clients-status').textContent).toBe('1 találat.');
  });

  it('keeps the purpose while the session lasts (another showing of the page)', async () => {
    const kept = new Map<string, unknown>();
    const first = harness({}, kept);
    await clientsPageDef.show(first.ctx);
    const purpose = first.$<HTMLInputElement>('client-reason');
    purpose.value = 'lakcímkártya ügyintézés';
    purpose.dispatchEvent(new Event('input'));
    const again = harness({}, kept);
    await clientsPageDef.show(again.ctx);
    expect(again.$<HTMLInputElement>('client-reason').value).toBe('lakcímkártya ügyintézés');
  });

  it('has no mandate form before an organisation is registered', async () => {
    const t = harness({});
    await clientsPageDef.show(t.ctx);
    expect(t.$('mandate-none').textContent).toMatch(/Előbb vegyen fel egy szervezetet/);
    expect(t.main.querySelector('[data-testid="mandate-form"]')).toBeNull();
  });
});
