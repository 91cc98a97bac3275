import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { allPermissions } from '../../platform/access/permissions.ts';
import { ValidationError } from '../../platform/errors.ts';
import { openBlob } from '../../platform/storage/blobs.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantContext } from '../../platform/tenancy/tenant-scope.ts';
import { INTERRUPTED, runImport, type RunRequest, type RunSummary } from './engine.ts';
import { emptyBatch, type ImportBatch } from './model.ts';
import { getRun } from './runs.ts';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => platform?.close());

const PHOTO = Buffer.from('a pupil photo: not a real JPEG, just bytes');
const today = () => new Date().toISOString().slice(0, 10);

/** A small school with every kind of record. Made-up names throughout. */
function school(): ImportBatch {
  const batch = emptyBatch('full');
  batch.school = { name: 'Engine Test Primary', urn: '999001', laEstab: '9994001', phase: 'primary' };
  batch.pupils = [
    {
      misId: 'P1',
      upn: 'A999000000001',
      legalForename: 'Annabel',
      legalSurname: 'Quistgaard',
      preferredForename: 'Anna',
      dateOfBirth: '2015-03-01',
      gender: 'F',
      phones: [{ number: '07700 900001', type: 'mobile' }],
      photo: { contentType: 'image/jpeg', data: PHOTO },
      yearGroup: '4',
      registrationGroup: '4Q',
    },
    { misId: 'P2', legalForename: 'Benedikt', legalSurname: 'Vandersloot', dateOfBirth: '2015-05-02', gender: 'M', yearGroup: '4', registrationGroup: '4Q' },
    { misId: 'P3', legalForename: 'Cosima', legalSurname: 'Quistgaard', dateOfBirth: '2017-07-03', gender: 'F', yearGroup: '2', registrationGroup: '2R' },
  ];
  batch.contacts = [
    {
      misId: 'C1',
      forename: 'Marguerite',
      surname: 'Quistgaard',
      emails: [{ address: 'marguerite.q@example.test', type: 'home' }],
      links: [
        { pupilMisId: 'P1', relationship: 'MUM', parentalResponsibility: true, priority: 1, livesWith: true, noContact: false },
        { pupilMisId: 'P3', relationship: 'MUM', parentalResponsibility: true, priority: 1, livesWith: true, noContact: false },
      ],
    },
    { misId: 'C2', forename: 'Tobias', surname: 'Vandersloot', links: [{ pupilMisId: 'P2', relationship: 'DAD', priority: 2, noContact: true }] },
  ];
  batch.staff = [
    { misId: 'S1', forename: 'Olwen', surname: 'Teachwell', jobTitle: 'Class teacher' },
    { misId: 'S2', forename: 'Percival', surname: 'Officeworth', jobTitle: 'Office manager' },
  ];
  batch.groups = [
    { misId: 'G4Q', kind: 'registration', name: '4Q', pupilMisIds: ['P1', 'P2'], staffMisIds: ['S1'] },
    { misId: 'G2R', kind: 'registration', name: '2R', pupilMisIds: ['P3'], staffMisIds: [] },
    { misId: 'Y4', kind: 'year', name: 'Year 4', code: '4', pupilMisIds: ['P1', 'P2'], staffMisIds: ['S1', 'S2'] },
  ];
  batch.attendance = [
    { pupilMisId: 'P1', date: '2024-09-02', session: 'AM', code: '/' },
    { pupilMisId: 'P1', date: '2024-09-02', session: 'PM', code: 'I' },
    { pupilMisId: 'P2', date: '2024-09-02', session: 'AM', code: '/' },
    { pupilMisId: 'P3', date: '2024-09-03', session: 'AM', code: 'N' },
  ];
  return batch;
}

const request = (extra: Partial<RunRequest> = {}): RunRequest => ({ format: 'ctf', source: 'upload:ctf', startedBy: 'test', ...extra });

