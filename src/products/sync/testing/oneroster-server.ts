import crypto from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { ContactRecord, ImportBatch, PupilRecord, StaffRecord } from '../model.ts';

/**
 * A local OneRoster 1.1 / 1.2 REST service (Rostering, JSON binding) that serves one ImportBatch,
 * for the REST connector's tests. Listens on 127.0.0.1 on a free port.
 *
 * - `POST /oauth/token`: OAuth 2 client credentials (HTTP Basic or client_id / client_secret in the
 *   form); answers `{ access_token, token_type: 'bearer', expires_in, scope }`.
 * - `GET /ims/oneroster/v1p1/{collection}` (1.2: `/ims/oneroster/rostering/v1p2/…`) for orgs, users,
 *   students, teachers, demographics, classes, enrollments, academicSessions, with `limit` / `offset`,
 *   `X-Total-Count` and a `Link` header (first, prev, next, last), and `filter` (up to two
 *   predicates joined by AND or OR on top-level fields, e.g. `dateLastModified>'2024-01-01T00:00:00Z'`).
 *   `GET …/{collection}/{sourcedId}` answers one record (`{ "user": … }`). A bearer token is checked
 *   on every call.
 * - Records: the school as an org; pupils (role student), staff (teacher), contacts (parent,
 *   guardian or relative, from their first link's CBDS relationship); demographics for anyone with
 *   a date of birth or gender (and a sex for mothers and fathers); registration and class groups as
 *   homeroom and scheduled classes with their enrollments.
 * - `update(batch, at)`: serve another batch; records that changed or are new get
 *   `dateLastModified = at`, records that went become `status: 'tobedeleted'` at `at`.
 * - `faults` (mutable): a status on page N of a collection, 429s with Retry-After, an expired token
 *   (401 once), or any response at all in place of the real one.
 */

export interface OneRosterFaults {
  /** Answer page `page` (1-based) of `collection` with `status`, `times` times (default: always). */
  failPage?: { collection: string; page: number; status: number; times?: number; retryAfterSeconds?: number };
  /** Answer the next `times` API calls with 429 and `Retry-After: retryAfterSeconds`. */
  rateLimit?: { times: number; retryAfterSeconds: number };
  /** Once `expireTokenAfterCalls` API calls have been answered, revoke every token (so the next call is a 401). */
  expireTokenAfterCalls?: number;
  /** Replace the answer to an API call (return undefined to answer normally). */
  respond?: (call: FakeCall) => FakeResponse | undefined;
  /** Replace the answer of the token endpoint. */
  respondToken?: () => FakeResponse | undefined;
}

export interface FakeCall {
  method: string;
  /** The path after the service root: `users`, `users/abc`. */
  path: string;
  query: Record<string, string>;
}

export interface FakeResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface OneRosterServerOptions {
  version?: '1.1' | '1.2';
  clientId?: string;
  clientSecret?: string;
  /** dateLastModified of every record at start (default 2024-01-01T00:00:00Z). */
  modifiedAt?: string;
  tokenLifetimeSeconds?: number;
  /** The largest `limit` honoured (default 1000), as services cap page sizes. */
  maxLimit?: number;
  faults?: OneRosterFaults;
}

