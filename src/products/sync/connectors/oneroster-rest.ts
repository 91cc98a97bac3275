import { z } from 'zod';
import { isIsoDate, isNcYearCode, isUpnFormat, isValidUpn, yearGroupName } from '../codes.ts';
import {
  emptyBatch,
  type ContactLink,
  type ContactRecord,
  type Email,
  type GroupKind,
  type GroupRecord,
  type ImportBatch,
  type ImportProblem,
  type Phone,
  type PupilRecord,
  type SchoolInfo,
  type StaffRecord,
} from '../model.ts';
import { ENROLLMENT_MEMBER, relationshipFor, ROLE_ENTITY, SEX_TO_GENDER, yearGroupFromGrade, type PersonEntity } from './oneroster-csv.ts';
import { compact, fetchWithRetry, isLoopback, isRecord, issuePath, MAX_ATTEMPTS, Stop } from './http.ts';
import { RestReader } from './rest-reader.ts';

/**
 * OneRoster v1.1 / v1.2 REST (Rostering service, JSON binding) → ImportBatch.
 *
 * Sources: 1EdTech "OneRoster Rostering Service REST/JSON Binding" v1.2 (imsglobal.org/sites/default/
 * files/spec/oneroster/v1p2/rostering-restbinding/…) and the v1.1 REST binding as implemented by
 * ClassLink, GG4L, Aeries and Microsoft School Data Sync's OneRoster API guide; OAuth 2 client
 * credentials as in RFC 6749 §4.4 (client authenticated with HTTP Basic, §2.3.1).
 *
 * - Token: one client-credentials request (Basic auth, scopes roster-core.readonly and
 *   roster-demographics.readonly); refreshed before it expires and once more on a 401.
 * - Paths: `/ims/oneroster/v1p1/…` (1.1) or `/ims/oneroster/rostering/v1p2/…` (1.2) under `baseUrl`
 *   (a baseUrl that already ends in `/ims/oneroster/…` is used as it is).
 * - Collections read: orgs (the school), users (every role: students, teachers and the like,
 *   parents / guardians / relatives), demographics, classes, enrollments; each paged with
 *   `limit` / `offset` until `X-Total-Count` (or, without it, a short page with no `Link: rel="next"`).
 * - Mapping follows the OneRoster CSV connector (oneroster-csv.ts): roles → pupils / staff /
 *   contacts, `agents` → contact links, homeroom / scheduled classes → registration / class groups,
 *   enrollments → members (a pupil's registrationGroup is its homeroom's classCode, else title),
 *   demographics birthDate / sex → date of birth / gender, CEDS grades → NC year code ('07' → '7';
 *   a full read also makes a `year:<code>` year group of each). A UPN is read from `userMasterIdentifier` (1.2), a `userIds` entry of type `UPN`, or an
 *   `identifier` of UPN form; any other identifier is the admission number.
 * - `since` → a delta: users and demographics are asked for with `filter=dateLastModified>'…'`;
 *   `tobedeleted` users and classes become `removed`. Classes and enrollments are always read whole
 *   (a group in a delta carries its whole membership), and any group whose class or enrollments
 *   changed since then is listed. A contact linked to a changed pupil, or a user whose demographics
 *   alone changed, is fetched on its own (`GET users/{id}`, `GET demographics/{id}`).
 *
 * Never rejects for a remote fault: an HTTP error, a malformed body or a cancelled signal comes
 * back as `errors` (with no records at all) whose location names the request, e.g.
 * `GET /ims/oneroster/v1p1/users?offset=100 (HTTP 500)`, or the request and JSON path of a bad
 * record (`…users?offset=0: users[3].familyName`). 429 and 5xx answers and network failures are
 * retried twice, waiting as `Retry-After` says (capped at 30 s) or 250 ms, then 500 ms. Messages
 * never carry the client secret, the token or a value read from a record. Plain http is refused
 * except to this machine; redirects are not followed; a body over 32 MiB is refused.
 *
 * Not confirmed against a live service: the exact UK use of `grades` (CEDS '07' for Year 7 is
 * assumed, as in the CSV connector), and whether providers list a parent's children in the parent's
 * own `agents` (both directions are read). `academicSessions` are not read: the model has no use for them.
 */

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
}

