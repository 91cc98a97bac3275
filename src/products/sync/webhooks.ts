import crypto from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import { OutboundAddressRefused, postOutbound } from '../../platform/net/outbound.ts';
import type { Platform } from '../../platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta, type Actor, type TenantContext, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import type { ChangeRow } from './engine/apply.ts';
import { CHUNK, chunked } from './engine/bulk.ts';
import { SYNC_PRODUCTS } from './sharing.ts';

/**
 * Change events and signed webhooks, so linked apps need not poll.
 *
 * Every committed sync run writes one sync_change_events row per changed record (entity, id, kind
 * of change, changed field names; never a value), numbered per school by `seq`, in the run's own
 * transaction, and queues one 'sync.webhook.deliver' job per live webhook of the school. The job
 * carries the school, the webhook and the run only. At delivery time the webhook's grantee's
 * CURRENT grant decides what goes out: entities outside its scopes and field names it could not
 * read are dropped, excluded pupils and staff (and contacts seen only through excluded pupils)
 * are dropped, and nothing is sent while sharing is paused or the grant is revoked.
 *
 * A delivery is one POST of `{ runId, events: [{ seq, entity, id, change, fields }] }` with
 *   Custos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *   Custos-Event-Id:  <delivery id, the same on every retry of one delivery>
 * A non-2xx answer, a redirect or a timeout fails the job and pg-boss retries it with backoff.
 * Redirects are never followed. Plain HTTP is refused except to loopback (for tests).
 */

export const WEBHOOK_DELIVER_JOB = 'sync.webhook.deliver';
export const SIGNATURE_HEADER = 'Custos-Signature';
export const EVENT_ID_HEADER = 'Custos-Event-Id';
export const MASKED_SECRET = '********';
const SECRET_PURPOSE = 'sync_webhooks.secret';
const GRANTEE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface WebhookEvent {
  seq: number;
  entity: string;
  id: string;
  change: 'created' | 'updated' | 'left';
  fields: string[];
}

export interface WebhookDelivery {
  runId: string;
  events: WebhookEvent[];
}

export interface SyncWebhook {
  id: string;
  grantee: string;
  url: string;
  /** Always MASKED_SECRET: the secret is shown once, when the webhook is registered. */
  secret: string;
  createdBy: string;
  createdAt: string;
}

// ---------------------------------------------------------------------------------------------
// Signatures

/** The Custos-Signature header for `body` sent at unix second `t`. */
export function signWebhook(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  const mac = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/**
 * For receivers: true when `header` (Custos-Signature) carries a v1 HMAC of `body` under `secret`
 * with a time stamp no further than `toleranceSeconds` from now. Compare the raw body as received.
 */
export function verifyWebhookSignature(secret: string, header: string | null | undefined, body: string | Buffer, toleranceSeconds = 300, now = Date.now()): boolean {
  if (typeof header !== 'string' || header.length > 1000) return false;
  let t: number | undefined;
  const macs: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/.test(value)) macs.push(value);
  }
  if (t === undefined || macs.length === 0) return false;
  if (Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return macs.some((mac) => crypto.timingSafeEqual(Buffer.from(mac, 'hex'), expected));
}

// ---------------------------------------------------------------------------------------------
// Registration

const urlSchema = z
  .string()
  .trim()
  .max(2000, 'must be at most 2000 characters')
  .superRefine((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    if (url.username || url.password) context.addIssue({ code: 'custom', message: 'must not carry a user name or password' });
    if (url.hash) context.addIssue({ code: 'custom', message: 'must not have a #fragment' });
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return;
    context.addIssue({ code: 'custom', message: 'must use https (plain http only to 127.0.0.1 or localhost)' });
  });

export const webhookSchema = z.strictObject({
  grantee: z
    .string({ error: 'must be the grantee of one of the school’s grants' })
    .trim()
    .min(1, 'must not be empty')
    .max(200, 'must be at most 200 characters')
    .regex(GRANTEE_PATTERN, 'may hold only letters, digits and . _ : -'),
  url: urlSchema,
});
export type WebhookInput = z.input<typeof webhookSchema>;

export const replaySchema = z.strictObject({
  sinceSeq: z.number({ error: 'must be a whole number (0 replays everything)' }).int('must be a whole number').min(0, 'must not be negative'),
});
export type ReplayInput = z.input<typeof replaySchema>;