export interface OneRosterServer {
  /** The host root (`http://127.0.0.1:port`): the connector's `baseUrl`. */
  url: string;
  /** The service root (`…/ims/oneroster/v1p1`). */
  serviceUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Every request, as `METHOD /path?query`. */
  calls: string[];
  faults: OneRosterFaults;
  update(batch: ImportBatch, at: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Collection = 'orgs' | 'academicSessions' | 'users' | 'demographics' | 'classes' | 'enrollments';

const COLLECTIONS: readonly Collection[] = ['orgs', 'academicSessions', 'users', 'demographics', 'classes', 'enrollments'];
const SINGULAR: Record<string, string> = {
  orgs: 'org',
  schools: 'org',
  academicSessions: 'academicSession',
  users: 'user',
  students: 'user',
  teachers: 'user',
  demographics: 'demographics',
  classes: 'class',
  enrollments: 'enrollment',
};
const ORG_ID = 'org-school';
const TERM_ID = 'term-2024';

interface Stored {
  record: Json;
  signature: string;
}

/** CEDS grade for an NC year code or a year group name ('Year 7', '7' → '07'). */
function gradeOf(yearGroup: string | null | undefined): string | undefined {
  if (!yearGroup) return undefined;
  const code = yearGroup.replace(/^Year\s+/i, '').trim();
  if (code === 'R' || /^reception$/i.test(code)) return 'KG';
  if (code === 'N1' || /^nursery 1$/i.test(code)) return 'PR';
  if (code === 'N2' || /^nursery 2$/i.test(code)) return 'PK';
  if (/^\d{1,2}$/.test(code) && Number(code) >= 1 && Number(code) <= 13) return code.padStart(2, '0');
  return yearGroup;
}

/** The OneRoster role a contact gets from its first link's CBDS relationship. */
function contactRole(c: ContactRecord): 'parent' | 'guardian' | 'relative' {
  const rel = c.links[0]?.relationship ?? '';
  if (rel === 'PAM' || rel === 'PAF') return 'parent';
  if (rel === 'FOM' || rel === 'FOF' || rel === 'CAR') return 'guardian';
  return 'relative';
}

function render(batch: ImportBatch, version: '1.1' | '1.2', origin: string, servicePath: string): Record<Collection, Json[]> {
  const href = (collection: string, id: string) => `${origin}${servicePath}/${collection}/${encodeURIComponent(id)}`;
  const orgRef = { href: href('orgs', ORG_ID), sourcedId: ORG_ID, type: 'org' };
  const userRef = (id: string) => ({ href: href('users', id), sourcedId: id, type: 'user' });
  const roleFields = (role: string): Json =>
    version === '1.1' ? { role, orgs: [orgRef] } : { roles: [{ roleType: 'primary', role, org: orgRef }], primaryOrg: orgRef };

  const linksByPupil = new Map<string, string[]>();
  for (const c of batch.contacts) {
    for (const l of c.links) {
      const list = linksByPupil.get(l.pupilMisId) ?? [];
      if (!list.includes(c.misId)) list.push(c.misId);
      linksByPupil.set(l.pupilMisId, list);
    }
  }

  const contactFields = (person: { emails?: PupilRecord['emails']; phones?: PupilRecord['phones'] }): Json => {
    const out: Json = {};
    const email = person.emails?.[0]?.address;
    if (email) out.email = email;
    const phone = person.phones?.find((p) => p.type !== 'mobile')?.number;
    if (phone) out.phone = phone;
    const sms = person.phones?.find((p) => p.type === 'mobile')?.number;
    if (sms) out.sms = sms;
    return out;
  };

  const users: Json[] = [];
  for (const p of batch.pupils) {
    const u: Json = { sourcedId: p.misId, enabledUser: 'true', username: p.misId.toLowerCase() };
    if (version === '1.2' && p.upn) u.userMasterIdentifier = p.upn;
    u.userIds = p.upn ? [{ type: 'UPN', identifier: p.upn }] : [];
    u.givenName = p.legalForename;
    u.familyName = p.legalSurname;
    if (p.middleNames) u.middleName = p.middleNames;
    if (version === '1.2') {
      if (p.preferredForename) u.preferredFirstName = p.preferredForename;
      if (p.preferredSurname) u.preferredLastName = p.preferredSurname;
    }
    Object.assign(u, roleFields('student'));
    if (p.admissionNumber) u.identifier = p.admissionNumber;
    Object.assign(u, contactFields(p));
    u.agents = (linksByPupil.get(p.misId) ?? []).map(userRef);
    const grade = gradeOf(p.yearGroup);
    u.grades = grade ? [grade] : [];
    users.push(u);
  }
  const staffUser = (s: StaffRecord): Json => ({
    sourcedId: s.misId,
    enabledUser: 'true',
    username: s.misId.toLowerCase(),
    userIds: [],
    givenName: s.forename,
    familyName: s.surname,
    ...roleFields('teacher'),
    identifier: s.misId,
    ...contactFields(s),
    agents: [],
    grades: [],
  });
  users.push(...batch.staff.map(staffUser));
  for (const c of batch.contacts) {
    users.push({
      sourcedId: c.misId,
      enabledUser: 'false',
      userIds: [],
      givenName: c.forename,
      familyName: c.surname,
      ...roleFields(contactRole(c)),
      ...contactFields(c),
      agents: c.links.map((l) => userRef(l.pupilMisId)),
      grades: [],
    });
  }

  const sexOf = (gender: string | null | undefined): string | undefined => {
    if (gender === 'M') return 'male';
    if (gender === 'F') return 'female';
    if (version === '1.2' && gender === 'X') return 'other';
    if (version === '1.2' && gender === 'U') return 'unspecified';
    return undefined;
  };
  const demographics: Json[] = [];
  const demographic = (id: string, birthDate: string | null | undefined, sex: string | undefined) => {
    if (!birthDate && !sex) return;
    const d: Json = { sourcedId: id };
    if (birthDate) d.birthDate = birthDate;
    if (sex) d.sex = sex;
    demographics.push(d);
  };
  for (const p of batch.pupils) demographic(p.misId, p.dateOfBirth, sexOf(p.gender));
  for (const s of batch.staff) demographic(s.misId, s.dateOfBirth, sexOf(s.gender));
  for (const c of batch.contacts) {
    const rel = c.links[0]?.relationship;
    demographic(c.misId, undefined, rel === 'PAM' ? 'female' : rel === 'PAF' ? 'male' : undefined);
  }

  const classes: Json[] = [];
  const enrollments: Json[] = [];
  for (const g of batch.groups) {
    if (g.kind !== 'registration' && g.kind !== 'class') continue;
    const cls: Json = { sourcedId: g.misId, title: g.name };
    if (g.code) cls.classCode = g.code;
    cls.classType = g.kind === 'registration' ? 'homeroom' : 'scheduled';
    cls.course = { href: href('courses', `course-${g.misId}`), sourcedId: `course-${g.misId}`, type: 'course' };
    cls.school = orgRef;
    cls.terms = [{ href: href('academicSessions', TERM_ID), sourcedId: TERM_ID, type: 'academicSession' }];
    classes.push(cls);
    const classRef = { href: href('classes', g.misId), sourcedId: g.misId, type: 'class' };
    for (const id of g.pupilMisIds) {
      enrollments.push({ sourcedId: `enr-${g.misId}-${id}`, user: userRef(id), class: classRef, school: orgRef, role: 'student', primary: 'false' });
    }
    g.staffMisIds.forEach((id, i) => {
      enrollments.push({ sourcedId: `enr-${g.misId}-${id}`, user: userRef(id), class: classRef, school: orgRef, role: 'teacher', primary: i === 0 ? 'true' : 'false' });
    });
  }

  return {
    orgs: [{ sourcedId: ORG_ID, name: batch.school?.name ?? 'School', type: 'school', identifier: batch.school?.laEstab ?? batch.school?.urn ?? '', children: [] }],
    academicSessions: [{ sourcedId: TERM_ID, title: '2024/25', type: 'schoolYear', startDate: '2024-09-01', endDate: '2025-08-31', schoolYear: '2025' }],
    users,
    demographics,
    classes,
    enrollments,
  };
}

interface Predicate {
  field: string;
  op: string;
  value: string;
}

/** Parses a OneRoster filter; undefined when it is not one this server understands. */
function parseFilter(filter: string): { join: 'AND' | 'OR'; predicates: Predicate[] } | undefined {
  const parts = filter.split(/\s+(AND|OR)\s+/);
  const join = (parts[1] as 'AND' | 'OR' | undefined) ?? 'AND';
  const predicates: Predicate[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(>=|<=|!=|=|>|<|~)\s*'([^']*)'\s*$/.exec(parts[i]!);
    if (!m) return undefined;
    predicates.push({ field: m[1]!, op: m[2]!, value: m[3]! });
  }
  if (predicates.length > 2 || (parts.length > 3 && parts[1] !== parts[3])) return undefined;
  return { join, predicates };
}

