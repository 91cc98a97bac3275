import { z } from 'zod';
import {
  ETHNICITY_CODES,
  isAttendanceCode,
  isEthnicityCode,
  isLanguageCode,
  isNcYearCode,
  isRelationshipCode,
  isUpnFormat,
  isValidUpn,
  isIsoDate,
  LANGUAGE_CODES,
  RELATIONSHIP_CODES,
  SEN_PROVISION_CODES,
} from '../codes.ts';
import {
  emptyBatch,
  type Address,
  type AttendanceRecord,
  type ContactLink,
  type ContactRecord,
  type Email,
  type Entity,
  type GroupKind,
  type GroupRecord,
  type ImportBatch,
  type ImportProblem,
  type Phone,
  type PupilRecord,
  type SchoolInfo,
  type StaffRecord,
} from '../model.ts';
import { compact, fetchWithRetry, isLoopback, isRecord, issuePath, MAX_ATTEMPTS, Stop } from './http.ts';
import { RestReader } from './rest-reader.ts';

/**
 * Wonde school data API (v1.0) → ImportBatch.
 *
 * Sources: docs.wonde.com (authentication by bearer token, regional domains, the pagination block
 * `meta.pagination { next, previous, more, per_page, current_page }`, `include=`, `updated_after`,
 * the students example with `forename` / `legal_forename` / `gender: "FEMALE"` and date objects
 * `{ date, timezone_type, timezone }`); Wonde's own PHP and Ruby clients (endpoint names:
 * `attendance/session`, `deletions`, `employees`, `groups`, `classes`, `contacts`; the clients follow
 * `meta.pagination.next` as given); field names seen in integrators' Wonde mappings
 * (`education_details.data.upn`, `extended_details.data.free_school_meals`,
 * `contact_details.data.{phones,emails,addresses}`, `year.data.code`, `registration`, `house`,
 * contacts' `relationship.parental_responsibility` and `priority`).
 *
 * - Reads `/schools/{id}` (the school), `students` (with education_details, extended_details,
 *   contact_details, contacts, year, registration, house), `contacts` (with contact_details and
 *   students), `employees` (contact_details, employment_details), `groups` (YEAR, REGISTRATION and
 *   HOUSE, with students and employees), `classes` (with students and employees) and
 *   `attendance/session` (with attendance_code); each list page after page by following
 *   `meta.pagination.next` until it is null. A next link to another host is never followed (the
 *   bearer token would go with it).
 * - misId is Wonde's own `id` (what every Wonde reference, attendance mark and deletion uses).
 * - As the CTF and OneRoster connectors: yearGroup is the NC year code ('Year 8' / '08' → '8'),
 *   registrationGroup the registration group's code (else name), house its name; relationship labels
 *   ('Mother', 'Step Father', …) become CBDS codes, an unknown one is kept as given with a warning.
 * - `updatedAfter` → a delta: every list is asked for with `updated_after=YYYY-MM-DD HH:MM:SS`
 *   (UTC), and `deletions` (student, employee, contact, group, class; not restored) become `removed`.
 *
 * Never rejects for a remote fault: an HTTP error, a malformed body or a cancelled signal comes back
 * as `errors` (with no records) whose location names the request, e.g.
 * `GET /v1.0/schools/A123/students?page=2 (HTTP 500)`. 429 and 5xx answers and network failures are
 * retried twice, waiting as `Retry-After` says (capped at 30 s) or 250 ms, then 500 ms. Messages
 * never carry the token or a value read from a record. Plain http is refused except to this
 * machine; redirects are not followed; a body over 32 MiB is refused.
 *
 * Not confirmed from Wonde's documentation (assumed, and tolerated when absent): the names
 * `registration` (`registration_group` is read too) and `house` of the student includes (nested
 * includes are not used: a contact's details come from `contacts?include=contact_details`);
 * extended_details' `ethnicity_code`, `first_language_code`, `religion`, `sen_status`;
 * education_details' `admission_number`,
 * `admission_date`, `leaving_date`; employment_details' `job_title`; the relationship's
 * `lives_with_pupil`; group `type` values YEAR / REGISTRATION / HOUSE; the session attendance record
 * (`student`, `date`, `session`, `attendance_code`) and the deletion record (`id`, `type`,
 * `restored_at`); the school's `urn`, `la_code`, `establishment_number`, `phase_of_education`; and
 * whether `updated_after` is read as UTC.
 */

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
}

