import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import type { FlowKind, FlowStatus } from '../../../platform/db/schema-portal.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import { enqueueMail } from '../../../platform/mail/mail.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel, getClient } from '../clients.ts';
import { freeSigningCredits, NoSigningCreditsError } from '../practice.ts';
import { describeActor, flowTimeline, recordFlowEvent, type FlowEvent } from './events.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/** How long before the first reminder, and between reminders, while a flow waits. */
export const REMINDER_INTERVAL_DAYS = 3;

export interface FlowDocument {
  documentId: string;
  title: string;
  version: number;
  originalSha256: string;
  signedVersion: number | null;
  finalSha256: string | null;
}

export interface Flow {
  id: string;
  clientId: string;
  kind: FlowKind;
  title: string;
  message: string | null;
  recipientUserId: string;
  status: FlowStatus;
  /** The recipient's comment on a rejection or reason for declining. */
  response: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  completedAt: string | null;
  remindersSent: number;
  documents: FlowDocument[];
}

export const sendFlowSchema = z.strictObject({
  clientId: z.uuid({ error: 'must be a client id' }),
  kind: z.enum(['approval', 'signature'], { error: "must be 'approval' or 'signature'" }),
  title: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  message: z.string().trim().max(2000, 'must be at most 2000 characters').optional(),
  recipientUserId: z.uuid({ error: 'must be the id of one of the client’s users' }),
  documentIds: z.array(z.uuid({ error: 'must be document ids' }), { error: 'must list the documents to send' }).min(1, 'must list at least one document').max(20, 'must list at most 20 documents'),
  expiresAt: z.iso.datetime({ offset: true, error: 'must be a date and time (ISO 8601)' }).optional(),
});
export type SendFlowInput = z.input<typeof sendFlowSchema>;

type FlowRow = {
  id: string;
  client_id: string;
  kind: FlowKind;
  title_enc: string;
  message_enc: string | null;
  recipient_user_id: string;
  status: FlowStatus;
  response_enc: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  completed_at: Date | null;
  reminders_sent: number;
};

const FLOW_COLUMNS = ['id', 'client_id', 'kind', 'title_enc', 'message_enc', 'recipient_user_id', 'status', 'response_enc', 'created_by', 'created_at', 'expires_at', 'completed_at', 'reminders_sent'] as const;

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

async function toFlow(scope: TenantScope, row: FlowRow): Promise<Flow> {
  const documents = await sql<{ document_id: string; title_enc: string; version: number; original_sha256: string; signed_version: number | null; final_sha256: string | null }>`
    SELECT fd.document_id, d.title_enc, v.version, fd.original_sha256, sv.version AS signed_version, fd.final_sha256
      FROM portal_flow_documents fd
      JOIN portal_documents d ON d.id = fd.document_id
      JOIN portal_document_versions v ON v.id = fd.version_id
      LEFT JOIN portal_document_versions sv ON sv.id = fd.signed_version_id
     WHERE fd.flow_id = ${row.id}
     ORDER BY fd.position`.execute(scope.trx);
  return {
    id: row.id,
    clientId: row.client_id,
    kind: row.kind,
    title: scope.cipher.open('portal.flow.title', row.title_enc),
    message: scope.cipher.openOptional('portal.flow.message', row.message_enc),
    recipientUserId: row.recipient_user_id,
    status: row.status,
    response: scope.cipher.openOptional('portal.flow.response', row.response_enc),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    completedAt: iso(row.completed_at),
    remindersSent: row.reminders_sent,
    documents: documents.rows.map((d) => ({
      documentId: d.document_id,
      title: scope.cipher.open('portal.document.title', d.title_enc),
      version: d.version,
      originalSha256: d.original_sha256,
      signedVersion: d.signed_version,
      finalSha256: d.final_sha256,
    })),
  };
}

/** The recipient's email address, to tell them something is waiting. */
export async function recipientEmail(scope: TenantScope, userId: string): Promise<string> {
  const user = await scope.trx.selectFrom('users').select('email_enc').where('id', '=', userId).executeTakeFirstOrThrow();
  return scope.cipher.open('users.email', user.email_enc);
}

