import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { AppError, NotFoundError, PROBLEM_BASE } from '../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { DATA_PURPOSE, INDEX_PURPOSE } from './engine/documents.ts';
import type { Address, Email, FsmPeriod, GroupKind, Phone } from './model.ts';
import { utcDay } from './sharing.ts';

/**
 * THE way other products read a school's data: `createSyncReader(scope, grantee)`. Products never
 * query the sync tables themselves. Every call of a reader
 *   1. re-reads the grantee's live grant and the school's pause switch (revoked or paused: refused
 *      with SharingNotGrantedError, 403, on the very next call, even on a reader made before),
 *   2. returns only the fields the granted scopes allow (below),
 *   3. leaves out pupils and staff the school excluded from the grant, wherever they would appear
 *      (lists, contact links, group members, attendance marks), and pupils and staff who have left,
 *   4. counts one read for the grantee and the UTC day (sync_read_counts), shown on the sharing page.
 *
 * Fields per scope (pupils):
 *   - pupils.basic:     forename and surname (preferred, else legal), legal names, middle names,
 *                       year group, registration group, house. Name search needs this scope.
 *   - pupils.contact:   the pupil's own address, email addresses and phone numbers.
 *   - pupils.sensitive: date of birth, gender, UPN, ethnicity, religion, first language, SEN status.
 *                       Date of birth and gender are here rather than in basic on purpose: most
 *                       products need a name and a class, not an age, and the DOB + name pair is what
 *                       identity fraud is built on. A grantee that needs them asks for this scope.
 *   - pupils.photo:     the photo's blob id (open it with openBlob in the same tenant).
 *   - fsm:              free school meals eligibility and periods.
 * A pupil list needs at least one of these; every pupil carries `id`.
 *   - contacts: contacts with their links (relationship, parental responsibility, priority, lives
 *               with, and `noContact`: a court order or instruction not to contact this person about
 *               that pupil, which the product must honour).
 *   - staff:    title, names, job title, work emails and phones, photo blob id (not DOB or gender).
 *   - groups:   groups with their current members' ids; filtering pupils by group needs it too.
 *   - attendance: marks (pupil id, date, session, DfE code) over a range of at most 366 days.
 * `freshness()` needs any live grant.
 *
 * The school's own data browser (HTTP routes, permission 'sync.read') uses the browse* functions at
 * the end of this file: every field, no grant involved.
 */

export class SharingNotGrantedError extends AppError {
  constructor(detail: string) {
    super(403, `${PROBLEM_BASE}sharing-not-granted`, 'Sharing not granted', detail);
  }
}

// ---------------------------------------------------------------------------------------------
// Records as the school sees them (every field), decoded from the sealed documents.

export interface ContactLinkView {
  pupilId: string;
  relationship: string | null;
  parentalResponsibility: boolean | null;
  priority: number | null;
  livesWith: boolean | null;
  /** Court order or instruction: this person must not be contacted about this pupil. */
  noContact: boolean;
}

interface RecordMeta {
  id: string;
  source: string;
  misId: string;
  status: 'current' | 'left';
  leftAt: string | null;
  updatedAt: string;
}

export interface PupilView extends RecordMeta {
  legalForename: string;
  legalSurname: string;
  middleNames: string | null;
  preferredForename: string | null;
  preferredSurname: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  upn: string | null;
  admissionNumber: string | null;
  ethnicity: string | null;
  religion: string | null;
  firstLanguage: string | null;
  address: Address | null;
  emails: Email[];
  phones: Phone[];
  fsmEligible: boolean | null;
  fsmPeriods: FsmPeriod[];
  senStatus: string | null;
  yearGroup: string | null;
  registrationGroup: string | null;
  house: string | null;
  enrolmentDate: string | null;
  leavingDate: string | null;
  photoBlobId: string | null;
}

export interface ContactView extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  emails: Email[];
  phones: Phone[];
  address: Address | null;
  links: ContactLinkView[];
}

export interface StaffView extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  dateOfBirth: string | null;
  gender: string | null;
  jobTitle: string | null;
  emails: Email[];
  phones: Phone[];
  photoBlobId: string | null;
}

export interface GroupView {
  id: string;
  source: string;
  misId: string;
  kind: GroupKind;
  name: string;
  code: string | null;
  status: 'current' | 'left';
  pupilIds: string[];
  staffIds: string[];
}

