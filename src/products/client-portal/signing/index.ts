import { PDFDocument } from 'pdf-lib';
import { type AuditCertificate, checkAuditCertificate, drawAuditCertificate } from './audit-certificate.ts';
import { sha256Hex } from './hash.ts';
import { parseField, signedAtSchema, type Placement, type SignatureMark, type Signer, type SigningEvent } from './inputs.ts';
import { assertPdfInput } from './limits.ts';
import { loadPdfForSigning } from './load.ts';
import { checkSignOptions, type SignOptions, signDocument } from './sign.ts';
import { checkStampOptions, drawSignatureStamp } from './stamp.ts';
import { verifySignedPdf } from './verify.ts';

/**
 * The client portal's e-signature engine: pure functions over bytes, no database, no clock of its
 * own (every time is passed in). The portal stores what these return — the signed file, both
 * hashes, the audit certificate — and seals the practice credential with the tenant key.
 */

export { appendAuditCertificate, type AuditCertificate } from './audit-certificate.ts';
export {
  type CertificateInfo,
  certificateInfo,
  createPracticeCertificate,
  type PracticeCertificate,
  SigningCredentialError,
} from './certificate.ts';
export type { Placement, SignatureMark, Signer, SigningEvent } from './inputs.ts';
export { MAX_PDF_BYTES } from './limits.ts';
export { SIGNATURE_SUBFILTER, type SignedPdf, type SignOptions, signPdf } from './sign.ts';
export { stampSignature, type StampOptions } from './stamp.ts';
export { MAX_SIGNED_PDF_BYTES, type VerificationResult, verifySignedPdf } from './verify.ts';

export interface PracticeCredential {
  name: string;
  /** The PKCS#12 and passphrase from createPracticeCertificate, unsealed by the caller for this call. */
  p12: Uint8Array;
  passphrase: string;
}

export interface SignedDocumentRequest {
  originalPdf: Uint8Array;
  documentTitle: string;
  documentId: string;
  signer: Signer;
  signature: SignatureMark;
  placement?: Placement;
  /** The timeline so far, including the signing itself; drawn in time order. */
  events: SigningEvent[];
  practice: PracticeCredential;
  signedAt: Date;
}

export interface SignedDocument {
  signedPdf: Buffer;
  originalSha256: string;
  /** Store this: the verification page compares an uploaded file against it. */
  finalSha256: string;
}

/**
 * Stamp → audit certificate pages → digital signature, in one pass over one parsed document.
 * The audit pages carry the ORIGINAL file's SHA-256; the final hash is returned (it cannot be
 * inside the file it hashes) and belongs on the standalone certificate.
 */
export async function produceSignedDocument(request: SignedDocumentRequest): Promise<SignedDocument> {
  assertPdfInput(request.originalPdf, 'originalPdf');
  const stamp = { signer: request.signer, signature: request.signature, placement: request.placement, signedAt: request.signedAt };
  checkStampOptions(stamp);
  const originalSha256 = sha256Hex(request.originalPdf);
  const audit: AuditCertificate = {
    documentTitle: request.documentTitle,
    documentId: request.documentId,
    practiceName: request.practice.name,
    originalSha256,
    events: request.events,
  };
  checkAuditCertificate(audit);
  const signOptions = signOptionsFor(request.practice, request.signer, request.signedAt);
  checkSignOptions(signOptions);

  const doc = await loadPdfForSigning(request.originalPdf, 'originalPdf');
  const stamped = await drawSignatureStamp(doc, stamp);
  await drawAuditCertificate(doc, audit);
  const { signedPdf, sha256 } = await signDocument(doc, signOptions, stamped);
  assertVerifies(signedPdf);
  return { signedPdf, originalSha256, finalSha256: sha256 };
}

export interface AuditCertificateRequest {
  documentTitle: string;
  documentId: string;
  events: SigningEvent[];
  originalSha256: string;
  finalSha256: string;
  practice: PracticeCredential;
  issuedAt: Date;
}

/**
 * The standalone audit certificate for the evidence pack: the same timeline plus both hashes,
 * itself signed with the practice credential so it cannot be edited unnoticed either.
 */
export async function produceAuditCertificatePdf(request: AuditCertificateRequest): Promise<{ pdf: Buffer; sha256: string }> {
  const audit: AuditCertificate = {
    documentTitle: request.documentTitle,
    documentId: request.documentId,
    practiceName: request.practice.name,
    originalSha256: request.originalSha256,
    finalSha256: request.finalSha256,
    events: request.events,
  };
  checkAuditCertificate(audit);
  parseField('issuedAt', signedAtSchema, request.issuedAt);
  const signOptions: SignOptions = {
    p12: request.practice.p12,
    passphrase: request.practice.passphrase,
    reason: 'Audit certificate issued by the practice',
    location: 'Client portal',
    contactInfo: '',
    name: request.practice.name,
    signingTime: request.issuedAt,
  };
  checkSignOptions(signOptions);

  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.setTitle(`Audit certificate: ${request.documentTitle}`);
  doc.setCreationDate(request.issuedAt);
  await drawAuditCertificate(doc, audit);
  const { signedPdf, sha256 } = await signDocument(doc, signOptions);
  assertVerifies(signedPdf);
  return { pdf: signedPdf, sha256 };
}

function signOptionsFor(practice: PracticeCredential, signer: Signer, signedAt: Date): SignOptions {
  return {
    p12: practice.p12,
    passphrase: practice.passphrase,
    reason: `Signed by ${signer.name} through ${practice.name}'s client portal`,
    location: 'Client portal',
    contactInfo: signer.email,
    name: signer.name,
    signingTime: signedAt,
  };
}

/**
 * Checks our own output before anyone sees it: a signed file that fails verification would be a
 * bug here, and handing it to a client would be worse than an error.
 */
function assertVerifies(signedPdf: Buffer): void {
  const verification = verifySignedPdf(signedPdf);
  if (!verification.valid) throw new Error(`signing engine produced an unverifiable file: ${verification.reason}`);
}