function actorLabel(actor: Actor): string {
  return actor.id ? `${actor.type}:${actor.id}` : actor.type;
}

async function requireSchool(scope: TenantScope): Promise<void> {
  const row = await scope.trx.selectFrom('organisations').select('kind').where('id', '=', scope.tenantId).executeTakeFirst();
  if (!row) throw new NotFoundError('organisation');
  if (row.kind !== 'school') throw new ConflictError('the sync hub holds data for schools only; this organisation has no changes to send');
}

/**
 * Registers a webhook for one grantee of the school's grants. The signing secret is returned
 * here once and kept only sealed with the school's key. Deliveries follow the grantee's grant at
 * the time of each delivery (none while it has no live grant).
 */
export async function registerWebhook(scope: TenantScope, input: WebhookInput): Promise<SyncWebhook & { secret: string }> {
  const data = parseOrThrow(webhookSchema, input);
  await requireSchool(scope);
  // A typo would save and then silently receive nothing. The grantee must be something the school
  // can grant to: a product, one of its API clients (a grant may come after the webhook), or a
  // grantee it has already granted. Deliveries follow the grant as it is at each delivery.
  if (!(SYNC_PRODUCTS as readonly string[]).includes(data.grantee)) {
    const client = await scope.trx.selectFrom('sync_api_clients').select('id').where('client_id', '=', data.grantee).where('revoked_at', 'is', null).executeTakeFirst();
    const granted = client
      ? undefined
      : await scope.trx.selectFrom('sync_grants').select('id').where('grantee', '=', data.grantee).where('revoked_at', 'is', null).executeTakeFirst();
    if (!client && !granted) {
      throw new ValidationError([{ field: 'grantee', reason: `is not a product (${SYNC_PRODUCTS.join(', ')}), one of the school's API clients or an app it has granted` }]);
    }
  }
  const secret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
  const row = await scope.trx
    .insertInto('sync_webhooks')
    .values({ tenant_id: scope.tenantId, grantee: data.grantee, url: data.url, secret_enc: scope.cipher.seal(SECRET_PURPOSE, secret), created_by: actorLabel(scope.actor) })
    .returning(['id', 'grantee', 'url', 'created_by', 'created_at'])
    .executeTakeFirstOrThrow();
  // The address's origin only: a path may hold a receiver's own token.
  await recordAudit(scope, {
    action: 'sync.webhook_registered',
    target: { type: 'sync_webhook', id: row.id },
    changes: { grantee: { after: data.grantee }, origin: { after: new URL(data.url).origin } },
  });
  return { ...toWebhook(row), secret };
}

function toWebhook(row: { id: string; grantee: string; url: string; created_by: string; created_at: Date }): SyncWebhook {
  return { id: row.id, grantee: row.grantee, url: row.url, secret: MASKED_SECRET, createdBy: row.created_by, createdAt: new Date(row.created_at).toISOString() };
}

