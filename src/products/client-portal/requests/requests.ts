import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import type { RequestStatus } from '../../../platform/db/schema-portal.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import { enqueueMail } from '../../../platform/mail/mail.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel, getClient } from '../clients.ts';
import { recipientEmail, REMINDER_INTERVAL_DAYS } from '../flows/flows.ts';
import { requirePractice } from '../practice.ts';
import { parseMtdPeriod, ukDate, ukEndOfDay, type MtdQuarter } from './mtd-periods.ts';
import { openSummary, type MtdSummary } from './mtd-summary.ts';
import type { AnswerValue, Questionnaire } from './questions.ts';
import { requestsTrx } from './tables.ts';
import { getTemplate } from './templates.ts';
import { requestTitle, sealedTitle } from './titles.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * Information requests: the practice asks a client user of a client to answer a questionnaire
 * (from a template) or, for Making Tax Digital, to approve a quarter's summary figures. Answers,
 * messages and comments are sealed with the practice's key and never logged or audited by value.
 *
 * States: sent → answered (the client submitted, or approved/rejected the figures) → completed
 * (the practice is done); the practice may send it back (answered → sent, with a comment); the
 * client may decline a questionnaire; the practice may cancel anything not yet finished.
 */
export type RequestKind = 'questionnaire' | 'mtd_quarter';

export interface RequestDocument {
  questionId: string;
  documentId: string;
  title: string;
}

export interface MtdView extends MtdQuarter {
  /** The figures the practice entered; null until it has. */
  summary: MtdSummary | null;
  summaryRevision: number | null;
  /** The client's decision on the figures, and the revision they decided on. */
  decision: 'approved' | 'rejected' | null;
  decidedRevision: number | null;
}

export interface RequestListItem {
  id: string;
  clientId: string;
  kind: RequestKind;
  title: string;
  recipientUserId: string;
  status: RequestStatus;
  mtdPeriod: string | null;
  createdBy: string;
  createdAt: string;
  dueAt: string | null;
  answeredAt: string | null;
  completedAt: string | null;
  completedBy: string | null;
  remindersSent: number;
}

export interface InformationRequest extends RequestListItem {
  message: string | null;
  sections: Questionnaire;
  /** By question id; a documents question's answer is the ids of its linked documents. */
  answers: Record<string, AnswerValue>;
  documents: RequestDocument[];
  /** The client's words: the reason for declining, or their comment on the figures. */
  response: string | null;
  /** The practice's comment when it sent the request back. */
  reviewComment: string | null;
  mtd: MtdView | null;
}

export const sendRequestSchema = z.strictObject({
  clientId: z.uuid({ error: 'must be a client id' }),
  recipientUserId: z.uuid({ error: 'must be the id of one of the client’s users' }),
  templateId: z.string({ error: 'is required: the template to send' }).min(1, 'must not be empty').max(100, 'is not a template id'),
  title: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  message: z.string().trim().max(2000, 'must be at most 2000 characters').optional(),
  dueOn: z.iso.date({ error: 'must be a date (YYYY-MM-DD)' }).optional(),
});
export type SendRequestInput = z.input<typeof sendRequestSchema>;

export const LIST_COLUMNS = [
  'id', 'client_id', 'kind', 'title', 'title_enc', 'recipient_user_id', 'status', 'mtd_period', 'created_by', 'created_at', 'due_at', 'answered_at', 'completed_at', 'completed_by', 'reminders_sent',
] as const;
const FULL_COLUMNS = [...LIST_COLUMNS, 'questions', 'answers_enc', 'message_enc', 'response_enc', 'review_comment_enc', 'decision', 'summary_revision'] as const;

