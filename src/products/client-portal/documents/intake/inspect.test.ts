import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inspectUpload } from './inspect.ts';
import { EICAR } from './testing/clamd-server.ts';
import { collect, countingSource, docx, heic, jpeg, odf, pdf, png, streamOf, tiff, windowsProgram, xlsx, zip } from './testing/samples.ts';
import { UploadInterrupted, UploadRefused, type InspectOptions, type IntakeVerdict } from './types.ts';

const MiB = 1024 * 1024;
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Runs the bytes through the checks as a consumer would: read to the end, then the verdict. */
async function inspect(bytes: Buffer, options: Partial<InspectOptions> & Pick<InspectOptions, 'filename'>, pieceSize?: number) {
  const upload = inspectUpload(streamOf(bytes, pieceSize), { declaredType: undefined, maxBytes: 10 * MiB, ...options });
  const passed = await collect(upload.stream).catch((error: unknown) => error);
  const verdict = await upload.verdict.catch((error: unknown) => error);
  return { passed, verdict };
}

async function accepted(bytes: Buffer, options: Partial<InspectOptions> & Pick<InspectOptions, 'filename'>): Promise<IntakeVerdict> {
  const { passed, verdict } = await inspect(bytes, options);
  if (verdict instanceof Error) throw verdict;
  // Passed on untouched.
  expect(Buffer.isBuffer(passed) && passed.equals(bytes)).toBe(true);
  return verdict as IntakeVerdict;
}

async function refused(bytes: Buffer, options: Partial<InspectOptions> & Pick<InspectOptions, 'filename'>): Promise<UploadRefused> {
  const { passed, verdict } = await inspect(bytes, options);
  expect(verdict).toBeInstanceOf(UploadRefused);
  // The stream failed with the same refusal, so a blob write fed by it fails too.
  expect(passed).toBe(verdict);
  return verdict as UploadRefused;
}

describe('documents an accountancy client sends are accepted', () => {
  it.each([
    ['a PDF', pdf, 'P60 2024.pdf', 'application/pdf', 'pdf'],
    ['a PNG', () => png(), 'receipt.png', 'image/png', 'png'],
    ['a JPEG', jpeg, 'receipt.JPG', 'image/jpeg', 'jpeg'],
    ['a TIFF', tiff, 'scan.tiff', 'image/tiff', 'tiff'],
    ['a HEIC photo with no declared type', heic, 'IMG_0042.HEIC', 'application/octet-stream', 'heic'],
  ] as const)('%s', async (_, build, filename, declaredType, kind) => {
    const verdict = await accepted(build(), { filename, declaredType });
    expect(verdict).toMatchObject({ kind, displayName: filename, sizeBytes: build().length });
  });

  it('a Word document, whether [Content_Types].xml comes first or after 64 KiB of pictures', async () => {
    expect((await accepted(await docx(), { filename: 'letter.docx', declaredType: DOCX })).mediaType).toBe(DOCX);
    const late = await docx({ contentTypesLast: true, imageBytes: 200_000 });
    expect(late.length).toBeGreaterThan(3 * 64 * 1024);
    expect((await accepted(late, { filename: 'letter.docx', declaredType: DOCX })).kind).toBe('docx');
  });

  it('an Excel workbook written by exceljs, and OpenDocument text and spreadsheets', async () => {
    expect((await accepted(await xlsx(), { filename: 'expenses.xlsx', declaredType: XLSX })).kind).toBe('xlsx');
    expect((await accepted(await odf('text'), { filename: 'notes.odt', declaredType: 'application/vnd.oasis.opendocument.text' })).kind).toBe('odt');
    expect((await accepted(await odf('spreadsheet'), { filename: 'vat.ods' })).kind).toBe('ods');
  });

  it('CSV and plain text in UTF-8, however the browser declares CSV', async () => {
    const csv = Buffer.from('\ufeffdate,description,amount\n2024-04-06,Café lunch with client,£12.50\n');
    for (const declaredType of ['text/csv', 'text/csv; charset=utf-8', 'application/vnd.ms-excel', 'text/plain', undefined]) {
      expect(await accepted(csv, { filename: 'bank.csv', declaredType })).toMatchObject({ kind: 'csv', mediaType: 'text/csv' });
    }
    expect((await accepted(Buffer.from('Please find my receipts attached.\n'), { filename: 'note.txt', declaredType: 'text/plain' })).kind).toBe('text');
  });

  it('CSV whose first letters happen to look like a magic number', async () => {
    // file-type calls these a BMP image and a Windows program; they are valid text with no NUL.
    expect((await accepted(Buffer.from('BMW,320i,2019,£18000\n'), { filename: 'cars.csv', declaredType: 'text/csv' })).kind).toBe('csv');
    expect((await accepted(Buffer.from('MZ Holdings Ltd,2024,100.00\n'), { filename: 'clients.csv', declaredType: 'text/csv' })).kind).toBe('csv');
  });

  it('strips folder parts from the filename and keeps a display name safe to show', async () => {
    const verdict = await accepted(pdf(), { filename: 'C:\\Users\\sam\\Desktop\\tax "return"?.pdf', declaredType: 'application/pdf' });
    expect(verdict.displayName).toBe('tax _return__.pdf');
    expect((await accepted(pdf(), { filename: '../../etc/passwd.pdf' })).displayName).toBe('passwd.pdf');
  });
});

