import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { LocalBlobStore } from '../../../platform/storage/blob-store.ts';
import { saveBlob } from '../../../platform/storage/blobs.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import {
  ENTITIES,
  type ContactRecord,
  type Entity,
  type GroupRecord,
  type ImportBatch,
  type ImportProblem,
  type Photo,
  type PupilRecord,
  type StaffRecord,
} from '../model.ts';
import { CHUNK, chunked, insertColumns, pipelined, toColumns, type Column } from './bulk.ts';
import {
  attendanceHash,
  canonical,
  changedFields,
  contentHash,
  DATA_PURPOSE,
  nameIndex,
  photoMeta,
  toDoc,
  today,
  upnIndex,
  type Doc,
} from './documents.ts';
import { loadAttendance, loadDocuments, loadExisting, loadLinks, loadMembers, type ExistingRecord } from './existing.ts';

export type Counts = Record<Entity, number>;

export function zeroCounts(): Counts {
  return Object.fromEntries(ENTITIES.map((e) => [e, 0])) as Counts;
}

export interface ChangeRow {
  entity: Exclude<Entity, 'attendance'>;
  recordId: string;
  change: 'created' | 'updated' | 'left';
  fields: string[];
}

export interface ApplyOptions {
  source: string;
  dryRun: boolean;
  blobs: LocalBlobStore;
  onProgress?: (progress: { entity: Entity; done: number; total: number }) => void;
  /** Receives the id of every blob file written, as it is written (the caller removes them if the run does not commit). */
  blobsWritten?: string[];
}

export interface ApplyResult {
  created: Counts;
  updated: Counts;
  left: Counts;
  changes: ChangeRow[];
  warnings: ImportProblem[];
  /** Problems found against what the school already holds; when any, nothing was written. */
  errors: ImportProblem[];
  /** Blob files written by this run (to remove if the transaction does not commit). */
  blobsWritten: string[];
  /** Blob files no longer referenced once the transaction commits (to remove after it). */
  blobsReplaced: string[];
}

type PersonEntity = 'pupils' | 'contacts' | 'staff';

/** One record on its way in: its id (existing or new), its final document and its hash. */
interface Planned {
  misId: string;
  id: string;
  existing: ExistingRecord | undefined;
  doc: Doc;
  hash: string;
  photo?: Photo | null;
}

/**
 * Applies one batch inside the caller's transaction (the school's run lock held). Loads
 * what the school holds of this source once per entity, checks every reference, then writes only
 * what changed, in bulk statements. Throws on a database error: the caller's transaction then
 * rolls back everything, so a failed run leaves no trace in the data tables.
 */
export async function applyBatch(scope: TenantScope, batch: ImportBatch, options: ApplyOptions): Promise<ApplyResult> {
  return new BatchApplier(scope, batch, options).run();
}

class BatchApplier {
  private readonly result: ApplyResult;
  private readonly existing = {} as Record<'pupils' | 'contacts' | 'staff' | 'groups', Map<string, ExistingRecord>>;
  /** MIS id → record id of every pupil and staff member a reference may point at. */
  private readonly pupilIds = new Map<string, string>();
  private readonly staffIds = new Map<string, string>();
  private readonly delta: boolean;

  constructor(
    private readonly scope: TenantScope,
    private readonly batch: ImportBatch,
    private readonly options: ApplyOptions,
  ) {
    this.delta = batch.mode === 'delta';
    this.result = {
      created: zeroCounts(),
      updated: zeroCounts(),
      left: zeroCounts(),
      changes: [],
      warnings: [],
      errors: [],
      blobsWritten: options.blobsWritten ?? [],
      blobsReplaced: [],
    };
  }

  async run(): Promise<ApplyResult> {
    const { scope, options } = this;
    this.existing.pupils = await loadExisting(scope, 'pupils', options.source);
    this.existing.contacts = await loadExisting(scope, 'contacts', options.source);
    this.existing.staff = await loadExisting(scope, 'staff', options.source);
    this.existing.groups = await loadExisting(scope, 'school_groups', options.source);

    this.check();
    if (this.result.errors.length > 0) return this.result;

    await this.people('pupils', this.batch.pupils);
    await this.people('staff', this.batch.staff);
    await this.people('contacts', this.batch.contacts);
    await this.groups();
    await this.attendance();
    await this.leavers();
    // Replaced photos leave the catalogue with this transaction; their files go once it commits.
    if (this.result.blobsReplaced.length && !this.options.dryRun) {
      await sql`DELETE FROM blobs WHERE tenant_id = ${scope.tenantId} AND id = ANY(${this.result.blobsReplaced}::uuid[])`.execute(scope.trx);
    }
    return this.result;
  }

