import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import type { Platform } from '../../../platform/platform.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel, getClient } from '../clients.ts';
import { requirePractice } from '../practice.ts';
import { parseMtdPeriod, quarterDueOn, ukDate, ukEndOfDay, type MtdQuarter } from './mtd-periods.ts';
import { mtdSummarySchema, openSummary, SUMMARY_CONTEXT, type MtdSummary, type MtdSummaryInput } from './mtd-summary.ts';
import { actionableRequest, getRequest, nextReminder, tellRecipient, type InformationRequest } from './requests.ts';
import { requestsTrx } from './tables.ts';
import { sealedTitle } from './titles.ts';

/**
 * Making Tax Digital for Income Tax quarterly updates. For every client marked `mtd_itsa` with a
 * client user, a request is created once each quarter has ended (see mtd-periods.ts for the
 * periods and deadlines), due on HMRC's deadline. The practice enters the quarter's summary
 * figures (before the request exists, or after); the client approves them, or rejects them with a
 * comment; changed figures go back to the client for a fresh decision.
 */
export function mtdTitle(quarter: MtdQuarter): string {
  return `Making Tax Digital quarterly update ${quarter.taxYear} Q${quarter.quarter} (${quarter.start} to ${quarter.end})`;
}

function periodOrThrow(period: string): MtdQuarter {
  const quarter = parseMtdPeriod(period);
  if (!quarter) throw new ValidationError([{ field: 'period', reason: "must be a tax year and quarter, e.g. '2026-27-Q1'" }]);
  return quarter;
}

async function mtdClient(scope: TenantScope, clientId: string): Promise<void> {
  const client = await getClient(scope, clientId);
  if (!client.mtdItsa) throw new ConflictError('this client is not in Making Tax Digital for Income Tax; mark them first');
}

export interface MtdSummaryRecord {
  clientId: string;
  period: string;
  quarter: MtdQuarter;
  summary: MtdSummary;
  revision: number;
  updatedBy: string;
  updatedAt: string;
  /** The quarter's request, once it exists. */
  requestId: string | null;
}

async function quarterRequest(scope: TenantScope, clientId: string, period: string) {
  return requestsTrx(scope)
    .selectFrom('portal_requests')
    .select(['id', 'status', 'recipient_user_id', 'decision'])
    .where('client_id', '=', clientId)
    .where('mtd_period', '=', period)
    .forUpdate()
    .executeTakeFirst();
}

export async function getMtdSummary(scope: TenantScope, clientId: string, period: string): Promise<MtdSummaryRecord> {
  const quarter = periodOrThrow(period);
  await getClient(scope, clientId);
  const stored = await openSummary(scope, clientId, period);
  if (!stored) throw new NotFoundError('summary');
  const request = await quarterRequest(scope, clientId, period);
  return { clientId, period, quarter, ...stored, requestId: request?.id ?? null };
}

/**
 * Sets a quarter's figures (a new revision each time). Once the request exists: figures the client
 * already decided on go back to them (answered → sent), and the client is told whenever there is
 * something new to approve. A finished request's figures no longer change.
 */
