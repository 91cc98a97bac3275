import type { z } from 'zod';
import { fetchWithRetry, isLoopback, isRecord, issuePath, Stop, type Outbound } from '../http.ts';
import { RestReader } from '../rest-reader.ts';
import { hasNextLink, requestToken, statusMessage, totalCount, type AccessToken } from './rest-http.ts';
import { head, type GoneSchema, type Read } from './rest-schemas.ts';

export interface OneRosterRestSettings {
  /** The service host (`https://sis.example`), or the service root (`…/ims/oneroster/v1p1`). */
  baseUrl: string;
  /** The OAuth 2 token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  version: '1.1' | '1.2';
}

export interface OneRosterRestOptions {
  /** Read only what changed after this instant (ISO 8601): a delta batch. */
  since?: string;
  /** `limit` per page (default 100). */
  pageSize?: number;
  signal?: AbortSignal;
  /** OUTBOUND_PRIVATE_ADDRESSES=allow: a OneRoster service on this machine (tests, development). */
  allowPrivateAddresses?: boolean;
}

const SERVICE_PATH = { '1.1': '/ims/oneroster/v1p1', '1.2': '/ims/oneroster/rostering/v1p2' } as const;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGES = 20_000;

/**
 * A OneRoster REST service as the reader talks to it: the settings checked, requests with a bearer
 * token (refreshed before it expires and once more on a 401), and collections read page by page
 * into parsed records.
 */
export abstract class OneRosterService extends RestReader {
  private readonly limit: number;
  private readonly outbound: Outbound;
  protected serviceUrl!: URL;
  private tokenUrl!: URL;
  private sinceMs: number | undefined;
  private sinceText: string | undefined;
  private token: AccessToken | undefined;

  constructor(
    protected readonly settings: OneRosterRestSettings,
    options: OneRosterRestOptions,
  ) {
    super(options.since === undefined ? 'full' : 'delta', { location: 'oneroster-rest', label: 'OneRoster' });
    this.limit = Math.min(Math.max(Math.floor(options.pageSize ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE, 1), 10_000);
    this.outbound = { signal: options.signal, allowPrivateAddresses: options.allowPrivateAddresses ?? false };
    if (options.since !== undefined) {
      const ms = Date.parse(options.since);
      if (!Number.isNaN(ms)) {
        this.sinceMs = Math.floor(ms / 1000) * 1000;
        this.sinceText = new Date(this.sinceMs).toISOString().replace('.000Z', 'Z');
      }
    }
  }

  protected checkSettings(): boolean {
    const s = this.settings;
    const url = (value: unknown, field: string): URL | undefined => {
      let parsed: URL | undefined;
      try {
        parsed = typeof value === 'string' ? new URL(value) : undefined;
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username || parsed.password) {
        this.error(`settings.${field}`, 'is not an http(s) URL (without user name or password)');
        return undefined;
      }
      if (parsed.protocol === 'http:' && !isLoopback(parsed)) {
        this.error(`settings.${field}`, 'must be https (plain http only to this machine)');
        return undefined;
      }
      return parsed;
    };
    const base = url(s.baseUrl, 'baseUrl');
    const token = url(s.tokenUrl, 'tokenUrl');
    if (s.version !== '1.1' && s.version !== '1.2') this.error('settings.version', "is not '1.1' or '1.2'");
    if (typeof s.clientId !== 'string' || s.clientId === '') this.error('settings.clientId', 'is empty');
    if (typeof s.clientSecret !== 'string' || s.clientSecret === '') this.error('settings.clientSecret', 'is empty');
    if (this.mode === 'delta' && this.sinceMs === undefined) this.error('options.since', 'is not an ISO 8601 date-time');
    if (!base || !token || this.log.errorCount > 0) return false;
    base.search = '';
    base.hash = '';
    const trimmed = base.pathname.replace(/\/+$/, '');
    base.pathname = /\/ims\/oneroster(\/|$)/.test(trimmed) ? trimmed : trimmed + SERVICE_PATH[s.version];
    this.serviceUrl = base;
    this.tokenUrl = token;
    return true;
  }

  private async accessToken(force: boolean): Promise<string> {
    if (!force && this.token && Date.now() < this.token.expiresAt) return this.token.value;
    this.token = await requestToken(this.tokenUrl, this.settings, this.outbound);
    return this.token.value;
  }

  /** GET JSON with the bearer token; one token refresh on a 401. `tolerate`: statuses that return null. */
  private async getJson(url: URL, location: string, tolerate: readonly number[] = []): Promise<{ json: unknown; headers: Headers } | null> {
    let refreshed = false;
    for (;;) {
      const token = await this.accessToken(false);
      const res = await fetchWithRetry(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, location, this.outbound);
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        await this.accessToken(true);
        continue;
      }
      if (tolerate.includes(res.status)) return null;
      if (res.status < 200 || res.status > 299) throw new Stop({ location: `${location} (HTTP ${res.status})`, message: statusMessage(res.status) });
      try {
        return { json: JSON.parse(res.text), headers: res.headers };
      } catch {
        throw new Stop({ location, message: 'the response is not JSON' });
      }
    }
  }

