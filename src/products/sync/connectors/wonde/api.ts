import type { z } from 'zod';
import { fetchWithRetry, isLoopback, isRecord, issuePath, MAX_ATTEMPTS, Stop, type Outbound } from '../http.ts';
import { RestReader } from '../rest-reader.ts';
import { wondeTimestamp } from './values.ts';

export interface WondeSettings {
  /** `https://api.wonde.com` (or the school's regional domain); a URL ending in `/v1.0` is used as it is. */
  baseUrl: string;
  token: string;
  schoolId: string;
}

export interface WondeOptions {
  /** Read only what changed after this instant (ISO 8601, or Wonde's `YYYY-MM-DD HH:MM:SS`, UTC): a delta. */
  updatedAfter?: string;
  signal?: AbortSignal;
  /** OUTBOUND_PRIVATE_ADDRESSES=allow: a Wonde-shaped server on this machine (tests, development). */
  allowPrivateAddresses?: boolean;
}

const PER_PAGE = 100;
const MAX_PAGES = 20_000;

/** The reason for an HTTP status, naming what to check. */
function statusMessage(status: number): string {
  if (status >= 300 && status < 400) return 'Wonde answered with a redirect, which is not followed (check the base URL)';
  if (status === 400 || status === 422) return 'Wonde rejected the request';
  if (status === 401) return 'Wonde did not accept the API token';
  if (status === 403) return 'Wonde refused access (check that the school has approved this application and its data permissions)';
  if (status === 404) return 'not found at Wonde (check the school id and base URL)';
  if (status === 429) return `Wonde kept rate-limiting the requests (${MAX_ATTEMPTS} attempts)`;
  if (status >= 500) return `Wonde failed (${MAX_ATTEMPTS} attempts)`;
  return 'Wonde answered with an unexpected status';
}

/**
 * The Wonde API as the reader talks to it: the settings checked, requests with the bearer token, and
 * lists read page by page (following `meta.pagination.next`, never to another host).
 */
export abstract class WondeApi extends RestReader {
  private readonly outbound: Outbound;
  private readonly updatedAfter: string | undefined;
  protected schoolUrl!: URL;

  constructor(
    private readonly settings: WondeSettings,
    options: WondeOptions,
  ) {
    super(options.updatedAfter === undefined ? 'full' : 'delta', { location: 'wonde', label: 'Wonde' });
    this.outbound = { signal: options.signal, allowPrivateAddresses: options.allowPrivateAddresses ?? false };
    this.updatedAfter = options.updatedAfter === undefined ? undefined : wondeTimestamp(options.updatedAfter);
  }

  protected checkSettings(): boolean {
    const s = this.settings;
    let base: URL | undefined;
    try {
      base = typeof s.baseUrl === 'string' ? new URL(s.baseUrl) : undefined;
    } catch {
      base = undefined;
    }
    if (!base || (base.protocol !== 'https:' && base.protocol !== 'http:') || base.username || base.password) {
      this.error('settings.baseUrl', 'is not an http(s) URL (without user name or password)');
      base = undefined;
    } else if (base.protocol === 'http:' && !isLoopback(base)) {
      this.error('settings.baseUrl', 'must be https (plain http only to this machine)');
      base = undefined;
    }
    if (typeof s.token !== 'string' || s.token === '' || /[\r\n]/.test(s.token)) this.error('settings.token', 'is empty or not a token');
    if (typeof s.schoolId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(s.schoolId)) this.error('settings.schoolId', 'is not a Wonde school id');
    if (this.mode === 'delta' && this.updatedAfter === undefined) this.error('options.updatedAfter', 'is not a date-time');
    if (!base || this.log.errorCount > 0) return false;
    base.search = '';
    base.hash = '';
    const trimmed = base.pathname.replace(/\/+$/, '');
    base.pathname = `${/\/v1\.0$/.test(trimmed) ? trimmed : `${trimmed}/v1.0`}/schools/${s.schoolId}`;
    this.schoolUrl = base;
    return true;
  }

