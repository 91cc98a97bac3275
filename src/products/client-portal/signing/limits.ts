import { ValidationError } from '../../../platform/errors.ts';

/**
 * Size limits for the signing engine. Everything here works on whole files in memory (pdf-lib
 * parses the full object graph, signing hashes the full byte range), so an unbounded input is a
 * denial of service on a shared process. 25 MiB comfortably holds a set of accounts or a tax
 * return with scanned schedules; anything larger is refused before any parsing happens.
 */
export const MAX_PDF_BYTES = 25 * 1024 * 1024;

/** A drawn signature comes from a signature pad: a few hundred pixels wide, tens of KiB. */
export const MAX_SIGNATURE_PNG_BYTES = 1024 * 1024;
/**
 * Checked against the PNG header before decoding: pdf-lib inflates the whole image into memory,
 * so a tiny file declaring 50 000 × 50 000 pixels would otherwise be a decompression bomb.
 */
export const MAX_SIGNATURE_PNG_SIDE = 4000;
export const MAX_SIGNATURE_PNG_PIXELS = 4_000_000;

/** Generous for a long-running approval flow; a bound keeps the audit pages to a few dozen. */
export const MAX_AUDIT_EVENTS = 500;
/** Longer values (real user agents are < 512 characters) are cut and marked, never dropped. */
export const MAX_AUDIT_FIELD_CHARS = 1024;

/** Refuses a missing, empty or oversize file, naming the caller's field. */
export function assertPdfInput(pdf: unknown, field: string): asserts pdf is Uint8Array {
  if (!(pdf instanceof Uint8Array)) {
    throw new ValidationError([{ field, reason: 'must be the PDF file as bytes' }]);
  }
  if (pdf.length === 0) {
    throw new ValidationError([{ field, reason: 'is empty' }]);
  }
  if (pdf.length > MAX_PDF_BYTES) {
    throw new ValidationError([
      { field, reason: `is ${pdf.length} bytes; PDFs for signing are limited to ${MAX_PDF_BYTES} bytes (25 MiB)` },
    ]);
  }
}