type ListRow = {
  id: string; client_id: string; kind: RequestKind; title: string | null; title_enc: string | null; recipient_user_id: string; status: RequestStatus; mtd_period: string | null;
  created_by: string; created_at: Date; due_at: Date | null; answered_at: Date | null; completed_at: Date | null; completed_by: string | null; reminders_sent: number;
};
type FullRow = ListRow & {
  questions: unknown; answers_enc: string | null; message_enc: string | null; response_enc: string | null; review_comment_enc: string | null;
  decision: 'approved' | 'rejected' | null; summary_revision: number | null;
};

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toListItem(scope: TenantScope, row: ListRow): RequestListItem {
  return {
    id: row.id,
    clientId: row.client_id,
    kind: row.kind,
    title: requestTitle(scope, row),
    recipientUserId: row.recipient_user_id,
    status: row.status,
    mtdPeriod: row.mtd_period,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    dueAt: iso(row.due_at),
    answeredAt: iso(row.answered_at),
    completedAt: iso(row.completed_at),
    completedBy: row.completed_by,
    remindersSent: row.reminders_sent,
  };
}

export const ANSWERS_CONTEXT = 'portal.request.answers';

/** The stored answers other than documents (sealed JSON). */
export function openAnswers(scope: TenantScope, sealed: string | null): Record<string, Exclude<AnswerValue, string[]>> {
  const opened = scope.cipher.openOptional(ANSWERS_CONTEXT, sealed);
  return opened ? JSON.parse(opened) : {};
}

async function linkedDocuments(scope: TenantScope, requestId: string): Promise<RequestDocument[]> {
  const rows = await scope.trx
    .selectFrom('portal_request_documents as rd')
    .innerJoin('portal_documents as d', 'd.id', 'rd.document_id')
    .select(['rd.question', 'rd.document_id', 'd.title_enc'])
    .where('rd.request_id', '=', requestId)
    .orderBy('rd.question')
    .orderBy('d.created_at')
    .execute();
  return rows.map((r) => ({ questionId: r.question, documentId: r.document_id, title: scope.cipher.open('portal.document.title', r.title_enc) }));
}

async function toRequest(scope: TenantScope, row: FullRow): Promise<InformationRequest> {
  const documents = await linkedDocuments(scope, row.id);
  const answers: Record<string, AnswerValue> = openAnswers(scope, row.answers_enc);
  for (const d of documents) answers[d.questionId] = [...((answers[d.questionId] as string[] | undefined) ?? []), d.documentId];
  let mtd: MtdView | null = null;
  if (row.kind === 'mtd_quarter' && row.mtd_period) {
    const summary = await openSummary(scope, row.client_id, row.mtd_period);
    mtd = {
      ...parseMtdPeriod(row.mtd_period)!,
      summary: summary?.summary ?? null,
      summaryRevision: summary?.revision ?? null,
      decision: row.decision,
      decidedRevision: row.summary_revision,
    };
  }
  return {
    ...toListItem(scope, row),
    message: scope.cipher.openOptional('portal.request.message', row.message_enc),
    sections: (typeof row.questions === 'string' ? JSON.parse(row.questions) : row.questions) as Questionnaire,
    answers,
    documents,
    response: scope.cipher.openOptional('portal.request.response', row.response_enc),
    reviewComment: scope.cipher.openOptional('portal.request.review_comment', row.review_comment_enc),
    mtd,
  };
}

/** The request row, locked for a change when `forUpdate`; not found for anyone who may not see it. */
export async function requestRow(scope: TenantScope, requestId: string, options: { forUpdate?: boolean } = {}): Promise<FullRow> {
  if (!isUuid(requestId)) throw new NotFoundError('request');
  let query = requestsTrx(scope).selectFrom('portal_requests').select(FULL_COLUMNS).where('id', '=', requestId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new NotFoundError('request');
  return row as FullRow;
}

export async function getRequest(scope: TenantScope, requestId: string): Promise<InformationRequest> {
  return toRequest(scope, await requestRow(scope, requestId));
}

export interface RequestQuery {
  clientId?: string;
  status?: RequestStatus;
  kind?: RequestKind;
  limit?: number;
}

/** Requests newest first (a client user: their own clients' only, by the database's policy). */
export async function listRequests(scope: TenantScope, query: RequestQuery = {}): Promise<RequestListItem[]> {
  let rows = scope.trx.selectFrom('portal_requests').select(LIST_COLUMNS);
  if (query.clientId) rows = rows.where('client_id', '=', query.clientId);
  if (query.status) rows = rows.where('status', '=', query.status);
  if (query.kind) rows = rows.where('kind', '=', query.kind);
  const found = await rows.orderBy('created_at', 'desc').orderBy('id').limit(Math.min(500, query.limit ?? 100)).execute();
  return found.map((r) => toListItem(scope, r as ListRow));
}

/** Checks the recipient is a user of the client who can still sign in. */
async function checkRecipient(scope: TenantScope, clientId: string, userId: string): Promise<void> {
  const member = await scope.trx
    .selectFrom('portal_client_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.status'])
    .where('m.client_id', '=', clientId)
    .where('m.user_id', '=', userId)
    .executeTakeFirst();
  if (!member) throw new ValidationError([{ field: 'recipientUserId', reason: 'is not a user of this client' }]);
  if (member.status === 'disabled') throw new ValidationError([{ field: 'recipientUserId', reason: 'is disabled' }]);
}