export interface AttendanceMarkView {
  pupilId: string;
  date: string;
  session: 'AM' | 'PM';
  /** DfE attendance code. */
  code: string;
}

/** Per entity, when the school's data was last brought up to date (ISO timestamps). */
export type Freshness = Record<string, string>;

type Doc = Record<string, unknown>;

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
const iso = (value: Date | string): string => new Date(value).toISOString();

interface PersonRow {
  id: string;
  source: string;
  mis_id: string;
  status: 'current' | 'left';
  left_at: string | null;
  updated_at: Date;
  data_enc: string;
}

function meta(row: PersonRow): RecordMeta {
  return { id: row.id, source: row.source, misId: row.mis_id, status: row.status, leftAt: row.left_at, updatedAt: iso(row.updated_at) };
}

function open(scope: TenantScope, purpose: string, sealed: string): Doc {
  return JSON.parse(scope.cipher.open(purpose, sealed)) as Doc;
}

function toPupil(scope: TenantScope, row: PersonRow & { year_group: string | null; registration_group: string | null; photo_blob_id: string | null }): PupilView {
  const d = open(scope, DATA_PURPOSE.pupils, row.data_enc);
  return {
    ...meta(row),
    legalForename: str(d.legalForename) ?? '',
    legalSurname: str(d.legalSurname) ?? '',
    middleNames: str(d.middleNames),
    preferredForename: str(d.preferredForename),
    preferredSurname: str(d.preferredSurname),
    dateOfBirth: str(d.dateOfBirth),
    gender: str(d.gender),
    upn: str(d.upn),
    admissionNumber: str(d.admissionNumber),
    ethnicity: str(d.ethnicity),
    religion: str(d.religion),
    firstLanguage: str(d.firstLanguage),
    address: (d.address as Address | null | undefined) ?? null,
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    fsmEligible: bool(d.fsmEligible),
    fsmPeriods: list<FsmPeriod>(d.fsmPeriods),
    senStatus: str(d.senStatus),
    yearGroup: row.year_group ?? str(d.yearGroup),
    registrationGroup: row.registration_group ?? str(d.registrationGroup),
    house: str(d.house),
    enrolmentDate: str(d.enrolmentDate),
    leavingDate: str(d.leavingDate),
    photoBlobId: row.photo_blob_id,
  };
}

function toContact(scope: TenantScope, row: PersonRow, links: ContactLinkView[]): ContactView {
  const d = open(scope, DATA_PURPOSE.contacts, row.data_enc);
  return {
    ...meta(row),
    title: str(d.title),
    forename: str(d.forename) ?? '',
    surname: str(d.surname) ?? '',
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    address: (d.address as Address | null | undefined) ?? null,
    links,
  };
}

function toStaff(scope: TenantScope, row: PersonRow & { photo_blob_id: string | null }): StaffView {
  const d = open(scope, DATA_PURPOSE.staff, row.data_enc);
  return {
    ...meta(row),
    title: str(d.title),
    forename: str(d.forename) ?? '',
    surname: str(d.surname) ?? '',
    dateOfBirth: str(d.dateOfBirth),
    gender: str(d.gender),
    jobTitle: str(d.jobTitle),
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    photoBlobId: row.photo_blob_id,
  };
}

const byName = <T extends { id: string }>(surname: (r: T) => string, forename: (r: T) => string) => (a: T, b: T) =>
  surname(a).localeCompare(surname(b), 'en', { sensitivity: 'base' }) ||
  forename(a).localeCompare(forename(b), 'en', { sensitivity: 'base' }) ||
  a.id.localeCompare(b.id);

const pupilOrder = byName<PupilView>((p) => p.preferredSurname ?? p.legalSurname, (p) => p.preferredForename ?? p.legalForename);
const personOrder = byName<ContactView | StaffView>((p) => p.surname, (p) => p.forename);

// ---------------------------------------------------------------------------------------------
// Loading, shared by the reader and the school's browser. Reads run in the caller's tenant
// transaction: row-level security keeps every other school out whatever the query says.

/**
 * Exact, case-insensitive name search through the blind indexes: the whole text as a forename or a
 * surname, or split at a space into forename and surname ("Ann Smith", "Mary Ann Smith"). UPNs are
 * matched too where allowed. No name is ever compared in SQL, only keyed hashes. The engine indexes a
 * pupil's preferred names where the school has them (else the legal ones), so a pupil is found by
 * the name they go by.
 */
