import type { Readable } from 'node:stream';
import type { LocalBlobStore, StoredBlob } from '../../../platform/storage/blob-store.ts';
import type { TenantCipher } from '../../../platform/crypto/tenant-keys.ts';
import { AppError, PROBLEM_BASE } from '../../../platform/errors.ts';
import { inspectUpload, teeUpload, type IntakeVerdict, type ScanHook } from './intake/index.ts';

/** The largest document a client or the practice may upload (a scanned year of receipts fits). */
export const MAX_DOCUMENT_BYTES = 256 * 1024 ** 2;

export interface StoredUpload {
  blob: StoredBlob;
  verdict: IntakeVerdict;
  /** False when no scanner is configured: recorded as 'not_scanned', never shown as scanned. */
  scanned: boolean;
}

/** The scanner found malware: nothing is kept; the signature name goes to the audit trail. */
export class InfectedUploadError extends AppError {
  constructor(readonly signature: string) {
    super(422, `${PROBLEM_BASE}upload-infected`, 'Upload refused', 'file: the virus scanner found malware in this file; it was not stored', [
      { field: 'file', reason: 'the virus scanner found malware in this file' },
    ]);
    this.name = 'InfectedUploadError';
  }
}

/**
 * Streams an upload through the intake checks into an encrypted blob while the scanner reads the
 * same bytes. Runs outside any database transaction (a slow upload must not hold one open). On
 * any refusal, scan failure or malware the blob file is removed and the error thrown; on success
 * the caller records the blob and document in one transaction, or removes the blob if that fails.
 */
export async function storeUpload(
  blobs: LocalBlobStore,
  cipher: TenantCipher,
  scanner: ScanHook,
  source: Readable,
  options: { declaredType: string | undefined; filename: string | undefined; maxBytes?: number },
): Promise<StoredUpload> {
  const upload = inspectUpload(source, { declaredType: options.declaredType, filename: options.filename, maxBytes: options.maxBytes ?? MAX_DOCUMENT_BYTES });
  const [toStore, toScan] = teeUpload(upload.stream);
  const [stored, scanned, verdict] = await Promise.allSettled([blobs.write(cipher, toStore!), scanner.scan(toScan!), upload.verdict]);
  const removeStored = () => {
    if (stored.status === 'fulfilled') blobs.remove(stored.value.tenantId, stored.value.id);
  };
  // The intake's own refusal explains best; then the scanner's failure; then the store's.
  for (const outcome of [verdict, scanned, stored]) {
    if (outcome.status === 'rejected') {
      removeStored();
      throw outcome.reason;
    }
  }
  const scan = (scanned as PromiseFulfilledResult<Awaited<ReturnType<ScanHook['scan']>>>).value;
  if (!scan.clean) {
    removeStored();
    throw new InfectedUploadError(scan.signature);
  }
  return {
    blob: (stored as PromiseFulfilledResult<StoredBlob>).value,
    verdict: (verdict as PromiseFulfilledResult<IntakeVerdict>).value,
    scanned: scan.scanned,
  };
}