export async function setMtdSummary(queue: JobQueue, scope: TenantScope, clientId: string, period: string, input: MtdSummaryInput, portalUrl: string): Promise<MtdSummaryRecord> {
  const quarter = periodOrThrow(period);
  await mtdClient(scope, clientId);
  const data = parseOrThrow(mtdSummarySchema, input);
  const request = await quarterRequest(scope, clientId, period);
  if (request && !['sent', 'answered'].includes(request.status)) throw new ConflictError(`this quarter's request is ${request.status}; its figures can no longer change`);
  const sealed = scope.cipher.seal(SUMMARY_CONTEXT, JSON.stringify(data));
  const saved = await requestsTrx(scope)
    .insertInto('portal_mtd_summaries')
    .values({ tenant_id: scope.tenantId, client_id: clientId, mtd_period: period, summary_enc: sealed, revision: 1, updated_by: actorLabel(scope) })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'client_id', 'mtd_period']).doUpdateSet({ summary_enc: sealed, revision: sql<number>`portal_mtd_summaries.revision + 1`, updated_by: actorLabel(scope), updated_at: new Date() }),
    )
    .returning(['revision'])
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'portal.mtd_summary_set',
    target: { type: 'portal_client', id: clientId },
    changes: { period: { after: period }, revision: { before: saved.revision - 1 || null, after: saved.revision }, figures: { personal: true } },
  });
  if (request) {
    if (request.status === 'answered') {
      await requestsTrx(scope).updateTable('portal_requests').set({ status: 'sent', answered_at: null, decision: null, summary_revision: null }).where('id', '=', request.id).execute();
      await recordAudit(scope, { action: 'portal.request_reopened', target: { type: 'portal_request', id: request.id }, changes: { status: { before: 'answered', after: 'sent' }, revision: { after: saved.revision } } });
    }
    await requestsTrx(scope).updateTable('portal_requests').set({ next_reminder_at: nextReminder() }).where('id', '=', request.id).execute();
    await tellRecipient(
      queue,
      scope,
      { id: request.id, recipientUserId: request.recipient_user_id },
      portalUrl,
      (practice) => `${practice}: your quarterly figures are ready to approve`,
      `${request.status === 'answered' || saved.revision > 1 ? 'The figures have changed. ' : ''}Please check the income and expenses for ${quarter.taxYear} quarter ${quarter.quarter} (year to date, ${quarter.taxYearStart} to ${quarter.end}) and approve them, or tell us what is wrong. HMRC's deadline is ${quarter.deadline}.`,
    );
  }
  return getMtdSummary(scope, clientId, period);
}

export const summaryDecisionSchema = z.discriminatedUnion(
  'decision',
  [
    z.strictObject({ decision: z.literal('approve'), summaryRevision: z.number({ error: 'is required: the revision of the figures you saw' }).int(), comment: z.string().trim().max(2000, 'must be at most 2000 characters').optional() }),
    z.strictObject({
      decision: z.literal('reject'),
      summaryRevision: z.number({ error: 'is required: the revision of the figures you saw' }).int(),
      comment: z.string({ error: 'is required: say what is wrong' }).trim().min(1, 'is required: say what is wrong').max(2000, 'must be at most 2000 characters'),
    }),
  ],
  { error: "decision must be 'approve' or 'reject'" },
);

/** The client approves the quarter's figures, or rejects them saying what is wrong. */
export async function decideMtdSummary(scope: TenantScope, requestId: string, input: z.input<typeof summaryDecisionSchema>): Promise<InformationRequest> {
  const data = parseOrThrow(summaryDecisionSchema, input);
  const row = await actionableRequest(scope, requestId, 'mtd_quarter');
  const stored = await openSummary(scope, row.client_id, row.mtd_period!);
  if (!stored) throw new ConflictError('your accountant has not entered the figures yet');
  if (stored.revision !== data.summaryRevision) throw new ConflictError('the figures have changed since you opened them; look at them again');
  const decision = data.decision === 'approve' ? 'approved' : 'rejected';
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({
      status: 'answered',
      answered_at: new Date(),
      decision,
      summary_revision: stored.revision,
      response_enc: scope.cipher.sealOptional('portal.request.response', data.comment || null),
      next_reminder_at: null,
    })
    .where('id', '=', requestId)
    .execute();
  await recordAudit(scope, {
    action: `portal.mtd_summary_${decision}`,
    target: { type: 'portal_request', id: requestId },
    changes: { status: { before: 'sent', after: 'answered' }, revision: { after: stored.revision }, ...(data.comment ? { comment: { personal: true } } : {}) },
  });
  return getRequest(scope, requestId);
}

/** One client's request for the quarter, unless it already exists; returns whether it was created. */
async function createQuarterRequest(queue: JobQueue, scope: TenantScope, client: { id: string; recipient: string }, quarter: MtdQuarter, portalUrl: string): Promise<boolean> {
  const stored = await openSummary(scope, client.id, quarter.period);
  const created = await requestsTrx(scope)
    .insertInto('portal_requests')
    .values({
      tenant_id: scope.tenantId,
      client_id: client.id,
      kind: 'mtd_quarter',
      ...sealedTitle(scope, mtdTitle(quarter)),
      questions: JSON.stringify([]),
      recipient_user_id: client.recipient,
      mtd_period: quarter.period,
      created_by: 'system',
      due_at: ukEndOfDay(quarter.deadline),
      // Reminders wait until there are figures to approve.
      next_reminder_at: stored ? nextReminder() : null,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'client_id', 'mtd_period']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!created) return false;
  await recordAudit(scope, {
    action: 'portal.request_sent',
    target: { type: 'portal_request', id: created.id },
    changes: { kind: { after: 'mtd_quarter' }, client: { after: client.id }, recipient: { after: client.recipient }, period: { after: quarter.period } },
  });
  if (stored) {
    await tellRecipient(
      queue,
      scope,
      { id: created.id, recipientUserId: client.recipient },
      portalUrl,
      (practice) => `${practice}: your quarterly figures are ready to approve`,
      `Please check the income and expenses for ${quarter.taxYear} quarter ${quarter.quarter} (year to date, ${quarter.taxYearStart} to ${quarter.end}) and approve them, or tell us what is wrong. HMRC's deadline is ${quarter.deadline}.`,
    );
  }
  return true;
}