function nameSearch(scope: TenantScope, search: string, options: { upn: boolean }): RawBuilder<boolean> {
  const text = search.trim().replace(/\s+/g, ' ');
  const index = (value: string) => scope.cipher.blindIndex(INDEX_PURPOSE.name, value);
  const whole = index(text);
  const alternatives: RawBuilder<boolean>[] = [sql<boolean>`forename_bidx = ${whole}`, sql<boolean>`surname_bidx = ${whole}`];
  const words = text.split(' ');
  for (let i = 1; i < words.length && i < 6; i++) {
    const forename = index(words.slice(0, i).join(' '));
    const surname = index(words.slice(i).join(' '));
    alternatives.push(sql<boolean>`(forename_bidx = ${forename} AND surname_bidx = ${surname})`);
  }
  if (options.upn) alternatives.push(sql<boolean>`upn_bidx = ${scope.cipher.blindIndex(INDEX_PURPOSE.upn, text)}`);
  return sql<boolean>`(${sql.join(alternatives, sql` OR `)})`;
}

/** Ids of the members of the current groups matching `group` (a group id, or a group name, case-insensitive). */
async function groupMemberIds(scope: TenantScope, group: string, memberKind: 'pupil' | 'staff'): Promise<string[]> {
  const rows = await scope.trx
    .selectFrom('group_members')
    .innerJoin('school_groups', 'school_groups.id', 'group_members.group_id')
    .select('group_members.member_id')
    .where('group_members.member_kind', '=', memberKind)
    .where('school_groups.status', '=', 'current')
    .where((eb) =>
      isUuid(group) ? eb('school_groups.id', '=', group) : eb(sql<string>`lower(school_groups.name)`, '=', group.trim().toLowerCase()),
    )
    .execute();
  return [...new Set(rows.map((r) => r.member_id))];
}

interface PupilQuery {
  ids?: string[];
  search?: string;
  group?: string;
  includeLeft?: boolean;
  upnSearch?: boolean;
}

async function loadPupils(scope: TenantScope, query: PupilQuery): Promise<PupilView[]> {
  let ids = query.ids;
  if (query.group !== undefined) {
    const members = await groupMemberIds(scope, query.group, 'pupil');
    ids = ids ? ids.filter((id) => members.includes(id)) : members;
  }
  if (ids && ids.length === 0) return [];
  let q = scope.trx
    .selectFrom('pupils')
    .select(['id', 'source', 'mis_id', 'status', sql<string | null>`to_char(left_at, 'YYYY-MM-DD')`.as('left_at'), 'updated_at', 'data_enc', 'year_group', 'registration_group', 'photo_blob_id']);
  if (!query.includeLeft) q = q.where('status', '=', 'current');
  if (ids) q = q.where('id', 'in', ids);
  if (query.search !== undefined) q = q.where(nameSearch(scope, query.search, { upn: query.upnSearch ?? false }));
  const rows = await q.execute();
  return rows.map((row) => toPupil(scope, row)).sort(pupilOrder);
}

async function loadLinks(scope: TenantScope, filter: { contactIds?: string[]; pupilId?: string }): Promise<Map<string, ContactLinkView[]>> {
  let q = scope.trx.selectFrom('pupil_contacts').select(['pupil_id', 'contact_id', 'priority', 'data_enc']);
  if (filter.contactIds) {
    if (filter.contactIds.length === 0) return new Map();
    q = q.where('contact_id', 'in', filter.contactIds);
  }
  if (filter.pupilId) q = q.where('pupil_id', '=', filter.pupilId);
  const rows = await q.execute();
  const out = new Map<string, ContactLinkView[]>();
  for (const row of rows) {
    const d = open(scope, DATA_PURPOSE.links, row.data_enc);
    const link: ContactLinkView = {
      pupilId: row.pupil_id,
      relationship: str(d.relationship),
      parentalResponsibility: bool(d.parentalResponsibility),
      priority: num(d.priority) ?? row.priority,
      livesWith: bool(d.livesWith),
      noContact: d.noContact === true,
    };
    out.set(row.contact_id, [...(out.get(row.contact_id) ?? []), link]);
  }
  for (const links of out.values()) links.sort((a, b) => (a.priority ?? 99) - (b.priority ?? 99) || a.pupilId.localeCompare(b.pupilId));
  return out;
}