const PER_PAGE = 100;
const MAX_PAGES = 20_000;

const STUDENT_INCLUDES = 'education_details,extended_details,contact_details,contacts,year,registration,house';
const CONTACT_INCLUDES = 'contact_details,students';
const EMPLOYEE_INCLUDES = 'contact_details,employment_details';
const GROUP_INCLUDES = 'students,employees';

const GENDER: Readonly<Record<string, string>> = {
  MALE: 'M',
  M: 'M',
  FEMALE: 'F',
  F: 'F',
  UNKNOWN: 'U',
  U: 'U',
  OTHER: 'X',
  X: 'X',
  'NOT SPECIFIED': 'X',
  INDETERMINATE: 'X',
};

/** Relationship labels as MISs name them (and the CBDS descriptions) → CBDS code. */
const RELATIONSHIP_LABELS: Readonly<Record<string, string>> = {
  mother: 'PAM',
  father: 'PAF',
  'step mother': 'STM',
  stepmother: 'STM',
  'step father': 'STF',
  stepfather: 'STF',
  'foster mother': 'FOM',
  'foster father': 'FOF',
  grandmother: 'GRM',
  grandfather: 'GRF',
  carer: 'CAR',
  childminder: 'CHM',
  doctor: 'DOC',
  'other family member': 'FAM',
  'family member': 'FAM',
  'other relative': 'REL',
  relative: 'REL',
  'social worker': 'SWR',
  'other contact': 'OTH',
  other: 'OTH',
  ...Object.fromEntries(Object.entries(RELATIONSHIP_CODES).map(([code, description]) => [description.toLowerCase(), code])),
};

const SEN_LABELS: Readonly<Record<string, string>> = {
  'no special educational need': 'N',
  'no sen': 'N',
  none: 'N',
  'sen support': 'K',
  'education, health and care plan': 'E',
  'ehc plan': 'E',
  ehcp: 'E',
};

const GROUP_TYPES: Readonly<Record<string, GroupKind>> = { YEAR: 'year', REGISTRATION: 'registration', HOUSE: 'house' };

const DELETION_TYPES: Readonly<Record<string, Exclude<Entity, 'attendance'>>> = {
  student: 'pupils',
  employee: 'staff',
  contact: 'contacts',
  group: 'groups',
  class: 'groups',
};

// ------------------------------------------------------------------ record shapes

const text = z.string().nullish();
const id = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);
const loose = z.object({}).loose();
const wondeDate = z.object({ date: z.string() }).loose().nullish();
/** `{ data: … }` of an include; some includes come back as `{ data: [] }` when empty. */
const single = <T extends z.ZodType>(inner: T) =>
  z
    .object({ data: z.union([inner, z.array(z.never()).length(0)]).nullish() })
    .loose()
    .nullish()
    .transform((v) => (v && v.data && !Array.isArray(v.data) ? (v.data as z.output<T>) : undefined));
const many = <T extends z.ZodType>(inner: T) =>
  z
    .object({ data: z.array(inner).nullish() })
    .loose()
    .nullish()
    .transform((v) => v?.data ?? undefined);

const contactDetails = single(
  z
    .object({
      phones: z.record(z.string(), z.unknown()).nullish(),
      emails: z.record(z.string(), z.unknown()).nullish(),
      addresses: z.record(z.string(), z.unknown()).nullish(),
    })
    .loose(),
);
const relationship = z
  .object({
    relationship: text,
    parental_responsibility: z.union([z.boolean(), z.number(), z.string()]).nullish(),
    priority: z.union([z.number(), z.string()]).nullish(),
    lives_with_pupil: z.union([z.boolean(), z.number(), z.string()]).nullish(),
  })
  .loose()
  .nullish();
const groupRef = z.object({ id, code: text, name: text }).loose();
const member = z.object({ id }).loose();

