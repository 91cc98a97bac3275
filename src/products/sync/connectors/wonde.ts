import { isAttendanceCode } from '../codes.ts';
import { emptyBatch, type AttendanceRecord, type ContactRecord, type Entity, type GroupKind, type ImportBatch, type SchoolInfo, type StaffRecord } from '../model.ts';
import { compact } from './compact.ts';
import { isRecord, issuePath, Stop } from './http.ts';
import { WondeApi, type WondeOptions, type WondeSettings } from './wonde/api.ts';
import { WondeRecords } from './wonde/records.ts';
import {
  attendanceSchema,
  contactSchema,
  deletionSchema,
  employeeSchema,
  groupSchema,
  schoolSchema,
  studentSchema,
  type Relationship,
  type WondeContact,
} from './wonde/schemas.ts';
import { contactLines, dateOf, str } from './wonde/values.ts';

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

export type { WondeOptions, WondeSettings } from './wonde/api.ts';

const STUDENT_INCLUDES = 'education_details,extended_details,contact_details,contacts,year,registration,house';
const CONTACT_INCLUDES = 'contact_details,students';
const EMPLOYEE_INCLUDES = 'contact_details,employment_details';
const GROUP_INCLUDES = 'students,employees';

const GROUP_TYPES: Readonly<Record<string, GroupKind>> = { YEAR: 'year', REGISTRATION: 'registration', HOUSE: 'house' };

const DELETION_TYPES: Readonly<Record<string, Exclude<Entity, 'attendance'>>> = {
  student: 'pupils',
  employee: 'staff',
  contact: 'contacts',
  group: 'groups',
  class: 'groups',
};

class WondeReader extends WondeApi {
  private readonly records = new WondeRecords((location, message) => this.warning(location, message));

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
      const l = this.records.contactLink(pupilMisId, rel, at);
      const i = c.links.findIndex((x) => x.pupilMisId === pupilMisId);
      if (i < 0) c.links.push(l);
      else c.links[i] = { ...c.links[i], ...l };
    };

    await this.readList('students', { include: STUDENT_INCLUDES }, studentSchema, (s, at) => {
      batch.pupils.push(this.records.pupil(s, at));
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
          dateOfBirth: this.records.date(e.date_of_birth, `${at}.date_of_birth`),
          gender: this.records.gender(e.gender, `${at}.gender`),
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
      batch.groups.push(this.records.group(g, kind));
    });
    if (otherTypes > 0) this.warning(`GET ${this.schoolUrl.pathname}/groups`, `${otherTypes} groups are not year, registration or house groups; not read`);
    await this.readList('classes', { include: GROUP_INCLUDES }, groupSchema, (g) => {
      batch.groups.push(this.records.group(g, 'class'));
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
}

/**
 * Reads a school from the Wonde API. Never rejects for a remote fault: every problem comes back in
 * `errors` (location and reason, never the token or a personal value), and a batch with errors
 * carries no records.
 */
export async function readWonde(settings: WondeSettings, options: WondeOptions = {}): Promise<ImportBatch> {
  return new WondeReader(settings, options).run();
}
