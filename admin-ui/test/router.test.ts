// The router and the permission-driven navigation: which page a fragment names and who may open it.
import { describe, expect, it } from 'vitest';
import type { Permission } from '../src/api/client';
import { PAGES } from '../src/pages';
import { forbiddenPage, showNav } from '../src/shell/nav';
import { pageOf, route, visiblePages } from '../src/shell/router';

// What /me lists for a clerk and an admin (Role::permits on the server; the e2e test in
// tests/kapu-tests checks that the server answers exactly these).
const CLERK: Permission[] = ['view_overview', 'read_clients', 'write_clients', 'view_case_types', 'handle_cases'];
const ADMIN: Permission[] = [
  'view_overview', 'read_clients', 'write_clients', 'manage_staff', 'view_audit', 'manage_jobs',
  'view_case_types', 'manage_case_types', 'handle_cases', 'manage_relying_parties', 'manage_plugins',
];

describe('pageOf', () => {
  it('takes an empty fragment, "#" and "#/" for the overview', () => {
    for (const hash of ['', '#', '#/']) expect(pageOf(hash, PAGES)?.name).toBe('overview');
  });
  it('finds every registered page by its own fragment', () => {
    for (const p of PAGES) expect(pageOf(p.hash, PAGES)).toBe(p);
  });
  it('is null for fragments that name no page (the skip link, typos)', () => {
    expect(pageOf('#main', PAGES)).toBeNull();
    expect(pageOf('#/nincs-ilyen', PAGES)).toBeNull();
    expect(pageOf('#/clients/', PAGES)).toBeNull();
  });
});

describe('the page registry', () => {
  it('has unique names and fragments, each fragment #/<name> (the overview #/)', () => {
    expect(new Set(PAGES.map((p) => p.name)).size).toBe(PAGES.length);
    for (const p of PAGES) expect(p.hash).toBe(p.name === 'overview' ? '#/' : `#/${p.name}`);
  });
});

describe('route', () => {
  it('opens a page the permissions allow', () => {
    const r = route('#/clients', PAGES, CLERK);
    expect(r).toMatchObject({ kind: 'page', page: { name: 'clients' } });
  });
  it('refuses, naming the page, what they do not allow', () => {
    for (const hash of ['#/staff', '#/audit', '#/jobs', '#/oidc', '#/plugins']) {
      expect(route(hash, PAGES, CLERK).kind, hash).toBe('forbidden');
      expect(route(hash, PAGES, ADMIN).kind, hash).toBe('page');
    }
  });
  it('refuses everything to a session without permissions', () => {
    expect(route('#/', PAGES, []).kind).toBe('forbidden');
  });
  it('says "none" for a fragment that is no page', () => {
    expect(route('#main', PAGES, ADMIN).kind).toBe('none');
  });
});

describe('the navigation', () => {
  const labels = (el: HTMLElement) => [...el.querySelectorAll('a')].map((a) => a.textContent);

  it('lists a clerk the overview, the cases, the clients and the counter', () => {
    expect(visiblePages(PAGES, CLERK).map((p) => p.name)).toEqual(['overview', 'cases', 'clients', 'counter']);
    const nav = document.createElement('div');
    showNav(nav, PAGES, CLERK, 'clients');
    expect(labels(nav)).toEqual(['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó']);
    expect(nav.querySelector('nav')?.getAttribute('aria-label')).toBe('Menü');
    expect(nav.querySelector('[aria-current="page"]')?.getAttribute('data-testid')).toBe('nav-clients');
  });

  it('lists an admin every page, in the registry order', () => {
    const nav = document.createElement('div');
    showNav(nav, PAGES, ADMIN, null);
    expect(labels(nav)).toEqual(PAGES.map((p) => p.label));
    expect(nav.querySelector('[aria-current]')).toBeNull();
  });

  it('follows the list it is given, not a role: one more permission, one more link', () => {
    const nav = document.createElement('div');
    showNav(nav, PAGES, [...CLERK, 'view_audit'], null);
    expect(labels(nav)).toEqual(['Áttekintés', 'Ügyek', 'Ügyfelek', 'Ügyfélhívó', 'Audit napló']);
  });

  it('is empty when signed out', () => {
    const nav = document.createElement('div');
    nav.append(document.createElement('nav'));
    showNav(nav, PAGES, null, null);
    expect(nav.childNodes.length).toBe(0);
  });

  it('tells, in Hungarian, which page may not be opened', () => {
    const staff = pageOf('#/staff', PAGES)!;
    const nodes = forbiddenPage(staff);
    const text = nodes.map((n) => n.textContent).join(' ');
    expect(nodes[0]?.tagName).toBe('H1');
    expect(text).toContain('Nincs jogosultsága');
    expect(text).toContain('„Munkatársak”');
    expect(nodes[nodes.length - 1]?.querySelector('a')?.getAttribute('href')).toBe('#/');
  });
});
