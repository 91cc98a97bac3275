import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { buildServer } from '../../http/server.ts';
import { bearer, expectProblem } from '../../http/testing.ts';
import { fakeSchool } from './testing/fake-school.ts';
import { startOneRosterServer, type OneRosterServer } from './testing/oneroster-server.ts';
import { NIGHTLY_CRON, NIGHTLY_TZ, queueNightlyRuns, SYNC_NIGHTLY_JOB, SYNC_RUN_JOB } from './sync-job.ts';

const SCHOOL = fakeSchool({ pupils: 15, seed: 9 });

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let b: TestOrganisation;
let server: OneRosterServer;

const runsOf = (tenantId: string) =>
  asSystem(platform, tenantId, (scope) => scope.trx.selectFrom('sync_runs').select(['id', 'status', 'connection_id', 'started_by']).execute());
const jobs = async (name: string) =>
  (await sql<{ id: string; data: unknown; state: string }>`SELECT id, data, state FROM pgboss.job WHERE name = ${name}`.execute(platform.db.owner)).rows;

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  platform = await startTestPlatform({ runWorkers: true });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  server = await startOneRosterServer(SCHOOL);
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
  await server?.close();
});

const settings = () => ({ baseUrl: server.url, tokenUrl: server.tokenUrl, clientId: server.clientId, clientSecret: server.clientSecret, version: '1.1' });

describe('sync now and the nightly schedule', () => {
  let connectionId: string;

  it('creates a connection through the API, runs it on "sync now" in the background, and never shows the secret', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/sync/connections', headers: bearer(a.token), payload: { kind: 'oneroster-rest', name: 'MIS', settings: settings(), schedule: 'nightly' } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(server.clientSecret);
    connectionId = created.json().id;

    const queued = await app.inject({ method: 'POST', url: `/api/v1/sync/connections/${connectionId}/run`, headers: bearer(a.token) });
    expect(queued.statusCode, queued.body).toBe(202);
    expect(queued.json()).toEqual({ jobId: expect.any(String), connectionId });

    const run = await waitFor(async () => (await runsOf(a.id)).find((r) => r.status !== 'running'));
    expect(run).toMatchObject({ status: 'succeeded', connection_id: connectionId, started_by: `job:${queued.json().jobId}` });
    const browse = await app.inject({ url: '/api/v1/sync/pupils?limit=1', headers: bearer(a.token) });
    expect(browse.json().total).toBe(SCHOOL.pupils.length);

    const list = await app.inject({ url: '/api/v1/sync/connections', headers: bearer(a.token) });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().connections).toEqual([expect.objectContaining({ id: connectionId, settings: expect.objectContaining({ clientId: server.clientId, clientSecret: '********' }) })]);
    expect(list.body).not.toContain(server.clientSecret);

    // The job carries the school and the connection only.
    const queuedJobs = await jobs(SYNC_RUN_JOB);
    expect(queuedJobs.map((j) => j.data)).toEqual([{ tenantId: a.id, connectionId }]);
    expect(JSON.stringify(queuedJobs)).not.toContain(server.clientSecret);
    const audit = await asSystem(platform, a.id, async (scope) => JSON.stringify(await scope.trx.selectFrom('audit_events').selectAll().execute()));
    expect(audit).not.toContain(server.clientSecret);
    expect(audit).toContain('sync.connection_run_queued');
  });

  it("refuses another school's admin A's connection: 404 to run and delete, nothing listed, nothing queued", async () => {
    const before = (await jobs(SYNC_RUN_JOB)).length;
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/sync/connections/${connectionId}/run`, headers: bearer(b.token) }), 404);
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/sync/connections/${connectionId}`, headers: bearer(b.token) }), 404);
    expect((await app.inject({ url: '/api/v1/sync/connections', headers: bearer(b.token) })).json()).toEqual({ connections: [] });
    expect((await jobs(SYNC_RUN_JOB)).length).toBe(before);
  });

  it('keeps the nightly schedule (02:00 Europe/London) and queues one run per nightly connection of each school', async () => {
    const schedules = (await sql<{ name: string; cron: string; timezone: string }>`SELECT name, cron, timezone FROM pgboss.schedule`.execute(platform.db.owner)).rows;
    expect(schedules).toContainEqual({ name: SYNC_NIGHTLY_JOB, cron: NIGHTLY_CRON, timezone: NIGHTLY_TZ });

    // B has one nightly connection and one run on demand only; a trust has none.
    const bNightly = await app.inject({ method: 'POST', url: '/api/v1/sync/connections', headers: bearer(b.token), payload: { kind: 'oneroster-rest', name: 'B nightly', settings: settings(), schedule: 'nightly' } });
    await app.inject({ method: 'POST', url: '/api/v1/sync/connections', headers: bearer(b.token), payload: { kind: 'oneroster-rest', name: 'B manual', settings: settings() } });
    await createTestOrganisation(platform, { kind: 'trust' });
    const before = new Set((await jobs(SYNC_RUN_JOB)).map((j) => j.id));
    expect(await queueNightlyRuns(platform)).toBe(2);
    const added = (await jobs(SYNC_RUN_JOB)).filter((j) => !before.has(j.id)).map((j) => j.data);
    expect(added).toHaveLength(2);
    expect(added).toEqual(expect.arrayContaining([{ tenantId: a.id, connectionId }, { tenantId: b.id, connectionId: bNightly.json().id }]));
    await waitFor(async () => ((await runsOf(b.id)).some((r) => r.status === 'succeeded') ? true : undefined));
  });

  it('removes a connection through the API', async () => {
    const response = await app.inject({ method: 'DELETE', url: `/api/v1/sync/connections/${connectionId}`, headers: bearer(a.token) });
    expect(response.statusCode, response.body).toBe(204);
    expect((await app.inject({ url: '/api/v1/sync/connections', headers: bearer(a.token) })).json()).toEqual({ connections: [] });
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/sync/connections/${connectionId}/run`, headers: bearer(a.token) }), 404);
  });
});
