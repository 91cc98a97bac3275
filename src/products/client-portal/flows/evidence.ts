import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../../platform/db/schema.ts';
import { NotFoundError, ValidationError } from '../../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { produceAuditCertificatePdf } from '../signing/index.ts';
import { practiceCredential } from './credential.ts';
import { asSigningEvents } from './events.ts';
import { getFlow } from './flows.ts';

/**
 * The separate audit certificate of one signed document, for its evidence pack: the timeline with
 * addresses and browsers, and the SHA-256 of the original and of the signed file, itself signed
 * with the practice's certificate.
 */
export async function auditCertificate(scope: TenantScope, flowId: string, documentId: string): Promise<{ pdf: Buffer; filename: string }> {
  const flow = await getFlow(scope, flowId);
  const document = flow.documents.find((d) => d.documentId === documentId);
  if (!document) throw new NotFoundError('document of this flow');
  if (flow.status !== 'signed' || !document.finalSha256) throw new NotFoundError('audit certificate (the document is not signed yet)');
  const practice = await practiceCredential(scope);
  const { pdf } = await produceAuditCertificatePdf({
    documentTitle: document.title,
    documentId,
    events: asSigningEvents(flow.timeline),
    originalSha256: document.originalSha256,
    finalSha256: document.finalSha256,
    practice,
    issuedAt: new Date(),
  });
  return { pdf, filename: `${document.title} (audit certificate).pdf` };
}

export interface VerificationAnswer {
  /** True only when the file is byte for byte the signed document the portal produced. */
  matches: boolean;
  sha256: string;
  practiceName?: string;
  signedAt?: string;
}

/** The largest file the public verification page reads (a signed document is at most ~26 MB). */
export const MAX_VERIFY_BYTES = 32 * 1024 ** 2;

/**
 * Anyone with a document id and a file: is this file exactly the signed document? The file is
 * hashed as it streams (never stored), and the one definer function answers for that id and hash
 * only (migration 0012), so a guess reveals nothing about any other document.
 */
export async function verifySignedFile(app: Kysely<DB>, documentId: string, file: Readable | undefined): Promise<VerificationAnswer> {
  if (!isUuid(documentId)) throw new ValidationError([{ field: 'documentId', reason: 'must be the document id printed on the audit certificate' }]);
  if (!file) throw new ValidationError([{ field: 'file', reason: 'is required: send the file as the request body' }]);
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const chunk of file) {
    size += (chunk as Buffer).length;
    if (size > MAX_VERIFY_BYTES) throw new ValidationError([{ field: 'file', reason: 'is larger than any signed document (at most 32 MB)' }]);
    hash.update(chunk as Buffer);
  }
  if (size === 0) throw new ValidationError([{ field: 'file', reason: 'is empty' }]);
  const sha256 = hash.digest('hex');
  const found = await sql<{ practice_name: string; signed_at: Date }>`SELECT practice_name, signed_at FROM custos_portal_verify_signed(${documentId}::uuid, ${sha256})`.execute(app);
  const row = found.rows[0];
  if (!row) return { matches: false, sha256 };
  return { matches: true, sha256, practiceName: row.practice_name, signedAt: new Date(row.signed_at).toISOString() };
}
