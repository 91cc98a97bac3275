import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../platform/errors.ts';
import type { LocalBlobStore } from '../../../platform/storage/blob-store.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { recordUpload } from '../documents/documents.ts';
import { spendSigningCredit } from '../practice.ts';
import { MAX_PDF_BYTES, produceSignedDocument } from '../signing/index.ts';
import { practiceCredential } from './credential.ts';
import { asSigningEvents, describeActor, flowTimeline, recordFlowEvent } from './events.ts';
import { getFlow, type Flow, type FlowWithTimeline } from './flows.ts';

const comment = z.string().trim().max(2000, 'must be at most 2000 characters');

export const approvalResponseSchema = z.discriminatedUnion('decision', [
  z.strictObject({ decision: z.literal('approve'), comment: comment.optional() }),
  z.strictObject({ decision: z.literal('reject'), comment: comment.min(1, 'is required: say what needs to change') }),
], { error: "decision must be 'approve' or 'reject'" });

export const declineSchema = z.strictObject({ reason: comment.min(1, 'is required: say why you are not signing') });

export const signatureSchema = z.strictObject({
  signature: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('typed'), text: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters') }),
    z.strictObject({ kind: z.literal('drawn'), png: z.base64({ error: 'must be a PNG image, base64-encoded' }).max(1_400_000, 'is too large (at most 1 MB)') }),
  ], { error: "kind must be 'typed' or 'drawn'" }),
  /** The signer confirms they mean to sign electronically: recorded, and required. */
  consent: z.literal(true, { error: 'must be true: you agree to sign electronically' }),
});
export type SignatureInput = z.input<typeof signatureSchema>;

/**
 * Loads a flow the acting user may act on now: it must be addressed to them, still pending and
 * not past its expiry (an expired flow is marked so, and refused).
 */
async function actionableFlow(scope: TenantScope, flowId: string, kind: Flow['kind']): Promise<Flow> {
  const flow = await getFlow(scope, flowId);
  if (scope.actor.type !== 'user' || scope.actor.id !== flow.recipientUserId) throw new ForbiddenError('only the person it was sent to can act on this');
  if (flow.kind !== kind) throw new ConflictError(`this was sent for ${flow.kind}, not ${kind}`);
  if (flow.status !== 'pending') throw new ConflictError(`this is already ${flow.status}`);
  if (flow.expiresAt && Date.parse(flow.expiresAt) <= Date.now()) throw new ConflictError('this request has expired; ask the practice to send it again');
  return flow;
}

async function complete(scope: TenantScope, flow: Flow, status: 'approved' | 'rejected' | 'declined' | 'signed', response: string | null): Promise<void> {
  await scope.trx
    .updateTable('portal_flows')
    .set({ status, completed_at: new Date(), next_reminder_at: null, response_enc: scope.cipher.sealOptional('portal.flow.response', response) })
    .where('id', '=', flow.id)
    .where('status', '=', 'pending')
    .execute();
  await recordAudit(scope, { action: `portal.flow_${status}`, target: { type: 'portal_flow', id: flow.id }, changes: { status: { before: 'pending', after: status }, ...(response ? { response: { personal: true } } : {}) } });
}

/** The client approves the documents, or rejects them saying what must change. */
export async function respondToApproval(scope: TenantScope, flowId: string, input: z.input<typeof approvalResponseSchema>): Promise<FlowWithTimeline> {
  const data = parseOrThrow(approvalResponseSchema, input);
  const flow = await actionableFlow(scope, flowId, 'approval');
  const status = data.decision === 'approve' ? 'approved' : 'rejected';
  await recordFlowEvent(scope, flow, status, await describeActor(scope));
  await complete(scope, flow, status, data.comment || null);
  return getFlow(scope, flowId);
}

