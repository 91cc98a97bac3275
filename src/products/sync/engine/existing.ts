import { sql } from 'kysely';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { CHUNK, chunked } from './bulk.ts';
import type { Doc } from './documents.ts';

/** What the engine needs of a record already held, loaded once per entity and run. */
export interface ExistingRecord {
  id: string;
  misId: string;
  hash: string;
  status: 'current' | 'left';
  photoBlobId: string | null;
  /** Groups only: their clear columns. */
  kind?: string;
  name?: string;
  code?: string | null;
}

export type RecordTable = 'pupils' | 'contacts' | 'staff' | 'school_groups';

/** Every record of this source in one table, by MIS id: one query, no personal value opened. */
export async function loadExisting(scope: TenantScope, table: RecordTable, source: string): Promise<Map<string, ExistingRecord>> {
  const extra =
    table === 'school_groups'
      ? sql`, kind, name, code, NULL::uuid AS photo_blob_id`
      : table === 'contacts'
        ? sql`, NULL AS kind, NULL AS name, NULL AS code, NULL::uuid AS photo_blob_id`
        : sql`, NULL AS kind, NULL AS name, NULL AS code, photo_blob_id`;
  const rows = await sql<{
    id: string;
    mis_id: string;
    content_hash: string;
    status: 'current' | 'left';
    kind: string | null;
    name: string | null;
    code: string | null;
    photo_blob_id: string | null;
  }>`SELECT id, mis_id, content_hash, status ${extra} FROM ${sql.raw(table)} WHERE tenant_id = ${scope.tenantId} AND source = ${source}`.execute(scope.trx);
  const map = new Map<string, ExistingRecord>();
  for (const row of rows.rows) {
    map.set(row.mis_id, {
      id: row.id,
      misId: row.mis_id,
      hash: row.content_hash,
      status: row.status,
      photoBlobId: row.photo_blob_id,
      ...(table === 'school_groups' ? { kind: row.kind ?? undefined, name: row.name ?? undefined, code: row.code } : {}),
    });
  }
  return map;
}

/** The sealed documents of some records, opened: only for records whose content changed. */
export async function loadDocuments(scope: TenantScope, table: 'pupils' | 'contacts' | 'staff', ids: string[]): Promise<Map<string, Doc>> {
  const docs = new Map<string, Doc>();
  for (const part of chunked(ids, CHUNK.records)) {
    const rows = await sql<{ id: string; data_enc: string }>`
      SELECT id, data_enc FROM ${sql.raw(table)} WHERE tenant_id = ${scope.tenantId} AND id = ANY(${part}::uuid[])`.execute(scope.trx);
    for (const row of rows.rows) docs.set(row.id, JSON.parse(scope.cipher.open(`${table}.data`, row.data_enc)) as Doc);
  }
  return docs;
}

/** Existing attendance marks in a date range: `pupilId|date|session` → content hash. */
export async function loadAttendance(scope: TenantScope, from: string, to: string): Promise<Map<string, string>> {
  const rows = await sql<{ pupil_id: string; date: string; session: string; content_hash: string }>`
    SELECT pupil_id, to_char(date, 'YYYY-MM-DD') AS date, session, content_hash FROM attendance_marks
     WHERE tenant_id = ${scope.tenantId} AND date BETWEEN ${from}::date AND ${to}::date`.execute(scope.trx);
  const map = new Map<string, string>();
  for (const row of rows.rows) map.set(`${row.pupil_id}|${row.date}|${row.session}`, row.content_hash);
  return map;
}

/** Current links of some contacts, opened: `contactId` → canonical link list (by pupil id). */
export async function loadLinks(scope: TenantScope, contactIds: string[]): Promise<Map<string, { pupilId: string; link: Doc }[]>> {
  const map = new Map<string, { pupilId: string; link: Doc }[]>();
  for (const part of chunked(contactIds, CHUNK.records)) {
    const rows = await sql<{ pupil_id: string; contact_id: string; data_enc: string }>`
      SELECT pupil_id, contact_id, data_enc FROM pupil_contacts
       WHERE tenant_id = ${scope.tenantId} AND contact_id = ANY(${part}::uuid[])`.execute(scope.trx);
    for (const row of rows.rows) {
      const list = map.get(row.contact_id) ?? [];
      list.push({ pupilId: row.pupil_id, link: JSON.parse(scope.cipher.open('pupil_contacts.data', row.data_enc)) as Doc });
      map.set(row.contact_id, list);
    }
  }
  return map;
}

/** Current members of some groups: `groupId` → sorted `kind:memberId` keys. */
export async function loadMembers(scope: TenantScope, groupIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const part of chunked(groupIds, CHUNK.records)) {
    const rows = await sql<{ group_id: string; member_kind: string; member_id: string }>`
      SELECT group_id, member_kind, member_id FROM group_members
       WHERE tenant_id = ${scope.tenantId} AND group_id = ANY(${part}::uuid[])`.execute(scope.trx);
    for (const row of rows.rows) {
      const list = map.get(row.group_id) ?? [];
      list.push(`${row.member_kind}:${row.member_id}`);
      map.set(row.group_id, list);
    }
  }
  for (const list of map.values()) list.sort();
  return map;
}