export interface MtdPassReport {
  period: string | null;
  created: number;
}

/**
 * One pass of the daily job: when a quarter's update is due on `today` (a UK date; now by
 * default), every active practice's MTD clients with a client user get that quarter's request.
 * The recipient is the client's longest-standing user who is not disabled. Running it again finds
 * the requests made (one per client per period, held by a unique constraint).
 */
export async function runMtdQuarterPass(platform: Platform, options: { today?: string | Date } = {}): Promise<MtdPassReport> {
  const today = typeof options.today === 'string' ? options.today : ukDate(options.today ?? new Date());
  const quarter = quarterDueOn(today);
  if (!quarter) return { period: null, created: 0 };
  // Across tenants: only the owner may list them. Each practice's clients are then read inside its own tenant.
  const practices = await platform.db.owner.selectFrom('organisations').select('id').where('kind', '=', 'practice').where('status', '=', 'active').orderBy('created_at').execute();
  let created = 0;
  for (const { id } of practices) {
    try {
      created += await platform.inTenant({ tenantId: id, actor: SYSTEM_ACTOR, meta: systemMeta('portal-mtd') }, async (scope) => {
        await requirePractice(scope);
        const clients = await sql<{ id: string; recipient: string }>`
          SELECT c.id, r.user_id AS recipient
            FROM portal_clients c
            CROSS JOIN LATERAL (
              SELECT m.user_id FROM portal_client_members m JOIN users u ON u.id = m.user_id
               WHERE m.client_id = c.id AND u.status <> 'disabled'
               ORDER BY m.added_at, m.user_id LIMIT 1) r
           WHERE c.mtd_itsa
             AND NOT EXISTS (SELECT 1 FROM portal_requests q WHERE q.client_id = c.id AND q.mtd_period = ${quarter.period})
           ORDER BY c.created_at`.execute(scope.trx);
        let made = 0;
        for (const client of clients.rows) if (await createQuarterRequest(platform.queue, scope, client, quarter, platform.config.publicUrl)) made++;
        return made;
      });
    } catch (error) {
      // One practice's failure must not keep the others' clients from their requests.
      platform.logger.error({ err: error, tenantId: id }, 'MTD quarterly requests: could not create them for a practice');
    }
  }
  return { period: quarter.period, created };
}

export const MTD_QUARTERLY_JOB = 'portal.mtd_quarterly';
/** Daily at 06:15 UK time, so a quarter's requests are waiting on the morning after it ends. */
export const MTD_QUARTERLY_CRON = '15 6 * * *';
export const MTD_QUARTERLY_TZ = 'Europe/London';

const registered = new WeakSet<object>();

/** Defines the job once per platform; a process running workers keeps its daily schedule. */
export async function registerMtdJobs(platform: Platform): Promise<void> {
  if (registered.has(platform.queue)) return;
  registered.add(platform.queue);
  await platform.defineJob({
    name: MTD_QUARTERLY_JOB,
    schema: z.object({}),
    retryLimit: 2,
    retryDelaySeconds: 300,
    async handle(_data, job) {
      const report = await runMtdQuarterPass(platform);
      platform.logger.info({ job: job.id, period: report.period, created: report.created }, 'MTD quarterly requests created');
    },
  });
  if (platform.runsWorkers) await platform.queue.schedule(MTD_QUARTERLY_JOB, MTD_QUARTERLY_CRON, {}, { tz: MTD_QUARTERLY_TZ });
}
