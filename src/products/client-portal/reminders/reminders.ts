import { sql } from 'kysely';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { activeAdminAddresses } from '../../../platform/identity/users.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import type { Platform } from '../../../platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { clientUserAddresses, mailAddresses } from '../portal-mail.ts';
import { recordFlowEvent } from '../flows/events.ts';
import { requestTitle, sealClearTitles } from '../requests/titles.ts';
import { REMINDER_INTERVAL_DAYS } from '../flows/flows.ts';
import { flowReminder, invoiceReminder, requestReminder, storageEnding, type ReminderWording } from './wording.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * One reminder engine for everything a practice waits on: flows (approval or signature), requests
 * (questionnaires, MTD quarters) and invoices. A pass goes through every active practice, each in
 * its own tenant transactions under row-level security, and for each table claims the rows whose
 * reminder is due with FOR UPDATE SKIP LOCKED: two servers running a pass at once each take
 * different rows, and a row already reminded has moved its next_reminder_at on by the time the
 * other could see it, so nobody is reminded twice. The email is queued in the same transaction
 * as the bump, so a reminder is recorded exactly when its email will go.
 *
 * Reminders go every REMINDER_INTERVAL_DAYS while the item waits, at most MAX_REMINDERS times.
 * Expiry is part of the pass: a pending flow past its expiry becomes 'expired'. Requests and
 * invoices past their date keep their state; only the wording says "overdue".
 */
export const MAX_REMINDERS = 5;
/** Rows claimed per transaction: bounds a transaction's length and locks; the pass loops. */
const BATCH = 100;
const INTERVAL_MS = REMINDER_INTERVAL_DAYS * 86_400_000;
/** Who the flow timeline names for what the pass does. */
const AUTOMATIC = 'the portal (automatic)';

export interface ReminderPassReport {
  practices: number;
  flowsReminded: number;
  flowsExpired: number;
  requestsReminded: number;
  invoicesReminded: number;
  /** Storage purchases whose year ends within two weeks, told to the practice's admins. */
  storageTermsEnding: number;
  /** Emails queued (an invoice may go to several client users). */
  emails: number;
  /** Practices whose pass failed (logged; the others went on). */
  failures: number;
}

interface PassContext {
  queue: JobQueue;
  portalUrl: string;
  now: Date;
  report: ReminderPassReport;
}

type Step = (scope: TenantScope, pass: PassContext) => Promise<number>;

type ReminderTable = 'portal_flows' | 'portal_requests' | 'portal_invoices';

/**
 * Runs one pass at `now` (the job: the current time; tests: any time they like). Practices are
 * listed through the owner handle, as operator tasks list organisations; everything else runs in
 * the practice's own transactions.
 */
export async function runReminderPass(platform: Platform, now: Date): Promise<ReminderPassReport> {
  const practices = await platform.db.owner
    .selectFrom('organisations')
    .select('id')
    .where('kind', '=', 'practice')
    .where('status', '=', 'active')
    .orderBy('created_at')
    .execute();
  const report: ReminderPassReport = { practices: practices.length, flowsReminded: 0, flowsExpired: 0, requestsReminded: 0, invoicesReminded: 0, storageTermsEnding: 0, emails: 0, failures: 0 };
  const pass: PassContext = { queue: platform.queue, portalUrl: platform.config.publicUrl, now, report };
  for (const { id } of practices) {
    const context = { tenantId: id, actor: SYSTEM_ACTOR, meta: systemMeta('portal-reminders') };
    try {
      // Expiry first, so a flow that has just expired is not reminded in the same pass.
      for (const step of [expireFlows, remindFlows, remindRequests, remindInvoices, remindStorageEnding, sealTitles]) {
        // A full batch may mean more rows are waiting: claim again until a batch comes back short.
        let claimed: number;
        do claimed = await platform.inTenant(context, (scope) => step(scope, pass));
        while (claimed === BATCH);
      }
    } catch (error) {
      // One practice's failure must not keep the others' reminders back; the next pass retries it.
      report.failures++;
      platform.logger.error({ err: error, tenantId: id }, 'portal reminders: the pass failed for a practice');
    }
  }
  return report;
}