export const nextReminder = () => new Date(Date.now() + REMINDER_INTERVAL_DAYS * 86_400_000);

/** Emails the request's recipient (queued in this transaction; the message is sealed in the queue). */
export async function tellRecipient(queue: JobQueue, scope: TenantScope, request: { id: string; recipientUserId: string }, portalUrl: string, subject: (practice: string) => string, body: string): Promise<void> {
  const orgName = await organisationName(scope);
  await enqueueMail(queue, scope, {
    to: await recipientEmail(scope, request.recipientUserId),
    subject: subject(orgName),
    text: `${body}\n\nSign in to your portal to see it:\n${portalUrl}/portal/requests/${request.id}\n`,
  });
}

/**
 * Sends a questionnaire from a template (built-in or the practice's) to one of the client's users:
 * the questions are copied into the request, the recipient is emailed in the same transaction and
 * reminders follow while it waits.
 */
export async function sendRequest(queue: JobQueue, scope: TenantScope, input: SendRequestInput, portalUrl: string): Promise<InformationRequest> {
  const data = parseOrThrow(sendRequestSchema, input);
  await getClient(scope, data.clientId);
  await requirePractice(scope);
  await checkRecipient(scope, data.clientId, data.recipientUserId);
  const template = await getTemplate(scope, data.templateId).catch((error) => {
    if (error instanceof NotFoundError) throw new ValidationError([{ field: 'templateId', reason: 'is not a template of this practice' }]);
    throw error;
  });
  if (data.dueOn && data.dueOn < ukDate(new Date())) throw new ValidationError([{ field: 'dueOn', reason: 'must be today or later' }]);
  const title = data.title ?? template.name;
  const dueAt = data.dueOn ? ukEndOfDay(data.dueOn) : null;
  const row = await requestsTrx(scope)
    .insertInto('portal_requests')
    .values({
      tenant_id: scope.tenantId,
      client_id: data.clientId,
      kind: 'questionnaire',
      ...sealedTitle(scope, title),
      questions: JSON.stringify(template.sections),
      recipient_user_id: data.recipientUserId,
      message_enc: scope.cipher.sealOptional('portal.request.message', data.message ?? null),
      created_by: actorLabel(scope),
      due_at: dueAt,
      next_reminder_at: nextReminder(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'portal.request_sent',
    target: { type: 'portal_request', id: row.id },
    changes: {
      kind: { after: 'questionnaire' },
      client: { after: data.clientId },
      recipient: { after: data.recipientUserId },
      template: { after: template.id },
      questions: { after: template.sections.reduce((n, s) => n + s.questions.length, 0) },
      ...(data.message ? { message: { personal: true } } : {}),
    },
  });
  await tellRecipient(
    queue,
    scope,
    { id: row.id, recipientUserId: data.recipientUserId },
    portalUrl,
    (practice) => `${practice} has sent you questions to answer`,
    `“${title}”: please answer the questions and upload the documents asked for.` + (data.message ? `\n\n${data.message}` : '') + (data.dueOn ? `\n\nPlease reply by ${data.dueOn}.` : ''),
  );
  return getRequest(scope, row.id);
}

/** Staff actions need the request to be in one of `allowed` states. */
function requireStatus(row: { status: RequestStatus }, allowed: RequestStatus[], action: string): void {
  if (!allowed.includes(row.status)) throw new ConflictError(`the request is ${row.status}; it cannot be ${action}`);
}

/** The practice is done with the answers (for a quarterly update: the client approved the figures). */
export async function completeRequest(scope: TenantScope, requestId: string): Promise<InformationRequest> {
  const row = await requestRow(scope, requestId, { forUpdate: true });
  requireStatus(row, ['answered'], 'completed');
  if (row.kind === 'mtd_quarter' && row.decision !== 'approved') throw new ConflictError('the client rejected these figures; change them (the request goes back to the client) or send it back');
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({ status: 'completed', completed_at: new Date(), completed_by: actorLabel(scope), next_reminder_at: null })
    .where('id', '=', requestId)
    .execute();
  await recordAudit(scope, { action: 'portal.request_completed', target: { type: 'portal_request', id: requestId }, changes: { status: { before: 'answered', after: 'completed' } } });
  return getRequest(scope, requestId);
}

export const sendBackSchema = z.strictObject({ comment: z.string({ error: 'is required: say what is missing or wrong' }).trim().min(1, 'is required: say what is missing or wrong').max(2000, 'must be at most 2000 characters') });

/** Returns answered work to the client with a comment; their answers stay, to be corrected. */
export async function sendBackRequest(queue: JobQueue, scope: TenantScope, requestId: string, input: z.input<typeof sendBackSchema>, portalUrl: string): Promise<InformationRequest> {
  const data = parseOrThrow(sendBackSchema, input);
  const row = await requestRow(scope, requestId, { forUpdate: true });
  requireStatus(row, ['answered'], 'sent back');
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({
      status: 'sent',
      answered_at: null,
      decision: null,
      summary_revision: null,
      review_comment_enc: scope.cipher.seal('portal.request.review_comment', data.comment),
      next_reminder_at: nextReminder(),
    })
    .where('id', '=', requestId)
    .execute();
  await recordAudit(scope, { action: 'portal.request_sent_back', target: { type: 'portal_request', id: requestId }, changes: { status: { before: 'answered', after: 'sent' }, comment: { personal: true } } });
  await tellRecipient(queue, scope, { id: row.id, recipientUserId: row.recipient_user_id }, portalUrl, (practice) => `${practice} has a question about your answers`, `“${requestTitle(scope, row)}” needs another look:\n\n${data.comment}`);
  return getRequest(scope, requestId);
}

/** The practice withdraws a request not yet finished; the client can no longer answer it. */
export async function cancelRequest(scope: TenantScope, requestId: string): Promise<InformationRequest> {
  const row = await requestRow(scope, requestId, { forUpdate: true });
  requireStatus(row, ['sent', 'answered'], 'cancelled');
  await requestsTrx(scope).updateTable('portal_requests').set({ status: 'cancelled', completed_at: new Date(), next_reminder_at: null }).where('id', '=', requestId).execute();
  await recordAudit(scope, { action: 'portal.request_cancelled', target: { type: 'portal_request', id: requestId }, changes: { status: { before: row.status, after: 'cancelled' } } });
  return getRequest(scope, requestId);
}

/** The request the acting user may answer now: addressed to them, of this kind, waiting. */
export async function actionableRequest(scope: TenantScope, requestId: string, kind: RequestKind): Promise<FullRow> {
  const row = await requestRow(scope, requestId, { forUpdate: true });
  if (scope.actor.type !== 'user' || scope.actor.id !== row.recipient_user_id) throw new ForbiddenError('only the person it was sent to can answer this');
  if (row.kind !== kind) throw new ConflictError(kind === 'questionnaire' ? 'this request asks you to approve or reject quarterly figures' : 'this request is a questionnaire, not quarterly figures');
  if (row.status !== 'sent') throw new ConflictError(`this request is already ${row.status}`);
  return row;
}

export type { FullRow as RequestRow };
