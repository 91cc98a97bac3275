import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError, PROBLEM_BASE } from '../../../../platform/errors.ts';

/**
 * The outcome of a malware scan. `scanned: false` means no scanner is configured: the caller must
 * record that the document was not scanned (and may decide not to offer it for download), never
 * treat it as scanned and clean.
 */
export type ScanResult =
  | { scanned: true; clean: true }
  | { scanned: true; clean: false; signature: string }
  | { scanned: false; clean: true };

/**
 * Anything that can scan an upload as it streams. `scan` reads the stream to its end, or destroys
 * it if it gives up, so a tee feeding it never stalls; if the stream fails, `scan` rejects with
 * that stream's error.
 */
export interface ScanHook {
  scan(stream: Readable): Promise<ScanResult>;
}

/** Used when no scanner is configured: reads the bytes away and says plainly that it did not scan. */
export const noScanner: ScanHook = {
  async scan(stream) {
    await finished(stream.resume());
    return { scanned: false, clean: true };
  },
};

export type ScanFailure = 'unreachable' | 'timeout' | 'size-limit' | 'scanner-error' | 'protocol';

/**
 * The scanner gave no verdict. That is never "clean": the upload must be refused (or held) until
 * it can be scanned. Too large for the scanner's StreamMaxLength is 413, anything else 503. The
 * detail is ours; the scanner's own words, if any, are in `scannerReply` for the log.
 */
export class ScanFailed extends AppError {
  constructor(
    readonly failure: ScanFailure,
    detail: string,
    readonly scannerReply?: string,
  ) {
    super(failure === 'size-limit' ? 413 : 503, `${PROBLEM_BASE}scan-failed`, 'Virus scan failed', detail);
    this.name = 'ScanFailed';
  }
}