async function newSchool(): Promise<{ org: TestOrganisation; context: TenantContext }> {
  const org = await createTestOrganisation(platform);
  return { org, context: { tenantId: org.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') } };
}

const DATA_TABLES = ['pupils', 'contacts', 'pupil_contacts', 'staff', 'school_groups', 'group_members', 'attendance_marks', 'school_profiles', 'blobs'];

/** Every row of every data table of the school, as text: two dumps are equal only if nothing changed at all. */
async function dump(tenantId: string): Promise<Record<string, string>> {
  return asSystem(platform, tenantId, async (scope) => {
    const out: Record<string, string> = {};
    for (const table of DATA_TABLES) {
      const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table)} t ORDER BY 1`.execute(scope.trx);
      out[table] = rows.rows.map((r) => r.row).join('\n');
    }
    return out;
  });
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

async function runRow(tenantId: string, runId: string) {
  return asSystem(platform, tenantId, (scope) => scope.trx.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow());
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('sync engine: a first import', () => {
  let org: TestOrganisation;
  let summary: RunSummary;
  const progress: { entity: string; done: number; total: number }[] = [];

  beforeAll(async () => {
    const made = await newSchool();
    org = made.org;
    summary = await runImport(platform, made.context, school(), request({ onProgress: (p) => progress.push(p) }));
  });

  it('creates every record, reports counts and records a succeeded run with its change list', async () => {
    expect(summary).toMatchObject({
      status: 'succeeded',
      dryRun: false,
      created: { pupils: 3, contacts: 2, staff: 2, groups: 3, attendance: 4 },
      updated: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      left: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      errors: [],
    });
    const run = await asSystem(platform, org.id, (scope) => getRun(scope, summary.runId!));
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full', format: 'ctf', source: 'upload:ctf', startedBy: 'test', dryRun: false });
    expect(run.finishedAt).not.toBeNull();
    expect(run.changes.filter((c) => c.change === 'created').map((c) => `${c.entity}:${c.misId}`).sort()).toEqual(
      ['contacts:C1', 'contacts:C2', 'groups:G2R', 'groups:G4Q', 'groups:Y4', 'pupils:P1', 'pupils:P2', 'pupils:P3', 'staff:S1', 'staff:S2'],
    );
  });

  it('seals personal values, keeps blind indexes for search and group names in clear', async () => {
    await asSystem(platform, org.id, async (scope) => {
      const p1 = await scope.trx.selectFrom('pupils').selectAll().where('mis_id', '=', 'P1').executeTakeFirstOrThrow();
      expect(p1.data_enc).toMatch(/^c1\./);
      const doc = JSON.parse(scope.cipher.open('pupils.data', p1.data_enc));
      expect(doc).toMatchObject({ legalForename: 'Annabel', preferredForename: 'Anna', upn: 'A999000000001', phones: [{ number: '07700 900001', type: 'mobile' }] });
      expect(doc.misId).toBeUndefined();
      // Pupils are found by the names they go by, case and spaces ignored.
      expect(p1.forename_bidx).toBe(scope.cipher.blindIndex('sync.name', ' ANNA '));
      expect(p1.surname_bidx).toBe(scope.cipher.blindIndex('sync.name', 'quistgaard'));
      expect(p1.upn_bidx).toBe(scope.cipher.blindIndex('sync.upn', 'A999000000001'));
      expect({ year: p1.year_group, reg: p1.registration_group, status: p1.status }).toEqual({ year: '4', reg: '4Q', status: 'current' });

      const groups = await scope.trx.selectFrom('school_groups').select(['mis_id', 'kind', 'name', 'code']).orderBy('mis_id').execute();
      expect(groups).toEqual([
        { mis_id: 'G2R', kind: 'registration', name: '2R', code: null },
        { mis_id: 'G4Q', kind: 'registration', name: '4Q', code: null },
        { mis_id: 'Y4', kind: 'year', name: 'Year 4', code: '4' },
      ]);
      const marks = await scope.trx.selectFrom('attendance_marks').select(['code_enc', 'content_hash']).execute();
      expect(marks.map((m) => scope.cipher.open('attendance_marks.code', m.code_enc)).sort()).toEqual(['/', '/', 'I', 'N']);
      // Every mark's hash differs, even for equal codes: the hash does not reveal who was absent alike.
      expect(new Set(marks.map((m) => m.content_hash)).size).toBe(4);
    });
    // No name, phone or email in clear anywhere in the school's data.
    const everything = Object.values(await dump(org.id)).join('\n');
    for (const value of ['Annabel', 'Quistgaard', 'Marguerite', 'Teachwell', '07700 900001', 'marguerite.q@example.test', '2015-03-01']) {
      expect(everything).not.toContain(value);
    }
  });

  it('links contacts to pupils with the link sealed and the priority in clear, and fills groups', async () => {
    await asSystem(platform, org.id, async (scope) => {
      const links = await sql<{ contact: string; pupil: string; priority: number | null; data_enc: string }>`
        SELECT c.mis_id AS contact, p.mis_id AS pupil, pc.priority, pc.data_enc FROM pupil_contacts pc
          JOIN contacts c ON c.id = pc.contact_id JOIN pupils p ON p.id = pc.pupil_id ORDER BY 1, 2`.execute(scope.trx);
      expect(links.rows.map((l) => [l.contact, l.pupil, l.priority])).toEqual([['C1', 'P1', 1], ['C1', 'P3', 1], ['C2', 'P2', 2]]);
      const c2 = JSON.parse(scope.cipher.open('pupil_contacts.data', links.rows[2]!.data_enc));
      expect(c2).toEqual({ relationship: 'DAD', priority: 2, noContact: true });
      const members = await sql<{ group: string; kind: string; member: string }>`
        SELECT g.mis_id AS group, m.member_kind AS kind, coalesce(p.mis_id, s.mis_id) AS member FROM group_members m
          JOIN school_groups g ON g.id = m.group_id
          LEFT JOIN pupils p ON m.member_kind = 'pupil' AND p.id = m.member_id
          LEFT JOIN staff s ON m.member_kind = 'staff' AND s.id = m.member_id ORDER BY 1, 2, 3`.execute(scope.trx);
      expect(members.rows.map((m) => `${m.group}:${m.member}`)).toEqual(['G2R:P3', 'G4Q:P1', 'G4Q:P2', 'G4Q:S1', 'Y4:P1', 'Y4:P2', 'Y4:S1', 'Y4:S2']);
    });
  });

  it('stores the photo as an encrypted blob and records the photo only by its hash', async () => {
    await asSystem(platform, org.id, async (scope) => {
      const p1 = await scope.trx.selectFrom('pupils').select(['photo_blob_id', 'data_enc']).where('mis_id', '=', 'P1').executeTakeFirstOrThrow();
      expect(p1.photo_blob_id).toBeTruthy();
      const opened = await openBlob(platform.blobs, scope, p1.photo_blob_id!);
      expect(opened.purpose).toBe('sync.pupils.photo');
      expect((await collect(opened.content)).equals(PHOTO)).toBe(true);
      expect(JSON.parse(scope.cipher.open('pupils.data', p1.data_enc)).photo).toEqual({ contentType: 'image/jpeg', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    });
    const file = fs.readdirSync(path.join(platform.config.dataDir, 'blobs', org.id));
    expect(file).toHaveLength(1);
    expect(fs.readFileSync(path.join(platform.config.dataDir, 'blobs', org.id, file[0]!)).includes(PHOTO)).toBe(false);
  });

  it('stamps freshness per entity, saves the school profile and audits the run with counts only', async () => {
    await asSystem(platform, org.id, async (scope) => {
      const state = await scope.trx.selectFrom('sync_state').selectAll().executeTakeFirstOrThrow();
      const fresh = state.fresh_as_of as Record<string, string>;
      expect(Object.keys(fresh).sort()).toEqual(['attendance', 'contacts', 'groups', 'pupils', 'staff']);
      expect(Date.now() - Date.parse(fresh.pupils!)).toBeLessThan(60_000);
      const profile = await scope.trx.selectFrom('school_profiles').selectAll().executeTakeFirstOrThrow();
      expect(profile).toMatchObject({ name: 'Engine Test Primary', urn: '999001', la_estab: '9994001', phase: 'primary' });
      const entries = await scope.trx.selectFrom('audit_events').select(['action', 'target_id', 'changes']).where('action', 'like', 'sync.%').execute();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ action: 'sync.run_completed', target_id: summary.runId });
      const changes = entries[0]!.changes as Record<string, { after: unknown }>;
      expect(changes['created.pupils']).toEqual({ before: null, after: 3 });
      expect(changes['created.attendance']).toEqual({ before: null, after: 4 });
      expect(JSON.stringify(changes)).not.toMatch(/Quistgaard|Annabel|07700/);
    });
  });

  it('reports progress per entity up to the total', () => {
    for (const [entity, count] of Object.entries({ pupils: 3, contacts: 2, staff: 2, groups: 3, attendance: 4 })) {
      const last = progress.filter((p) => p.entity === entity).at(-1);
      expect(last, entity).toEqual({ entity, done: count, total: count });
    }
  });

  it('registers the sync permissions', () => {
    const sync = allPermissions().filter((p) => p.module === 'sync').map((p) => p.name);
    expect(sync).toEqual(['sync.manage', 'sync.read', 'sync.sharing']);
  });
});

describe('sync engine: re-runs, changes and leavers', () => {
  it('changes nothing when the same batch runs again: no counts, no row touched', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const before = await dump(org.id);
    const again = await runImport(platform, context, school(), request());
    expect(again.status).toBe('succeeded');
    expect([total(again.created), total(again.updated), total(again.left)]).toEqual([0, 0, 0]);
    expect(await dump(org.id)).toEqual(before);
    const run = await asSystem(platform, org.id, (scope) => getRun(scope, again.runId!));
    expect(run.changes).toEqual([]);
  });

  it('updates only what changed and lists the changed field names, never values', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const before = await dump(org.id);
    const changed = school();
    changed.pupils[0]!.legalSurname = 'Quistgaard-Holm';
    changed.pupils[0]!.phones = [{ number: '07700 900999', type: 'mobile' }];
    changed.pupils[1]!.legalForename = 'benedikt'; // a change of case is a change
    changed.contacts[1]!.links[0]!.priority = 1;
    changed.groups[0]!.pupilMisIds = ['P1'];
    changed.groups[2]!.name = 'Year Four';
    changed.attendance[1]!.code = 'M';
    const summary = await runImport(platform, context, changed, request());
    expect(summary).toMatchObject({
      created: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      updated: { pupils: 2, contacts: 1, staff: 0, groups: 2, attendance: 1 },
      left: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
    });
    const run = await asSystem(platform, org.id, (scope) => getRun(scope, summary.runId!));
    expect(run.changes.map((c) => [c.entity, c.misId, c.change, c.fields])).toEqual([
      ['pupils', 'P1', 'updated', ['legalSurname', 'phones']],
      ['pupils', 'P2', 'updated', ['legalForename']],
      ['contacts', 'C2', 'updated', ['links']],
      ['groups', 'G4Q', 'updated', ['members']],
      ['groups', 'Y4', 'updated', ['name']],
    ]);
    const stored = await asSystem(platform, org.id, (scope) =>
      sql<{ row: string }>`SELECT c::text AS row FROM sync_run_changes c`.execute(scope.trx),
    );
    expect(stored.rows.map((r) => r.row).join()).not.toMatch(/Holm|07700|benedikt/);

    // Untouched records keep their rows exactly, updated_at included.
    const after = await dump(org.id);
    const rowsOf = (d: Record<string, string>, table: string) => d[table]!.split('\n');
    const unchangedStaff = rowsOf(before, 'staff');
    expect(rowsOf(after, 'staff')).toEqual(unchangedStaff);
    expect(rowsOf(after, 'contacts').filter((r) => rowsOf(before, 'contacts').includes(r))).toHaveLength(1);
    await asSystem(platform, org.id, async (scope) => {
      const link = await sql<{ priority: number }>`SELECT pc.priority FROM pupil_contacts pc JOIN contacts c ON c.id = pc.contact_id WHERE c.mis_id = 'C2'`.execute(scope.trx);
      expect(link.rows).toEqual([{ priority: 1 }]);
      const marks = await scope.trx.selectFrom('attendance_marks').select('code_enc').execute();
      expect(marks.map((m) => scope.cipher.open('attendance_marks.code', m.code_enc)).sort()).toEqual(['/', '/', 'M', 'N']);
    });
  });

  it('replaces a changed photo with a new blob and removes the old one', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const blobIdOf = () => asSystem(platform, org.id, (scope) => scope.trx.selectFrom('pupils').select('photo_blob_id').where('mis_id', '=', 'P1').executeTakeFirstOrThrow());
    const first = (await blobIdOf()).photo_blob_id!;
    const changed = school();
    changed.pupils[0]!.photo = { contentType: 'image/png', data: Buffer.from('a newer photo') };
    const summary = await runImport(platform, context, changed, request());
    expect(summary.updated.pupils).toBe(1);
    const second = (await blobIdOf()).photo_blob_id!;
    expect(second).not.toBe(first);
    const folder = path.join(platform.config.dataDir, 'blobs', org.id);
    expect(fs.readdirSync(folder)).toEqual([second]);
    const catalogue = await asSystem(platform, org.id, (scope) => scope.trx.selectFrom('blobs').select('id').execute());
    expect(catalogue).toEqual([{ id: second }]);
  });

  it('marks records a full run no longer lists as left, never deleting them, and brings them back when they reappear', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const without = school();
    without.pupils = without.pupils.filter((p) => p.misId !== 'P3');
    without.contacts[0]!.links = without.contacts[0]!.links.filter((l) => l.pupilMisId !== 'P3');
    without.groups = without.groups.filter((g) => g.misId !== 'G2R');
    without.staff = without.staff.filter((s) => s.misId !== 'S2');
    without.groups[1]!.staffMisIds = ['S1'];
    without.attendance = without.attendance.filter((a) => a.pupilMisId !== 'P3');
    const leaving = await runImport(platform, context, without, request());
    expect(leaving.left).toEqual({ pupils: 1, contacts: 0, staff: 1, groups: 1, attendance: 0 });
    const state = () =>
      asSystem(platform, org.id, async (scope) => ({
        pupils: await scope.trx.selectFrom('pupils').select(['mis_id', 'status', sql<string | null>`to_char(left_at, 'YYYY-MM-DD')`.as('left_at')]).orderBy('mis_id').execute(),
        marks: (await scope.trx.selectFrom('attendance_marks').select('pupil_id').execute()).length,
      }));
    const afterLeaving = await state();
    expect(afterLeaving.pupils).toEqual([
      { mis_id: 'P1', status: 'current', left_at: null },
      { mis_id: 'P2', status: 'current', left_at: null },
      { mis_id: 'P3', status: 'left', left_at: today() },
    ]);
    expect(afterLeaving.marks).toBe(4);
    const run = await asSystem(platform, org.id, (scope) => getRun(scope, leaving.runId!));
    expect(run.changes.filter((c) => c.change === 'left').map((c) => `${c.entity}:${c.misId}`)).toEqual(['pupils:P3', 'staff:S2', 'groups:G2R']);

    const back = await runImport(platform, context, school(), request());
    expect(back.created).toEqual({ pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 });
    expect(back.updated).toMatchObject({ pupils: 1, staff: 1, groups: 2, contacts: 1 });
    expect((await state()).pupils.every((p) => p.status === 'current' && p.left_at === null)).toBe(true);
    const backRun = await asSystem(platform, org.id, (scope) => getRun(scope, back.runId!));
    expect(backRun.changes.find((c) => c.misId === 'P3')).toMatchObject({ change: 'updated', fields: ['status'] });
  });

  it('lets a full run mark leavers only among the entities the source speaks for', async () => {
    const { context } = await newSchool();
    await runImport(platform, context, school(), request());
    // A contacts-only export (one entity per file, as a plain CSV is): pupils, staff and groups stay.
    const contactsOnly = school();
    contactsOnly.covers = ['contacts'];
    contactsOnly.pupils = contactsOnly.pupils.filter((p) => p.misId !== 'P3');
    contactsOnly.contacts[0]!.links = contactsOnly.contacts[0]!.links.filter((l) => l.pupilMisId !== 'P3');
    contactsOnly.contacts = contactsOnly.contacts.filter((c) => c.misId !== 'C2');
    contactsOnly.staff = [];
    contactsOnly.groups = [];
    contactsOnly.attendance = [];
    const run = await runImport(platform, context, contactsOnly, request());
    expect(run.status).toBe('succeeded');
    expect(run.left).toEqual({ pupils: 0, contacts: 1, staff: 0, groups: 0, attendance: 0 });
  });

  it('keeps records of different sources apart', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const other = await runImport(platform, context, school(), request({ format: 'csv', source: 'upload:csv' }));
    expect(other.created.pupils).toBe(3);
    expect(other.left.pupils).toBe(0);
    const count = await asSystem(platform, org.id, (scope) => scope.trx.selectFrom('pupils').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow());
    expect(count.n).toBe(6);
  });
});

describe('sync engine: deltas', () => {
  it('changes only listed records, keeps fields a delta leaves out, and marks removed records left', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request({ format: 'oneroster-csv', source: 'upload:oneroster-csv' }));
    const delta = emptyBatch('delta');
    // Only the phone is sent: the names, date of birth and photo stay as they were.
    delta.pupils = [{ misId: 'P1', legalForename: 'Annabel', legalSurname: 'Quistgaard', phones: [{ number: '07700 900555', type: 'home' }] }];
    delta.attendance = [{ pupilMisId: 'P2', date: '2024-09-03', session: 'PM', code: 'L' }];
    delta.groups = [{ misId: 'G2R', kind: 'registration', name: '2R', pupilMisIds: ['P3', 'P2'], staffMisIds: [] }];
    delta.removed = [{ entity: 'contacts', misId: 'C2' }, { entity: 'staff', misId: 'S9' }];
    const summary = await runImport(platform, context, delta, request({ format: 'oneroster-csv', source: 'upload:oneroster-csv' }));
    expect(summary).toMatchObject({
      status: 'succeeded',
      created: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 1 },
      updated: { pupils: 1, contacts: 0, staff: 0, groups: 1, attendance: 0 },
      left: { pupils: 0, contacts: 1, staff: 0, groups: 0, attendance: 0 },
      warnings: [{ location: 'removed[entity=staff,misId=S9]', message: expect.stringMatching(/not held/) }],
    });
    await asSystem(platform, org.id, async (scope) => {
      const p1 = await scope.trx.selectFrom('pupils').select(['data_enc', 'photo_blob_id']).where('mis_id', '=', 'P1').executeTakeFirstOrThrow();
      const doc = JSON.parse(scope.cipher.open('pupils.data', p1.data_enc));
      expect(doc).toMatchObject({ legalForename: 'Annabel', preferredForename: 'Anna', dateOfBirth: '2015-03-01', phones: [{ number: '07700 900555', type: 'home' }] });
      expect(doc.photo).toBeTruthy();
      expect(p1.photo_blob_id).toBeTruthy();
      const c2 = await scope.trx.selectFrom('contacts').select(['status']).where('mis_id', '=', 'C2').executeTakeFirstOrThrow();
      expect(c2.status).toBe('left');
      expect((await scope.trx.selectFrom('pupils').select('id').where('status', '=', 'current').execute()).length).toBe(3);
    });
    const run = await asSystem(platform, org.id, (scope) => getRun(scope, summary.runId!));
    expect(run.mode).toBe('delta');
    expect(run.changes.map((c) => [c.entity, c.misId, c.change, c.fields])).toEqual([
      ['pupils', 'P1', 'updated', ['phones']],
      ['contacts', 'C2', 'left', []],
      ['groups', 'G2R', 'updated', ['members']],
    ]);
  });
});

describe('sync engine: failures write nothing', () => {
  it('refuses an organisation that is not a school, recording nothing', async () => {
    const trust = await createTestOrganisation(platform, { kind: 'trust' });
    const context = { tenantId: trust.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') };
    await expect(runImport(platform, context, school(), request())).rejects.toBeInstanceOf(ValidationError);
    const runs = await asSystem(platform, trust.id, (scope) => scope.trx.selectFrom('sync_runs').select('id').execute());
    expect(runs).toEqual([]);
    expect(Object.values(await dump(trust.id)).join('')).toBe('');
  });

  it('leaves every data table byte-identical after a batch with errors and after a failure in the middle of writing', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const before = await dump(org.id);

    // 1. The connector found errors: nothing is applied, the run is recorded as failed with them.
    const withErrors = school();
    withErrors.pupils[0]!.legalSurname = 'Changed';
    withErrors.warnings = [{ location: 'school.xml:12', message: 'unknown ethnicity code kept as given' }];
    withErrors.errors = [{ location: 'school.xml:40', message: 'Pupil has no surname' }];
    const rejected = await runImport(platform, context, withErrors, request());
    expect(rejected).toMatchObject({ status: 'failed', errors: withErrors.errors, warnings: withErrors.warnings, created: { pupils: 0 } });
    expect(await dump(org.id)).toEqual(before);
    const rejectedRow = await runRow(org.id, rejected.runId!);
    expect(rejectedRow).toMatchObject({ status: 'failed', errors: withErrors.errors, warnings: withErrors.warnings });
    expect(rejectedRow.finished_at).not.toBeNull();

    // 2. Everything else is written before attendance; a bad date there fails in the database.
    const corrupt = school();
    corrupt.pupils[0]!.legalSurname = 'Changed';
    corrupt.pupils.push({ misId: 'P4', legalForename: 'Dagny', legalSurname: 'Newcomer', photo: { contentType: 'image/png', data: Buffer.from('new photo') } });
    corrupt.staff.pop();
    corrupt.groups[2]!.staffMisIds = ['S1'];
    corrupt.attendance.push({ pupilMisId: 'P4', date: '2024-02-30', session: 'AM', code: '/' });
    await expect(runImport(platform, context, corrupt, request())).rejects.toThrow();
    expect(await dump(org.id)).toEqual(before);
    // The new photo's file went with the rollback: only the first import's photo remains.
    expect(fs.readdirSync(path.join(platform.config.dataDir, 'blobs', org.id))).toHaveLength(1);
    const runs = await asSystem(platform, org.id, (scope) => scope.trx.selectFrom('sync_runs').selectAll().orderBy('started_at', 'desc').execute());
    expect(runs[0]).toMatchObject({ status: 'failed', errors: [{ location: 'run', message: expect.stringMatching(/SQLSTATE 22008.*nothing from this run was kept/) }] });
    expect(JSON.stringify(runs[0]!.errors)).not.toContain('2024-02-30');
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed', 'succeeded']);
    const audit = await asSystem(platform, org.id, (scope) => scope.trx.selectFrom('audit_events').select('action').where('action', 'like', 'sync.%').orderBy('seq').execute());
    expect(audit.map((a) => a.action)).toEqual(['sync.run_completed', 'sync.run_failed', 'sync.run_failed']);
  });

  it('refuses references to records the school does not hold, naming where, and writes nothing', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const before = await dump(org.id);
    const bad = school();
    bad.groups[0]!.pupilMisIds.push('P404');
    bad.groups[0]!.staffMisIds.push('S404');
    bad.contacts[0]!.links.push({ pupilMisId: 'P405' });
    bad.attendance.push({ pupilMisId: 'P406', date: '2024-09-02', session: 'AM', code: '/' }, { pupilMisId: 'P406', date: '2024-09-02', session: 'PM', code: '/' });
    bad.attendance.push({ ...bad.attendance[0]! });
    bad.pupils.push({ ...bad.pupils[1]! });
    bad.pupils[0]!.legalSurname = 'Changed';
    const summary = await runImport(platform, context, bad, request());
    expect(summary.status).toBe('failed');
    expect(summary.errors).toEqual([
      { location: 'pupils[misId=P2]', message: 'is listed more than once' },
      { location: 'contacts[misId=C1].links[pupilMisId=P405]', message: 'no pupil has this MIS id' },
      { location: 'groups[misId=G4Q]', message: 'lists pupils that are not in the data: MIS ids P404' },
      { location: 'groups[misId=G4Q]', message: 'lists staff who are not in the data: MIS ids S404' },
      { location: 'attendance[pupilMisId=P406]', message: 'no pupil has this MIS id' },
      { location: 'attendance[pupilMisId=P1,date=2024-09-02,session=AM]', message: 'is listed more than once' },
    ]);
    expect(await dump(org.id)).toEqual(before);
    expect(await runRow(org.id, summary.runId!)).toMatchObject({ status: 'failed', errors: summary.errors });
  });
});

describe('sync engine: dry runs and interrupted runs', () => {
  it('reports what a dry run would do, writes nothing and records it as a succeeded dry run', async () => {
    const { org, context } = await newSchool();
    await runImport(platform, context, school(), request());
    const before = await dump(org.id);
    const changed = school();
    changed.pupils[0]!.legalSurname = 'Dryrun';
    changed.pupils[0]!.photo = { contentType: 'image/png', data: Buffer.from('another photo') };
    changed.pupils.push({ misId: 'P9', legalForename: 'Eero', legalSurname: 'Newcomer' });
    const summary = await runImport(platform, context, changed, request({ dryRun: true }));
    expect(summary).toMatchObject({ status: 'succeeded', dryRun: true, created: { pupils: 1 }, updated: { pupils: 1 } });
    expect(await dump(org.id)).toEqual(before);
    expect(fs.readdirSync(path.join(platform.config.dataDir, 'blobs', org.id))).toHaveLength(1);
    const row = await runRow(org.id, summary.runId!);
    expect(row).toMatchObject({ status: 'succeeded', dry_run: true, counts: { created: { pupils: 1 }, updated: { pupils: 1 } } });
    const changes = await asSystem(platform, org.id, (scope) => scope.trx.selectFrom('sync_run_changes').select('record_id').where('run_id', '=', summary.runId!).execute());
    expect(changes).toEqual([]);
  });

  it('marks a run left running by a process that died as interrupted, and runs', async () => {
    const { org, context } = await newSchool();
    const crashed = await asSystem(platform, org.id, (scope) =>
      scope.trx
        .insertInto('sync_runs')
        .values({ tenant_id: org.id, source: 'upload:ctf', format: 'ctf', mode: 'full', status: 'running', started_by: 'test' })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    const summary = await runImport(platform, context, school(), request());
    expect(summary.status).toBe('succeeded');
    const row = await runRow(org.id, crashed.id);
    expect(row).toMatchObject({ status: 'failed', errors: [INTERRUPTED] });
    expect(row.finished_at).not.toBeNull();
  });
});