  private error(location: string, message: string): void {
    this.result.errors.push({ location, message });
  }

  /** Every reference resolves and every record is listed once; ids are fixed here for new records. */
  private check(): void {
    const { batch } = this;
    const lists = { pupils: batch.pupils, contacts: batch.contacts, staff: batch.staff, groups: batch.groups } as const;
    for (const [entity, records] of Object.entries(lists)) {
      const seen = new Set<string>();
      for (const record of records) {
        if (seen.has(record.misId)) this.error(`${entity}[misId=${record.misId}]`, 'is listed more than once');
        seen.add(record.misId);
      }
    }
    // A delta may point at records it does not list; a full run lists the whole school.
    if (this.delta) {
      for (const [misId, record] of this.existing.pupils) this.pupilIds.set(misId, record.id);
      for (const [misId, record] of this.existing.staff) this.staffIds.set(misId, record.id);
    }
    for (const pupil of batch.pupils) this.pupilIds.set(pupil.misId, this.existing.pupils.get(pupil.misId)?.id ?? crypto.randomUUID());
    for (const member of batch.staff) this.staffIds.set(member.misId, this.existing.staff.get(member.misId)?.id ?? crypto.randomUUID());

    for (const contact of batch.contacts) {
      const linked = new Set<string>();
      for (const link of contact.links) {
        const where = `contacts[misId=${contact.misId}].links[pupilMisId=${link.pupilMisId}]`;
        if (!this.pupilIds.has(link.pupilMisId)) this.error(where, 'no pupil has this MIS id');
        else if (linked.has(link.pupilMisId)) this.error(where, 'links the same pupil more than once');
        linked.add(link.pupilMisId);
      }
    }
    for (const group of batch.groups) {
      const unknownPupils = [...new Set(group.pupilMisIds.filter((id) => !this.pupilIds.has(id)))];
      const unknownStaff = [...new Set(group.staffMisIds.filter((id) => !this.staffIds.has(id)))];
      if (unknownPupils.length) this.error(`groups[misId=${group.misId}]`, `lists pupils that are not in the data: MIS ids ${unknownPupils.join(', ')}`);
      if (unknownStaff.length) this.error(`groups[misId=${group.misId}]`, `lists staff who are not in the data: MIS ids ${unknownStaff.join(', ')}`);
    }
    const unknownAttendance = new Set<string>();
    const marks = new Set<string>();
    for (const mark of batch.attendance) {
      if (!this.pupilIds.has(mark.pupilMisId)) {
        if (!unknownAttendance.has(mark.pupilMisId)) this.error(`attendance[pupilMisId=${mark.pupilMisId}]`, 'no pupil has this MIS id');
        unknownAttendance.add(mark.pupilMisId);
        continue;
      }
      const key = `${mark.pupilMisId}|${mark.date}|${mark.session}`;
      if (marks.has(key)) this.error(`attendance[pupilMisId=${mark.pupilMisId},date=${mark.date},session=${mark.session}]`, 'is listed more than once');
      marks.add(key);
    }
    for (const removed of batch.removed) {
      const where = `removed[entity=${removed.entity},misId=${removed.misId}]`;
      const listed = lists[removed.entity]?.some((r) => r.misId === removed.misId);
      if (listed) this.error(where, 'is both listed and removed');
      else if (!this.existing[removed.entity]?.has(removed.misId)) this.result.warnings.push({ location: where, message: 'is not held, so there is nothing to remove' });
    }
  }

  private progress(entity: Entity, done: number, total: number): void {
    this.options.onProgress?.({ entity, done, total });
  }