function matches(record: Json, p: Predicate): boolean {
  const raw = record[p.field];
  const value = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : JSON.stringify(raw);
  let cmp: number;
  if (p.field === 'dateLastModified') {
    const a = Date.parse(value);
    const b = Date.parse(p.value);
    if (Number.isNaN(a) || Number.isNaN(b)) return false;
    cmp = a - b;
  } else cmp = value < p.value ? -1 : value > p.value ? 1 : 0;
  switch (p.op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    default:
      return value.includes(p.value);
  }
}

function imsxFailure(description: string, minor: string): string {
  return JSON.stringify({
    imsx_codeMajor: 'failure',
    imsx_severity: 'error',
    imsx_description: description,
    imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: minor }] },
  });
}

export async function startOneRosterServer(batch: ImportBatch, options: OneRosterServerOptions = {}): Promise<OneRosterServer> {
  const version = options.version ?? '1.1';
  const servicePath = version === '1.1' ? '/ims/oneroster/v1p1' : '/ims/oneroster/rostering/v1p2';
  const clientId = options.clientId ?? `client-${crypto.randomBytes(4).toString('hex')}`;
  const clientSecret = options.clientSecret ?? crypto.randomBytes(18).toString('base64url');
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const maxLimit = options.maxLimit ?? 1000;
  const calls: string[] = [];
  const tokens = new Set<string>();
  const state = { apiCalls: 0, expired: false };
  const faults: OneRosterFaults = options.faults ?? {};
  const store = new Map<Collection, Map<string, Stored>>(COLLECTIONS.map((c) => [c, new Map()]));

  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook('onRequest', async (req) => {
    calls.push(`${req.method} ${req.url}`);
  });

  const send = (reply: FastifyReply, r: FakeResponse) => {
    reply.code(r.status);
    for (const [k, v] of Object.entries(r.headers ?? { 'content-type': 'application/json' })) reply.header(k, v);
    return reply.send(r.body);
  };

  app.post('/oauth/token', async (req, reply) => {
    const override = faults.respondToken?.();
    if (override) return send(reply, override);
    const form = (req.body ?? {}) as Record<string, string>;
    let id = form.client_id;
    let secret = form.client_secret;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      try {
        id = decodeURIComponent(decoded.slice(0, colon));
        secret = decodeURIComponent(decoded.slice(colon + 1));
      } catch {
        id = secret = undefined;
      }
    }
    if (form.grant_type !== 'client_credentials') {
      return reply.code(400).send({ error: 'unsupported_grant_type' });
    }
    if (id !== clientId || secret !== clientSecret) {
      return reply.code(401).header('www-authenticate', 'Basic realm="oneroster"').send({ error: 'invalid_client' });
    }
    const token = crypto.randomBytes(24).toString('hex');
    tokens.add(token);
    return reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'bearer', expires_in: lifetime, scope: form.scope ?? '' });
  });

  const origin = { value: '' };

  const api = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = req.params as { collection: string; id?: string };
    const query = req.query as Record<string, string>;
    const call: FakeCall = { method: req.method, path: params.id === undefined ? params.collection : `${params.collection}/${params.id}`, query };

    // Authentication first: every call needs a live bearer token.
    if (faults.expireTokenAfterCalls !== undefined && !state.expired && state.apiCalls >= faults.expireTokenAfterCalls) {
      tokens.clear();
      state.expired = true;
    }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (token === undefined || !tokens.has(token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token"')
        .type('application/json')
        .send(imsxFailure('Unauthorized', 'unauthorisedrequest'));
    }
    state.apiCalls++;

    if (faults.rateLimit && faults.rateLimit.times > 0) {
      faults.rateLimit.times--;
      return reply.code(429).header('retry-after', String(faults.rateLimit.retryAfterSeconds)).type('application/json').send(imsxFailure('Too many requests', 'server_busy'));
    }
    const override = faults.respond?.(call);
    if (override) return send(reply, override);

    const collection = params.collection;
    let source: Collection | undefined;
    let roleFilter: ((u: Json) => boolean) | undefined;
    const roleOf = (u: Json) => (typeof u.role === 'string' ? u.role : ((u.roles as { role: string }[] | undefined)?.[0]?.role ?? ''));
    if ((COLLECTIONS as readonly string[]).includes(collection)) source = collection as Collection;
    else if (collection === 'students') [source, roleFilter] = ['users', (u) => roleOf(u) === 'student'];
    else if (collection === 'teachers') [source, roleFilter] = ['users', (u) => roleOf(u) === 'teacher'];
    else if (collection === 'schools') [source, roleFilter] = ['orgs', (o) => o.type === 'school'];
    if (source === undefined) return reply.code(404).type('application/json').send(imsxFailure('Unknown collection', 'unknownobject'));
    const records = [...store.get(source)!.values()].map((s) => s.record).filter((r) => !roleFilter || roleFilter(r));

    if (params.id !== undefined) {
      const one = records.find((r) => r.sourcedId === params.id);
      if (!one) return reply.code(404).type('application/json').send(imsxFailure('Not found', 'unknownobject'));
      return reply.send({ [SINGULAR[collection]!]: one });
    }

    let selected = records;
    if (query.filter !== undefined) {
      const filter = parseFilter(query.filter);
      if (!filter) return reply.code(400).type('application/json').send(imsxFailure('Invalid filter', 'invalid_filter_field'));
      selected = records.filter((r) => (filter.join === 'AND' ? filter.predicates.every((p) => matches(r, p)) : filter.predicates.some((p) => matches(r, p))));
    }
    const limit = Math.min(Math.max(Number.parseInt(query.limit ?? '100', 10) || 100, 1), maxLimit);
    const offset = Math.max(Number.parseInt(query.offset ?? '0', 10) || 0, 0);
    const page = Math.floor(offset / limit) + 1;
    const fail = faults.failPage;
    if (fail && fail.collection === collection && fail.page === page && (fail.times === undefined || fail.times > 0)) {
      if (fail.times !== undefined) fail.times--;
      if (fail.retryAfterSeconds !== undefined) reply.header('retry-after', String(fail.retryAfterSeconds));
      return reply.code(fail.status).type('application/json').send(imsxFailure('Injected failure', 'internal_server_error'));
    }

    const total = selected.length;
    const link = (o: number) => {
      const u = new URL(`${origin.value}${servicePath}/${collection}`);
      for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
      u.searchParams.set('limit', String(limit));
      u.searchParams.set('offset', String(o));
      return u.href;
    };
    const links = [`<${link(0)}>; rel="first"`];
    if (offset > 0) links.push(`<${link(Math.max(offset - limit, 0))}>; rel="prev"`);
    if (offset + limit < total) links.push(`<${link(offset + limit)}>; rel="next"`);
    links.push(`<${link(total === 0 ? 0 : Math.floor((total - 1) / limit) * limit)}>; rel="last"`);
    reply.header('x-total-count', String(total));
    reply.header('link', links.join(', '));
    return reply.send({ [collection]: selected.slice(offset, offset + limit) });
  };

  app.get(`${servicePath}/:collection`, api);
  app.get(`${servicePath}/:collection/:id`, api);

  const update = (next: ImportBatch, at: string) => {
    const rendered = render(next, version, origin.value, servicePath);
    for (const c of COLLECTIONS) {
      const map = store.get(c)!;
      const present = new Set<string>();
      for (const r of rendered[c]) {
        const id = r.sourcedId as string;
        present.add(id);
        const { sourcedId, ...rest } = r;
        const signature = JSON.stringify(rest);
        const before = map.get(id);
        if (before && before.signature === signature && before.record.status === 'active') continue;
        map.set(id, { signature, record: { sourcedId, status: 'active', dateLastModified: at, ...rest } });
      }
      for (const [id, s] of map) {
        if (present.has(id) || s.record.status === 'tobedeleted') continue;
        map.set(id, { signature: s.signature, record: { ...s.record, status: 'tobedeleted', dateLastModified: at } });
      }
    }
  };

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  origin.value = address;
  update(batch, options.modifiedAt ?? '2024-01-01T00:00:00Z');

  return {
    url: address,
    serviceUrl: `${address}${servicePath}`,
    tokenUrl: `${address}/oauth/token`,
    clientId,
    clientSecret,
    calls,
    faults,
    update,
    close: () => app.close(),
  };
}