  protected async getJson(url: URL, location: string, tolerate: readonly number[] = []): Promise<unknown> {
    const res = await fetchWithRetry(url, { headers: { Authorization: `Bearer ${this.settings.token}`, Accept: 'application/json' } }, location, this.outbound);
    if (tolerate.includes(res.status)) return null;
    if (res.status < 200 || res.status > 299) throw new Stop({ location: `${location} (HTTP ${res.status})`, message: statusMessage(res.status) });
    try {
      return JSON.parse(res.text);
    } catch {
      throw new Stop({ location, message: 'the response is not JSON' });
    }
  }

  /** Every page of a list; false when a tolerated status said it is not available. */
  protected async readList<S extends z.ZodType>(
    path: string,
    params: Record<string, string>,
    schema: S,
    onItem: (item: z.output<S>, location: string) => void,
    tolerate: readonly number[] = [],
  ): Promise<boolean> {
    let url = new URL(`${this.schoolUrl.href}/${path}`);
    const wanted: Record<string, string> = { ...params, per_page: String(PER_PAGE) };
    if (this.updatedAfter !== undefined) wanted.updated_after = this.updatedAfter;
    for (const [k, v] of Object.entries(wanted)) url.searchParams.set(k, v);
    const visited = new Set<string>();
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      visited.add(url.href);
      const location = `GET ${url.pathname}?page=${url.searchParams.get('page') ?? '1'}`;
      const json = await this.getJson(url, location, tolerate);
      if (json === null) return false;
      if (!isRecord(json) || !Array.isArray(json.data)) throw new Stop({ location, message: 'the response has no "data" list' });
      let fresh = 0;
      json.data.forEach((raw, i) => {
        const itemLocation = `${location}: data[${i}]`;
        const parsed = schema.safeParse(raw);
        if (!parsed.success) {
          for (const issue of parsed.error.issues.slice(0, 5)) this.error(`${itemLocation}${issuePath(issue.path)}`, issue.message);
          return;
        }
        const key = isRecord(raw) && (typeof raw.id === 'string' || typeof raw.id === 'number') ? String(raw.id) : `#${page}.${i}`;
        if (seen.has(key)) {
          this.warning(`${itemLocation}.id`, 'repeats a record already read; the repeat is ignored');
          return;
        }
        seen.add(key);
        fresh++;
        onItem(parsed.data, itemLocation);
      });
      if (this.log.errorCount > 0) throw new Stop();

      const pagination = isRecord(json.meta) && isRecord(json.meta.pagination) ? json.meta.pagination : undefined;
      const next = pagination?.next;
      if (next === null || next === undefined || next === '' || pagination?.more === false) return true;
      if (typeof next !== 'string') throw new Stop({ location, message: 'meta.pagination.next is not a link' });
      let nextUrl: URL;
      try {
        nextUrl = new URL(next, url);
      } catch {
        throw new Stop({ location, message: 'meta.pagination.next is not a link' });
      }
      if (nextUrl.origin !== url.origin) throw new Stop({ location, message: 'meta.pagination.next points to another host; not followed' });
      if (json.data.length === 0) throw new Stop({ location, message: 'an empty page says more pages follow' });
      if (fresh === 0) throw new Stop({ location, message: 'Wonde sent the same records again: paging does not advance' });
      if (visited.has(nextUrl.href)) throw new Stop({ location, message: 'meta.pagination.next leads back to a page already read' });
      // Keep what was asked for even if a next link drops it.
      for (const [k, v] of Object.entries(wanted)) if (!nextUrl.searchParams.has(k)) nextUrl.searchParams.set(k, v);
      if (page >= MAX_PAGES) throw new Stop({ location, message: `more than ${MAX_PAGES} pages: stopped` });
      url = nextUrl;
    }
  }
}