const SERVICE_PATH = { '1.1': '/ims/oneroster/v1p1', '1.2': '/ims/oneroster/rostering/v1p2' } as const;
const SCOPES = {
  '1.1': [
    'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly',
    'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly',
  ],
  '1.2': [
    'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly',
    'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly',
  ],
} as const;

const RACE_FIELDS = [
  'americanIndianOrAlaskaNative',
  'asian',
  'blackOrAfricanAmerican',
  'nativeHawaiianOrOtherPacificIslander',
  'white',
  'demographicRaceTwoOrMoreRaces',
  'hispanicOrLatinoEthnicity',
] as const;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGES = 20_000;
/** Refresh a token this long before the service says it expires. */
const TOKEN_MARGIN_MS = 30_000;

// ------------------------------------------------------------------ record shapes

const text = z.string().nullish();
const ref = z.object({ sourcedId: z.string().min(1) }).loose();
const head = z.object({ sourcedId: z.string().min(1), status: z.string(), dateLastModified: z.string().nullish() }).loose();
const roleEntry = z.object({ role: z.string(), roleType: text }).loose();
const roleFields = { role: z.string().nullish(), roles: z.array(roleEntry).nullish() };

const userSchema = head.extend({
  ...roleFields,
  givenName: z.string(),
  familyName: z.string(),
  middleName: text,
  preferredFirstName: text,
  preferredGivenName: text,
  preferredLastName: text,
  preferredFamilyName: text,
  identifier: text,
  userMasterIdentifier: text,
  userIds: z.array(z.object({ type: z.string(), identifier: z.string() }).loose()).nullish(),
  email: text,
  phone: text,
  sms: text,
  agents: z.array(ref).nullish(),
  grades: z.array(z.string()).nullish(),
});
const goneUserSchema = head.extend(roleFields);
const flag = z.union([z.string(), z.boolean()]).nullish();
const demographicsSchema = head.extend({
  birthDate: text,
  sex: text,
  americanIndianOrAlaskaNative: flag,
  asian: flag,
  blackOrAfricanAmerican: flag,
  nativeHawaiianOrOtherPacificIslander: flag,
  white: flag,
  demographicRaceTwoOrMoreRaces: flag,
  hispanicOrLatinoEthnicity: flag,
});
const classSchema = head.extend({ title: z.string(), classCode: text, classType: z.string(), grades: z.array(z.string()).nullish() });
const enrollmentSchema = head.extend({ user: ref, class: ref, role: z.string() });
/** A tobedeleted enrollment may come with its references only, or with none. */
const goneEnrollmentSchema = head.extend({ user: ref.nullish(), class: ref.nullish(), role: z.string().nullish() });
const orgSchema = head.extend({ name: z.string(), type: z.string(), identifier: text });

/** The schema a tobedeleted record is read with (fewer required fields than an active one). */
type GoneSchema<T> = z.ZodType<Partial<T> & { sourcedId: string; status: string }>;
const asGone = <T>(schema: z.ZodType): GoneSchema<T> => schema as unknown as GoneSchema<T>;

type User = z.infer<typeof userSchema>;
type GoneUser = z.infer<typeof goneUserSchema>;
type Demographics = z.infer<typeof demographicsSchema>;
type OneRosterClass = z.infer<typeof classSchema>;
type Enrollment = z.infer<typeof enrollmentSchema>;
type Org = z.infer<typeof orgSchema>;

interface Read<T> {
  data: T;
  gone: boolean;
  changed: boolean;
  location: string;
}

// ------------------------------------------------------------------ HTTP