const studentSchema = z
  .object({
    id,
    forename: z.string(),
    surname: z.string(),
    legal_forename: text,
    legal_surname: text,
    middle_names: text,
    gender: text,
    date_of_birth: wondeDate,
    education_details: single(loose),
    extended_details: single(loose),
    contact_details: contactDetails,
    contacts: many(z.object({ id, title: text, forename: z.string(), surname: z.string(), relationship }).loose()),
    year: single(groupRef),
    registration: single(groupRef),
    registration_group: single(groupRef),
    house: single(groupRef),
  })
  .loose();
const contactSchema = z
  .object({
    id,
    title: text,
    forename: z.string(),
    surname: z.string(),
    contact_details: contactDetails,
    students: many(z.object({ id, relationship }).loose()),
  })
  .loose();
const employeeSchema = z
  .object({
    id,
    title: text,
    forename: z.string(),
    surname: z.string(),
    gender: text,
    date_of_birth: wondeDate,
    contact_details: contactDetails,
    employment_details: single(loose),
  })
  .loose();
const groupSchema = z
  .object({ id, name: z.string(), code: text, type: text, students: many(member), employees: many(member) })
  .loose();
const attendanceSchema = z
  .object({
    id: id.optional(),
    student: z.union([id, single(member)]),
    date: z.union([z.string(), wondeDate]),
    session: z.string(),
    attendance_code: z.union([z.string(), single(z.object({ code: z.string() }).loose())]).nullish(),
  })
  .loose();
const deletionSchema = z.object({ id, type: z.string(), restored_at: z.unknown().optional() }).loose();
const schoolSchema = z
  .object({
    id,
    name: z.string(),
    urn: z.union([z.string(), z.number()]).nullish(),
    la_code: z.union([z.string(), z.number()]).nullish(),
    establishment_number: z.union([z.string(), z.number()]).nullish(),
    phase_of_education: text,
  })
  .loose();

type Student = z.output<typeof studentSchema>;
type WondeContact = z.output<typeof contactSchema>;
type Relationship = z.output<typeof relationship>;

// ------------------------------------------------------------------ HTTP

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


// ------------------------------------------------------------------ value helpers

/** 'YYYY-MM-DD' of a Wonde date object `{ date: 'YYYY-MM-DD HH:MM:SS.000000', … }` or a date string; null when none, undefined when not a date. */
function dateOf(value: unknown): string | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  const raw = typeof value === 'string' ? value : isRecord(value) && typeof value.date === 'string' ? value.date : undefined;
  if (raw === undefined) return undefined;
  const day = raw.slice(0, 10);
  return isIsoDate(day) ? day : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1' || (typeof value === 'string' && /^(true|yes|y)$/i.test(value))) return true;
  if (value === 0 || value === '0' || (typeof value === 'string' && /^(false|no|n)$/i.test(value))) return false;
  return undefined;
}

/** Phones and e-mails from `contact_details.data`, typed where Wonde says which one it is. */
function contactLines(details: z.output<typeof contactDetails>): { emails?: Email[]; phones?: Phone[]; address?: Address | null } {
  if (details === undefined) return {};
  const phones: Phone[] = [];
  const addPhone = (number: string | undefined, type: Phone['type']) => {
    if (number && !phones.some((p) => p.number === number)) phones.push(type ? { number, type } : { number });
  };
  const p = details.phones ?? {};
  addPhone(str(p.home), 'home');
  addPhone(str(p.mobile), 'mobile');
  addPhone(str(p.work), 'work');
  addPhone(str(p.phone), 'other');
  addPhone(str(p.primary), 'other');
  const emails: Email[] = [];
  const addEmail = (address: string | undefined, type: Email['type']) => {
    if (address && !emails.some((e) => e.address === address)) emails.push({ address, type });
  };
  const e = details.emails ?? {};
  addEmail(str(e.home), 'home');
  addEmail(str(e.work), 'work');
  addEmail(str(e.email), 'other');
  addEmail(str(e.primary), 'other');
  const home = details.addresses?.home;
  let address: Address | null = null;
  if (isRecord(home)) {
    // The model keeps a house number as its own line ('12', 'High Street'), as a CTF does.
    const lines = [home.apartment, home.house_name, home.house_number, home.street, home.district].map(str).filter((l): l is string => l !== undefined);
    const postcode = str(home.postcode) ?? null;
    if (lines.length > 0 || postcode) address = { lines, town: str(home.town) ?? null, county: str(home.county) ?? null, postcode };
  }
  return { emails, phones, address };
}