interface ContactQuery {
  /** Only contacts linked to this pupil (and, of their links, all of them). */
  pupilId?: string;
  search?: string;
  includeLeft?: boolean;
}

async function loadContacts(scope: TenantScope, query: ContactQuery): Promise<ContactView[]> {
  let contactIds: string[] | undefined;
  if (query.pupilId) {
    const linked = await scope.trx.selectFrom('pupil_contacts').select('contact_id').where('pupil_id', '=', query.pupilId).execute();
    contactIds = linked.map((l) => l.contact_id);
    if (contactIds.length === 0) return [];
  }
  let q = scope.trx
    .selectFrom('contacts')
    .select(['id', 'source', 'mis_id', 'status', sql<string | null>`to_char(left_at, 'YYYY-MM-DD')`.as('left_at'), 'updated_at', 'data_enc']);
  if (!query.includeLeft) q = q.where('status', '=', 'current');
  if (contactIds) q = q.where('id', 'in', contactIds);
  if (query.search !== undefined) q = q.where(nameSearch(scope, query.search, { upn: false }));
  const rows = await q.execute();
  const links = await loadLinks(scope, { contactIds: rows.length > 2_000 ? undefined : rows.map((r) => r.id) });
  return rows.map((row) => toContact(scope, row, links.get(row.id) ?? [])).sort(personOrder);
}

async function loadStaff(scope: TenantScope, query: { search?: string; includeLeft?: boolean }): Promise<StaffView[]> {
  let q = scope.trx
    .selectFrom('staff')
    .select(['id', 'source', 'mis_id', 'status', sql<string | null>`to_char(left_at, 'YYYY-MM-DD')`.as('left_at'), 'updated_at', 'data_enc', 'photo_blob_id']);
  if (!query.includeLeft) q = q.where('status', '=', 'current');
  if (query.search !== undefined) q = q.where(nameSearch(scope, query.search, { upn: false }));
  const rows = await q.execute();
  return rows.map((row) => toStaff(scope, row)).sort(personOrder);
}

async function loadGroups(scope: TenantScope, query: { includeLeft?: boolean; kind?: GroupKind; currentMembersOnly: boolean }): Promise<GroupView[]> {
  let q = scope.trx.selectFrom('school_groups').select(['id', 'source', 'mis_id', 'kind', 'name', 'code', 'status']);
  if (!query.includeLeft) q = q.where('status', '=', 'current');
  if (query.kind) q = q.where('kind', '=', query.kind);
  const groups = await q.execute();
  if (groups.length === 0) return [];
  let m = scope.trx
    .selectFrom('group_members')
    .select(['group_id', 'member_kind', 'member_id'])
    .where('group_id', 'in', groups.map((g) => g.id));
  if (query.currentMembersOnly) {
    m = m.where((eb) =>
      eb.or([
        eb.and([eb('member_kind', '=', 'pupil'), eb('member_id', 'in', eb.selectFrom('pupils').select('id').where('status', '=', 'current'))]),
        eb.and([eb('member_kind', '=', 'staff'), eb('member_id', 'in', eb.selectFrom('staff').select('id').where('status', '=', 'current'))]),
      ]),
    );
  }
  const members = await m.execute();
  const byGroup = new Map<string, { pupilIds: string[]; staffIds: string[] }>();
  for (const member of members) {
    const entry = byGroup.get(member.group_id) ?? { pupilIds: [], staffIds: [] };
    (member.member_kind === 'pupil' ? entry.pupilIds : entry.staffIds).push(member.member_id);
    byGroup.set(member.group_id, entry);
  }
  const kindOrder: GroupKind[] = ['year', 'registration', 'house', 'class'];
  return groups
    .map((g) => ({
      id: g.id,
      source: g.source,
      misId: g.mis_id,
      kind: g.kind,
      name: g.name,
      code: g.code,
      status: g.status,
      pupilIds: (byGroup.get(g.id)?.pupilIds ?? []).sort(),
      staffIds: (byGroup.get(g.id)?.staffIds ?? []).sort(),
    }))
    .sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || a.name.localeCompare(b.name, 'en', { numeric: true }) || a.id.localeCompare(b.id));
}