  /** Pupils, staff and contacts: same steps, different documents and clear columns. */
  private async people(entity: PersonEntity, records: (PupilRecord | StaffRecord | ContactRecord)[]): Promise<void> {
    const { scope } = this;
    const existing = this.existing[entity];
    const omit = entity === 'contacts' ? ['misId', 'links'] : ['misId', 'photo'];
    const planned: Planned[] = records.map((record) => {
      const doc = toDoc(record, omit);
      const photo = 'photo' in record ? record.photo : undefined;
      if (photo !== undefined) doc.photo = photoMeta(photo);
      const found = existing.get(record.misId);
      const id = entity === 'pupils' ? this.pupilIds.get(record.misId)! : entity === 'staff' ? this.staffIds.get(record.misId)! : (found?.id ?? crypto.randomUUID());
      return { misId: record.misId, id, existing: found, doc, hash: '', photo };
    });
    const links = new Map<string, { pupilId: string; link: Doc }[]>();
    if (entity === 'contacts') {
      for (const [i, record] of (records as ContactRecord[]).entries()) {
        links.set(planned[i]!.id, record.links.map((l) => ({ pupilId: this.pupilIds.get(l.pupilMisId)!, link: toDoc(l, ['pupilMisId']) })));
      }
    }
    const linkContent = (id: string) =>
      (links.get(id) ?? []).map((l) => ({ pupil: l.pupilId, ...l.link })).sort((a, b) => a.pupil.localeCompare(b.pupil));
    const hashOf = (p: Planned) =>
      contentHash(scope.cipher, entity, entity === 'contacts' ? { misId: p.misId, doc: p.doc, links: linkContent(p.id) } : { misId: p.misId, doc: p.doc });

    // A delta carries only what changed: fields it leaves out keep their values.
    let oldDocs = new Map<string, Doc>();
    if (this.delta) {
      oldDocs = await loadDocuments(scope, entity, planned.filter((p) => p.existing).map((p) => p.id));
      for (const p of planned) {
        const old = oldDocs.get(p.id);
        if (old) p.doc = { ...old, ...p.doc };
      }
    }
    for (const p of planned) p.hash = hashOf(p);
    const changed = planned.filter((p) => p.existing && (p.existing.hash !== p.hash || p.existing.status !== 'current'));
    if (!this.delta) {
      const contentChanged = changed.filter((p) => p.existing!.hash !== p.hash).map((p) => p.id);
      oldDocs = await loadDocuments(scope, entity, contentChanged);
    }
    const oldLinks = entity === 'contacts' ? await loadLinks(scope, changed.filter((p) => p.existing!.hash !== p.hash).map((p) => p.id)) : new Map();

    const toWrite: Planned[] = [];
    for (const p of planned) {
      if (!p.existing) {
        toWrite.push(p);
        this.result.created[entity]++;
        this.result.changes.push({ entity, recordId: p.id, change: 'created', fields: [] });
        continue;
      }
      if (p.existing.hash === p.hash && p.existing.status === 'current') continue;
      const fields = p.existing.hash === p.hash ? [] : changedFields(oldDocs.get(p.id) ?? {}, p.doc);
      if (entity === 'contacts' && p.existing.hash !== p.hash) {
        const before = (oldLinks.get(p.id) ?? []).map((l: { pupilId: string; link: Doc }) => ({ pupil: l.pupilId, ...l.link }));
        before.sort((a: { pupil: string }, b: { pupil: string }) => a.pupil.localeCompare(b.pupil));
        if (canonical(before) !== canonical(linkContent(p.id))) fields.push('links');
      }
      if (p.existing.status !== 'current') fields.push('status');
      toWrite.push(p);
      this.result.updated[entity]++;
      this.result.changes.push({ entity, recordId: p.id, change: 'updated', fields: fields.sort() });
    }

    const columns: Column[] = [
      { name: 'id', type: 'uuid' },
      { name: 'mis_id', type: 'text' },
      { name: 'data_enc', type: 'text' },
      { name: 'content_hash', type: 'text' },
      { name: 'forename_bidx', type: 'text' },
      { name: 'surname_bidx', type: 'text' },
      ...(entity === 'pupils'
        ? ([
            { name: 'upn_bidx', type: 'text' },
            { name: 'year_group', type: 'text' },
            { name: 'registration_group', type: 'text' },
          ] as Column[])
        : []),
      ...(entity === 'contacts' ? [] : ([{ name: 'photo_blob_id', type: 'uuid' }] as Column[])),
    ];
    const updates = columns.filter((c) => c.name !== 'id' && c.name !== 'mis_id').map((c) => `${c.name} = excluded.${c.name}`);
    let done = records.length - toWrite.length;
    this.progress(entity, done, records.length);
    await pipelined(
      chunked(toWrite, CHUNK.records),
      async (part) => {
        const rows: Record<string, unknown>[] = [];
        for (const p of part) {
          const doc = p.doc;
          const row: Record<string, unknown> = {
            id: p.id,
            mis_id: p.misId,
            data_enc: scope.cipher.seal(DATA_PURPOSE[entity], JSON.stringify(doc)),
            content_hash: p.hash,
            // Pupils are searched by the names they go by: preferred, else legal.
            forename_bidx: nameIndex(scope.cipher, entity === 'pupils' ? firstText(doc.preferredForename, doc.legalForename) : doc.forename),
            surname_bidx: nameIndex(scope.cipher, entity === 'pupils' ? firstText(doc.preferredSurname, doc.legalSurname) : doc.surname),
          };
          if (entity === 'pupils') {
            row.upn_bidx = upnIndex(scope.cipher, doc.upn);
            row.year_group = typeof doc.yearGroup === 'string' ? doc.yearGroup : null;
            row.registration_group = typeof doc.registrationGroup === 'string' ? doc.registrationGroup : null;
          }
          if (entity !== 'contacts') row.photo_blob_id = await this.photoBlob(entity, p, oldDocs.get(p.id));
          rows.push(row);
        }
        return toColumns(rows, columns);
      },
      async (values, part) => {
        await insertColumns(scope.trx, {
          table: entity,
          fixed: [
            { name: 'tenant_id', type: 'uuid', value: scope.tenantId },
            { name: 'source', type: 'text', value: this.options.source },
          ],
          columns,
          values,
          tail: `ON CONFLICT (tenant_id, source, mis_id) DO UPDATE SET ${updates.join(', ')}, status = 'current', left_at = NULL, updated_at = now()
                 WHERE t.content_hash IS DISTINCT FROM excluded.content_hash OR t.status <> 'current'`,
        });
        if (entity === 'contacts') await this.replaceLinks(part.map((p) => p.id), links);
        done += part.length;
        this.progress(entity, done, records.length);
      },
    );
  }

