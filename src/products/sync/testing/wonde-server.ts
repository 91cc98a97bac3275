import crypto from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { ETHNICITY_CODES, isNcYearCode, LANGUAGE_CODES, yearGroupName } from '../codes.ts';
import type { Address, ContactLink, Email, ImportBatch, Phone } from '../model.ts';
import type { FakeResponse } from './oneroster-server.ts';

/**
 * A local Wonde API (v1.0) that serves one ImportBatch, for the Wonde connector's tests. Listens on
 * 127.0.0.1 on a free port; `url` is the connector's `baseUrl`.
 *
 * - `GET /v1.0/schools/{id}` and, under it, `students`, `contacts`, `employees`, `groups` (YEAR,
 *   REGISTRATION, HOUSE), `classes`, `attendance/session` and `deletions`, in Wonde's shapes:
 *   `{ data: [...], meta: { pagination: { next, previous, more, per_page, current_page } } }` with
 *   `page` / `per_page`; includes (`?include=contacts,year,…`) nested as `{ "contacts": { "data": … } }`
 *   and left out unless asked for; date objects `{ date, timezone_type, timezone }`; `updated_after`
 *   ('YYYY-MM-DD HH:MM:SS', UTC) on every list; `GET …/contacts/{id}` for one record.
 * - The token is checked on every call (`Authorization: Bearer <token>`, or Basic with the token as
 *   the user name, as Wonde allows).
 * - `update(batch, at)`: serve another batch; changed or new records get `updated_at = at`, records
 *   that went are listed by `deletions` (type student, employee, contact, group, class).
 * - `faults` (mutable): a status on page N of a list, 429s with Retry-After, a revoked token (401s
 *   from then on), or any response at all in place of the real one.
 *
 * Field names Wonde's documentation does not show are this fake's guesses, shared with the
 * connector (see wonde.ts).
 */

export interface WondeFaults {
  /** Answer page `page` of `collection` ('students', 'attendance/session', …) with `status`, `times` times (default: always). */
  failPage?: { collection: string; page: number; status: number; times?: number; retryAfterSeconds?: number };
  /** Answer the next `times` calls with 429 and `Retry-After: retryAfterSeconds`. */
  rateLimit?: { times: number; retryAfterSeconds: number };
  /** Once this many calls have been answered, the token stops working (401). */
  revokeTokenAfterCalls?: number;
  /** Replace the answer to a call (return undefined to answer normally). */
  respond?: (call: { path: string; query: Record<string, string> }) => FakeResponse | undefined;
}

export interface WondeServerOptions {
  token?: string;
  schoolId?: string;
  /** updated_at of every record at start (default 2024-01-01T00:00:00Z). */
  modifiedAt?: string;
  /** The largest per_page honoured (default 200). */
  maxPerPage?: number;
  faults?: WondeFaults;
}

