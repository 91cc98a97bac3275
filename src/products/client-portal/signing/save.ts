import type { PDFDocument } from 'pdf-lib';

/**
 * One way to write a document out. updateFieldAppearances is off because pdf-lib would otherwise
 * regenerate the appearance of every form field in the client's document — changing how the
 * very document being signed looks. Object streams stay on (pdf-lib's default): the signature
 * placeholder is written as a plain object regardless, and the file stays smaller.
 */
export async function saveDocument(doc: PDFDocument): Promise<Buffer> {
  const bytes = await doc.save({ updateFieldAppearances: false });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