/**
 * Sends documents to one of the client's users for approval or signature. The recipient must be a
 * client user of that client; every document must be in the client's area; a signature needs a
 * PDF and a signing credit not already promised to another pending signature (the credit is only
 * spent when the signature completes). The email is queued in the same transaction.
 */
export async function sendFlow(queue: JobQueue, scope: TenantScope, input: SendFlowInput, portalUrl: string): Promise<Flow> {
  const data = parseOrThrow(sendFlowSchema, input);
  await getClient(scope, data.clientId);
  const member = await scope.trx
    .selectFrom('portal_client_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.status'])
    .where('m.client_id', '=', data.clientId)
    .where('m.user_id', '=', data.recipientUserId)
    .executeTakeFirst();
  if (!member) throw new ValidationError([{ field: 'recipientUserId', reason: 'is not a user of this client' }]);
  if (member.status === 'disabled') throw new ValidationError([{ field: 'recipientUserId', reason: 'is disabled' }]);
  const expiresAt = data.expiresAt ? new Date(data.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) throw new ValidationError([{ field: 'expiresAt', reason: 'must be in the future' }]);

  const unique = [...new Set(data.documentIds)];
  const versions = await scope.trx
    .selectFrom('portal_documents as d')
    .innerJoin('portal_document_versions as v', (join) => join.onRef('v.document_id', '=', 'd.id').onRef('v.version', '=', 'd.latest_version'))
    .select(['d.id as document_id', 'v.id as version_id', 'v.sha256', 'v.content_type'])
    .where('d.client_id', '=', data.clientId)
    .where('d.id', 'in', unique)
    .execute();
  const problems = unique
    .map((id, i) => ({ id, i, found: versions.find((v) => v.document_id === id) }))
    .flatMap(({ i, found }) => {
      if (!found) return [{ field: `documentIds[${i}]`, reason: 'is not a document of this client' }];
      if (data.kind === 'signature' && found.content_type !== 'application/pdf') return [{ field: `documentIds[${i}]`, reason: 'must be a PDF to be signed' }];
      return [];
    });
  if (problems.length > 0) throw new ValidationError(problems);
  if (data.kind === 'signature' && (await freeSigningCredits(scope)) < 1) throw new NoSigningCreditsError();

  const row = (await scope.trx
    .insertInto('portal_flows')
    .values({
      tenant_id: scope.tenantId,
      client_id: data.clientId,
      kind: data.kind,
      title_enc: scope.cipher.seal('portal.flow.title', data.title),
      message_enc: scope.cipher.sealOptional('portal.flow.message', data.message ?? null),
      recipient_user_id: data.recipientUserId,
      response_enc: null,
      created_by: actorLabel(scope),
      expires_at: expiresAt,
      completed_at: null,
      next_reminder_at: new Date(Date.now() + REMINDER_INTERVAL_DAYS * 86_400_000),
    })
    .returning(FLOW_COLUMNS)
    .executeTakeFirstOrThrow()) as FlowRow;
  await scope.trx
    .insertInto('portal_flow_documents')
    .values(
      unique.map((id, position) => {
        const v = versions.find((x) => x.document_id === id)!;
        return { tenant_id: scope.tenantId, client_id: data.clientId, flow_id: row.id, document_id: id, version_id: v.version_id, position, original_sha256: v.sha256 };
      }),
    )
    .execute();
  await recordFlowEvent(scope, { id: row.id, clientId: data.clientId }, data.kind === 'signature' ? 'sent_for_signature' : 'sent_for_approval', await describeActor(scope));
  await recordAudit(scope, {
    action: 'portal.flow_sent',
    target: { type: 'portal_flow', id: row.id },
    changes: { kind: { after: data.kind }, client: { after: data.clientId }, recipient: { after: data.recipientUserId }, documents: { after: unique.length } },
  });
  const orgName = await organisationName(scope);
  await enqueueMail(queue, scope, {
    to: await recipientEmail(scope, data.recipientUserId),
    subject: `${orgName} has sent you ${data.kind === 'signature' ? 'a document to sign' : 'documents to approve'}`,
    text:
      `${orgName} has sent you “${data.title}” (${unique.length} document${unique.length === 1 ? '' : 's'}) to ${data.kind === 'signature' ? 'sign' : 'approve'}.\n\n` +
      `Sign in to your portal to see it:\n${portalUrl}/portal/flows/${row.id}\n` +
      (expiresAt ? `\nPlease respond by ${expiresAt.toUTCString()}.\n` : ''),
  });
  return toFlow(scope, row);
}

