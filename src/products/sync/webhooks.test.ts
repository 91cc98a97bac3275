import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { bearer, expectProblem } from '../../http/testing.ts';
import { buildServer } from '../../http/server.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../platform/tenancy/tenant-scope.ts';
import { runImport } from './engine.ts';
import type { ImportBatch } from './model.ts';
import { excludeMember, grant, revoke, setSharingPaused } from './sharing.ts';
import { importSharingSchool, sharingSchool, type ImportedSchool } from './testing/sharing-fixture.ts';
import {
  EVENT_ID_HEADER,
  MASKED_SECRET,
  registerWebhookJobs,
  replayWebhook,
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_DELIVER_JOB,
  webhookDeliveryJob,
  type WebhookDelivery,
} from './webhooks.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A local receiver: answers each POST with the next scripted status (200 when none is left). */
class Receiver {
  readonly received: Received[] = [];
  script: number[] = [];
  private server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = this.script.shift() ?? 200;
      this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/custos`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let school: ImportedSchool;
let receiver: Receiver;
let webhookId: string;
let secret: string;
let grantId: string;

const context = () => ({ tenantId: a.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') });
const importBatch = async (batch: ImportBatch, dryRun = false) => {
  const summary = await runImport(platform, context(), batch, { format: 'test', source: 'upload:test', startedBy: 'test', dryRun });
  expect(summary.status, JSON.stringify(summary.errors)).toBe('succeeded');
  return summary.runId!;
};
const jobs = async () =>
  (await sql<{ id: string; data: unknown; state: string }>`SELECT id, data, state FROM pgboss.job WHERE name = ${WEBHOOK_DELIVER_JOB} ORDER BY created_on`.execute(platform.db.owner)).rows;

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
/** Waits until no delivery is waiting, retrying or running. */
const quiet = () => waitFor(async () => ((await platform.queue.pending(WEBHOOK_DELIVER_JOB)) === 0 ? true : undefined));

/** The batch the school imported first, with a few changes. */
function changedSchool(change: (batch: ImportBatch) => void): ImportBatch {
  const batch = sharingSchool();
  change(batch);
  return batch;
}

const eventsOfRun = (runId: string) =>
  asSystem(platform, a.id, (scope) =>
    scope.trx.selectFrom('sync_change_events').select(['seq', 'entity', 'record_id', 'change', 'fields']).where('run_id', '=', runId).orderBy('seq').execute(),
  );

beforeAll(async () => {
  platform = await startTestPlatform({ runWorkers: true });
  // Short retry delays for the test (the first definition wins; the routes define it again with defaults).
  await registerWebhookJobs(platform, { retryDelaySeconds: 1, timeoutMs: 2000 });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  a = await createTestOrganisation(platform);
  receiver = new Receiver();
  await receiver.start();
  // The school's data, then a grant to 'messaging' of basic pupil data and groups, with P3 kept out.
  school = await importSharingSchool(platform, a.id);
  grantId = (await asSystem(platform, a.id, (scope) => grant({ queue: platform.queue }, scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic', 'groups'] }))).id;
  await asSystem(platform, a.id, (scope) => excludeMember({ queue: platform.queue }, scope, grantId, { memberKind: 'pupil', memberId: school.pupils.P3 }));
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
  await receiver?.close();
});

describe('sync webhooks', () => {
  it('registers a webhook through the API, shows its secret once and masks it in lists', async () => {
    const refused = await app.inject({ method: 'POST', url: '/api/v1/sync/webhooks', headers: bearer(a.token), payload: { grantee: 'messaging', url: 'http://hooks.example.test/x' } });
    expect(expectProblem(refused, 400).errors).toEqual([expect.objectContaining({ field: 'url' })]);
    // A grantee nobody could grant to would receive nothing: a typo is refused, and nothing is saved.
    const typo = await app.inject({ method: 'POST', url: '/api/v1/sync/webhooks', headers: bearer(a.token), payload: { grantee: 'mesaging', url: receiver.url } });
    expect(expectProblem(typo, 400).errors).toEqual([{ field: 'grantee', reason: expect.stringMatching(/^is not a product \(messaging, .*\), one of the school's API clients or an app it has granted$/) }]);
    expect((await app.inject({ url: '/api/v1/sync/webhooks', headers: bearer(a.token) })).json()).toEqual({ webhooks: [], latestSeq: expect.any(Number) });

    const created = await app.inject({ method: 'POST', url: '/api/v1/sync/webhooks', headers: bearer(a.token), payload: { grantee: 'messaging', url: receiver.url } });
    expect(created.statusCode, created.body).toBe(201);
    webhookId = created.json().id;
    secret = created.json().secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const list = await app.inject({ url: '/api/v1/sync/webhooks', headers: bearer(a.token) });
    // The school's newest change number comes with the list, for replays to be asked from.
    const newest = await asSystem(platform, a.id, async (scope) => Number((await scope.trx.selectFrom('sync_change_events').select(sql<string>`max(seq)::text`.as('seq')).executeTakeFirstOrThrow()).seq));
    expect(newest).toBeGreaterThan(0);
    expect(list.json()).toEqual({ webhooks: [expect.objectContaining({ id: webhookId, grantee: 'messaging', url: receiver.url, secret: MASKED_SECRET })], latestSeq: newest });
    expect(list.body).not.toContain(secret);
    const stored = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('sync_webhooks').select('secret_enc').where('id', '=', webhookId).executeTakeFirstOrThrow());
    expect(stored.secret_enc).not.toContain(secret);
  });

  let firstDelivery: Received;
  let run2: string;

  it('sends one signed delivery per import, with the run’s changes the grant lets the grantee see', async () => {
    run2 = await importBatch(
      changedSchool((batch) => {
        batch.pupils[0]!.yearGroup = '6'; // P1: basic → sent
        batch.pupils[1]!.dateOfBirth = '2014-05-03'; // P2: sensitive only → not sent
        batch.pupils[2]!.legalSurname = 'Smythe'; // P3: excluded → not sent
        batch.pupils.push({ misId: 'P4', legalForename: 'Dara', legalSurname: 'New', yearGroup: '5' }); // created → sent
        batch.staff[0]!.jobTitle = 'Deputy head'; // staff not granted → not sent
        batch.groups[2]!.pupilMisIds.push('P4'); // Y5 members → sent
      }),
    );
    const delivery = await waitFor(() => receiver.received[0]);
    await quiet();
    expect(receiver.received).toHaveLength(1);
    firstDelivery = delivery;

    const signature = delivery.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(secret, signature, delivery.body, 300)).toBe(true);
    expect(delivery.headers[EVENT_ID_HEADER.toLowerCase()]).toEqual(expect.any(String));
    expect(delivery.headers['content-type']).toBe('application/json');

    const all = await eventsOfRun(run2);
    const changes = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('sync_run_changes').select(['entity', 'record_id', 'change', 'fields']).where('run_id', '=', run2).execute());
    // One event per change of the run, numbered in order.
    expect(all.map((e) => ({ entity: e.entity, record_id: e.record_id, change: e.change, fields: e.fields })).sort((x, y) => x.record_id.localeCompare(y.record_id))).toEqual(
      changes.sort((x, y) => x.record_id.localeCompare(y.record_id)),
    );
    expect(all).toHaveLength(6);

    const p4 = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('pupils').select('id').where('mis_id', '=', 'P4').executeTakeFirstOrThrow());
    const seqOf = (id: string) => Number(all.find((e) => e.record_id === id)!.seq);
    const body = JSON.parse(delivery.body) as WebhookDelivery;
    expect(body).toEqual({
      runId: run2,
      events: [
        { seq: seqOf(school.pupils.P1), entity: 'pupils', id: school.pupils.P1, change: 'updated', fields: ['yearGroup'] },
        { seq: seqOf(p4.id), entity: 'pupils', id: p4.id, change: 'created', fields: [] },
        { seq: seqOf(school.groups.Y5), entity: 'groups', id: school.groups.Y5, change: 'updated', fields: ['members'] },
      ],
    });
    expect(body.events.map((e) => e.seq)).toEqual([...body.events.map((e) => e.seq)].sort((x, y) => x - y));
  });

  it('refuses to deliver to an address on this machine or a private network unless the deployment allows it', async () => {
    // As production runs: OUTBOUND_PRIVATE_ADDRESSES left at 'refuse'. The receiver is on 127.0.0.1.
    const strict = webhookDeliveryJob({ ...platform, config: { ...platform.config, allowPrivateOutbound: false } } as typeof platform, { timeoutMs: 2000 });
    const before = receiver.received.length;
    const attempt = strict.handle({ tenantId: a.id, webhookId, runId: run2 }, { id: 'strict-test', attempt: 1 } as Parameters<typeof strict.handle>[1]);
    await expect(attempt).rejects.toThrow(/refused: the address is not on the public internet/);
    expect(receiver.received.length).toBe(before);
  });

  it('fails verification for a tampered body, a wrong secret, a stale time stamp or a malformed header', () => {
    const signature = firstDelivery.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyWebhookSignature(secret, signature, firstDelivery.body.replace('"updated"', '"created"'), 300)).toBe(false);
    expect(verifyWebhookSignature(secret, signature, `${firstDelivery.body} `, 300)).toBe(false);
    expect(verifyWebhookSignature(`${secret}x`, signature, firstDelivery.body, 300)).toBe(false);
    expect(verifyWebhookSignature(secret, signature, firstDelivery.body, 300, Date.now() + 3600_000)).toBe(false);
    expect(verifyWebhookSignature(secret, 'v1=abc', firstDelivery.body, 300)).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, firstDelivery.body, 300)).toBe(false);
    const old = Math.floor(Date.now() / 1000) - 3600;
    expect(verifyWebhookSignature(secret, signWebhook(secret, firstDelivery.body, old), firstDelivery.body, 300)).toBe(false);
    expect(verifyWebhookSignature(secret, signWebhook(secret, firstDelivery.body), Buffer.from(firstDelivery.body), 300)).toBe(true);
  });

  let run3: string;

  it('retries with backoff: a receiver answering 500 twice gets the delivery on the third try', async () => {
    receiver.received.length = 0;
    receiver.script = [500, 500];
    run3 = await importBatch(changedSchool((batch) => {
      batch.pupils[0]!.yearGroup = '6';
      batch.pupils[0]!.house = 'Turing';
      batch.pupils.push({ misId: 'P4', legalForename: 'Dara', legalSurname: 'New', yearGroup: '5' });
      batch.groups[2]!.pupilMisIds.push('P4');
    }));
    await waitFor(() => receiver.received[2], 30_000);
    await quiet();
    expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
    // The same delivery each time (same id, same events), each freshly signed.
    expect(new Set(receiver.received.map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()])).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    for (const r of receiver.received) expect(verifyWebhookSignature(secret, r.headers[SIGNATURE_HEADER.toLowerCase()] as string, r.body, 300)).toBe(true);
    expect(JSON.parse(receiver.received[2]!.body)).toEqual({
      runId: run3,
      events: [{ seq: expect.any(Number), entity: 'pupils', id: school.pupils.P1, change: 'updated', fields: ['house'] }],
    });
  });

  it('replays the events after a sequence number, through the API and the service', async () => {
    receiver.received.length = 0;
    const lastOfRun2 = Math.max(...(await eventsOfRun(run2)).map((e) => Number(e.seq)));
    const replayed = await app.inject({ method: 'POST', url: `/api/v1/sync/webhooks/${webhookId}/replay`, headers: bearer(a.token), payload: { sinceSeq: lastOfRun2 } });
    expect(replayed.statusCode, replayed.body).toBe(202);
    expect(replayed.json()).toEqual({ queued: 1 });
    await waitFor(() => receiver.received[0]);
    await quiet();
    expect(receiver.received).toHaveLength(1);
    const body = JSON.parse(receiver.received[0]!.body) as WebhookDelivery;
    expect(body.runId).toBe(run3);
    expect(body.events.map((e) => e.id)).toEqual([school.pupils.P1]);
    expect(verifyWebhookSignature(secret, receiver.received[0]!.headers[SIGNATURE_HEADER.toLowerCase()] as string, receiver.received[0]!.body, 300)).toBe(true);

    // Everything from the start: the first import's creations (P3 still left out), run 2 and run 3.
    receiver.received.length = 0;
    expect(await replayWebhook(platform, context(), webhookId, { sinceSeq: 0 })).toEqual({ queued: 3 });
    await waitFor(() => receiver.received[2]);
    await quiet();
    const runs = receiver.received.map((r) => (JSON.parse(r.body) as WebhookDelivery).runId);
    expect(new Set(runs)).toEqual(new Set([school.runId, run2, run3]));
    const first = receiver.received.map((r) => JSON.parse(r.body) as WebhookDelivery).find((d) => d.runId === school.runId)!;
    expect(first.events.map((e) => e.id)).not.toContain(school.pupils.P3);
    expect(first.events.map((e) => e.entity).sort()).toEqual(['groups', 'groups', 'groups', 'pupils', 'pupils']);

    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/sync/webhooks/${webhookId}/replay`, headers: bearer(a.token), payload: { sinceSeq: -1 } }), 400);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/sync/webhooks/${crypto.randomUUID()}/replay`, headers: bearer(a.token), payload: { sinceSeq: 0 } }), 404);
  });

  it('sends nothing for dry runs, while sharing is paused, or once the grant is revoked', async () => {
    receiver.received.length = 0;
    const before = (await jobs()).length;
    const eventCount = async () => asSystem(platform, a.id, async (scope) => (await scope.trx.selectFrom('sync_change_events').select('id').execute()).length);
    const events = await eventCount();

    await importBatch(changedSchool((batch) => (batch.pupils[0]!.house = 'Lovelace')), true);
    expect(await eventCount()).toBe(events);
    expect((await jobs()).length).toBe(before);

    await asSystem(platform, a.id, (scope) => setSharingPaused({ queue: platform.queue }, scope, true));
    const paused = await importBatch(changedSchool((batch) => (batch.pupils[0]!.house = 'Hopper')));
    await quiet();
    await asSystem(platform, a.id, (scope) => setSharingPaused({ queue: platform.queue }, scope, false));

    await asSystem(platform, a.id, (scope) => revoke({ queue: platform.queue }, scope, grantId));
    const revoked = await importBatch(changedSchool((batch) => (batch.pupils[0]!.house = 'Franklin')));
    await quiet();
    // Both runs recorded their events and queued a delivery, but nothing went out.
    expect((await eventsOfRun(paused)).length).toBeGreaterThan(0);
    expect((await eventsOfRun(revoked)).length).toBeGreaterThan(0);
    expect(await eventCount()).toBeGreaterThan(events);
    expect((await jobs()).length).toBe(before + 2);
    expect(receiver.received).toEqual([]);
  });

  it('keeps the secret out of lists, the audit trail and job payloads; jobs carry ids only', async () => {
    const list = await app.inject({ url: '/api/v1/sync/webhooks', headers: bearer(a.token) });
    expect(list.body).not.toContain(secret);
    const audit = await asSystem(platform, a.id, async (scope) => JSON.stringify(await scope.trx.selectFrom('audit_events').selectAll().execute()));
    expect(audit).not.toContain(secret);
    expect(audit).toContain('sync.webhook_registered');
    expect(audit).toContain('sync.webhook_replayed');
    expect(audit).not.toContain('/hooks/custos');
    const queued = await jobs();
    expect(JSON.stringify(queued)).not.toContain(secret);
    for (const job of queued) {
      expect(Object.keys(job.data as object).sort()).toEqual(expect.arrayContaining(['runId', 'tenantId', 'webhookId']));
      expect(Object.keys(job.data as object).every((k) => ['runId', 'tenantId', 'webhookId', 'afterSeq'].includes(k))).toBe(true);
    }
  });

  it('removes a webhook: it leaves the list, erases its secret, and receives nothing more', async () => {
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/sync/webhooks/${webhookId}`, headers: bearer(a.token) })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/sync/webhooks', headers: bearer(a.token) })).json()).toMatchObject({ webhooks: [] });
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/sync/webhooks/${webhookId}`, headers: bearer(a.token) }), 404);
    const row = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('sync_webhooks').select(['secret_enc', 'disabled_at']).where('id', '=', webhookId).executeTakeFirstOrThrow());
    expect(row).toEqual({ secret_enc: '', disabled_at: expect.any(Date) });
  });
});