/** The school's live webhooks, secrets masked. */
export async function listWebhooks(scope: TenantScope): Promise<SyncWebhook[]> {
  const rows = await scope.trx
    .selectFrom('sync_webhooks')
    .select(['id', 'grantee', 'url', 'created_by', 'created_at'])
    .where('disabled_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toWebhook);
}

/** The number (seq) of the school's newest change event, for replays to be asked from; null before any. */
export async function latestChangeSeq(scope: TenantScope): Promise<number | null> {
  const row = await scope.trx.selectFrom('sync_change_events').select(sql<string | null>`max(seq)::text`.as('seq')).executeTakeFirst();
  return row?.seq == null ? null : Number(row.seq);
}

/** Removes a webhook: queued deliveries to it are dropped and its secret is erased. */
export async function deleteWebhook(scope: TenantScope, id: string): Promise<void> {
  const row = await scope.trx
    .updateTable('sync_webhooks')
    .set({ disabled_at: sql<Date>`now()`, secret_enc: '' })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .returning(['id', 'grantee'])
    .executeTakeFirst();
  if (!row) throw new NotFoundError('webhook');
  await recordAudit(scope, { action: 'sync.webhook_deleted', target: { type: 'sync_webhook', id: row.id }, changes: { grantee: { before: row.grantee, after: null } } });
}

// ---------------------------------------------------------------------------------------------
// Events, written by the engine inside the run's transaction

/**
 * One event per change of the run, numbered after the school's last. Called inside the run's data
 * transaction, which holds the school's run lock: numbers are given out one run at a time.
 */
export async function recordChangeEvents(scope: TenantScope, runId: string, changes: ChangeRow[]): Promise<void> {
  if (changes.length === 0) return;
  const last = await scope.trx
    .selectFrom('sync_change_events')
    .select(sql<string>`coalesce(max(seq), 0)`.as('seq'))
    .where('tenant_id', '=', scope.tenantId)
    .executeTakeFirstOrThrow();
  let next = BigInt(last.seq) + 1n;
  for (const part of chunked(changes, CHUNK.rows)) {
    await sql`INSERT INTO sync_change_events (tenant_id, seq, run_id, entity, record_id, change, fields)
              SELECT ${scope.tenantId}::uuid, ${next.toString()}::bigint + u.n - 1, ${runId}::uuid, u.entity, u.record_id, u.change,
                     ARRAY(SELECT jsonb_array_elements_text(u.fields))
                FROM unnest(${part.map((c) => c.entity)}::text[], ${part.map((c) => c.recordId)}::uuid[],
                            ${part.map((c) => c.change)}::text[], ${part.map((c) => JSON.stringify(c.fields))}::jsonb[])
                     WITH ORDINALITY AS u(entity, record_id, change, fields, n)`.execute(scope.trx);
    next += BigInt(part.length);
  }
}

/** Queues one delivery of the run per live webhook of the school, in the run's transaction. */
export async function queueWebhookDeliveries(platform: Pick<Platform, 'queue'>, scope: TenantScope, runId: string): Promise<number> {
  const hooks = await scope.trx.selectFrom('sync_webhooks').select('id').where('disabled_at', 'is', null).orderBy('id').execute();
  if (hooks.length === 0) return 0;
  const any = await scope.trx.selectFrom('sync_change_events').select('id').where('run_id', '=', runId).limit(1).executeTakeFirst();
  if (!any) return 0;
  for (const hook of hooks) await platform.queue.send(scope, WEBHOOK_DELIVER_JOB, { tenantId: scope.tenantId, webhookId: hook.id, runId });
  return hooks.length;
}

/**
 * Before a run's data transaction (the job cannot be defined or the queue started from inside
 * it): defines the delivery job on this platform and, when the school has a live webhook, starts
 * the queue (a one-shot CLI import does not start it otherwise).
 */
export async function prepareWebhookDeliveries(platform: Platform, context: TenantContext): Promise<void> {
  await registerWebhookJobs(platform);
  const hooks = await platform.inTenant(context, (scope) => scope.trx.selectFrom('sync_webhooks').select('id').where('disabled_at', 'is', null).limit(1).execute());
  if (hooks.length > 0) await platform.queue.start();
}

// ---------------------------------------------------------------------------------------------
// Replay

/**
 * Re-queues delivery of the school's events after `sinceSeq` to one webhook: one job per run,
 * each sending that run's events after the sequence number, filtered by the grant at delivery.
 */
export async function replayWebhookIn(platform: Pick<Platform, 'queue'>, scope: TenantScope, webhookId: string, input: ReplayInput): Promise<{ queued: number }> {
  const { sinceSeq } = parseOrThrow(replaySchema, input);
  const hook = await scope.trx.selectFrom('sync_webhooks').select('id').where('id', '=', webhookId).where('disabled_at', 'is', null).executeTakeFirst();
  if (!hook) throw new NotFoundError('webhook');
  const runs = await scope.trx
    .selectFrom('sync_change_events')
    .select(['run_id', sql<string>`min(seq)`.as('first')])
    .where('seq', '>', String(sinceSeq))
    .groupBy('run_id')
    .orderBy(sql`min(seq)`)
    .execute();
  for (const run of runs) {
    await platform.queue.send(scope, WEBHOOK_DELIVER_JOB, { tenantId: scope.tenantId, webhookId: hook.id, runId: run.run_id, afterSeq: sinceSeq });
  }
  await recordAudit(scope, {
    action: 'sync.webhook_replayed',
    target: { type: 'sync_webhook', id: hook.id },
    changes: { sinceSeq: { after: sinceSeq }, runs: { after: runs.length } },
  });
  return { queued: runs.length };
}

/** replayWebhookIn in its own transaction of the school. */
export async function replayWebhook(platform: Platform, context: TenantContext, webhookId: string, input: ReplayInput): Promise<{ queued: number }> {
  await registerWebhookJobs(platform);
  await platform.queue.start();
  return platform.inTenant(context, (scope) => replayWebhookIn(platform, scope, webhookId, input));
}

// ---------------------------------------------------------------------------------------------
// What a grantee may see

const PUPIL_SCOPES: SyncGrantScope[] = ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'pupils.photo', 'fsm'];

