import { useSyncExternalStore, type MouseEvent } from 'react';

/**
 * A tiny client-side router: path patterns with `:params`, history.pushState navigation and a
 * hook that re-renders on Back/Forward. No library: the app has a dozen flat routes.
 */

const NAVIGATE_EVENT = 'custos:navigate';

export interface Location {
  pathname: string;
  search: string;
}

let cached: Location = { pathname: '/', search: '' };

function snapshot(): Location {
  const { pathname, search } = window.location;
  if (cached.pathname !== pathname || cached.search !== search) cached = { pathname, search };
  return cached;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

/** The current path and query string; re-renders the caller whenever either changes. */
export function useLocation(): Location {
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

export interface NavigateOptions {
  replace?: boolean;
  /** A one-off message for the next page (kept in history.state, so it survives StrictMode and Back). */
  flash?: string;
}

export function navigate(to: string, options: NavigateOptions = {}): void {
  const state = options.flash ? { flash: options.flash } : null;
  if (options.replace) window.history.replaceState(state, '', to);
  else window.history.pushState(state, '', to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

/** The message the previous page left with {@link navigate}, if any. */
export function currentFlash(): string | undefined {
  const state = window.history.state as { flash?: unknown } | null;
  return typeof state?.flash === 'string' ? state.flash : undefined;
}

/**
 * Matches `/users/:id` against `/users/42` → `{ id: '42' }`; null if it does not match.
 * Parameters are one path segment each and are URL-decoded.
 */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = pathname.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null;
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

/**
 * A `next` path from a query string, only if it is a same-origin relative path: `/audit?x=1` yes;
 * `//evil.example`, `/\evil.example`, `https://…` and `javascript:` no.
 */
export function safeNext(value: string | null | undefined): string | undefined {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  try {
    const url = new URL(value, window.location.origin);
    if (url.origin !== window.location.origin) return undefined;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return undefined;
  }
}

/** Query parameter from the current address. */
export function queryParam(search: string, name: string): string | null {
  return new URLSearchParams(search).get(name);
}

/**
 * onClick for in-app links: a plain left click navigates without reloading; a modified click
 * (new tab, download) is left to the browser.
 */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.currentTarget;
  if (anchor.target && anchor.target !== '_self') return;
  if (anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  navigate(`${url.pathname}${url.search}${url.hash}`);
}