/** Storage bought is for a year: the practice's admins hear of its end once, two weeks before. */
const STORAGE_NOTICE_MS = 14 * 86_400_000;

const remindStorageEnding: Step = async (scope, pass) => {
  const terms = await scope.trx
    .selectFrom('portal_purchases')
    .select(['id', 'quantity', 'expires_at'])
    .where('kind', '=', 'storage')
    .where('status', '=', 'paid')
    .where('expiry_reminded_at', 'is', null)
    .where('expires_at', '>', pass.now)
    .where('expires_at', '<=', new Date(pass.now.getTime() + STORAGE_NOTICE_MS))
    .orderBy('expires_at')
    .limit(BATCH)
    .forUpdate()
    .skipLocked()
    .execute();
  if (terms.length === 0) return 0;
  const practice = await organisationName(scope);
  const admins = await activeAdminAddresses(scope);
  for (const term of terms) {
    await send(scope, pass, admins, storageEnding(practice, { bytes: Number(term.quantity) * 1024 ** 3, expiresAt: new Date(term.expires_at!) }, pass.portalUrl));
  }
  await scope.trx.updateTable('portal_purchases').set({ expiry_reminded_at: pass.now }).where('id', 'in', terms.map((t) => t.id)).execute();
  pass.report.storageTermsEnding += terms.length;
  return terms.length;
};

/** Housekeeping while the pass is in each practice: request titles written before 0017 get sealed. */
const sealTitles: Step = async (scope) => sealClearTitles(scope, BATCH);

const expireFlows: Step = async (scope, pass) => {
  const flows = await scope.trx
    .selectFrom('portal_flows')
    .select(['id', 'client_id'])
    .where('status', '=', 'pending')
    .where('expires_at', '<=', pass.now)
    .orderBy('expires_at')
    .limit(BATCH)
    .forUpdate()
    .skipLocked()
    .execute();
  if (flows.length === 0) return 0;
  await scope.trx
    .updateTable('portal_flows')
    .set({ status: 'expired', completed_at: pass.now, next_reminder_at: null })
    .where('id', 'in', flows.map((f) => f.id))
    .execute();
  for (const flow of flows) {
    await recordFlowEvent(scope, { id: flow.id, clientId: flow.client_id }, 'expired', AUTOMATIC);
    await recordAudit(scope, { action: 'portal.flow_expired', target: { type: 'portal_flow', id: flow.id }, changes: { status: { before: 'pending', after: 'expired' } } });
  }
  pass.report.flowsExpired += flows.length;
  return flows.length;
};

const remindFlows: Step = async (scope, pass) => {
  const flows = await scope.trx
    .selectFrom('portal_flows')
    .select(['id', 'client_id', 'kind', 'title_enc', 'recipient_user_id', 'expires_at'])
    .where('status', '=', 'pending')
    .where('next_reminder_at', '<=', pass.now)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', pass.now)]))
    .orderBy('next_reminder_at')
    .limit(BATCH)
    .forUpdate()
    .skipLocked()
    .execute();
  if (flows.length === 0) return 0;
  const practice = await organisationName(scope);
  const members = await clientUserAddresses(scope, flows.map((f) => f.client_id));
  const sent: string[] = [];
  for (const flow of flows) {
    const recipient = members.get(flow.client_id)?.find((m) => m.userId === flow.recipient_user_id);
    if (!recipient) continue;
    const wording = flowReminder(practice, { id: flow.id, kind: flow.kind, title: scope.cipher.open('portal.flow.title', flow.title_enc), expiresAt: flow.expires_at ? new Date(flow.expires_at) : null }, pass.portalUrl);
    await send(scope, pass, [recipient.email], wording);
    await recordFlowEvent(scope, { id: flow.id, clientId: flow.client_id }, 'reminded', AUTOMATIC);
    sent.push(flow.id);
  }
  await reschedule(scope, 'portal_flows', flows.map((f) => f.id), sent, pass.now);
  pass.report.flowsReminded += sent.length;
  return flows.length;
};

