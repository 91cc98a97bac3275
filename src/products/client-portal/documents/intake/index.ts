/**
 * Document intake for the client portal: what a client uploads is checked as it streams, before
 * it becomes a document their accountant can open. No database access here: the route owns the
 * transaction, the blob and the document row.
 *
 * How a route puts it together (the bytes are never whole in memory; storing and scanning run
 * side by side and the document row is written only once both have said yes):
 *
 *   const upload = inspectUpload(file, { declaredType: part.mimetype, filename: part.filename, maxBytes });
 *   const [toStore, toScan] = teeUpload(upload.stream);
 *   const [stored, scanned, verdict] = await Promise.allSettled([
 *     blobStore.write(scope.cipher, toStore),   // LocalBlobStore.write: encrypts as it reads
 *     scanner.scan(toScan),                    // scanHookFromSetting(config.clamavSocket)
 *     upload.verdict,
 *   ]);
 *   const problem = firstRejection(verdict, scanned, stored);   // the verdict's UploadRefused explains best
 *   if (problem || !scanned.value.clean) {
 *     if (stored.status === 'fulfilled') blobStore.remove(stored.value.tenantId, stored.value.id);
 *     // infected: audit a quarantine event naming scanned.value.signature, answer 422
 *     throw problem ?? infectedError;
 *   }
 *   // now, in the tenant transaction: the blobs catalogue row, the document row with
 *   // verdict.value.kind / mediaType / displayName / sizeBytes and scanned.value.scanned
 *   // (false means "not scanned": record it, never show it as scanned), and the audit entry.
 *
 * Why this order: a refusal fails the inspected stream, which fails the blob write (its partial
 * file is removed); an infected verdict only arrives after the last byte, by which time the blob
 * exists, so the caller removes it. Nothing is committed until every verdict is in. Scanner
 * failures (ScanFailed) are never "clean": refuse (503/413) or keep the blob unpublished.
 */
export { ALLOWED_KINDS, DEFAULT_ARCHIVE_LIMITS, DOCUMENT_KINDS, type KindRule } from './allowed.ts';
export { createClamavScanner, parseClamavSocket, parseReply, scanHookFromSetting, type ClamavOptions, type ClamavScanner, type ClamdAddress } from './clamav.ts';
export { MAX_FILENAME_CHARACTERS, checkFilename, type SafeFilename } from './filename.ts';
export { HEAD_BYTES, inspectUpload, type InspectedUpload } from './inspect.ts';
export { ScanFailed, noScanner, type ScanFailure, type ScanHook, type ScanResult } from './scan.ts';
export { teeUpload } from './tee.ts';
export {
  UploadInterrupted,
  UploadRefused,
  type ArchiveLimits,
  type DocumentKind,
  type InspectOptions,
  type IntakeVerdict,
  type RefusalCode,
  type RefusedField,
} from './types.ts';
