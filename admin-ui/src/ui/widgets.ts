// Small building blocks the pages share (built with `dom.ts`, text nodes only).
import type { Staff } from '../api/client';
import { h } from '../dom';

/** A staff role in Hungarian. */
export const roleLabel: Record<Staff['role'], string> = {
  clerk: 'ügyintéző',
  admin: 'adminisztrátor',
  operator: 'üzemeltető',
};

/** A wide table in a keyboard-scrollable region named by the table's caption. */
export function scrollTable(captionId: string, table: HTMLTableElement): HTMLDivElement {
  return h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': captionId, tabindex: '0' }, table);
}

/** A page's main heading (focus moves to it when the page is shown). */
export function heading(text: string, testid: string): HTMLHeadingElement {
  return h('h1', { tabindex: '-1', 'data-testid': testid }, text);
}

/** A polite live region for results of actions (kept in the page so that updates are announced). */
export function statusLine(testid: string): HTMLParagraphElement {
  return h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-testid': testid, tabindex: '-1' });
}

/**
 * Runs `work` with `button` disabled and marked busy. A disabled button loses focus; it gets
 * it back afterwards unless the work moved focus elsewhere.
 */
export async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (hadFocus && lost && button.isConnected) button.focus();
  }
}