/** Which scope shows each changed field name; names not listed are never sent ('status' always is). */
const PUPIL_FIELDS: Record<string, SyncGrantScope> = {
  legalForename: 'pupils.basic',
  legalSurname: 'pupils.basic',
  middleNames: 'pupils.basic',
  preferredForename: 'pupils.basic',
  preferredSurname: 'pupils.basic',
  yearGroup: 'pupils.basic',
  registrationGroup: 'pupils.basic',
  house: 'pupils.basic',
  address: 'pupils.contact',
  emails: 'pupils.contact',
  phones: 'pupils.contact',
  dateOfBirth: 'pupils.sensitive',
  gender: 'pupils.sensitive',
  upn: 'pupils.sensitive',
  ethnicity: 'pupils.sensitive',
  religion: 'pupils.sensitive',
  firstLanguage: 'pupils.sensitive',
  senStatus: 'pupils.sensitive',
  photo: 'pupils.photo',
  fsmEligible: 'fsm',
  fsmPeriods: 'fsm',
};
const STAFF_FIELDS = new Set(['title', 'forename', 'surname', 'jobTitle', 'emails', 'phones', 'photo']);
const CONTACT_FIELDS = new Set(['title', 'forename', 'surname', 'emails', 'phones', 'address', 'links']);
const GROUP_FIELDS = new Set(['kind', 'name', 'code', 'members']);

interface EventRow {
  seq: string;
  entity: string;
  record_id: string;
  change: 'created' | 'updated' | 'left';
  fields: string[];
}

/**
 * The events of one run a grantee may see under its current grant; none when the grant is gone
 * or sharing is paused. An update whose changed fields are all outside the grant is left out.
 */
