import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PDFDocument, PDFName, PDFRef, StandardFonts } from 'pdf-lib';

/** Shared by the signing tests only: fixtures built in code, and the poppler tools run on real files. */

const run = promisify(execFile);

export async function makeLetterPdf(pages: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 1; i <= pages; i++) {
    doc.addPage([595.28, 841.89]).drawText(`Letter of engagement, page ${i} of ${pages}`, { x: 56, y: 760, size: 14, font });
  }
  return Buffer.from(await doc.save());
}

/** A real RGBA PNG: signature, IHDR, one deflated IDAT of filter-0 scanlines, IEND. */
export function makePng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(typeAndData));
    return Buffer.concat([length, typeAndData, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 4); // filter byte 0, then transparent pixels…
    for (let x = 0; x < width; x++) {
      if (Math.abs(y - height / 2 - Math.sin(x / 8) * (height / 4)) < 2) row.writeUInt32BE(0x1a237eff, 1 + x * 4); // …and an ink stroke
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function withTempFile<T>(bytes: Uint8Array, use: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-signing-'));
  const file = path.join(dir, 'document.pdf');
  fs.writeFileSync(file, bytes);
  try {
    return await use(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** pdfsig's report (it exits 0 for valid and invalid signatures alike, so only the text matters). */
export function pdfsig(bytes: Uint8Array): Promise<string> {
  return withTempFile(bytes, async (file) => {
    const { stdout, stderr } = await run('/usr/bin/pdfsig', [file]).catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }));
    return `${stdout}${stderr}`;
  });
}

export function pdftotext(bytes: Uint8Array): Promise<string> {
  return withTempFile(bytes, async (file) => (await run('/usr/bin/pdftotext', ['-enc', 'UTF-8', file, '-'])).stdout);
}

/** Byte offset of the middle of page `index`'s (first) content stream in a saved file. */
export async function contentStreamOffset(pdf: Buffer, index: number): Promise<number> {
  const doc = await PDFDocument.load(pdf, { updateMetadata: false });
  const contents = doc.getPage(index).node.get(PDFName.of('Contents'));
  const ref = contents instanceof PDFRef ? contents : (doc.context.lookup(contents) as unknown as { get(i: number): PDFRef }).get(0);
  const objectAt = pdf.indexOf(`\n${ref.objectNumber} ${ref.generationNumber} obj`);
  const streamAt = pdf.indexOf('stream', objectAt) + 'stream\n'.length;
  const endAt = pdf.indexOf('endstream', streamAt);
  if (objectAt === -1 || endAt === -1) throw new Error('content stream not found');
  return Math.floor((streamAt + endAt) / 2);
}
