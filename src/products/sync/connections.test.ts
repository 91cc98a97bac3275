import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../platform/tenancy/tenant-scope.ts';
import { createConnection, deleteConnection, listConnections, MASK, runConnection } from './connections.ts';
import type { ImportBatch } from './model.ts';
import { fakeSchool } from './testing/fake-school.ts';
import { startOneRosterServer, type OneRosterServer } from './testing/oneroster-server.ts';
import { startWondeServer, type WondeServer } from './testing/wonde-server.ts';

const SCHOOL = fakeSchool({ pupils: 25, seed: 5 });

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;
let oneRoster: OneRosterServer;
let wonde: WondeServer;

const context = (tenantId: string) => ({ tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('test') });
const pupilCount = (tenantId: string, source: string) =>
  asSystem(platform, tenantId, async (scope) =>
    Number((await scope.trx.selectFrom('pupils').select((eb) => eb.fn.countAll().as('n')).where('source', '=', source).where('status', '=', 'current').executeTakeFirstOrThrow()).n),
  );
const auditText = (tenantId: string) =>
  asSystem(platform, tenantId, async (scope) => JSON.stringify(await scope.trx.selectFrom('audit_events').selectAll().execute()));

function changedSchool(): ImportBatch {
  const next = structuredClone(SCHOOL) as ImportBatch;
  next.pupils[0]!.legalSurname = 'Changed-Surname';
  return next;
}

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  oneRoster = await startOneRosterServer(SCHOOL, { modifiedAt: '2024-01-01T00:00:00Z' });
  wonde = await startWondeServer(SCHOOL, { modifiedAt: '2024-01-01T00:00:00Z' });
});

afterAll(async () => {
  await oneRoster?.close();
  await wonde?.close();
  await platform?.close();
});

