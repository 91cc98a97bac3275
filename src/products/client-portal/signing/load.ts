import { EncryptedPDFError, PDFDict, PDFDocument, PDFName } from 'pdf-lib';
import { ValidationError } from '../../../platform/errors.ts';
import { assertPdfInput } from './limits.ts';

/**
 * Opens a document that is about to be stamped or signed, turning every way it can be unusable
 * into a 400 that names the caller's field (pdf-lib's own messages talk about offsets and xref
 * tables). Refused, besides size: non-PDFs, password-protected files (pdf-lib cannot re-save
 * them faithfully), documents with no pages, and documents that already carry a digital signature
 * — pdf-lib rewrites the whole file on save, which would silently break that earlier signature.
 */
export async function loadPdfForSigning(pdf: unknown, field: string): Promise<PDFDocument> {
  assertPdfInput(pdf, field);
  const head = Buffer.from(pdf.buffer, pdf.byteOffset, Math.min(pdf.byteLength, 1024));
  if (head.indexOf('%PDF-') === -1) {
    throw new ValidationError([{ field, reason: 'is not a PDF file' }]);
  }
  let doc: PDFDocument;
  try {
    // updateMetadata: false keeps the author's Producer/Creator; we set only the modification date.
    doc = await PDFDocument.load(pdf, { updateMetadata: false });
  } catch (error) {
    if (error instanceof EncryptedPDFError) {
      throw new ValidationError([{ field, reason: 'is password-protected or encrypted; send an unprotected copy for signature' }]);
    }
    throw new ValidationError([{ field, reason: 'could not be read as a PDF (damaged or unsupported file)' }]);
  }
  let pageCount: number;
  try {
    pageCount = doc.getPageCount();
  } catch {
    throw new ValidationError([{ field, reason: 'has a damaged page tree' }]);
  }
  if (pageCount === 0) throw new ValidationError([{ field, reason: 'has no pages' }]);
  if (containsSignature(doc)) {
    throw new ValidationError([
      { field, reason: 'already carries a digital signature, which re-signing would invalidate; send the unsigned original' },
    ]);
  }
  return doc;
}

/** A signature dictionary anywhere in the file (signature fields left empty do not count). */
function containsSignature(doc: PDFDocument): boolean {
  const type = PDFName.of('Type');
  const sig = PDFName.of('Sig');
  const byteRange = PDFName.of('ByteRange');
  for (const [, object] of doc.context.enumerateIndirectObjects()) {
    if (object instanceof PDFDict && (object.get(type) === sig || object.has(byteRange))) return true;
  }
  return false;
}
