import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { DATA_PURPOSE, INDEX_PURPOSE } from '../engine/documents.ts';
import type { GroupKind } from '../model.ts';
import {
  bool,
  num,
  open,
  personOrder,
  pupilOrder,
  str,
  toContact,
  toPupil,
  toStaff,
  type AttendanceMarkView,
  type ContactLinkView,
  type ContactView,
  type Freshness,
  type GroupView,
  type PupilView,
  type StaffView,
} from './views.ts';

/**
 * Loading, shared by the reader and the school's browser. Reads run in the caller's tenant
 * transaction: row-level security keeps every other school out whatever the query says.
 */

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

export async function loadPupils(scope: TenantScope, query: PupilQuery): Promise<PupilView[]> {
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

export async function loadContacts(scope: TenantScope, query: ContactQuery): Promise<ContactView[]> {
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

export async function loadStaff(scope: TenantScope, query: { search?: string; includeLeft?: boolean }): Promise<StaffView[]> {
  let q = scope.trx
    .selectFrom('staff')
    .select(['id', 'source', 'mis_id', 'status', sql<string | null>`to_char(left_at, 'YYYY-MM-DD')`.as('left_at'), 'updated_at', 'data_enc', 'photo_blob_id']);
  if (!query.includeLeft) q = q.where('status', '=', 'current');
  if (query.search !== undefined) q = q.where(nameSearch(scope, query.search, { upn: false }));
  const rows = await q.execute();
  return rows.map((row) => toStaff(scope, row)).sort(personOrder);
}

export async function loadGroups(scope: TenantScope, query: { includeLeft?: boolean; kind?: GroupKind; currentMembersOnly: boolean }): Promise<GroupView[]> {
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

export async function loadAttendance(scope: TenantScope, range: { from: string; to: string }, pupilIds: string[] | undefined): Promise<AttendanceMarkView[]> {
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