export interface WondeServer {
  /** The connector's baseUrl (`http://127.0.0.1:port`). */
  url: string;
  token: string;
  schoolId: string;
  /** Every request, as `METHOD /path?query`. */
  calls: string[];
  faults: WondeFaults;
  update(batch: ImportBatch, at: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Collection = 'students' | 'contacts' | 'employees' | 'groups' | 'classes' | 'attendance/session';

const COLLECTIONS: readonly Collection[] = ['students', 'contacts', 'employees', 'groups', 'classes', 'attendance/session'];
const DELETION_TYPE: Partial<Record<Collection, string>> = { students: 'student', contacts: 'contact', employees: 'employee', groups: 'group', classes: 'class' };
/** Includes each list can give, and the record keys they fill. */
const INCLUDES: Record<Collection, readonly string[]> = {
  students: ['education_details', 'extended_details', 'contact_details', 'contacts', 'year', 'registration', 'house'],
  contacts: ['contact_details', 'students'],
  employees: ['contact_details', 'employment_details'],
  groups: ['students', 'employees'],
  classes: ['students', 'employees'],
  'attendance/session': ['attendance_code'],
};

const GENDER: Record<string, string> = { M: 'MALE', F: 'FEMALE', U: 'UNKNOWN', X: 'OTHER' };
const RELATIONSHIP_LABEL: Record<string, string> = {
  PAM: 'Mother',
  PAF: 'Father',
  STM: 'Step Mother',
  STF: 'Step Father',
  FOM: 'Foster Mother',
  FOF: 'Foster Father',
  GRM: 'Grandmother',
  GRF: 'Grandfather',
  CAR: 'Carer',
  CHM: 'Childminder',
  DOC: 'Doctor',
  FAM: 'Other Family Member',
  REL: 'Other Relative',
  SWR: 'Social Worker',
  OTH: 'Other Contact',
};
const GROUP_TYPE: Record<string, string> = { year: 'YEAR', registration: 'REGISTRATION', house: 'HOUSE' };

interface Stored {
  record: Json;
  signature: string;
  updatedAt: string;
}

function day(date: string | null | undefined): Json | null {
  return date ? { date: `${date} 00:00:00.000000`, timezone_type: 3, timezone: 'Europe/London' } : null;
}

function instant(iso: string): Json {
  return { date: `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')}.000000`, timezone_type: 3, timezone: 'UTC' };
}

function contactDetails(person: { emails?: Email[]; phones?: Phone[]; address?: Address | null }): Json {
  const phones: Json = { phone: null, primary: null, home: null, work: null, mobile: null };
  for (const p of person.phones ?? []) {
    const slot = p.type === 'home' || p.type === 'work' || p.type === 'mobile' ? p.type : 'phone';
    if (phones[slot] === null) phones[slot] = p.number;
  }
  const emails: Json = { email: null, primary: null, home: null, work: null };
  for (const e of person.emails ?? []) {
    const slot = e.type === 'home' || e.type === 'work' ? e.type : 'email';
    if (emails[slot] === null) emails[slot] = e.address;
  }
  const a = person.address;
  let home: Json | null = null;
  if (a) {
    const [first, second, ...rest] = a.lines;
    const numbered = first !== undefined && /^\d+[A-Za-z]?$/.test(first);
    home = {
      house_number: numbered ? first : null,
      house_name: numbered ? null : (first ?? null),
      apartment: null,
      street: second ?? null,
      district: rest.length > 0 ? rest.join(', ') : null,
      town: a.town ?? null,
      county: a.county ?? null,
      country: 'United Kingdom',
      postcode: a.postcode ?? null,
    };
  }
  return { data: { phones, emails, addresses: { home, postal: null, work: null } } };
}

function relationship(l: ContactLink): Json {
  return {
    relationship: l.relationship ? (RELATIONSHIP_LABEL[l.relationship] ?? l.relationship) : null,
    parental_responsibility: l.parentalResponsibility ?? null,
    priority: l.priority ?? null,
    lives_with_pupil: l.livesWith ?? null,
    bill_payer: false,
    email_bills: false,
    copy_bills: false,
    court_order: l.noContact ?? false,
  };
}

function render(batch: ImportBatch): Record<Collection, Json[]> {
  const pupils = new Map(batch.pupils.map((p) => [p.misId, p]));
  const registrationOf = new Map<string, Json>();
  for (const g of batch.groups) {
    if (g.kind !== 'registration') continue;
    for (const id of g.pupilMisIds) if (!registrationOf.has(id)) registrationOf.set(id, { id: g.misId, code: g.code ?? null, name: g.name });
  }
  const contactsOf = new Map<string, Json[]>();
  for (const c of batch.contacts) {
    for (const l of c.links) {
      const list = contactsOf.get(l.pupilMisId) ?? [];
      list.push({ id: c.misId, mis_id: c.misId, title: c.title ?? null, forename: c.forename, surname: c.surname, relationship: relationship(l) });
      contactsOf.set(l.pupilMisId, list);
    }
  }
  const ref = (id: string) => {
    const p = pupils.get(id);
    return p ? { id, mis_id: id, forename: p.preferredForename || p.legalForename, surname: p.preferredSurname || p.legalSurname } : { id, mis_id: id };
  };

  const students = batch.pupils.map((p): Json => {
    const lang = p.firstLanguage ?? null;
    const registration = registrationOf.get(p.misId) ?? (p.registrationGroup ? { id: `reg-${p.registrationGroup}`, code: p.registrationGroup, name: p.registrationGroup } : null);
    return {
      id: p.misId,
      upi: crypto.createHash('md5').update(p.misId).digest('hex'),
      mis_id: p.misId,
      initials: `${p.legalForename[0] ?? ''}${p.legalSurname[0] ?? ''}`,
      title: null,
      surname: p.preferredSurname || p.legalSurname,
      forename: p.preferredForename || p.legalForename,
      middle_names: p.middleNames ?? null,
      legal_surname: p.legalSurname,
      legal_forename: p.legalForename,
      gender: p.gender ? (GENDER[p.gender] ?? p.gender) : null,
      gender_identity: null,
      date_of_birth: day(p.dateOfBirth),
      restored_at: null,
      education_details: {
        data: {
          admission_number: p.admissionNumber ?? null,
          upn: p.upn ?? null,
          former_upn: null,
          admission_date: day(p.enrolmentDate),
          leaving_date: day(p.leavingDate),
        },
      },
      extended_details: {
        data: {
          ethnicity: p.ethnicity ? (ETHNICITY_CODES[p.ethnicity]?.description ?? p.ethnicity) : null,
          ethnicity_code: p.ethnicity ?? null,
          first_language: lang ? (LANGUAGE_CODES[lang] ?? lang) : null,
          first_language_code: lang,
          english_as_additional_language: lang ? !['ENG', 'ENB'].includes(lang) : null,
          religion: p.religion ?? null,
          free_school_meals: p.fsmEligible ?? null,
          sen_status: p.senStatus ?? null,
          ever_in_care: false,
        },
      },
      contact_details: contactDetails(p),
      contacts: { data: contactsOf.get(p.misId) ?? [] },
      year: { data: p.yearGroup ? { id: `year-${p.yearGroup}`, code: p.yearGroup, name: isNcYearCode(p.yearGroup) ? yearGroupName(p.yearGroup) : p.yearGroup } : null },
      registration: { data: registration },
      house: { data: p.house ? { id: `house-${p.house}`, code: p.house.slice(0, 3).toUpperCase(), name: p.house } : null },
    };
  });

  const contacts = batch.contacts.map(
    (c): Json => ({
      id: c.misId,
      mis_id: c.misId,
      initials: `${c.forename[0] ?? ''}${c.surname[0] ?? ''}`,
      title: c.title ?? null,
      forename: c.forename,
      middle_names: null,
      surname: c.surname,
      contact_details: contactDetails(c),
      students: { data: c.links.map((l) => ({ ...ref(l.pupilMisId), relationship: relationship(l) })) },
    }),
  );

  const employees = batch.staff.map(
    (s): Json => ({
      id: s.misId,
      upi: crypto.createHash('md5').update(s.misId).digest('hex'),
      mis_id: s.misId,
      initials: `${s.forename[0] ?? ''}${s.surname[0] ?? ''}`,
      title: s.title ?? null,
      surname: s.surname,
      forename: s.forename,
      middle_names: null,
      legal_surname: s.surname,
      legal_forename: s.forename,
      gender: s.gender ? (GENDER[s.gender] ?? s.gender) : null,
      date_of_birth: day(s.dateOfBirth),
      contact_details: contactDetails(s),
      employment_details: { data: { job_title: s.jobTitle ?? null, current: true, teaching_staff: /teach|head/i.test(s.jobTitle ?? '') } },
    }),
  );

  const groupJson = (g: ImportBatch['groups'][number]): Json => ({
    id: g.misId,
    mis_id: g.misId,
    code: g.code ?? null,
    name: g.name,
    description: g.name,
    ...(g.kind === 'class' ? { subject: null } : { type: GROUP_TYPE[g.kind] }),
    students: { data: g.pupilMisIds.map(ref) },
    employees: { data: g.staffMisIds.map((id) => ({ id, mis_id: id })) },
  });

  const attendance = batch.attendance.map(
    (a): Json => ({
      id: `${a.pupilMisId}-${a.date}-${a.session}`,
      student: a.pupilMisId,
      date: day(a.date),
      session: a.session,
      attendance_code: { data: { id: `code-${a.code}`, code: a.code, description: a.code } },
    }),
  );

  return {
    students,
    contacts,
    employees,
    groups: batch.groups.filter((g) => g.kind !== 'class').map(groupJson),
    classes: batch.groups.filter((g) => g.kind === 'class').map(groupJson),
    'attendance/session': attendance,
  };
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC) → ms; NaN when not that. */
function parseUpdatedAfter(value: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2}))?$/.exec(value.trim());
  return m ? Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}Z`) : NaN;
}

export async function startWondeServer(batch: ImportBatch, options: WondeServerOptions = {}): Promise<WondeServer> {
  const token = options.token ?? crypto.randomBytes(20).toString('hex');
  const schoolId = options.schoolId ?? `A${crypto.randomInt(1_000_000_000, 1_999_999_999)}`;
  const maxPerPage = options.maxPerPage ?? 200;
  const calls: string[] = [];
  const faults: WondeFaults = options.faults ?? {};
  const state = { answered: 0, revoked: false, school: batch.school };
  const store = new Map<Collection, Map<string, Stored>>(COLLECTIONS.map((c) => [c, new Map()]));
  const deletions: { record: Json; at: number }[] = [];

  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req) => {
    calls.push(`${req.method} ${req.url}`);
  });

  const send = (reply: FastifyReply, r: FakeResponse) => {
    reply.code(r.status);
    for (const [k, v] of Object.entries(r.headers ?? { 'content-type': 'application/json' })) reply.header(k, v);
    return reply.send(r.body);
  };

  const origin = { value: '' };

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = req.params as { school: string; collection?: string; id?: string };
    const query = req.query as Record<string, string>;
    const path = params.collection === undefined ? '' : params.id === undefined ? params.collection : `${params.collection}/${params.id}`;

    if (faults.revokeTokenAfterCalls !== undefined && !state.revoked && state.answered >= faults.revokeTokenAfterCalls) state.revoked = true;
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7) : auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').replace(/:$/, '') : undefined;
    if (given !== token || state.revoked) return reply.code(401).send({ error: 'invalid_token', error_description: 'Unauthenticated.' });
    state.answered++;
    if (faults.rateLimit && faults.rateLimit.times > 0) {
      faults.rateLimit.times--;
      return reply.code(429).header('retry-after', String(faults.rateLimit.retryAfterSeconds)).send({ error: 'too_many_requests' });
    }
    const override = faults.respond?.({ path, query });
    if (override) return send(reply, override);
    if (params.school !== schoolId) return reply.code(404).send({ error: 'not_found', error_description: 'School not found.' });

    if (path === '') {
      const s = state.school;
      const laEstab = s?.laEstab ?? '';
      return reply.send({
        data: {
          id: schoolId,
          name: s?.name ?? 'School',
          establishment_number: laEstab.slice(3) || null,
          urn: s?.urn ? Number(s.urn) : null,
          phase_of_education: s?.phase ? s.phase.toUpperCase() : null,
          la_code: laEstab.slice(0, 3) || null,
          timezone: 'Europe/London',
          mis: 'SIMS',
          region: { code: 'GBR', domain: 'api.wonde.com' },
        },
      });
    }

    // One record: contacts/{id} and the like.
    if (params.id !== undefined && path !== 'attendance/session') {
      const collection = params.collection as Collection;
      const one = store.get(collection)?.get(params.id);
      if (!one) return reply.code(404).send({ error: 'not_found' });
      return reply.send({ data: present(collection, one, query) });
    }

    const since = query.updated_after === undefined ? undefined : parseUpdatedAfter(query.updated_after);
    if (since !== undefined && Number.isNaN(since)) return reply.code(422).send({ error: 'validation_error', error_description: 'The updated after is not a valid date.' });
    let rows: Json[];
    if (path === 'deletions') {
      rows = deletions
        .filter((d) => (since === undefined || d.at > since) && (query.type === undefined || d.record.type === query.type))
        .map((d) => d.record);
    } else if ((COLLECTIONS as readonly string[]).includes(path)) {
      const collection = path as Collection;
      rows = [...store.get(collection)!.values()].filter((s) => since === undefined || Date.parse(s.updatedAt) > since).map((s) => present(collection, s, query));
    } else return reply.code(404).send({ error: 'not_found' });

    const perPage = Math.min(Math.max(Number.parseInt(query.per_page ?? '50', 10) || 50, 1), maxPerPage);
    const page = Math.max(Number.parseInt(query.page ?? '1', 10) || 1, 1);
    const fail = faults.failPage;
    if (fail && fail.collection === path && fail.page === page && (fail.times === undefined || fail.times > 0)) {
      if (fail.times !== undefined) fail.times--;
      if (fail.retryAfterSeconds !== undefined) reply.header('retry-after', String(fail.retryAfterSeconds));
      return reply.code(fail.status).send({ error: 'server_error' });
    }
    const pageUrl = (n: number) => {
      const u = new URL(`${origin.value}${req.url.split('?')[0]}`);
      for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
      u.searchParams.set('page', String(n));
      return u.href;
    };
    const more = page * perPage < rows.length;
    return reply.send({
      data: rows.slice((page - 1) * perPage, page * perPage),
      meta: {
        pagination: { next: more ? pageUrl(page + 1) : null, previous: page > 1 ? pageUrl(page - 1) : null, more, per_page: String(perPage), current_page: page },
        includes: [],
      },
    });
  };

  /** A stored record as served: includes only when asked for, updated_at as stored. */
  const present = (collection: Collection, s: Stored, query: Record<string, string>): Json => {
    const asked = new Set((query.include ?? '').split(',').map((x) => x.trim()));
    const out: Json = {};
    for (const [k, v] of Object.entries(s.record)) {
      if (!INCLUDES[collection].includes(k)) out[k] = v;
      else if (asked.has(k)) out[k] = v;
      else if (collection === 'attendance/session' && k === 'attendance_code') out[k] = ((v as { data: { id: string } }).data ?? {}).id;
    }
    out.updated_at = instant(s.updatedAt);
    return out;
  };

  app.get('/v1.0/schools/:school', handle);
  app.get('/v1.0/schools/:school/:collection', handle);
  app.get('/v1.0/schools/:school/:collection/:id', handle);

  const update = (next: ImportBatch, at: string) => {
    state.school = next.school;
    const rendered = render(next);
    const atMs = Date.parse(at);
    for (const c of COLLECTIONS) {
      const map = store.get(c)!;
      const present = new Set<string>();
      for (const r of rendered[c]) {
        const id = r.id as string;
        present.add(id);
        const signature = JSON.stringify(r);
        if (map.get(id)?.signature === signature) continue;
        map.set(id, { record: r, signature, updatedAt: at });
      }
      for (const [id, s] of map) {
        if (present.has(id)) continue;
        map.delete(id);
        const type = DELETION_TYPE[c];
        if (type) {
          deletions.push({ at: atMs, record: { id, type, mis_id: (s.record.mis_id as string | undefined) ?? id, deleted_at: instant(at), restored_at: null } });
        }
      }
    }
  };

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  origin.value = address;
  update(batch, options.modifiedAt ?? '2024-01-01T00:00:00Z');

  return { url: address, token, schoolId, calls, faults, update, close: () => app.close() };
}
