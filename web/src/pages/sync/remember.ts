/**
 * A list page's state kept in the current history entry, so Back from a record returns to the same
 * list. What is not personal (a group, a page number) goes in the address; search text, which is
 * usually a name, only in history.state: never in the address, so names stay out of bookmarks,
 * shared links and the browser's list of visited pages.
 */
export function rememberListState(query: Record<string, string | undefined>, state: Record<string, string | undefined>): void {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const text = params.toString();
  const previous = (window.history.state as Record<string, unknown> | null) ?? {};
  window.history.replaceState({ ...previous, ...state }, '', `${window.location.pathname}${text ? `?${text}` : ''}`);
}

/** A value kept by {@link rememberListState} in this history entry. */
export function rememberedState(key: string): string {
  const state = window.history.state as Record<string, unknown> | null;
  const value = state?.[key];
  return typeof value === 'string' ? value : '';
}

/** A value kept in the address by {@link rememberListState}. */
export function rememberedQuery(key: string): string {
  return new URLSearchParams(window.location.search).get(key) ?? '';
}

/** `?page=` as an offset into a list of `size`-item pages. */
export function rememberedOffset(size: number): number {
  const page = Number.parseInt(rememberedQuery('page'), 10);
  return Number.isFinite(page) && page > 1 ? (page - 1) * size : 0;
}