export type FlowWithTimeline = Flow & { timeline: FlowEvent[] };

export async function getFlow(scope: TenantScope, flowId: string): Promise<FlowWithTimeline> {
  if (!isUuid(flowId)) throw new NotFoundError('flow');
  const row = await scope.trx.selectFrom('portal_flows').select(FLOW_COLUMNS).where('id', '=', flowId).executeTakeFirst();
  if (!row) throw new NotFoundError('flow');
  return { ...(await toFlow(scope, row as FlowRow)), timeline: await flowTimeline(scope, flowId) };
}

export interface FlowQuery {
  clientId?: string;
  status?: FlowStatus;
  /** Only flows addressed to the acting user (a client user's "waiting for you"). */
  mine?: boolean;
  limit?: number;
}

/** Flows newest first (a client user: their own clients' flows only, by the database's policy). */
export async function listFlows(scope: TenantScope, query: FlowQuery = {}): Promise<Flow[]> {
  let rows = scope.trx.selectFrom('portal_flows').select(FLOW_COLUMNS);
  if (query.clientId) rows = rows.where('client_id', '=', query.clientId);
  if (query.status) rows = rows.where('status', '=', query.status);
  if (query.mine) rows = rows.where('recipient_user_id', '=', scope.actor.type === 'user' && scope.actor.id ? scope.actor.id : '00000000-0000-0000-0000-000000000000');
  const found = await rows.orderBy('created_at', 'desc').orderBy('id').limit(Math.min(500, query.limit ?? 100)).execute();
  return Promise.all(found.map((r) => toFlow(scope, r as FlowRow)));
}

/** The dashboard: how many flows stand in each state. */
export async function flowDashboard(scope: TenantScope): Promise<Record<FlowStatus, number>> {
  const rows = await scope.trx.selectFrom('portal_flows').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
  const counts: Record<FlowStatus, number> = { pending: 0, approved: 0, rejected: 0, signed: 0, declined: 0, expired: 0, cancelled: 0 };
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

/**
 * The recipient opening a flow still waiting for them is part of its evidence: the first opening is
 * recorded in the timeline (and so on the audit certificate). Anyone else opening it records nothing.
 */
export async function openFlow(scope: TenantScope, flowId: string): Promise<FlowWithTimeline> {
  const flow = await getFlow(scope, flowId);
  const isRecipient = scope.actor.type === 'user' && scope.actor.id === flow.recipientUserId;
  if (!isRecipient || flow.status !== 'pending' || flow.timeline.some((e) => e.event === 'viewed')) return flow;
  await recordFlowEvent(scope, flow, 'viewed', await describeActor(scope));
  return getFlow(scope, flowId);
}

/** The practice withdraws a flow still waiting; the recipient can no longer act on it. */
export async function cancelFlow(scope: TenantScope, flowId: string): Promise<FlowWithTimeline> {
  const flow = await getFlow(scope, flowId);
  if (flow.status !== 'pending') throw new ConflictError(`the flow is already ${flow.status}`);
  await scope.trx.updateTable('portal_flows').set({ status: 'cancelled', completed_at: new Date(), next_reminder_at: null }).where('id', '=', flowId).execute();
  await recordFlowEvent(scope, flow, 'cancelled', await describeActor(scope));
  await recordAudit(scope, { action: 'portal.flow_cancelled', target: { type: 'portal_flow', id: flowId }, changes: { status: { before: 'pending', after: 'cancelled' } } });
  return getFlow(scope, flowId);
}
