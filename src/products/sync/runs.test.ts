import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../platform/tenancy/tenant-scope.ts';
import { runImport, type RunSummary } from './engine.ts';
import { emptyBatch, type ImportBatch } from './model.ts';
import { progressReporter } from './engine/progress.ts';
import { getRun, listRuns } from './runs.ts';

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;
const runs: RunSummary[] = [];

function batch(pupils: string[], errors: ImportBatch['errors'] = []): ImportBatch {
  const out = emptyBatch('full');
  out.pupils = pupils.map((misId) => ({ misId, legalForename: `Forename ${misId}`, legalSurname: 'Runlister' }));
  out.errors = errors;
  return out;
}

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  const context = { tenantId: a.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') };
  const request = { format: 'csv', source: 'upload:csv', startedBy: 'runs-test' };
  runs.push(await runImport(platform, context, batch(['P1', 'P2']), request));
  runs.push(await runImport(platform, context, batch(['P1', 'P3'], [{ location: 'pupils.csv:3', message: 'no surname' }]), request));
  runs.push(await runImport(platform, context, batch(['P1', 'P3']), { ...request, dryRun: true }));
  runs.push(await runImport(platform, context, batch(['P1', 'P3']), request));
});
afterAll(async () => platform?.close());

describe('sync runs', () => {
  it('lists the school\'s runs newest first with status, mode, counts and problems', async () => {
    const list = await asSystem(platform, a.id, (scope) => listRuns(scope));
    expect(list.map((r) => r.id)).toEqual(runs.map((r) => r.runId).reverse());
    expect(list.map((r) => [r.status, r.dryRun])).toEqual([['succeeded', false], ['succeeded', true], ['failed', false], ['succeeded', false]]);
    expect(list[0]).toMatchObject({
      format: 'csv',
      source: 'upload:csv',
      mode: 'full',
      startedBy: 'runs-test',
      connectionId: null,
      created: { pupils: 1, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      left: { pupils: 1, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      errors: [],
    });
    expect(list[2]!.errors).toEqual([{ location: 'pupils.csv:3', message: 'no surname' }]);
    expect(Date.parse(list[0]!.startedAt)).toBeGreaterThan(0);
    expect(Date.parse(list[0]!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(list[0]!.startedAt));
    expect(await asSystem(platform, a.id, (scope) => listRuns(scope, { limit: 2 }))).toHaveLength(2);
  });

  it('shows one run with its change list: entity, record, MIS id, change and field names', async () => {
    const run = await asSystem(platform, a.id, (scope) => getRun(scope, runs[3]!.runId!));
    expect(run.status).toBe('succeeded');
    expect(run.changes).toEqual([
      { entity: 'pupils', recordId: expect.any(String), misId: 'P3', change: 'created', fields: [] },
      { entity: 'pupils', recordId: expect.any(String), misId: 'P2', change: 'left', fields: [] },
    ]);
    const first = await asSystem(platform, a.id, (scope) => getRun(scope, runs[0]!.runId!));
    expect(first.changes.map((c) => c.misId)).toEqual(['P1', 'P2']);
  });

  it('shows another school nothing, and answers not found for an unknown or malformed id', async () => {
    expect(await asSystem(platform, b.id, (scope) => listRuns(scope))).toEqual([]);
    await expect(asSystem(platform, b.id, (scope) => getRun(scope, runs[0]!.runId!))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asSystem(platform, a.id, (scope) => getRun(scope, '00000000-0000-4000-8000-000000000000'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asSystem(platform, a.id, (scope) => getRun(scope, 'not-a-uuid'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it("shows a running run's progress from this process, and none once it stops reporting or has finished", async () => {
    const context = { tenantId: a.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') };
    const runId = await asSystem(platform, a.id, async (scope) =>
      (await scope.trx.insertInto('sync_runs').values({ tenant_id: a.id, source: 'upload:csv', format: 'csv', mode: 'full', status: 'running', started_by: 'runs-test', connection_id: null, progress: null }).returning('id').executeTakeFirstOrThrow()).id,
    );
    const forwarded: number[] = [];
    const reporter = progressReporter(platform, context, runId, (p) => forwarded.push(p.done));
    reporter.report({ entity: 'contacts', done: 40, total: 120 });
    const running = await asSystem(platform, a.id, (scope) => getRun(scope, runId));
    expect(running.progress).toMatchObject({ entity: 'contacts', done: 40, total: 120 });
    expect(forwarded).toEqual([40]);
    // Another school asking about the run gets nothing at all.
    await expect(asSystem(platform, b.id, (scope) => getRun(scope, runId))).rejects.toBeInstanceOf(NotFoundError);

    await reporter.finish();
    reporter.report({ entity: 'contacts', done: 80, total: 120 });
    expect(forwarded).toEqual([40]);
    const stopped = await asSystem(platform, a.id, (scope) => getRun(scope, runId));
    // On PostgreSQL the first figure was also stored on the row; on PGlite only this process knew it.
    if (platform.db.kind === 'postgres') expect(stopped.progress).toMatchObject({ entity: 'contacts', done: 40 });
    else expect(stopped.progress).toBeNull();
    await asSystem(platform, a.id, (scope) => scope.trx.updateTable('sync_runs').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', runId).execute());
    expect((await asSystem(platform, a.id, (scope) => getRun(scope, runId))).progress).toBeNull();
  });
});