describe('the real type must match the declared type and the extension', () => {
  it('blames the content type when only it disagrees with the content', async () => {
    const refusal = await refused(png(), { filename: 'receipt.png', declaredType: 'application/pdf' });
    expect(refusal).toMatchObject({ field: 'contentType', code: 'type-mismatch', status: 400 });
  });

  it('blames the filename when only the extension disagrees', async () => {
    const refusal = await refused(png(), { filename: 'receipt.pdf', declaredType: 'image/png' });
    expect(refusal).toMatchObject({ field: 'filename', code: 'type-mismatch' });
  });

  it('blames the file when its content matches neither claim', async () => {
    const refusal = await refused(png(), { filename: 'receipt.pdf', declaredType: 'application/pdf' });
    expect(refusal).toMatchObject({ field: 'file', code: 'type-mismatch' });
    expect(refusal.reason).toMatch(/PNG image/);
  });

  it('refuses a type or extension never accepted before reading the file', async () => {
    const source = countingSource(Buffer.alloc(1024), 10);
    const upload = inspectUpload(source.stream, { declaredType: 'image/svg+xml', filename: 'statement.pdf', maxBytes: MiB });
    await expect(upload.verdict).rejects.toMatchObject({ field: 'contentType', code: 'type-not-allowed' });
    expect(source.pulled()).toBe(0);
    await expect(collect(upload.stream)).rejects.toBeInstanceOf(UploadRefused);
  });

  it('refuses a Windows program renamed .pdf, and a Linux one renamed .docx', async () => {
    const exe = await refused(windowsProgram(), { filename: 'invoice.pdf', declaredType: 'application/pdf' });
    expect(exe).toMatchObject({ field: 'file', code: 'type-not-allowed', status: 415 });
    expect(exe.reason).toMatch(/executable/);
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
    expect(await refused(elf, { filename: 'report.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'type-not-allowed' });
  });

  it('refuses HTML and SVG: by extension, by content type, and by content under a harmless name', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    const html = Buffer.from('  <!DOCTYPE html><html><script>alert(1)</script></html>');
    expect(await refused(svg, { filename: 'logo.svg', declaredType: 'image/svg+xml' })).toMatchObject({ field: 'filename', code: 'type-not-allowed' });
    expect(await refused(html, { filename: 'page.txt', declaredType: 'text/html' })).toMatchObject({ field: 'contentType', code: 'type-not-allowed' });
    expect(await refused(svg, { filename: 'logo.txt', declaredType: 'text/plain' })).toMatchObject({ field: 'file', code: 'active-content' });
    expect(await refused(html, { filename: 'accounts.csv', declaredType: 'text/csv' })).toMatchObject({ field: 'file', code: 'active-content' });
    const xmlSvg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>');
    expect(await refused(xmlSvg, { filename: 'chart.txt' })).toMatchObject({ field: 'file', code: 'active-content' });
    // HTML sent as a PDF: refused for what it is.
    expect(await refused(html, { filename: 'invoice.pdf', declaredType: 'application/pdf' })).toMatchObject({ field: 'file', code: 'active-content' });
    // Plain text sent as a PDF is simply not a PDF.
    const text = await refused(Buffer.from('Dear Sir'), { filename: 'invoice.pdf', declaredType: 'application/pdf' });
    expect(text).toMatchObject({ field: 'file', code: 'type-mismatch' });
    expect(text.reason).toMatch(/content is text/);
  });

  it('refuses scripts and executables by extension', async () => {
    for (const filename of ['setup.exe', 'run.bat', 'install.sh', 'macro.js', 'payload.ps1', 'archive.zip', 'legacy.xls', 'book.xlsm']) {
      expect(await refused(Buffer.from('echo hello\n'), { filename })).toMatchObject({ field: 'filename', code: 'type-not-allowed' });
    }
    expect(await refused(Buffer.from('#!/bin/sh\nrm -rf ~\n'), { filename: 'notes.txt' })).toMatchObject({ field: 'file', code: 'active-content' });
  });

  it('accepts no claim (application/octet-stream) only when extension and content agree', async () => {
    expect((await accepted(pdf(), { filename: 'a.pdf', declaredType: 'application/octet-stream' })).kind).toBe('pdf');
    expect(await refused(png(), { filename: 'a.pdf', declaredType: 'application/octet-stream' })).toMatchObject({ field: 'filename' });
  });

  it('refuses a content type that is not a media type at all', async () => {
    expect(await refused(pdf(), { filename: 'a.pdf', declaredType: 'application/pdf\r\nX-Injected: 1' })).toMatchObject({ field: 'contentType', code: 'bad-content-type' });
  });
});

describe('text must be UTF-8 or Windows-1252 without NUL bytes, to the last byte', () => {
  it('refuses binary with NUL bytes declared as text/csv', async () => {
    const binary = Buffer.concat([Buffer.from('date,amount\n'), Buffer.from([0, 1, 2, 3, 0, 0xff])]);
    const refusal = await refused(binary, { filename: 'bank.csv', declaredType: 'text/csv' });
    expect(refusal).toMatchObject({ field: 'file', code: 'not-text' });
    expect(refusal.reason).toMatch(/NUL/);
  });

  it('accepts a Windows-1252 CSV (Excel’s plain CSV: a lone 0xA3 for £, 0x80 for €), also when the first such byte comes after the head', async () => {
    const ansi = Buffer.from('date,amount\r\n2024-04-06,\xa312.50\r\n2024-04-07,\x8015.00\r\n', 'latin1');
    expect(await accepted(ansi, { filename: 'bank.csv', declaredType: 'text/csv' })).toMatchObject({ kind: 'csv', sizeBytes: ansi.length });
    const late = Buffer.concat([Buffer.from('a,b\n'.repeat(40_000)), Buffer.from('caf\xe9,\xa31\n', 'latin1')]);
    expect(await accepted(late, { filename: 'big.csv', declaredType: 'text/csv' })).toMatchObject({ kind: 'csv', sizeBytes: late.length });
  });

  it('refuses 8-bit text with a byte Windows-1252 leaves undefined, or a control byte text does not use', async () => {
    for (const bad of [Buffer.from('date,amount\n2024-04-06,\xa312.50\x81\n', 'latin1'), Buffer.from('name\n\xa3\x01\x02\n', 'latin1')]) {
      const refusal = await refused(bad, { filename: 'bank.csv', declaredType: 'text/csv' });
      expect(refusal).toMatchObject({ field: 'file', code: 'not-text' });
      expect(refusal.reason).toMatch(/neither UTF-8 nor Windows-1252/);
    }
    // Valid UTF-8 with control bytes stays text (as before): only the 8-bit fallback is strict.
    expect((await accepted(Buffer.from('a\x01b\n'), { filename: 'x.txt' })).kind).toBe('text');
  });

  it('refuses a text head with a binary tail past the first 64 KiB', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n'.repeat(40_000)), windowsProgram()]);
    expect(await refused(bytes, { filename: 'big.csv', declaredType: 'text/csv' })).toMatchObject({ field: 'file', code: 'not-text' });
  });

  it('accepts a multi-byte character split across pieces and across the 64 KiB head', async () => {
    const text = Buffer.from(`${'x'.repeat(64 * 1024 - 1)}£ and € and 🙂\n`);
    const { verdict } = await inspect(text, { filename: 'long.txt' }, 7);
    expect(verdict).toMatchObject({ kind: 'text', sizeBytes: text.length });
  });

  it('reads text that ends inside a UTF-8 character as Windows-1252, and refuses it when that does not fit either', async () => {
    expect((await accepted(Buffer.from([0x61, 0x2c, 0xe2, 0x82]), { filename: 'cut.csv' })).kind).toBe('csv');
    expect(await refused(Buffer.from([0x61, 0x2c, 0xe2, 0x81]), { filename: 'cut.csv' })).toMatchObject({ code: 'not-text' });
  });

  it('accepts the EICAR test string as text: finding it is the scanner\'s job', async () => {
    expect((await accepted(EICAR, { filename: 'eicar.txt', declaredType: 'text/plain' })).kind).toBe('text');
  });
});

describe('OOXML and ODF are checked through their ZIP directory', () => {
  it('refuses a plain ZIP, whatever it is called', async () => {
    const archive = await zip([{ name: 'invoice.exe', body: windowsProgram() }]);
    expect(await refused(archive, { filename: 'bundle.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'type-not-allowed' });
    expect(await refused(archive, { filename: 'bundle.pdf' })).toMatchObject({ field: 'file', code: 'type-not-allowed' });
  });

  it('refuses a plain ZIP whose first entry is large enough to hide its nature from the head', async () => {
    const archive = await zip([{ name: 'padding.bin', body: crypto.randomBytes(100_000), store: true }, { name: 'run.exe', body: windowsProgram() }]);
    expect(await refused(archive, { filename: 'letter.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'type-not-allowed' });
  });

  it('refuses macros and ActiveX controls', async () => {
    const withMacros = await docx({ extra: [{ name: 'word/vbaProject.bin', body: 'Attribute VB_Name' }] });
    expect(await refused(withMacros, { filename: 'letter.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'active-content' });
    const odtMacros = await odf('text', [{ name: 'Basic/Standard/Module1.xml', body: '<script/>' }]);
    expect(await refused(odtMacros, { filename: 'notes.odt' })).toMatchObject({ code: 'active-content' });
  });

  it('refuses a Word document claimed to be a workbook (and so on)', async () => {
    expect(await refused(await docx(), { filename: 'letter.xlsx', declaredType: XLSX })).toMatchObject({ field: 'file', code: 'type-mismatch' });
    const late = await docx({ contentTypesLast: true, imageBytes: 100_000 });
    expect(await refused(late, { filename: 'letter.xlsx', declaredType: XLSX })).toMatchObject({ field: 'file', code: 'type-mismatch' });
  });

  it('enforces entry-count and unpacked-size limits before anything unpacks it', async () => {
    const bomb = await docx({ extra: [{ name: 'word/media/zeros.bin', body: Buffer.alloc(4 * MiB) }] });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await refused(bomb, { filename: 'letter.docx', declaredType: DOCX, archive: { maxUnpackedBytes: MiB } });
    expect(big).toMatchObject({ field: 'file', code: 'archive-limits' });
    const many = await docx({ extra: Array.from({ length: 30 }, (_, index) => ({ name: `word/media/${index}.txt`, body: 'x' })) });
    expect(await refused(many, { filename: 'letter.docx', archive: { maxEntries: 20 } })).toMatchObject({ code: 'archive-limits' });
  });

  it('refuses bytes appended after the archive, and a cut-off archive', async () => {
    const document = await docx();
    const appended = Buffer.concat([document, windowsProgram()]);
    expect(await refused(appended, { filename: 'letter.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'malformed' });
    const cut = document.subarray(0, document.length - 30);
    expect(await refused(cut, { filename: 'letter.docx', declaredType: DOCX })).toMatchObject({ field: 'file', code: 'malformed' });
  });
});

describe('size', () => {
  it('stops reading as soon as the limit is passed and destroys the source', async () => {
    const source = countingSource(Buffer.alloc(64 * 1024, 0x41), 1000);
    const upload = inspectUpload(source.stream, { declaredType: 'text/plain', filename: 'huge.txt', maxBytes: MiB });
    let delivered = 0;
    const consumed = (async () => {
      for await (const piece of upload.stream) delivered += (piece as Buffer).length;
    })();
    await expect(consumed).rejects.toMatchObject({ field: 'file', code: 'too-large', status: 413 });
    await expect(upload.verdict).rejects.toMatchObject({ code: 'too-large' });
    expect(delivered).toBeLessThanOrEqual(MiB);
    // The source read ahead a little at most (its own buffer of 16 pieces) and was closed.
    expect(source.pulled()).toBeLessThan(40);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.closed()).toBe(true);
  });

  it('accepts exactly the limit', async () => {
    const bytes = Buffer.alloc(1000, 0x61);
    expect((await accepted(bytes, { filename: 'a.txt', maxBytes: 1000 })).sizeBytes).toBe(1000);
    expect(await refused(Buffer.alloc(1001, 0x61), { filename: 'a.txt', maxBytes: 1000 })).toMatchObject({ code: 'too-large' });
  });

  it('refuses an empty file', async () => {
    expect(await refused(Buffer.alloc(0), { filename: 'empty.pdf' })).toMatchObject({ field: 'file', code: 'malformed' });
  });
});

describe('filenames', () => {
  it.each([
    [undefined, /required/],
    ['   ', /required/],
    ['statement\u0000.pdf', /control/],
    ['line\r\nbreak.pdf', /control/],
    ['invoice\u202efdp.exe', /direction/],
    ['folder/', /no name/],
    ['..', /no name/],
    ['.pdf', /extension/],
    ['README', /extension/],
    [`${'a'.repeat(197)}.pdf`, /longer than 200/],
  ])('%j is refused', async (filename, reason) => {
    const refusal = await refused(pdf(), { filename, declaredType: 'application/pdf' });
    expect(refusal).toMatchObject({ field: 'filename', code: 'bad-filename' });
    expect(refusal.reason).toMatch(reason);
  });

  it('allows exactly 200 characters, and sees through trailing dots', async () => {
    expect((await accepted(pdf(), { filename: `${'a'.repeat(196)}.pdf` })).displayName).toHaveLength(200);
    expect(await refused(pdf(), { filename: 'invoice.exe. .' })).toMatchObject({ field: 'filename', code: 'type-not-allowed' });
  });
});

describe('refusals tell the field and reason, never the file', () => {
  it('quotes neither content, filename nor declared type', async () => {
    const marker = 'SECRET-NI-NUMBER-QQ123456C';
    const cases: [Buffer, Partial<InspectOptions> & Pick<InspectOptions, 'filename'>][] = [
      [Buffer.from(`${marker}\0`), { filename: `${marker}.csv`, declaredType: 'text/csv' }],
      [Buffer.from(`<html>${marker}</html>`), { filename: `${marker}.txt` }],
      [Buffer.from(marker), { filename: `${marker}.pdf`, declaredType: 'application/pdf' }],
      [Buffer.from(marker), { filename: `${marker}.txt`, declaredType: `application/x-${marker.toLowerCase()}` }],
      [Buffer.from(marker), { filename: `${marker}\u0007.txt` }],
    ];
    for (const [bytes, options] of cases) {
      const refusal = await refused(bytes, options);
      expect(JSON.stringify({ message: refusal.message, errors: refusal.errors })).not.toMatch(/SECRET|secret/);
      expect(refusal.message).toMatch(new RegExp(`^${refusal.field}: `));
    }
  });
});

describe('a consumer that gives up', () => {
  it('gets UploadInterrupted as the verdict and the source is destroyed', async () => {
    const source = countingSource(Buffer.alloc(64 * 1024, 0x41), 100);
    const upload = inspectUpload(source.stream, { declaredType: 'text/plain', filename: 'a.txt', maxBytes: 100 * MiB });
    for await (const _ of upload.stream) break;
    await expect(upload.verdict).rejects.toBeInstanceOf(UploadInterrupted);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.closed()).toBe(true);
    expect(source.pulled()).toBeLessThan(40);
  });

  it('passes the source\'s own failure on', async () => {
    const source = streamOf(pdf());
    const upload = inspectUpload(source, { declaredType: 'application/pdf', filename: 'a.pdf', maxBytes: MiB });
    source.destroy(new Error('client went away'));
    await expect(collect(upload.stream)).rejects.toThrow('client went away');
    await expect(upload.verdict).rejects.toThrow('client went away');
  });
});