const isoDate = z.iso.date({ error: 'must be a date (YYYY-MM-DD)' });
export const attendanceRangeSchema = z
  .object({ from: isoDate, to: isoDate })
  .refine((r) => r.from <= r.to, { path: ['to'], message: 'must not be before from' })
  .refine((r) => Date.parse(r.to) - Date.parse(r.from) <= 365 * 86_400_000, { path: ['to'], message: 'must be at most 366 days after from' });

async function loadAttendance(scope: TenantScope, range: { from: string; to: string }, pupilIds: string[] | undefined): Promise<AttendanceMarkView[]> {
  let q = scope.trx
    .selectFrom('attendance_marks')
    .innerJoin('pupils', 'pupils.id', 'attendance_marks.pupil_id')
    .select(['attendance_marks.pupil_id', sql<string>`to_char(attendance_marks.date, 'YYYY-MM-DD')`.as('date'), 'attendance_marks.session', 'attendance_marks.code_enc'])
    .where('pupils.status', '=', 'current')
    .where('attendance_marks.date', '>=', range.from)
    .where('attendance_marks.date', '<=', range.to)
    .orderBy('attendance_marks.date')
    .orderBy('attendance_marks.session')
    .orderBy('attendance_marks.pupil_id');
  if (pupilIds) q = q.where('attendance_marks.pupil_id', 'in', pupilIds);
  const rows = await q.execute();
  return rows.map((r) => ({ pupilId: r.pupil_id, date: r.date, session: r.session, code: scope.cipher.open(DATA_PURPOSE.attendanceCode, r.code_enc) }));
}