  /**
   * The blob a written pupil or staff record points at: the one it had when the photo is the same,
   * a new encrypted blob when it changed, none when the source has none. Dry runs write no blob.
   */
  private async photoBlob(entity: 'pupils' | 'staff', p: Planned, oldDoc: Doc | undefined): Promise<string | null> {
    const previous = p.existing?.photoBlobId ?? null;
    // Same content (a record coming back unchanged): same photo.
    if (p.existing && p.existing.hash === p.hash) return previous;
    const meta = (p.doc.photo ?? null) as { sha256: string } | null;
    const oldMeta = (oldDoc?.photo ?? null) as { sha256: string } | null;
    if (meta && previous && oldMeta?.sha256 === meta.sha256) return previous;
    // A delta that left the photo out keeps the old one.
    if (meta && previous && p.photo === undefined) return previous;
    if (previous) this.result.blobsReplaced.push(previous);
    if (!meta || !p.photo || this.options.dryRun) return null;
    const blob = await saveBlob(this.options.blobs, this.scope, `sync.${entity}.photo`, Readable.from([p.photo.data]));
    this.result.blobsWritten.push(blob.id);
    return blob.id;
  }

  private async replaceLinks(contactIds: string[], links: Map<string, { pupilId: string; link: Doc }[]>): Promise<void> {
    const { scope } = this;
    await sql`DELETE FROM pupil_contacts WHERE tenant_id = ${scope.tenantId} AND contact_id = ANY(${contactIds}::uuid[])`.execute(scope.trx);
    const rows = contactIds.flatMap((contactId) =>
      (links.get(contactId) ?? []).map((l) => ({
        pupil_id: l.pupilId,
        contact_id: contactId,
        priority: typeof l.link.priority === 'number' ? l.link.priority : null,
        data_enc: scope.cipher.seal(DATA_PURPOSE.links, JSON.stringify(l.link)),
      })),
    );
    const columns: Column[] = [
      { name: 'pupil_id', type: 'uuid' },
      { name: 'contact_id', type: 'uuid' },
      { name: 'priority', type: 'integer' },
      { name: 'data_enc', type: 'text' },
    ];
    for (const part of chunked(rows, CHUNK.rows)) {
      await insertColumns(scope.trx, {
        table: 'pupil_contacts',
        fixed: [{ name: 'tenant_id', type: 'uuid', value: scope.tenantId }],
        columns,
        values: toColumns(part, columns),
      });
    }
  }

