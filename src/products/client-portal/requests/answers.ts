import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ValidationError, type FieldProblem } from '../../../platform/errors.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { checkAnswers, type CheckedAnswers, type Questionnaire } from './questions.ts';
import { actionableRequest, ANSWERS_CONTEXT, getRequest, openAnswers, type InformationRequest, type RequestRow } from './requests.ts';
import { requestsTrx } from './tables.ts';

/**
 * The client's side of a questionnaire: save answers as a draft (as often as they like), submit
 * them (every required question answered, every answer of its kind), or decline with a reason.
 * Documents are uploaded first through the ordinary upload into the client's area (streamed,
 * type-checked and scanned there); an answer to a documents question lists their ids, and is kept
 * as links between the request and the documents.
 */
export const draftSchema = z.strictObject({ answers: z.unknown() });
export const submitSchema = z.strictObject({ answers: z.unknown().optional() });
export const declineRequestSchema = z.strictObject({
  reason: z.string({ error: 'is required: say why you are not answering' }).trim().min(1, 'is required: say why you are not answering').max(2000, 'must be at most 2000 characters'),
});

const sectionsOf = (row: RequestRow) => (typeof row.questions === 'string' ? JSON.parse(row.questions) : row.questions) as Questionnaire;

/** What is stored now, as the answers object a client would send. */
async function storedAnswers(scope: TenantScope, row: RequestRow): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = openAnswers(scope, row.answers_enc);
  const links = await scope.trx.selectFrom('portal_request_documents').select(['question', 'document_id']).where('request_id', '=', row.id).execute();
  for (const link of links) answers[link.question] = [...((answers[link.question] as string[] | undefined) ?? []), link.document_id];
  return answers;
}

/**
 * Every linked document must be in the request's client's area (for a client user the database
 * hides any other), and one document answers one question.
 */
async function checkDocuments(scope: TenantScope, clientId: string, documents: CheckedAnswers['documents']): Promise<void> {
  const wanted = [...new Set(Object.values(documents).flat())];
  if (wanted.length === 0) return;
  const found = await scope.trx
    .selectFrom('portal_documents')
    .select('id')
    .where('client_id', '=', clientId)
    .where('latest_version', '>', 0)
    .where('id', 'in', wanted)
    .execute();
  const known = new Set(found.map((d) => d.id));
  const problems: FieldProblem[] = [];
  const answeredBy = new Map<string, string>();
  for (const [questionId, ids] of Object.entries(documents)) {
    if (ids.some((id) => !known.has(id))) problems.push({ field: `answers.${questionId}`, reason: 'lists a document that is not in this client’s area' });
    else if (ids.some((id) => answeredBy.has(id) && answeredBy.get(id) !== questionId)) problems.push({ field: `answers.${questionId}`, reason: 'lists a document already given for another question' });
    for (const id of ids) if (!answeredBy.has(id)) answeredBy.set(id, questionId);
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

async function store(scope: TenantScope, row: RequestRow, checked: CheckedAnswers): Promise<void> {
  await checkDocuments(scope, row.client_id, checked.documents);
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({ answers_enc: scope.cipher.seal(ANSWERS_CONTEXT, JSON.stringify(checked.values)) })
    .where('id', '=', row.id)
    .execute();
  await scope.trx.deleteFrom('portal_request_documents').where('request_id', '=', row.id).execute();
  const links = Object.entries(checked.documents).flatMap(([question, ids]) => ids.map((document_id) => ({ tenant_id: scope.tenantId, client_id: row.client_id, request_id: row.id, document_id, question })));
  if (links.length > 0) await scope.trx.insertInto('portal_request_documents').values(links).execute();
}

/** Saves the client's answers so far (replacing the previous draft); nothing needs to be complete. */
export async function saveDraftAnswers(scope: TenantScope, requestId: string, input: z.input<typeof draftSchema>): Promise<InformationRequest> {
  const data = parseOrThrow(draftSchema, input);
  const row = await actionableRequest(scope, requestId, 'questionnaire');
  const checked = checkAnswers(sectionsOf(row), data.answers ?? {}, { final: false });
  await store(scope, row, checked);
  await recordAudit(scope, { action: 'portal.request_draft_saved', target: { type: 'portal_request', id: requestId }, changes: { answers: { personal: true } } });
  return getRequest(scope, requestId);
}

/**
 * Submits the answers: those sent with it, or else the saved draft. Every required question must
 * be answered; on any problem nothing is written and each problem names its question.
 */
export async function submitAnswers(scope: TenantScope, requestId: string, input: z.input<typeof submitSchema>): Promise<InformationRequest> {
  const data = parseOrThrow(submitSchema, input);
  const row = await actionableRequest(scope, requestId, 'questionnaire');
  const answers = data.answers === undefined ? await storedAnswers(scope, row) : data.answers;
  const checked = checkAnswers(sectionsOf(row), answers, { final: true });
  await store(scope, row, checked);
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({ status: 'answered', answered_at: new Date(), next_reminder_at: null })
    .where('id', '=', requestId)
    .where('status', '=', 'sent')
    .execute();
  await recordAudit(scope, {
    action: 'portal.request_answered',
    target: { type: 'portal_request', id: requestId },
    changes: { status: { before: 'sent', after: 'answered' }, answers: { personal: true }, documents: { after: Object.values(checked.documents).flat().length } },
  });
  return getRequest(scope, requestId);
}

/** The client will not answer, and says why. */
export async function declineRequest(scope: TenantScope, requestId: string, input: z.input<typeof declineRequestSchema>): Promise<InformationRequest> {
  const data = parseOrThrow(declineRequestSchema, input);
  await actionableRequest(scope, requestId, 'questionnaire');
  await requestsTrx(scope)
    .updateTable('portal_requests')
    .set({ status: 'declined', completed_at: new Date(), next_reminder_at: null, response_enc: scope.cipher.seal('portal.request.response', data.reason) })
    .where('id', '=', requestId)
    .execute();
  await recordAudit(scope, { action: 'portal.request_declined', target: { type: 'portal_request', id: requestId }, changes: { status: { before: 'sent', after: 'declined' }, reason: { personal: true } } });
  return getRequest(scope, requestId);
}
