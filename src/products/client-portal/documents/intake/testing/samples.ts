import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import yazl from 'yazl';

/**
 * Small but genuine documents for the intake tests, built here rather than checked in, so each
 * test shows what it feeds the checks.
 */

/** A one-page PDF with a correct cross-reference table. */
export function pdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>',
    '<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Payslip) Tj ET\nendstream',
  ];
  let body = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A real PNG: signature, IHDR, zlib-compressed IDAT and IEND, each with its CRC. */
export function png(width = 4, height = 3): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length, 0);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(typed), 0);
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.alloc(height * (1 + width * 3), 0x7f);
  for (let row = 0; row < height; row++) rows[row * (1 + width * 3)] = 0; // filter: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The start of a JFIF JPEG (SOI, APP0 JFIF, a comment, EOI): what any JPEG opens with. */
export function jpeg(): Buffer {
  const comment = Buffer.from('receipt', 'latin1');
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(comment.length + 2, 2);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    com,
    comment,
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** A little-endian TIFF header with an empty first directory. */
export function tiff(): Buffer {
  return Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
}

/** An HEIF `ftyp` box with the heic brand, as iPhones write. */
export function heic(): Buffer {
  const body = Buffer.concat([Buffer.from('heic'), Buffer.alloc(4), Buffer.from('mif1heic')]);
  const box = Buffer.alloc(8 + body.length);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  body.copy(box, 8);
  return Buffer.concat([box, Buffer.alloc(32)]);
}

/** A Windows program's first bytes: the MZ header pointing at a PE signature. */
export function windowsProgram(): Buffer {
  const program = Buffer.alloc(512);
  program.write('MZ', 0, 'latin1');
  program.writeUInt32LE(0x80, 0x3c);
  program.write('PE\0\0', 0x80, 'latin1');
  program.write('This program cannot be run in DOS mode.', 0x40, 'latin1');
  return program;
}

export type ZipEntry = { name: string; body: string | Buffer; store?: boolean };

export async function zip(entries: ZipEntry[]): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const entry of entries) archive.addBuffer(Buffer.from(entry.body), entry.name, { compress: !entry.store });
  archive.end();
  const parts: Buffer[] = [];
  for await (const part of archive.outputStream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const WORD_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
const contentTypes = (main: string, part: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
  `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
  `<Override PartName="/${part}" ContentType="${main}"/></Types>`;
const rels = (part: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
  `<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="${part}"/></Relationships>`;

/**
 * A Word document. `contentTypesLast` with a large stored image puts `[Content_Types].xml` beyond
 * the first 64 KiB, as LibreOffice and some generators do.
 */
export async function docx(options: { contentTypesLast?: boolean; imageBytes?: number; extra?: ZipEntry[] } = {}): Promise<Buffer> {
  const types: ZipEntry = { name: '[Content_Types].xml', body: contentTypes(WORD_MAIN, 'word/document.xml') };
  const rest: ZipEntry[] = [
    { name: '_rels/.rels', body: rels('word/document.xml') },
    { name: 'word/document.xml', body: '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Dividends 2024</w:t></w:r></w:p></w:body></w:document>' },
    ...(options.imageBytes ? [{ name: 'word/media/image1.png', body: crypto.randomBytes(options.imageBytes), store: true }] : []),
    ...(options.extra ?? []),
  ];
  return zip(options.contentTypesLast ? [...rest, types] : [types, ...rest]);
}

/** A real workbook written by exceljs. */
export async function xlsx(): Promise<Buffer> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Expenses');
  sheet.addRow(['Date', 'Description', 'Amount']);
  sheet.addRow([new Date(Date.UTC(2024, 3, 6)), 'Train to client', 42.5]);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** An OpenDocument file: `mimetype` stored first, as the standard requires. */
export async function odf(kind: 'text' | 'spreadsheet', extra: ZipEntry[] = []): Promise<Buffer> {
  return zip([
    { name: 'mimetype', body: `application/vnd.oasis.opendocument.${kind}`, store: true },
    { name: 'content.xml', body: '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>' },
    { name: 'META-INF/manifest.xml', body: '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>' },
    ...extra,
  ]);
}

/** A stream that hands over `bytes` in pieces of `size`. */
export function streamOf(bytes: Buffer, size = 16 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
}

/**
 * An endless-looking upload that counts how many pieces were pulled from it and notices being
 * closed, so a test can prove a refused upload was not read to the end.
 */
export function countingSource(piece: Buffer, pieces: number): { stream: Readable; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  const stream = Readable.from(
    (function* () {
      try {
        for (let index = 0; index < pieces; index++) {
          pulled++;
          yield piece;
        }
      } finally {
        closed = true;
      }
    })(),
  );
  return { stream, pulled: () => pulled, closed: () => closed };
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