  private async groups(): Promise<void> {
    const { scope, batch } = this;
    const existing = this.existing.groups;
    const membersOf = (group: GroupRecord) =>
      [
        ...new Set([
          ...group.pupilMisIds.map((m) => `pupil:${this.pupilIds.get(m)!}`),
          ...group.staffMisIds.map((m) => `staff:${this.staffIds.get(m)!}`),
        ]),
      ].sort();
    const planned = batch.groups.map((group) => {
      const found = existing.get(group.misId);
      const content = {
        misId: group.misId,
        kind: group.kind,
        name: group.name,
        code: group.code ?? null,
        pupils: [...new Set(group.pupilMisIds)].sort(),
        staff: [...new Set(group.staffMisIds)].sort(),
      };
      return { group, found, id: found?.id ?? crypto.randomUUID(), hash: contentHash(scope.cipher, 'groups', content), members: membersOf(group) };
    });
    const changed = planned.filter((p) => p.found && p.found.hash !== p.hash);
    const oldMembers = await loadMembers(scope, changed.map((p) => p.id));
    const toWrite: typeof planned = [];
    for (const p of planned) {
      if (!p.found) {
        this.result.created.groups++;
        this.result.changes.push({ entity: 'groups', recordId: p.id, change: 'created', fields: [] });
        toWrite.push(p);
        continue;
      }
      if (p.found.hash === p.hash && p.found.status === 'current') continue;
      const fields: string[] = [];
      if (p.found.hash !== p.hash) {
        if (p.found.kind !== p.group.kind) fields.push('kind');
        if (p.found.name !== p.group.name) fields.push('name');
        if ((p.found.code ?? null) !== (p.group.code ?? null)) fields.push('code');
        if (canonical(oldMembers.get(p.id) ?? []) !== canonical(p.members)) fields.push('members');
      }
      if (p.found.status !== 'current') fields.push('status');
      this.result.updated.groups++;
      this.result.changes.push({ entity: 'groups', recordId: p.id, change: 'updated', fields: fields.sort() });
      toWrite.push(p);
    }
    const columns: Column[] = [
      { name: 'id', type: 'uuid' },
      { name: 'mis_id', type: 'text' },
      { name: 'kind', type: 'text' },
      { name: 'name', type: 'text' },
      { name: 'code', type: 'text' },
      { name: 'content_hash', type: 'text' },
    ];
    const memberColumns: Column[] = [
      { name: 'group_id', type: 'uuid' },
      { name: 'member_kind', type: 'text' },
      { name: 'member_id', type: 'uuid' },
    ];
    let done = planned.length - toWrite.length;
    this.progress('groups', done, planned.length);
    for (const part of chunked(toWrite, CHUNK.records)) {
      const rows = part.map((p) => ({ id: p.id, mis_id: p.group.misId, kind: p.group.kind, name: p.group.name, code: p.group.code ?? null, content_hash: p.hash }));
      await insertColumns(scope.trx, {
        table: 'school_groups',
        fixed: [
          { name: 'tenant_id', type: 'uuid', value: scope.tenantId },
          { name: 'source', type: 'text', value: this.options.source },
        ],
        columns,
        values: toColumns(rows, columns),
        tail: `ON CONFLICT (tenant_id, source, mis_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, code = excluded.code,
                 content_hash = excluded.content_hash, status = 'current', left_at = NULL, updated_at = now()
               WHERE t.content_hash IS DISTINCT FROM excluded.content_hash OR t.status <> 'current'`,
      });
      const replaced = part.filter((p) => p.found && p.found.hash !== p.hash).map((p) => p.id);
      if (replaced.length) await sql`DELETE FROM group_members WHERE tenant_id = ${scope.tenantId} AND group_id = ANY(${replaced}::uuid[])`.execute(scope.trx);
      const members = part
        .filter((p) => !p.found || p.found.hash !== p.hash)
        .flatMap((p) => p.members.map((m) => {
          const [kind, memberId] = m.split(':') as [string, string];
          return { group_id: p.id, member_kind: kind, member_id: memberId };
        }));
      for (const rowsPart of chunked(members, CHUNK.rows)) {
        await insertColumns(scope.trx, {
          table: 'group_members',
          fixed: [{ name: 'tenant_id', type: 'uuid', value: scope.tenantId }],
          columns: memberColumns,
          values: toColumns(rowsPart, memberColumns),
        });
      }
      done += part.length;
      this.progress('groups', done, planned.length);
    }
  }