export async function eventsForGrantee(scope: TenantScope, grantee: string, runId: string, afterSeq = 0): Promise<WebhookEvent[]> {
  const grant = await scope.trx
    .selectFrom('sync_grants')
    .leftJoin('sync_state', 'sync_state.tenant_id', 'sync_grants.tenant_id')
    .select(['sync_grants.id', 'sync_grants.scopes', 'sync_state.sharing_paused'])
    .where('sync_grants.grantee', '=', grantee)
    .where('sync_grants.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!grant || grant.sharing_paused) return [];
  const scopes = new Set(grant.scopes);
  const exclusions = await scope.trx.selectFrom('sync_grant_exclusions').select(['member_kind', 'member_id']).where('grant_id', '=', grant.id).execute();
  const excludedPupils = new Set(exclusions.filter((e) => e.member_kind === 'pupil').map((e) => e.member_id));
  const excludedStaff = new Set(exclusions.filter((e) => e.member_kind === 'staff').map((e) => e.member_id));

  const rows: EventRow[] = await scope.trx
    .selectFrom('sync_change_events')
    .select(['seq', 'entity', 'record_id', 'change', 'fields'])
    .where('run_id', '=', runId)
    .where('seq', '>', String(afterSeq))
    .orderBy('seq')
    .execute();

  // A contact is shown only through a pupil the grant shows.
  const contactIds = scopes.has('contacts') ? rows.filter((r) => r.entity === 'contacts').map((r) => r.record_id) : [];
  const shownContacts = new Set<string>();
  for (const part of chunked(contactIds, CHUNK.rows)) {
    const links = await scope.trx.selectFrom('pupil_contacts').select(['contact_id', 'pupil_id']).where('contact_id', 'in', part).execute();
    for (const link of links) if (!excludedPupils.has(link.pupil_id)) shownContacts.add(link.contact_id);
  }

  const out: WebhookEvent[] = [];
  for (const row of rows) {
    let visible: (field: string) => boolean;
    if (row.entity === 'pupils') {
      if (!PUPIL_SCOPES.some((s) => scopes.has(s)) || excludedPupils.has(row.record_id)) continue;
      visible = (f) => f === 'status' || (PUPIL_FIELDS[f] !== undefined && scopes.has(PUPIL_FIELDS[f]));
    } else if (row.entity === 'staff') {
      if (!scopes.has('staff') || excludedStaff.has(row.record_id)) continue;
      visible = (f) => f === 'status' || STAFF_FIELDS.has(f);
    } else if (row.entity === 'contacts') {
      if (!scopes.has('contacts') || !shownContacts.has(row.record_id)) continue;
      visible = (f) => f === 'status' || CONTACT_FIELDS.has(f);
    } else if (row.entity === 'groups') {
      if (!scopes.has('groups')) continue;
      visible = (f) => f === 'status' || GROUP_FIELDS.has(f);
    } else {
      continue;
    }
    const fields = row.fields.filter(visible);
    if (row.change === 'updated' && row.fields.length > 0 && fields.length === 0) continue;
    out.push({ seq: Number(row.seq), entity: row.entity, id: row.record_id, change: row.change, fields });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The delivery job

const deliverSchema = z.strictObject({
  tenantId: z.uuid(),
  webhookId: z.uuid(),
  runId: z.uuid(),
  /** Replays only: send the run's events after this sequence number. */
  afterSeq: z.number().int().min(0).optional(),
});

export interface WebhookJobOptions {
  /** First retry delay (doubling after, with jitter); tests shorten it. */
  retryDelaySeconds?: number;
  retryLimit?: number;
  /** How long a receiver may take to answer. */
  timeoutMs?: number;
}

export class WebhookDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookDeliveryError';
  }
}

export function webhookDeliveryJob(platform: Platform, options: WebhookJobOptions = {}): JobDefinition<typeof deliverSchema> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: WEBHOOK_DELIVER_JOB,
    schema: deliverSchema,
    retryLimit: options.retryLimit ?? 5,
    retryDelaySeconds: options.retryDelaySeconds ?? 30,
    async handle(data, job) {
      const context = { tenantId: data.tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('sync-webhook') };
      // Read everything in a short transaction; the HTTP call happens outside it.
      const prepared = await platform.inTenant(context, async (scope) => {
        const hook = await scope.trx
          .selectFrom('sync_webhooks')
          .select(['id', 'grantee', 'url', 'secret_enc'])
          .where('id', '=', data.webhookId)
          .where('disabled_at', 'is', null)
          .executeTakeFirst();
        if (!hook) return undefined;
        const events = await eventsForGrantee(scope, hook.grantee, data.runId, data.afterSeq ?? 0);
        if (events.length === 0) return undefined;
        return { url: hook.url, secret: scope.cipher.open(SECRET_PURPOSE, hook.secret_enc), events };
      });
      if (!prepared) {
        platform.logger.info({ job: job.id, webhook: data.webhookId, run: data.runId }, 'webhook delivery: nothing to send');
        return;
      }
      const body = JSON.stringify({ runId: data.runId, events: prepared.events } satisfies WebhookDelivery);
      let status: number;
      try {
        status = await postOutbound({
          url: prepared.url,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Custos-Webhooks/1',
            [SIGNATURE_HEADER]: signWebhook(prepared.secret, body),
            [EVENT_ID_HEADER]: job.id,
          },
          body,
          timeoutMs,
          allowPrivate: platform.config.allowPrivateOutbound,
        });
      } catch (error) {
        // The address may hold a receiver's token: log the webhook's id, never its URL.
        const reason =
          error instanceof OutboundAddressRefused ? 'refused: the address is not on the public internet'
          : (error as Error)?.name === 'TimeoutError' ? 'timed out'
          : 'could not connect';
        platform.logger.warn({ job: job.id, webhook: data.webhookId, attempt: job.attempt }, `webhook delivery ${reason}`);
        throw new WebhookDeliveryError(`webhook ${data.webhookId}: ${reason}`);
      }
      if (status < 200 || status >= 300) {
        platform.logger.warn({ job: job.id, webhook: data.webhookId, attempt: job.attempt, status }, 'webhook delivery refused');
        throw new WebhookDeliveryError(`webhook ${data.webhookId}: the receiver answered ${status}`);
      }
      platform.logger.info({ job: job.id, webhook: data.webhookId, events: prepared.events.length }, 'webhook delivered');
    },
  };
}

const registered = new WeakSet<object>();

/** Defines the delivery job on this platform once (the first caller's options win). */
export async function registerWebhookJobs(platform: Platform, options: WebhookJobOptions = {}): Promise<void> {
  if (registered.has(platform.queue)) return;
  registered.add(platform.queue);
  await platform.defineJob(webhookDeliveryJob(platform, options));
}