describe('connections', () => {
  it('runs a OneRoster REST connection: a full read first, then a delta since the last succeeded run', async () => {
    const created = await asSystem(platform, a.id, (scope) =>
      createConnection(scope, {
        kind: 'oneroster-rest',
        name: 'MIS (OneRoster)',
        settings: { baseUrl: oneRoster.url, tokenUrl: oneRoster.tokenUrl, clientId: oneRoster.clientId, clientSecret: oneRoster.clientSecret, version: '1.1' },
        schedule: 'nightly',
      }),
    );
    expect(created.settings).toEqual({ baseUrl: oneRoster.url, tokenUrl: oneRoster.tokenUrl, clientId: oneRoster.clientId, version: '1.1', clientSecret: MASK });

    const first = await runConnection(platform, context(a.id), created.id, { delta: true });
    expect(first.status, JSON.stringify(first.errors)).toBe('succeeded');
    expect(first.created.pupils).toBe(SCHOOL.pupils.length);
    expect(await pupilCount(a.id, `connection:${created.id}`)).toBe(SCHOOL.pupils.length);
    expect(oneRoster.calls.some((c) => c.includes('filter='))).toBe(false);

    const lastStarted = await asSystem(platform, a.id, async (scope) =>
      (await scope.trx.selectFrom('sync_runs').select(['started_at', 'mode', 'connection_id', 'source']).where('id', '=', first.runId!).executeTakeFirstOrThrow()),
    );
    expect(lastStarted).toMatchObject({ mode: 'full', connection_id: created.id, source: `connection:${created.id}` });
    oneRoster.update(changedSchool(), new Date(Date.now() + 60_000).toISOString());
    oneRoster.calls.length = 0;

    const second = await runConnection(platform, context(a.id), created.id, { delta: true });
    expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
    expect(second.updated.pupils).toBe(1);
    expect(second.created.pupils).toBe(0);
    // The connector asks from an hour before the last run began (to the second, rounded down), so a
    // record changed while that run was reading is not missed.
    const from = new Date(lastStarted.started_at).getTime() - 3_600_000;
    const since = new Date(Math.floor(from / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const filter = encodeURIComponent(`dateLastModified>'${since}'`).replace(/'/g, '%27');
    const userPages = oneRoster.calls.filter((c) => c.includes('/users?'));
    expect(userPages.length).toBeGreaterThan(0);
    expect(userPages.every((c) => c.includes(`filter=${filter}`)), oneRoster.calls.join('\n')).toBe(true);
    const mode = await asSystem(platform, a.id, async (scope) => (await scope.trx.selectFrom('sync_runs').select('mode').where('id', '=', second.runId!).executeTakeFirstOrThrow()).mode);
    expect(mode).toBe('delta');

    // The secret is in no list, no audit entry, no stored column in clear.
    const listed = await asSystem(platform, a.id, listConnections);
    expect(listed).toEqual([expect.objectContaining({ id: created.id, schedule: 'nightly', lastRun: expect.objectContaining({ id: second.runId, status: 'succeeded' }) })]);
    expect(JSON.stringify(listed)).not.toContain(oneRoster.clientSecret);
    expect(await auditText(a.id)).not.toContain(oneRoster.clientSecret);
    const stored = await asSystem(platform, a.id, async (scope) => (await scope.trx.selectFrom('sync_connections').select('settings_enc').where('id', '=', created.id).executeTakeFirstOrThrow()).settings_enc);
    expect(stored).not.toContain(oneRoster.clientSecret);
    expect(stored).not.toContain(oneRoster.clientId);
  });

  it('runs a Wonde connection, the second time with updated_after', async () => {
    const created = await asSystem(platform, a.id, (scope) =>
      createConnection(scope, { kind: 'wonde', name: 'Wonde', settings: { baseUrl: wonde.url, token: wonde.token, schoolId: wonde.schoolId } }),
    );
    expect(created.settings).toEqual({ baseUrl: wonde.url, schoolId: wonde.schoolId, token: MASK });
    const first = await runConnection(platform, context(a.id), created.id, { delta: true });
    expect(first.status, JSON.stringify(first.errors)).toBe('succeeded');
    expect(await pupilCount(a.id, `connection:${created.id}`)).toBe(SCHOOL.pupils.length);
    expect(wonde.calls.some((c) => c.includes('updated_after'))).toBe(false);

    wonde.update(changedSchool(), new Date(Date.now() + 60_000).toISOString());
    const second = await runConnection(platform, context(a.id), created.id, { delta: true });
    expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
    expect(second.updated.pupils).toBe(1);
    expect(wonde.calls.some((c) => c.includes('/students?') && c.includes('updated_after='))).toBe(true);
    expect(JSON.stringify(await asSystem(platform, a.id, listConnections))).not.toContain(wonde.token);
    expect(await auditText(a.id)).not.toContain(wonde.token);
  });

  it('validates every field in one round, refuses a duplicate name and organisations that are not schools', async () => {
    const bad = asSystem(platform, a.id, (scope) =>
      createConnection(scope, { kind: 'oneroster-rest', name: ' ', settings: { baseUrl: 'ftp://x', clientId: 'id', clientSecret: '' } }),
    );
    await expect(bad).rejects.toMatchObject({ status: 400 });
    const errors = (await bad.catch((e: { errors: { field: string; reason: string }[] }) => e.errors)) as { field: string; reason: string }[];
    expect([...errors].sort((x, y) => x.field.localeCompare(y.field))).toEqual([
      { field: 'name', reason: 'must not be empty' },
      { field: 'settings.baseUrl', reason: 'must be an http(s) URL' },
      { field: 'settings.clientSecret', reason: 'must not be empty' },
      { field: 'settings.tokenUrl', reason: 'is required' },
    ]);
    const wonde = await asSystem(platform, a.id, (scope) => createConnection(scope, { kind: 'wonde', name: 'W2', settings: { schoolId: 7 } } as never)).catch((e: { errors: unknown }) => e.errors);
    expect(wonde).toEqual([
      { field: 'settings.token', reason: 'is required' },
      { field: 'settings.schoolId', reason: 'must be text' },
    ]);
    const noSettings = await asSystem(platform, a.id, (scope) => createConnection(scope, { kind: 'wonde', name: 'W3' } as never)).catch((e: { errors: unknown }) => e.errors);
    expect(noSettings).toEqual([{ field: 'settings', reason: 'is required' }]);
    await expect(asSystem(platform, a.id, (scope) => createConnection(scope, { kind: 'ctf' as 'wonde', name: 'x', settings: {} }))).rejects.toMatchObject({ status: 400 });
    await expect(
      asSystem(platform, a.id, (scope) => createConnection(scope, { kind: 'wonde', name: 'Wonde', settings: { token: 't', schoolId: 's' } })),
    ).rejects.toMatchObject({ status: 409 });
    const trust = await createTestOrganisation(platform, { kind: 'trust' });
    await expect(
      asSystem(platform, trust.id, (scope) => createConnection(scope, { kind: 'wonde', name: 'W', settings: { token: 't', schoolId: 's' } })),
    ).rejects.toMatchObject({ status: 409 });
  });

  it("does not let another school run, see or delete A's connection", async () => {
    const [first] = await asSystem(platform, a.id, listConnections);
    await expect(runConnection(platform, context(b.id), first!.id, { delta: true })).rejects.toMatchObject({ status: 404 });
    await expect(asSystem(platform, b.id, (scope) => deleteConnection(scope, first!.id))).rejects.toMatchObject({ status: 404 });
    expect(await asSystem(platform, b.id, listConnections)).toEqual([]);
  });

  it('deletes (disables) a connection: its credentials are erased, its name freed, it no longer runs', async () => {
    const created = await asSystem(platform, a.id, (scope) =>
      createConnection(scope, { kind: 'wonde', name: 'Temporary', settings: { baseUrl: wonde.url, token: wonde.token, schoolId: wonde.schoolId } }),
    );
    await asSystem(platform, a.id, (scope) => deleteConnection(scope, created.id));
    const row = await asSystem(platform, a.id, async (scope) => scope.trx.selectFrom('sync_connections').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow());
    expect(row).toMatchObject({ settings_enc: null, schedule: null, disabled_at: expect.any(Date) });
    expect((await asSystem(platform, a.id, listConnections)).map((c) => c.id)).not.toContain(created.id);
    await expect(runConnection(platform, context(a.id), created.id, { delta: true })).rejects.toMatchObject({ status: 404 });
    const again = await asSystem(platform, a.id, (scope) =>
      createConnection(scope, { kind: 'wonde', name: 'Temporary', settings: { baseUrl: wonde.url, token: wonde.token, schoolId: wonde.schoolId } }),
    );
    expect(again.id).not.toBe(created.id);
    const actions = await asSystem(platform, a.id, async (scope) =>
      (await sql<{ action: string }>`SELECT action FROM audit_events WHERE target_id = ${created.id} ORDER BY seq`.execute(scope.trx)).rows.map((r) => r.action),
    );
    expect(actions).toEqual(['sync.connection_created', 'sync.connection_deleted']);
  });
});