/** The signer declines to sign, with a reason. No credit is used. */
export async function declineSignature(scope: TenantScope, flowId: string, input: z.input<typeof declineSchema>): Promise<FlowWithTimeline> {
  const data = parseOrThrow(declineSchema, input);
  const flow = await actionableFlow(scope, flowId, 'signature');
  await recordFlowEvent(scope, flow, 'declined', await describeActor(scope));
  await complete(scope, flow, 'declined', data.reason);
  return getFlow(scope, flowId);
}

/**
 * Signs every document of the flow: each PDF gets the visible signature, the audit certificate
 * pages and the practice's digital signature over the whole file, and is kept as a new version
 * of its document with its SHA-256 (what the verification page checks). One signing credit is
 * spent, now that the signature is complete. All in the caller's transaction; the signed files
 * written so far are removed if it fails.
 */
export async function signFlow(blobs: LocalBlobStore, scope: TenantScope, flowId: string, input: SignatureInput): Promise<FlowWithTimeline> {
  const data = parseOrThrow(signatureSchema, input);
  const flow = await actionableFlow(scope, flowId, 'signature');
  const signer = await signerOf(scope);
  const signature = data.signature.kind === 'typed' ? data.signature : { kind: 'drawn' as const, png: Buffer.from(data.signature.png, 'base64') };
  await recordFlowEvent(scope, flow, 'signed', await describeActor(scope));
  await spendSigningCredit(scope, flow.id);
  const practice = await practiceCredential(scope);
  const events = asSigningEvents(await flowTimeline(scope, flow.id));
  const signedAt = new Date();
  const written: string[] = [];
  try {
    for (const document of flow.documents) {
      const version = await scope.trx
        .selectFrom('portal_document_versions')
        .select(['blob_id', 'size_bytes', 'scan'])
        .where('document_id', '=', document.documentId)
        .where('version', '=', document.version)
        .executeTakeFirst();
      if (!version) throw new NotFoundError('document version');
      if (Number(version.size_bytes) > MAX_PDF_BYTES) throw new ValidationError([{ field: 'documents', reason: `“${document.title}” is too large to sign (at most 25 MB)` }]);
      // Bounded above: a document to sign is read whole, as PDF signing needs the complete file.
      const originalPdf = await buffer(blobs.read(scope.cipher, version.blob_id));
      const signed = await produceSignedDocument({ originalPdf, documentTitle: document.title, documentId: document.documentId, signer, signature, events, practice, signedAt });
      const blob = await blobs.write(scope.cipher, Readable.from([signed.signedPdf]));
      written.push(blob.id);
      const recorded = await recordUpload(
        scope,
        { blob, verdict: { kind: 'pdf', mediaType: 'application/pdf', displayName: `${document.title} (signed).pdf`, sizeBytes: blob.sizeBytes }, scanned: version.scan === 'clean' },
        { documentId: document.documentId, origin: 'signed' },
      );
      const signedVersion = await scope.trx
        .selectFrom('portal_document_versions')
        .select('id')
        .where('document_id', '=', document.documentId)
        .where('version', '=', recorded.version.version)
        .executeTakeFirstOrThrow();
      await scope.trx
        .updateTable('portal_flow_documents')
        .set({ signed_version_id: signedVersion.id, final_sha256: signed.finalSha256 })
        .where('flow_id', '=', flow.id)
        .where('document_id', '=', document.documentId)
        .execute();
    }
    await complete(scope, flow, 'signed', null);
  } catch (error) {
    for (const id of written) blobs.remove(scope.tenantId, id);
    throw error;
  }
  return getFlow(scope, flowId);
}

/** The signer as the certificate names them: display name (or email) and email. */
async function signerOf(scope: TenantScope): Promise<{ name: string; email: string }> {
  const user = await scope.trx.selectFrom('users').select(['email_enc', 'display_name_enc']).where('id', '=', scope.actor.id!).executeTakeFirstOrThrow();
  const email = scope.cipher.open('users.email', user.email_enc);
  return { name: scope.cipher.openOptional('users.display_name', user.display_name_enc) ?? email, email };
}