function statusMessage(status: number): string {
  if (status >= 300 && status < 400) return 'the service answered with a redirect, which is not followed (check the base URL)';
  if (status === 400) return 'the service rejected the request';
  if (status === 401) return 'the service did not accept the access token';
  if (status === 403) return 'the service refused access (check the scopes granted to this client)';
  if (status === 404) return 'not found at the service (check the base URL and version)';
  if (status === 429) return `the service kept rate-limiting the requests (${MAX_ATTEMPTS} attempts)`;
  if (status >= 500) return `the service failed (${MAX_ATTEMPTS} attempts)`;
  return 'the service answered with an unexpected status';
}

/** Parses a number header; undefined unless a non-negative integer. */
function totalCount(header: string | null): number | undefined {
  if (header === null || !/^\s*\d{1,15}\s*$/.test(header)) return undefined;
  return Number(header);
}

function hasNextLink(header: string | null): boolean {
  return header !== null && /rel\s*=\s*"?next"?/i.test(header);
}

// ------------------------------------------------------------------ reader

class OneRosterRestReader extends RestReader {
  private readonly limit: number;
  private readonly signal: AbortSignal | undefined;
  private serviceUrl!: URL;
  private tokenUrl!: URL;
  private sinceMs: number | undefined;
  private sinceText: string | undefined;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(
    private readonly settings: OneRosterRestSettings,
    options: OneRosterRestOptions,
  ) {
    super(options.since === undefined ? 'full' : 'delta', { location: 'oneroster-rest', label: 'OneRoster' });
    this.limit = Math.min(Math.max(Math.floor(options.pageSize ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE, 1), 10_000);
    this.signal = options.signal;
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

  // -------------------------------------------------------------- HTTP with the token

  private async accessToken(force: boolean): Promise<string> {
    if (!force && this.token && Date.now() < this.token.expiresAt) return this.token.value;
    const location = `POST ${this.tokenUrl.pathname}`;
    const basic = Buffer.from(`${encodeURIComponent(this.settings.clientId)}:${encodeURIComponent(this.settings.clientSecret)}`).toString('base64');
    const body = new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPES[this.settings.version].join(' ') });
    const res = await fetchWithRetry(
      this.tokenUrl,
      {
        method: 'POST',
        headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: body.toString(),
      },
      location,
      this.signal,
    );
    if (res.status === 400 || res.status === 401) {
      // RFC 6749 §5.2 error codes are protocol words, never a secret: safe to act on.
      let code: unknown;
      try {
        code = (JSON.parse(res.text) as { error?: unknown }).error;
      } catch {
        code = undefined;
      }
      const message =
        code === 'invalid_scope'
          ? 'the token endpoint refused the OneRoster scopes for this client'
          : code === 'unauthorized_client' || code === 'unsupported_grant_type'
            ? 'the token endpoint does not allow client credentials for this client'
            : 'the token endpoint refused the client id and secret';
      throw new Stop({ location: `${location} (HTTP ${res.status})`, message });
    }
    if (res.status < 200 || res.status > 299) throw new Stop({ location: `${location} (HTTP ${res.status})`, message: `the token endpoint: ${statusMessage(res.status)}` });
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      throw new Stop({ location, message: 'the token response is not JSON' });
    }
    if (!isRecord(json) || typeof json.access_token !== 'string' || json.access_token === '') {
      throw new Stop({ location, message: 'the token response has no access_token' });
    }
    if (!/^[\x21-\x7e]{1,4096}$/.test(json.access_token)) throw new Stop({ location, message: 'the access_token in the token response is not a bearer token' });
    if (json.token_type !== undefined && (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer')) {
      throw new Stop({ location, message: 'the token endpoint issued a token that is not a bearer token' });
    }
    const lifetime = typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) && json.expires_in > 0 ? json.expires_in * 1000 : 3_600_000;
    this.token = { value: json.access_token, expiresAt: Date.now() + Math.max(lifetime - TOKEN_MARGIN_MS, lifetime / 2) };
    return this.token.value;
  }

  /** GET JSON with the bearer token; one token refresh on a 401. `tolerate`: statuses that return null. */
  private async getJson(url: URL, location: string, tolerate: readonly number[] = []): Promise<{ json: unknown; headers: Headers } | null> {
    let refreshed = false;
    for (;;) {
      const token = await this.accessToken(false);
      const res = await fetchWithRetry(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, location, this.signal);
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
  private async readCollection<T extends { sourcedId: string; status: string; dateLastModified?: string | null }>(
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
  private async readOne<T extends { sourcedId: string; status: string; dateLastModified?: string | null }>(
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

  // -------------------------------------------------------------- the import

  private entitiesOf(user: { role?: string | null; roles?: { role: string; roleType?: string | null }[] | null }): PersonEntity[] | undefined {
    const roles: string[] = [];
    if (user.roles && user.roles.length > 0) {
      const sorted = [...user.roles].sort((a, b) => Number(b.roleType === 'primary') - Number(a.roleType === 'primary'));
      for (const r of sorted) roles.push(r.role);
    } else if (typeof user.role === 'string') roles.push(user.role);
    if (roles.length === 0) return undefined;
    const out: PersonEntity[] = [];
    for (const role of roles) {
      const entity = ROLE_ENTITY[role];
      if (entity !== undefined && !out.includes(entity)) out.push(entity);
    }
    return out;
  }

  private contactRole(user: User): string {
    if (user.roles && user.roles.length > 0) {
      const sorted = [...user.roles].sort((a, b) => Number(b.roleType === 'primary') - Number(a.roleType === 'primary'));
      return sorted.find((r) => ROLE_ENTITY[r.role] === 'contacts')?.role ?? 'parent';
    }
    return user.role ?? 'parent';
  }

  protected async read(): Promise<ImportBatch> {
    const batch = emptyBatch(this.mode);
    const delta = this.mode === 'delta';

    // The school.
    let schools = 0;
    await this.readCollection('orgs', orgSchema, asGone<Org>(head), false, (item) => {
      const org: Org = item.data;
      if (item.gone || org.type !== 'school') return;
      schools++;
      if (batch.school) return;
      const school: SchoolInfo = { name: org.name };
      const identifier = org.identifier ?? '';
      if (/^\d{6}$/.test(identifier)) school.urn = identifier;
      else if (/^\d{7}$/.test(identifier)) school.laEstab = identifier;
      batch.school = school;
    });
    if (schools > 1) this.warning(`GET ${this.serviceUrl.pathname}/orgs`, 'lists more than one school; the first is used for the school details');

    // People.
    const users = new Map<string, Read<User>>();
    const goneUsers = new Map<string, Read<GoneUser>>();
    await this.readCollection<User>('users', userSchema, asGone<User>(goneUserSchema), delta, (item) => {
      if (item.gone) goneUsers.set(item.data.sourcedId, item as Read<GoneUser>);
      else users.set(item.data.sourcedId, item);
    });

    const demographics = new Map<string, Read<Demographics>>();
    const demographicsRead = await this.readCollection('demographics', demographicsSchema, asGone<Demographics>(head), delta, (item) => {
      demographics.set(item.data.sourcedId, item);
    }, [403, 404]);
    if (!demographicsRead) {
      this.warning(`GET ${this.serviceUrl.pathname}/demographics`, 'demographics are not available to this client: dates of birth and sex are left unset');
    }

    // Classes and enrollments: always whole, so a group carries its whole membership.
    const classes = new Map<string, Read<OneRosterClass>>();
    await this.readCollection('classes', classSchema, asGone<OneRosterClass>(head), false, (item) => {
      classes.set(item.data.sourcedId, item);
    });
    const enrollments: Read<Enrollment>[] = [];
    await this.readCollection('enrollments', enrollmentSchema, asGone<Enrollment>(goneEnrollmentSchema), false, (item) => {
      enrollments.push(item);
    });

    // Delta: fetch, one by one, users whose demographics alone changed and contacts of changed pupils.
    if (delta) {
      const extra = new Set<string>();
      for (const id of demographics.keys()) if (!users.has(id) && !goneUsers.has(id)) extra.add(id);
      for (const u of users.values()) {
        if (!(this.entitiesOf(u.data) ?? []).includes('pupils')) continue;
        for (const agent of u.data.agents ?? []) if (!users.has(agent.sourcedId) && !goneUsers.has(agent.sourcedId)) extra.add(agent.sourcedId);
      }
      let missing = 0;
      for (const id of extra) {
        const one = await this.readOne<User>('users', 'user', id, userSchema, asGone<User>(goneUserSchema));
        if (one && !one.gone) users.set(id, one);
        else if (!one) missing++;
      }
      if (missing > 0) this.warning(`GET ${this.serviceUrl.pathname}/users/{id}`, `${missing} users named by changed records are not at the service; not read`);
      // Contacts need their sex for a relationship code: fetch the demographics the delta did not carry.
      if (demographicsRead) {
        for (const [id, u] of users) {
          if (demographics.has(id) || !(this.entitiesOf(u.data) ?? []).includes('contacts')) continue;
          const d = await this.readOne('demographics', 'demographics', id, demographicsSchema, asGone<Demographics>(head));
          if (d) demographics.set(id, { ...d, changed: false });
        }
      }
    }

    this.build(batch, users, goneUsers, demographics, demographicsRead, classes, enrollments);
    return batch;
  }

  private build(
    batch: ImportBatch,
    users: Map<string, Read<User>>,
    goneUsers: Map<string, Read<GoneUser>>,
    demographics: Map<string, Read<Demographics>>,
    demographicsRead: boolean,
    classes: Map<string, Read<OneRosterClass>>,
    enrollments: Read<Enrollment>[],
  ): void {
    const delta = this.mode === 'delta';
    const entities = new Map<string, PersonEntity[]>();
    for (const [id, u] of users) {
      const found = this.entitiesOf(u.data);
      if (!found || found.length === 0) {
        this.warning(`${u.location}.role`, 'is not a role this import reads; user skipped');
        continue;
      }
      entities.set(id, found);
    }
    const is = (id: string, entity: PersonEntity) => entities.get(id)?.includes(entity) ?? false;

    // Demographics.
    let raceSeen = false;
    for (const d of demographics.values()) if (RACE_FIELDS.some((f) => d.data[f] != null && d.data[f] !== '')) raceSeen = true;
    if (raceSeen) {
      this.warning(`GET ${this.serviceUrl.pathname}/demographics`,
        'the OneRoster race and ethnicity flags do not map to CBDS ethnicity codes: ethnicity is left unset',
      );
    }
    const gender = (id: string): string | null | undefined => {
      const d = demographics.get(id);
      if (!d) return demographicsRead && !delta ? null : undefined;
      if (d.gone || d.data.sex == null || d.data.sex === '') return null;
      const g = SEX_TO_GENDER[d.data.sex];
      if (g === undefined) {
        this.warning(`${d.location}.sex`, 'is not male, female, other or unspecified; gender left unset');
        return undefined;
      }
      return g;
    };
    const birthDate = (id: string): string | null | undefined => {
      const d = demographics.get(id);
      if (!d) return demographicsRead && !delta ? null : undefined;
      if (d.gone || d.data.birthDate == null || d.data.birthDate === '') return null;
      if (!isIsoDate(d.data.birthDate)) {
        this.warning(`${d.location}.birthDate`, 'is not a date (YYYY-MM-DD); date of birth left unset');
        return undefined;
      }
      return d.data.birthDate;
    };

    // Groups and their members.
    const groups = new Map<string, GroupRecord>();
    const listed = new Set<string>();
    for (const [id, c] of classes) {
      if (c.gone) {
        if (delta && c.changed) batch.removed.push({ entity: 'groups', misId: id });
        continue;
      }
      const kind: GroupKind = c.data.classType === 'homeroom' ? 'registration' : 'class';
      if (c.data.classType !== 'homeroom' && c.data.classType !== 'scheduled') {
        this.warning(`${c.location}.classType`, 'is neither homeroom nor scheduled; read as a class');
      }
      groups.set(id, { misId: id, kind, name: c.data.title, code: c.data.classCode || null, pupilMisIds: [], staffMisIds: [] });
      if (c.changed) listed.add(id);
    }
    const homeroomOf = new Map<string, string>();
    let unknownClass = 0;
    let unknownRole = 0;
    for (const e of enrollments) {
      // A tobedeleted enrollment may carry no references (see goneEnrollmentSchema).
      const classId = (e.data.class as { sourcedId: string } | null | undefined)?.sourcedId;
      if (delta && e.changed && classId !== undefined) listed.add(classId);
      if (e.gone || classId === undefined) continue;
      const group = groups.get(classId);
      if (!group) {
        if (!classes.get(classId)?.gone) unknownClass++;
        continue;
      }
      const userId = e.data.user.sourcedId;
      if (goneUsers.has(userId)) continue;
      if (!delta && !users.has(userId)) continue; // skipped user: already warned about
      let member = ENROLLMENT_MEMBER[e.data.role];
      if (users.has(userId)) {
        if (!entities.has(userId)) continue;
        member = is(userId, 'pupils') && e.data.role === 'student' ? 'pupil' : is(userId, 'staff') ? 'staff' : is(userId, 'pupils') ? 'pupil' : undefined;
      }
      if (member === undefined) {
        unknownRole++;
        continue;
      }
      const ids = member === 'pupil' ? group.pupilMisIds : group.staffMisIds;
      if (!ids.includes(userId)) ids.push(userId);
      if (member === 'pupil' && group.kind === 'registration' && !homeroomOf.has(userId)) homeroomOf.set(userId, classId);
    }
    const enrollmentsAt = `GET ${this.serviceUrl.pathname}/enrollments`;
    if (unknownClass > 0) this.warning(enrollmentsAt, `${unknownClass} enrollments are for classes the service did not list; ignored`);
    if (unknownRole > 0) this.warning(enrollmentsAt, `${unknownRole} enrollments are for people who are not pupils or staff; ignored`);
    batch.groups = [...groups.values()].filter((g) => !delta || listed.has(g.misId));

    // Contacts' links: a contact's own agents and every pupil that lists the contact.
    const linksOf = new Map<string, string[]>();
    const addLink = (contactId: string, pupilId: string) => {
      const list = linksOf.get(contactId) ?? [];
      if (!list.includes(pupilId)) list.push(pupilId);
      linksOf.set(contactId, list);
    };
    for (const [id, u] of users) {
      if (!entities.has(id)) continue;
      for (const agent of u.data.agents ?? []) {
        const other = agent.sourcedId;
        if (is(id, 'pupils') && is(other, 'contacts')) addLink(other, id);
        else if (is(id, 'contacts') && (is(other, 'pupils') || (delta && !users.has(other) && !goneUsers.has(other)))) addLink(id, other);
      }
    }

    // Records.
    let parentsWithoutSex = 0;
    for (const [id, u] of users) {
      const roles = entities.get(id);
      if (!roles) continue;
      const user = u.data;
      const emails: Email[] = user.email ? [{ address: user.email }] : [];
      const phones: Phone[] = [];
      if (user.phone) phones.push({ number: user.phone });
      if (user.sms) phones.push({ number: user.sms, type: 'mobile' });
      for (const entity of roles) {
        if (entity === 'pupils') batch.pupils.push(this.pupil(u, emails, phones, birthDate(id), gender(id), homeroomOf.get(id), groups, classes));
        else if (entity === 'staff') {
          batch.staff.push(compact<StaffRecord>({ misId: id, forename: user.givenName, surname: user.familyName, dateOfBirth: birthDate(id), gender: gender(id), emails, phones }));
        } else {
          const relationship = relationshipFor(this.contactRole(user), demographics.get(id)?.data.sex);
          if (relationship === 'parent' || relationship === 'guardian') parentsWithoutSex++;
          const links: ContactLink[] = (linksOf.get(id) ?? []).map((pupilMisId) => ({ pupilMisId, relationship }));
          batch.contacts.push(compact<ContactRecord>({ misId: id, forename: user.givenName, surname: user.familyName, emails, phones, links }));
        }
      }
    }

    if (parentsWithoutSex > 0) {
      this.warning(`GET ${this.serviceUrl.pathname}/users`,
        `${parentsWithoutSex} contacts are a OneRoster parent or guardian without a sex in demographics, which has no CBDS relationship code: kept as given`,
      );
    }

    // Year groups, as the CTF and OneRoster CSV connectors make them: only a full import lists every member.
    if (!delta) {
      const years = new Map<string, string[]>();
      for (const p of batch.pupils) {
        if (!p.yearGroup) continue;
        const list = years.get(p.yearGroup) ?? [];
        list.push(p.misId);
        years.set(p.yearGroup, list);
      }
      for (const [code, pupilMisIds] of years) {
        batch.groups.push({ misId: `year:${code}`, kind: 'year', name: isNcYearCode(code) ? yearGroupName(code) : code, code, pupilMisIds, staffMisIds: [] });
      }
    }

    // Removals (a delta only: in a full read a tobedeleted record is just left out).
    if (delta) {
      for (const [id, g] of goneUsers) {
        if (!g.changed) continue;
        const found = this.entitiesOf(g.data);
        if (!found || found.length === 0) {
          this.warning(`${g.location}.role`, 'a user to be deleted has no role this import reads; not removed');
          continue;
        }
        for (const entity of found) batch.removed.push({ entity, misId: id });
      }
    }
  }

  private pupil(
    u: Read<User>,
    emails: Email[],
    phones: Phone[],
    dateOfBirth: string | null | undefined,
    gender: string | null | undefined,
    homeroom: string | undefined,
    groups: Map<string, GroupRecord>,
    classes: Map<string, Read<OneRosterClass>>,
  ): PupilRecord {
    const user = u.data;
    const upnFrom = (v: string | null | undefined) => (v != null && isUpnFormat(v.toUpperCase()) ? v.toUpperCase() : undefined);
    const fromIds = user.userIds?.find((x) => x.type.toUpperCase() === 'UPN')?.identifier;
    const upn = upnFrom(user.userMasterIdentifier) ?? upnFrom(fromIds) ?? upnFrom(user.identifier);
    if (upn !== undefined && !isValidUpn(upn)) this.warning(`${u.location}.identifier`, 'is a UPN whose check letter does not match; kept as given');
    const admissionNumber = user.identifier && upnFrom(user.identifier) === undefined ? user.identifier : null;

    // The pupil's grade, else the grade of the pupil's homeroom (as the CSV connector does).
    let yearGroup: string | null = null;
    const homeroomClass = homeroom ? classes.get(homeroom) : undefined;
    const grade = user.grades?.[0] ?? homeroomClass?.data.grades?.[0];
    if (grade !== undefined) {
      const year = yearGroupFromGrade(grade);
      if (year === undefined) {
        const where = user.grades?.[0] !== undefined ? `${u.location}.grades[0]` : `${homeroomClass!.location}.grades[0]`;
        this.warning(where, 'is not a CEDS grade level with a National Curriculum year; kept as given');
      }
      yearGroup = year ?? grade;
    }
    const registrationGroup = homeroom ? (groups.get(homeroom)?.code ?? groups.get(homeroom)?.name ?? null) : null;

    return compact<PupilRecord>({
      misId: user.sourcedId,
      upn: upn ?? null,
      admissionNumber,
      legalForename: user.givenName,
      legalSurname: user.familyName,
      middleNames: user.middleName || null,
      ...(this.settings.version === '1.2'
        ? {
            preferredForename: user.preferredFirstName || user.preferredGivenName || null,
            preferredSurname: user.preferredLastName || user.preferredFamilyName || null,
          }
        : {}),
      dateOfBirth,
      gender,
      emails,
      phones,
      yearGroup,
      registrationGroup,
    });
  }
}

/**
 * Reads a school from a OneRoster 1.1 / 1.2 REST service. Never rejects for a remote fault: every
 * problem comes back in `errors` (location and reason, never a secret or a personal value), and a
 * batch with errors carries no records.
 */
export async function readOneRosterRest(settings: OneRosterRestSettings, options: OneRosterRestOptions = {}): Promise<ImportBatch> {
  return new OneRosterRestReader(settings, options).run();
}