  private changedAt(dateLastModified: string | null | undefined): boolean {
    if (this.sinceMs === undefined) return true;
    const ms = typeof dateLastModified === 'string' ? Date.parse(dateLastModified) : NaN;
    return Number.isNaN(ms) || ms > this.sinceMs;
  }

  private isGone(status: string): boolean {
    return status === 'tobedeleted' || status === 'inactive';
  }

  /**
   * Parses one record: problems name the request and the JSON path. `goneSchema` is used for
   * records marked tobedeleted, which some services send with fewer fields.
   */
  private parseItem<T extends { sourcedId: string; status: string; dateLastModified?: string | null }>(
    raw: unknown,
    schema: z.ZodType<T>,
    goneSchema: GoneSchema<T> | undefined,
    location: string,
  ): Read<T> | undefined {
    const h = head.safeParse(raw);
    const gone = h.success && this.isGone(h.data.status);
    const parsed = gone && goneSchema ? goneSchema.safeParse(raw) : schema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 5)) this.error(`${location}${issuePath(issue.path)}`, issue.message);
      return undefined;
    }
    const data = parsed.data as T;
    return { data, gone, changed: this.changedAt(data.dateLastModified), location };
  }

  /** Reads every page of a collection; false when a tolerated status said it is not available. */
  protected async readCollection<T extends { sourcedId: string; status: string; dateLastModified?: string | null }>(
    collection: string,
    schema: z.ZodType<T>,
    goneSchema: GoneSchema<T> | undefined,
    filtered: boolean,
    onItem: (item: Read<T>) => void,
    tolerate: readonly number[] = [],
  ): Promise<boolean> {
    const seen = new Set<string>();
    let offset = 0;
    for (let page = 1; ; page++) {
      const url = new URL(`${this.serviceUrl.href}/${collection}`);
      url.searchParams.set('limit', String(this.limit));
      url.searchParams.set('offset', String(offset));
      if (filtered && this.sinceText !== undefined) url.searchParams.set('filter', `dateLastModified>'${this.sinceText}'`);
      const location = `GET ${url.pathname}?offset=${offset}`;
      const got = await this.getJson(url, location, tolerate);
      if (got === null) return false;
      const { json, headers } = got;
      if (!isRecord(json) || !(collection in json)) throw new Stop({ location, message: `the response has no "${collection}" list` });
      const items = json[collection];
      if (!Array.isArray(items)) throw new Stop({ location, message: `"${collection}" in the response is not a list` });
      let fresh = 0;
      items.forEach((raw, i) => {
        const item = this.parseItem(raw, schema, goneSchema, `${location}: ${collection}[${i}]`);
        if (!item) return;
        if (seen.has(item.data.sourcedId)) {
          this.warning(`${location}: ${collection}[${i}].sourcedId`, 'repeats a record already read; the repeat is ignored');
          return;
        }
        seen.add(item.data.sourcedId);
        fresh++;
        onItem(item);
      });
      // A record that does not parse blocks the import: read no further.
      if (this.log.errorCount > 0) throw new Stop();
      const total = totalCount(headers.get('x-total-count'));
      offset += items.length;
      if (items.length === 0) {
        if (total !== undefined && offset < total) {
          throw new Stop({ location, message: `the service reported ${total} records but sent an empty page after ${offset}` });
        }
        return true;
      }
      if (fresh === 0) throw new Stop({ location, message: 'the service sent the same records again: paging does not advance' });
      if (total !== undefined ? offset >= total : items.length < this.limit && !hasNextLink(headers.get('link'))) return true;
      if (page >= MAX_PAGES) throw new Stop({ location, message: `more than ${MAX_PAGES} pages: stopped` });
    }
  }

  /** GET one record (`users/{id}`, `demographics/{id}`); null when the service does not have it. */
  protected async readOne<T extends { sourcedId: string; status: string; dateLastModified?: string | null }>(
    collection: string,
    envelope: string,
    id: string,
    schema: z.ZodType<T>,
    goneSchema: GoneSchema<T> | undefined,
  ): Promise<Read<T> | null> {
    const url = new URL(`${this.serviceUrl.href}/${collection}/${encodeURIComponent(id)}`);
    const location = `GET ${this.serviceUrl.pathname}/${collection}/{id}`;
    const got = await this.getJson(url, location, [404]);
    if (got === null) return null;
    if (!isRecord(got.json) || !isRecord(got.json[envelope])) throw new Stop({ location, message: `the response has no "${envelope}" object` });
    const item = this.parseItem(got.json[envelope], schema, goneSchema, `${location}: ${envelope}`);
    if (this.log.errorCount > 0 || !item) throw new Stop();
    if (item.data.sourcedId !== id) throw new Stop({ location, message: 'the service answered with a different record than asked for' });
    return { ...item, changed: true };
  }
}