const remindRequests: Step = async (scope, pass) => {
  const requests = await scope.trx
    .selectFrom('portal_requests')
    .select(['id', 'client_id', 'title', 'title_enc', 'recipient_user_id', 'due_at'])
    .where('status', '=', 'sent')
    .where('next_reminder_at', '<=', pass.now)
    .orderBy('next_reminder_at')
    .limit(BATCH)
    .forUpdate()
    .skipLocked()
    .execute();
  if (requests.length === 0) return 0;
  const practice = await organisationName(scope);
  const members = await clientUserAddresses(scope, requests.map((r) => r.client_id));
  const sent: string[] = [];
  for (const request of requests) {
    const recipient = members.get(request.client_id)?.find((m) => m.userId === request.recipient_user_id);
    if (!recipient) continue;
    const dueAt = request.due_at ? new Date(request.due_at) : null;
    const wording = requestReminder(practice, { id: request.id, title: requestTitle(scope, request), dueAt, overdue: dueAt !== null && dueAt <= pass.now }, pass.portalUrl);
    await send(scope, pass, [recipient.email], wording);
    sent.push(request.id);
  }
  await reschedule(scope, 'portal_requests', requests.map((r) => r.id), sent, pass.now);
  pass.report.requestsReminded += sent.length;
  return requests.length;
};

const remindInvoices: Step = async (scope, pass) => {
  const today = sql<string>`(${pass.now.toISOString()}::timestamptz AT TIME ZONE 'Europe/London')::date`;
  const invoices = await scope.trx
    .selectFrom('portal_invoices')
    .select([
      'id',
      'client_id',
      'number',
      'gross_pence',
      'currency',
      // A calendar date, read as text: no driver turns it into a midnight in some time zone.
      sql<string>`to_char(due_on, 'YYYY-MM-DD')`.as('due_on'),
      sql<boolean>`due_on < ${today}`.as('overdue'),
    ])
    .where('status', '=', 'issued')
    .where('next_reminder_at', '<=', pass.now)
    .orderBy('next_reminder_at')
    .limit(BATCH)
    .forUpdate()
    .skipLocked()
    .execute();
  if (invoices.length === 0) return 0;
  const practice = await organisationName(scope);
  const members = await clientUserAddresses(scope, invoices.map((i) => i.client_id));
  const sent: string[] = [];
  for (const invoice of invoices) {
    const recipients = members.get(invoice.client_id) ?? [];
    if (recipients.length === 0) continue;
    const wording = invoiceReminder(
      practice,
      { id: invoice.id, number: invoice.number, grossPence: Number(invoice.gross_pence), currency: invoice.currency, dueOn: invoice.due_on, overdue: invoice.overdue },
      pass.portalUrl,
    );
    await send(scope, pass, recipients.map((r) => r.email), wording);
    sent.push(invoice.id);
  }
  await reschedule(scope, 'portal_invoices', invoices.map((i) => i.id), sent, pass.now);
  pass.report.invoicesReminded += sent.length;
  return invoices.length;
};

/** One email per recipient (a recipient never sees who else was sent it). */
async function send(scope: TenantScope, pass: PassContext, to: string[], wording: ReminderWording): Promise<void> {
  pass.report.emails += await mailAddresses(pass.queue, scope, to, wording);
}

/**
 * Moves each claimed row's next reminder on. A sent reminder counts, and after the last one there
 * is no next. A row with nobody to send to (recipient disabled or no longer one of the client's
 * users) is not counted, only looked at again next interval: re-enabled, they get the rest.
 */
async function reschedule(scope: TenantScope, table: ReminderTable, claimed: string[], sent: string[], now: Date): Promise<void> {
  const next = new Date(now.getTime() + INTERVAL_MS).toISOString();
  const skipped = claimed.filter((id) => !sent.includes(id));
  if (sent.length > 0) {
    await sql`UPDATE ${sql.table(table)}
                 SET reminders_sent = reminders_sent + 1,
                     next_reminder_at = CASE WHEN reminders_sent + 1 >= ${MAX_REMINDERS} THEN NULL ELSE ${next}::timestamptz END
               WHERE id IN (${sql.join(sent)})`.execute(scope.trx);
  }
  if (skipped.length > 0) {
    await sql`UPDATE ${sql.table(table)} SET next_reminder_at = ${next}::timestamptz WHERE id IN (${sql.join(skipped)})`.execute(scope.trx);
  }
}
