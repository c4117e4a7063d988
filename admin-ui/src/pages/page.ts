// What a page of the tenant staff app is, and what the shell gives it.
import type { Me, Permission, TenantApi } from '../api/client';
import type { ErrorSummary, FieldControl } from '../errors';

/** A page of the tenant staff app, listed once in `pages/index.ts`. */
export interface Page {
  /** Short name: `data-testid="nav-<name>"` on its navigation link. */
  readonly name: string;
  /** Its fragment, `#/<name>` (the overview's is `#/`). */
  readonly hash: string;
  /** Its navigation label (and what the "no permission" message names). */
  readonly label: string;
  /** What `/me` must list for the page to be shown (the server checks every call anyway). */
  readonly permission: Permission;
  /** Loads what the page shows and renders it through `ctx.render`. */
  show(ctx: PageContext): Promise<void>;
}

/** Values a page keeps while the session lasts (across page changes); forgotten at sign-out. */
export interface SessionMemory {
  get<T>(key: string, initial: T): T;
  set<T>(key: string, value: T): void;
}

export interface RenderOptions {
  /** Where focus goes (default: the h1); not moved on the app's first paint. */
  focus?: HTMLElement;
  /** Full-width layout for wide tables. */
  wide?: boolean;
}

/** The shell's services for one showing of a page (the operators' console passes its own API). */
export interface PageContext<Api = TenantApi> {
  readonly api: Api;
  /** The signed-in session (second factor passed). */
  readonly me: Me;
  readonly memory: SessionMemory;
  /** Replaces the main content, sets the document title and moves focus. */
  render(title: string, nodes: (Node | null)[], options?: RenderOptions): void;
  /**
   * Shows a failed call: an expired session goes back to sign-in (the shell's one handler),
   * any other problem into `errors`, with field errors under `fields`.
   */
  fail(errors: ErrorSummary, e: unknown, fields?: Record<string, FieldControl>): void;
  /** The page's first load failed: the problem on an otherwise empty page (or sign-in on 401). */
  loadFailed(title: string, testid: string, e: unknown): void;
  /** Whether this showing is still on screen (the user has not moved on or signed out); pollers stop when not. */
  isCurrent(): boolean;
}