/** `updated_after` as Wonde writes it: 'YYYY-MM-DD HH:MM:SS' (UTC). */
function wondeTimestamp(value: string): string | undefined {
  const trimmed = value.trim();
  const plain = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?$/.exec(trimmed);
  const ms = plain ? Date.parse(`${plain[1]}T${plain[2] ?? '00:00:00'}Z`) : Date.parse(trimmed);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

// ------------------------------------------------------------------ reader

class WondeReader extends RestReader {
  private readonly signal: AbortSignal | undefined;
  private readonly updatedAfter: string | undefined;
  private schoolUrl!: URL;

  constructor(
    private readonly settings: WondeSettings,
    options: WondeOptions,
  ) {
    super(options.updatedAfter === undefined ? 'full' : 'delta', { location: 'wonde', label: 'Wonde' });
    this.signal = options.signal;
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

  private async getJson(url: URL, location: string, tolerate: readonly number[] = []): Promise<unknown> {
    const res = await fetchWithRetry(url, { headers: { Authorization: `Bearer ${this.settings.token}`, Accept: 'application/json' } }, location, this.signal);
    if (tolerate.includes(res.status)) return null;
    if (res.status < 200 || res.status > 299) throw new Stop({ location: `${location} (HTTP ${res.status})`, message: statusMessage(res.status) });
    try {
      return JSON.parse(res.text);
    } catch {
      throw new Stop({ location, message: 'the response is not JSON' });
    }
  }

  /** Every page of a list; false when a tolerated status said it is not available. */
  private async readList<S extends z.ZodType>(
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

  // -------------------------------------------------------------- the import

  protected async read(): Promise<ImportBatch> {
    const batch = emptyBatch(this.mode);
    const delta = this.mode === 'delta';

    // The school.
    const location = `GET ${this.schoolUrl.pathname}`;
    const json = await this.getJson(this.schoolUrl, location);
    const school = isRecord(json) ? schoolSchema.safeParse(json.data) : undefined;
    if (!school || !school.success) {
      if (school && !school.success) for (const issue of school.error.issues.slice(0, 5)) this.error(`${location}: data${issuePath(issue.path)}`, issue.message);
      else this.error(location, 'the response has no "data" object');
      throw new Stop();
    }
    const info: SchoolInfo = { name: school.data.name };
    const urn = str(school.data.urn);
    if (urn) info.urn = urn;
    const la = str(school.data.la_code);
    const estab = str(school.data.establishment_number);
    if (la && estab && /^\d{3}$/.test(la) && /^\d{4}$/.test(estab)) info.laEstab = la + estab;
    const phase = str(school.data.phase_of_education);
    if (phase) info.phase = phase.toLowerCase();
    batch.school = info;

    // Pupils, and the contacts each names (with how they stand to the pupil).
    const contacts = new Map<string, ContactRecord>();
    const link = (contact: { id: string; title?: string | null; forename: string; surname: string }, pupilMisId: string, rel: Relationship, at: string) => {
      let c = contacts.get(contact.id);
      if (!c) {
        c = compact<ContactRecord>({ misId: contact.id, title: contact.title ?? undefined, forename: contact.forename, surname: contact.surname, links: [] });
        contacts.set(contact.id, c);
      }
      const l = this.contactLink(pupilMisId, rel, at);
      const i = c.links.findIndex((x) => x.pupilMisId === pupilMisId);
      if (i < 0) c.links.push(l);
      else c.links[i] = { ...c.links[i], ...l };
    };

    await this.readList('students', { include: STUDENT_INCLUDES }, studentSchema, (s, at) => {
      batch.pupils.push(this.pupil(s, at));
      (s.contacts ?? []).forEach((c, i) => link(c, s.id, c.relationship, `${at}.contacts.data[${i}].relationship`));
    });

    const listed = new Set<string>();
    const addContact = (c: WondeContact, at: string) => {
      listed.add(c.id);
      const lines = contactLines(c.contact_details);
      const existing = contacts.get(c.id);
      const record = compact<ContactRecord>({
        misId: c.id,
        title: c.title ?? null,
        forename: c.forename,
        surname: c.surname,
        emails: lines.emails,
        phones: lines.phones,
        address: lines.address,
        links: existing?.links ?? [],
      });
      contacts.set(c.id, record);
      (c.students ?? []).forEach((s, i) => link(c, s.id, s.relationship, `${at}.students.data[${i}].relationship`));
    };
    await this.readList('contacts', { include: CONTACT_INCLUDES }, contactSchema, addContact);
    // A delta: a contact named by a changed pupil but unchanged itself is fetched whole, so that its
    // record carries every link it has, not only the changed pupil's.
    if (delta) {
      for (const id of [...contacts.keys()]) {
        if (listed.has(id)) continue;
        const url = new URL(`${this.schoolUrl.href}/contacts/${encodeURIComponent(id)}`);
        url.searchParams.set('include', CONTACT_INCLUDES);
        const at = `GET ${this.schoolUrl.pathname}/contacts/{id}`;
        const one = await this.getJson(url, at, [404]);
        if (one === null) continue;
        const parsed = isRecord(one) ? contactSchema.safeParse(one.data) : undefined;
        if (!parsed?.success) {
          if (parsed) for (const issue of parsed.error.issues.slice(0, 5)) this.error(`${at}: data${issuePath(issue.path)}`, issue.message);
          else this.error(at, 'the response has no "data" object');
          throw new Stop();
        }
        if (parsed.data.id !== id) throw new Stop({ location: at, message: 'Wonde answered with a different record than asked for' });
        addContact(parsed.data, `${at}: data`);
      }
    }
    batch.contacts = [...contacts.values()];

    await this.readList('employees', { include: EMPLOYEE_INCLUDES }, employeeSchema, (e, at) => {
      const lines = contactLines(e.contact_details);
      const jobTitle = e.employment_details === undefined ? undefined : (str(e.employment_details.job_title) ?? null);
      batch.staff.push(
        compact<StaffRecord>({
          misId: e.id,
          title: e.title ?? null,
          forename: e.forename,
          surname: e.surname,
          dateOfBirth: this.date(e.date_of_birth, `${at}.date_of_birth`),
          gender: this.gender(e.gender, `${at}.gender`),
          jobTitle,
          emails: lines.emails,
          phones: lines.phones,
        }),
      );
    });

    // Year, registration and house groups; classes.
    let otherTypes = 0;
    await this.readList('groups', { include: GROUP_INCLUDES }, groupSchema, (g) => {
      const kind = GROUP_TYPES[(g.type ?? '').toUpperCase()];
      if (kind === undefined) {
        otherTypes++;
        return;
      }
      batch.groups.push(this.group(g, kind));
    });
    if (otherTypes > 0) this.warning(`GET ${this.schoolUrl.pathname}/groups`, `${otherTypes} groups are not year, registration or house groups; not read`);
    await this.readList('classes', { include: GROUP_INCLUDES }, groupSchema, (g) => {
      batch.groups.push(this.group(g, 'class'));
    });

    // Session attendance (AM / PM marks).
    let unknownCodes = 0;
    const attendanceRead = await this.readList(
      'attendance/session',
      { include: 'attendance_code' },
      attendanceSchema,
      (a, at) => {
        const pupilMisId = typeof a.student === 'string' ? a.student : a.student?.id;
        const date = dateOf(a.date);
        const session = a.session.toUpperCase();
        const code = typeof a.attendance_code === 'string' ? undefined : a.attendance_code?.code;
        if (!pupilMisId) return void this.error(`${at}.student`, 'has no student id');
        if (!date) return void this.error(`${at}.date`, 'is not a date');
        if (session !== 'AM' && session !== 'PM') return void this.error(`${at}.session`, 'is not AM or PM');
        if (code === undefined) return void this.error(`${at}.attendance_code`, 'has no code (the attendance_code include is missing)');
        if (!isAttendanceCode(code)) unknownCodes++;
        const record: AttendanceRecord = { pupilMisId, date, session, code };
        batch.attendance.push(record);
      },
      [403],
    );
    if (!attendanceRead) this.warning(`GET ${this.schoolUrl.pathname}/attendance/session`, 'session attendance is not available to this application: not read');
    if (unknownCodes > 0) this.warning(`GET ${this.schoolUrl.pathname}/attendance/session`, `${unknownCodes} marks have a code that is not a DfE attendance code; kept as given`);

    // Deletions (a delta only: in a full read, whatever is not listed has gone).
    if (delta) {
      const removed = new Set<string>();
      await this.readList('deletions', {}, deletionSchema, (d) => {
        const entity = DELETION_TYPES[d.type.toLowerCase()];
        if (entity === undefined || (d.restored_at !== undefined && d.restored_at !== null)) return;
        const key = `${entity}\u0000${d.id}`;
        if (removed.has(key)) return;
        removed.add(key);
        batch.removed.push({ entity, misId: d.id });
      });
    }
    return batch;
  }

  private date(value: unknown, at: string): string | null | undefined {
    const d = dateOf(value);
    if (d === undefined) this.warning(at, 'is not a date; left unset');
    return d;
  }

  private gender(value: string | null | undefined, at: string): string | null | undefined {
    if (value == null || value === '') return null;
    const g = GENDER[value.trim().toUpperCase()];
    if (g === undefined) this.warning(at, 'is not a gender this import reads; left unset');
    return g;
  }

  private contactLink(pupilMisId: string, rel: Relationship, at: string): ContactLink {
    const link: ContactLink = { pupilMisId };
    if (!rel) return link;
    if (rel.relationship !== undefined) {
      const label = rel.relationship?.trim() ?? '';
      if (label === '') link.relationship = null;
      else if (isRelationshipCode(label.toUpperCase())) link.relationship = label.toUpperCase();
      else {
        const code = RELATIONSHIP_LABELS[label.toLowerCase().replace(/-/g, ' ').replace(/\s+/g, ' ')];
        if (code === undefined) this.warning(`${at}.relationship`, 'is not a relationship with a CBDS code; kept as given');
        link.relationship = code ?? label;
      }
    }
    if (rel.parental_responsibility !== undefined) link.parentalResponsibility = bool(rel.parental_responsibility) ?? null;
    if (rel.priority !== undefined) {
      const n = typeof rel.priority === 'number' ? rel.priority : Number.parseInt(rel.priority ?? '', 10);
      link.priority = Number.isInteger(n) && n > 0 ? n : null;
    }
    if (rel.lives_with_pupil !== undefined) link.livesWith = bool(rel.lives_with_pupil) ?? null;
    return link;
  }

  private group(g: z.output<typeof groupSchema>, kind: GroupKind): GroupRecord {
    return {
      misId: g.id,
      kind,
      name: g.name,
      code: g.code ?? null,
      pupilMisIds: [...new Set((g.students ?? []).map((m) => m.id))],
      staffMisIds: [...new Set((g.employees ?? []).map((m) => m.id))],
    };
  }

  private pupil(s: Student, at: string): PupilRecord {
    const edu = s.education_details;
    const ext = s.extended_details;
    const lines = contactLines(s.contact_details);
    const legalForename = str(s.legal_forename) ?? s.forename;
    const legalSurname = str(s.legal_surname) ?? s.surname;

    let upn: string | null | undefined;
    if (edu !== undefined) {
      const raw = str(edu.upn)?.toUpperCase();
      upn = raw ?? null;
      if (raw !== undefined && !isUpnFormat(raw)) {
        this.warning(`${at}.education_details.data.upn`, 'is not a UPN; left unset');
        upn = undefined;
      } else if (raw !== undefined && !isValidUpn(raw)) this.warning(`${at}.education_details.data.upn`, 'is a UPN whose check letter does not match; kept as given');
    }

    let ethnicity: string | null | undefined;
    let firstLanguage: string | null | undefined;
    let religion: string | null | undefined;
    let fsmEligible: boolean | null | undefined;
    let senStatus: string | null | undefined;
    if (ext !== undefined) {
      ethnicity = this.coded(ext.ethnicity_code, ext.ethnicity, ETHNICITY_CODES, isEthnicityCode, `${at}.extended_details.data.ethnicity`);
      firstLanguage = this.coded(ext.first_language_code, ext.first_language, LANGUAGE_CODES, isLanguageCode, `${at}.extended_details.data.first_language`);
      religion = str(ext.religion_code) ?? str(ext.religion) ?? null;
      fsmEligible = ext.free_school_meals == null ? null : (bool(ext.free_school_meals) ?? null);
      const sen = str(ext.sen_status);
      if (sen === undefined) senStatus = null;
      else {
        const upper = sen.toUpperCase();
        senStatus = Object.hasOwn(SEN_PROVISION_CODES, upper) ? upper : SEN_LABELS[sen.toLowerCase()];
        if (senStatus === undefined) {
          this.warning(`${at}.extended_details.data.sen_status`, 'is not a SEN provision code; kept as given');
          senStatus = sen;
        } else if (SEN_PROVISION_CODES[senStatus]?.legacy) this.warning(`${at}.extended_details.data.sen_status`, 'is a SEN provision code from before 2014; kept as given');
      }
    }

    const yearCode = str(s.year?.code);
    let yearGroup: string | null | undefined = s.year === undefined ? null : undefined;
    if (yearCode !== undefined) {
      const code = yearCode.replace(/^(year|yr|y)\s*/i, '').replace(/^0+(?=\d)/, '');
      yearGroup = isNcYearCode(code) ? code : /^reception$/i.test(code) ? 'R' : yearCode;
      if (yearGroup === yearCode && !isNcYearCode(yearCode)) this.warning(`${at}.year.data.code`, 'is not a National Curriculum year code; kept as given');
    } else if (s.year !== undefined) yearGroup = str(s.year.name) ?? null;
    const registration = s.registration ?? s.registration_group;

    return compact<PupilRecord>({
      misId: s.id,
      upn,
      admissionNumber: edu === undefined ? undefined : (str(edu.admission_number) ?? null),
      legalForename,
      legalSurname,
      middleNames: s.middle_names || null,
      preferredForename: s.forename !== legalForename ? s.forename : null,
      preferredSurname: s.surname !== legalSurname ? s.surname : null,
      dateOfBirth: this.date(s.date_of_birth, `${at}.date_of_birth`),
      gender: this.gender(s.gender, `${at}.gender`),
      ethnicity,
      religion,
      firstLanguage,
      address: lines.address,
      emails: lines.emails,
      phones: lines.phones,
      fsmEligible,
      senStatus,
      yearGroup,
      registrationGroup: registration ? (str(registration.code) ?? str(registration.name) ?? null) : null,
      house: s.house ? (str(s.house.name) ?? str(s.house.code) ?? null) : null,
      enrolmentDate: edu === undefined ? undefined : this.date(edu.admission_date, `${at}.education_details.data.admission_date`),
      leavingDate: edu === undefined ? undefined : this.date(edu.leaving_date, `${at}.education_details.data.leaving_date`),
    });
  }

  /** A CBDS code from a `…_code` field, else from a description; unknown → kept as given, with a warning. */
  private coded(
    codeValue: unknown,
    labelValue: unknown,
    table: Readonly<Record<string, string | { description: string }>>,
    known: (code: string) => boolean,
    at: string,
  ): string | null {
    const code = str(codeValue)?.toUpperCase();
    if (code !== undefined) {
      if (!known(code)) this.warning(`${at}_code`, 'is not a CBDS code; kept as given');
      return code;
    }
    const label = str(labelValue);
    if (label === undefined) return null;
    if (known(label.toUpperCase())) return label.toUpperCase();
    const wanted = label.toLowerCase();
    for (const [c, v] of Object.entries(table)) if ((typeof v === 'string' ? v : v.description).toLowerCase() === wanted) return c;
    this.warning(at, 'has no CBDS code; kept as given');
    return label;
  }
}

/**
 * Reads a school from the Wonde API. Never rejects for a remote fault: every problem comes back in
 * `errors` (location and reason, never the token or a personal value), and a batch with errors
 * carries no records.
 */
export async function readWonde(settings: WondeSettings, options: WondeOptions = {}): Promise<ImportBatch> {
  return new WondeReader(settings, options).run();
}