  /** One mark per pupil, date and session; only new and changed marks are sent, a few thousand a statement. */
  private async attendance(): Promise<void> {
    const { scope, batch } = this;
    const marks = batch.attendance;
    if (marks.length === 0) return;
    let from = marks[0]!.date;
    let to = from;
    for (const mark of marks) {
      if (mark.date < from) from = mark.date;
      if (mark.date > to) to = mark.date;
    }
    // The database reads what it holds while the hashes are worked out here.
    const loading = loadAttendance(scope, from, to);
    loading.catch(() => {});
    const markHashes = marks.map((mark) => attendanceHash(scope.cipher, mark));
    const held = await loading;
    // Column arrays of the marks to write, built directly: a term of a large school is 240,000 marks.
    const pupilIds: string[] = [];
    const dates: string[] = [];
    const sessions: string[] = [];
    const codes: string[] = [];
    const hashes: string[] = [];
    for (const [i, mark] of marks.entries()) {
      const pupilId = this.pupilIds.get(mark.pupilMisId)!;
      const hash = markHashes[i]!;
      const before = held.get(`${pupilId}|${mark.date}|${mark.session}`);
      if (before === hash) continue;
      if (before === undefined) this.result.created.attendance++;
      else this.result.updated.attendance++;
      pupilIds.push(pupilId);
      dates.push(mark.date);
      sessions.push(mark.session);
      codes.push(mark.code);
      hashes.push(hash);
    }
    const columns: Column[] = [
      { name: 'pupil_id', type: 'uuid' },
      { name: 'date', type: 'date' },
      { name: 'session', type: 'text' },
      { name: 'code_enc', type: 'text' },
      { name: 'content_hash', type: 'text' },
    ];
    let done = marks.length - codes.length;
    this.progress('attendance', done, marks.length);
    const starts: number[] = [];
    for (let i = 0; i < codes.length; i += CHUNK.rows) starts.push(i);
    await pipelined(
      starts,
      (start) => {
        const end = Math.min(start + CHUNK.rows, codes.length);
        const sealed = codes.slice(start, end).map((code) => scope.cipher.seal(DATA_PURPOSE.attendanceCode, code));
        return [pupilIds.slice(start, end), dates.slice(start, end), sessions.slice(start, end), sealed, hashes.slice(start, end)];
      },
      async (values) => {
        await insertColumns(scope.trx, {
          table: 'attendance_marks',
          fixed: [{ name: 'tenant_id', type: 'uuid', value: scope.tenantId }],
          columns,
          values,
          tail: `ON CONFLICT (tenant_id, pupil_id, date, session) DO UPDATE SET code_enc = excluded.code_enc, content_hash = excluded.content_hash
                 WHERE t.content_hash IS DISTINCT FROM excluded.content_hash`,
        });
        done += values[0]!.length;
        this.progress('attendance', done, marks.length);
      },
    );
  }

  /** Full run: current records the source no longer lists have left. Delta: the ones it says are removed. */
  private async leavers(): Promise<void> {
    const { scope, batch } = this;
    const tables = { pupils: 'pupils', contacts: 'contacts', staff: 'staff', groups: 'school_groups' } as const;
    const listed = { pupils: batch.pupils, contacts: batch.contacts, staff: batch.staff, groups: batch.groups } as const;
    for (const entity of ['pupils', 'contacts', 'staff', 'groups'] as const) {
      const existing = this.existing[entity];
      let leaving: ExistingRecord[];
      if (this.delta) {
        leaving = batch.removed
          .filter((r) => r.entity === entity)
          .map((r) => existing.get(r.misId))
          .filter((r): r is ExistingRecord => r !== undefined && r.status === 'current');
      } else if (batch.covers && !batch.covers.includes(entity)) {
        leaving = [];
      } else {
        const present = new Set(listed[entity].map((r) => r.misId));
        leaving = [...existing.values()].filter((r) => r.status === 'current' && !present.has(r.misId));
      }
      const ids = [...new Set(leaving.map((r) => r.id))];
      for (const part of chunked(ids, CHUNK.rows)) {
        await sql`UPDATE ${sql.raw(tables[entity])} SET status = 'left', left_at = ${today()}::date, updated_at = now()
                   WHERE tenant_id = ${scope.tenantId} AND id = ANY(${part}::uuid[]) AND status = 'current'`.execute(scope.trx);
      }
      this.result.left[entity] += ids.length;
      for (const id of ids) this.result.changes.push({ entity, recordId: id, change: 'left', fields: [] });
    }
  }
}

/** The first value that is a non-blank string. */
function firstText(...values: unknown[]): string | null {
  return (values.find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined) ?? null;
}