/** The school's freshness stamps (sync_state.fresh_as_of); empty before the first import. */
export async function freshness(scope: TenantScope): Promise<Freshness> {
  const row = await scope.trx.selectFrom('sync_state').select('fresh_as_of').where('tenant_id', '=', scope.tenantId).executeTakeFirst();
  const stamps = (row?.fresh_as_of ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(stamps).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

// ---------------------------------------------------------------------------------------------
// The reader other products use.

/** A pupil as a grantee sees it: `id` always, the rest by scope (see the top of this file). */
export interface SharedPupil {
  id: string;
  // pupils.basic
  forename?: string;
  surname?: string;
  legalForename?: string;
  legalSurname?: string;
  middleNames?: string | null;
  yearGroup?: string | null;
  registrationGroup?: string | null;
  house?: string | null;
  // pupils.contact
  address?: Address | null;
  emails?: Email[];
  phones?: Phone[];
  // pupils.sensitive
  dateOfBirth?: string | null;
  gender?: string | null;
  upn?: string | null;
  ethnicity?: string | null;
  religion?: string | null;
  firstLanguage?: string | null;
  senStatus?: string | null;
  // pupils.photo
  photoBlobId?: string | null;
  // fsm
  fsmEligible?: boolean | null;
  fsmPeriods?: FsmPeriod[];
}

export interface SharedContact {
  id: string;
  title: string | null;
  forename: string;
  surname: string;
  emails: Email[];
  phones: Phone[];
  address: Address | null;
  /** Only links to pupils the grant shows. Honour `noContact`. */
  links: ContactLinkView[];
}

export interface SharedStaff {
  id: string;
  title: string | null;
  forename: string;
  surname: string;
  jobTitle: string | null;
  emails: Email[];
  phones: Phone[];
  photoBlobId: string | null;
}

export interface SharedGroup {
  id: string;
  kind: GroupKind;
  name: string;
  code: string | null;
  pupilIds: string[];
  staffIds: string[];
}

export interface SyncReader {
  readonly grantee: string;
  /** Current pupils. `search`: exact name (needs pupils.basic; UPN too with pupils.sensitive). `group`: a group id or name (needs groups). */
  pupils(options?: { search?: string; group?: string }): Promise<SharedPupil[]>;
  /** Current contacts with their links to shown pupils; only those of one pupil when `pupilId` is given. */
  contacts(pupilId?: string): Promise<SharedContact[]>;
  staff(): Promise<SharedStaff[]>;
  groups(): Promise<SharedGroup[]>;
  /** Marks from `from` to `to` inclusive (YYYY-MM-DD, at most 366 days). */
  attendance(range: { from: string; to: string }): Promise<AttendanceMarkView[]>;
  freshness(): Promise<Freshness>;
}

const PUPIL_SCOPES: SyncGrantScope[] = ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'pupils.photo', 'fsm'];

interface Admitted {
  scopes: Set<SyncGrantScope>;
  excludedPupils: Set<string>;
  excludedStaff: Set<string>;
}

/** Projects a pupil onto the granted scopes; nothing outside them is even copied. */
export function sharedPupil(pupil: PupilView, scopes: ReadonlySet<SyncGrantScope>): SharedPupil {
  const out: SharedPupil = { id: pupil.id };
  if (scopes.has('pupils.basic')) {
    Object.assign(out, {
      forename: pupil.preferredForename ?? pupil.legalForename,
      surname: pupil.preferredSurname ?? pupil.legalSurname,
      legalForename: pupil.legalForename,
      legalSurname: pupil.legalSurname,
      middleNames: pupil.middleNames,
      yearGroup: pupil.yearGroup,
      registrationGroup: pupil.registrationGroup,
      house: pupil.house,
    });
  }
  if (scopes.has('pupils.contact')) Object.assign(out, { address: pupil.address, emails: pupil.emails, phones: pupil.phones });
  if (scopes.has('pupils.sensitive')) {
    Object.assign(out, {
      dateOfBirth: pupil.dateOfBirth,
      gender: pupil.gender,
      upn: pupil.upn,
      ethnicity: pupil.ethnicity,
      religion: pupil.religion,
      firstLanguage: pupil.firstLanguage,
      senStatus: pupil.senStatus,
    });
  }
  if (scopes.has('pupils.photo')) out.photoBlobId = pupil.photoBlobId;
  if (scopes.has('fsm')) Object.assign(out, { fsmEligible: pupil.fsmEligible, fsmPeriods: pupil.fsmPeriods });
  return out;
}

/**
 * A reader for one grantee (a product name such as 'messaging', or an API client id) in the
 * school of `scope`. Holding a reader grants nothing: each call checks the grant afresh.
 */
export function createSyncReader(scope: TenantScope, grantee: string): SyncReader {
  if (typeof grantee !== 'string' || grantee.trim() === '') throw new TypeError('a sync reader needs the name of its grantee');

  async function admit(anyOf: SyncGrantScope[], allOf: SyncGrantScope[] = []): Promise<Admitted> {
    const { trx } = scope;
    const grant = await trx
      .selectFrom('sync_grants')
      .leftJoin('sync_state', 'sync_state.tenant_id', 'sync_grants.tenant_id')
      .select(['sync_grants.id', 'sync_grants.scopes', 'sync_state.sharing_paused'])
      .where('sync_grants.grantee', '=', grantee)
      .where('sync_grants.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!grant) throw new SharingNotGrantedError(`the school has not granted '${grantee}' access to its data, or has revoked it`);
    if (grant.sharing_paused) throw new SharingNotGrantedError('the school has paused all sharing of its data');
    const scopes = new Set(grant.scopes);
    if (anyOf.length > 0 && !anyOf.some((s) => scopes.has(s))) {
      throw new SharingNotGrantedError(`the school's grant to '${grantee}' does not include ${anyOf.join(' or ')}`);
    }
    const missing = allOf.filter((s) => !scopes.has(s));
    if (missing.length > 0) throw new SharingNotGrantedError(`the school's grant to '${grantee}' does not include ${missing.join(' and ')}`);
    const exclusions = await trx.selectFrom('sync_grant_exclusions').select(['member_kind', 'member_id']).where('grant_id', '=', grant.id).execute();
    await trx
      .insertInto('sync_read_counts')
      .values({ tenant_id: scope.tenantId, grantee, day: utcDay(), reads: 1 })
      .onConflict((oc) => oc.columns(['tenant_id', 'grantee', 'day']).doUpdateSet({ reads: sql<number>`sync_read_counts.reads + 1` }))
      .execute();
    return {
      scopes,
      excludedPupils: new Set(exclusions.filter((e) => e.member_kind === 'pupil').map((e) => e.member_id)),
      excludedStaff: new Set(exclusions.filter((e) => e.member_kind === 'staff').map((e) => e.member_id)),
    };
  }

  return {
    grantee,

    async pupils(options = {}) {
      const required: SyncGrantScope[] = [];
      if (options.search !== undefined) required.push('pupils.basic');
      if (options.group !== undefined) required.push('groups');
      const access = await admit(PUPIL_SCOPES, required);
      const pupils = await loadPupils(scope, { search: options.search, group: options.group, upnSearch: access.scopes.has('pupils.sensitive') });
      return pupils.filter((p) => !access.excludedPupils.has(p.id)).map((p) => sharedPupil(p, access.scopes));
    },

    async contacts(pupilId) {
      const access = await admit(['contacts']);
      if (pupilId !== undefined && (!isUuid(pupilId) || access.excludedPupils.has(pupilId))) return [];
      let current = scope.trx.selectFrom('pupils').select('id').where('status', '=', 'current');
      if (pupilId !== undefined) current = current.where('id', '=', pupilId);
      const shown = new Set((await current.execute()).map((p) => p.id).filter((id) => !access.excludedPupils.has(id)));
      const contacts = await loadContacts(scope, { pupilId });
      const out: SharedContact[] = [];
      for (const contact of contacts) {
        const links = contact.links.filter((l) => shown.has(l.pupilId));
        // A contact is shown only through a pupil the grant shows.
        if (links.length === 0) continue;
        out.push({
          id: contact.id,
          title: contact.title,
          forename: contact.forename,
          surname: contact.surname,
          emails: contact.emails,
          phones: contact.phones,
          address: contact.address,
          links,
        });
      }
      return out;
    },

    async staff() {
      const access = await admit(['staff']);
      return (await loadStaff(scope, {}))
        .filter((s) => !access.excludedStaff.has(s.id))
        .map((s) => ({ id: s.id, title: s.title, forename: s.forename, surname: s.surname, jobTitle: s.jobTitle, emails: s.emails, phones: s.phones, photoBlobId: s.photoBlobId }));
    },

    async groups() {
      const access = await admit(['groups']);
      return (await loadGroups(scope, { currentMembersOnly: true })).map((g) => ({
        id: g.id,
        kind: g.kind,
        name: g.name,
        code: g.code,
        pupilIds: g.pupilIds.filter((id) => !access.excludedPupils.has(id)),
        staffIds: g.staffIds.filter((id) => !access.excludedStaff.has(id)),
      }));
    },

    async attendance(range) {
      const checked = parseOrThrow(attendanceRangeSchema, range);
      const access = await admit(['attendance']);
      const marks = await loadAttendance(scope, checked, undefined);
      return marks.filter((m) => !access.excludedPupils.has(m.pupilId));
    },

    async freshness() {
      await admit([]);
      return freshness(scope);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The school's own data browser: every field, for people and tokens holding 'sync.read'.

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PageOptions {
  limit?: number;
  offset?: number;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

function page<T>(all: T[], options: PageOptions): Page<T> {
  const limit = Math.min(Math.max(options.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const offset = Math.max(options.offset ?? 0, 0);
  return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
}

/** Pupils by surname; `search` matches a name or UPN exactly (case-insensitive); `group` a group id or name. */
export async function browsePupils(scope: TenantScope, options: PageOptions & { search?: string; group?: string; includeLeft?: boolean } = {}): Promise<Page<PupilView>> {
  return page(await loadPupils(scope, { search: options.search, group: options.group, includeLeft: options.includeLeft, upnSearch: true }), options);
}

/** One pupil (current or left) with their contacts. */
export async function browsePupil(scope: TenantScope, id: string): Promise<PupilView & { contacts: ContactView[] }> {
  const [pupil] = isUuid(id) ? await loadPupils(scope, { ids: [id], includeLeft: true }) : [];
  if (!pupil) throw new NotFoundError('pupil');
  return { ...pupil, contacts: await loadContacts(scope, { pupilId: id, includeLeft: true }) };
}

export async function browseContacts(scope: TenantScope, options: PageOptions & { search?: string; includeLeft?: boolean } = {}): Promise<Page<ContactView>> {
  return page(await loadContacts(scope, { search: options.search, includeLeft: options.includeLeft }), options);
}

export async function browseStaff(scope: TenantScope, options: PageOptions & { search?: string; includeLeft?: boolean } = {}): Promise<Page<StaffView>> {
  return page(await loadStaff(scope, { search: options.search, includeLeft: options.includeLeft }), options);
}

export async function browseGroups(scope: TenantScope, options: PageOptions & { kind?: GroupKind; includeLeft?: boolean } = {}): Promise<Page<GroupView>> {
  return page(await loadGroups(scope, { kind: options.kind, includeLeft: options.includeLeft, currentMembersOnly: false }), options);
}
