import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALLOWED_KINDS } from './allowed.ts';
import { inspectUpload } from './inspect.ts';
import { collect, docx, heic, jpeg, pdf, png, streamOf, tiff, windowsProgram } from './testing/samples.ts';
import { UploadRefused, type IntakeVerdict } from './types.ts';

const DECLARED = [
  undefined,
  '',
  'application/octet-stream',
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/heic',
  'image/tiff',
  'text/csv',
  'text/csv; charset=utf-8',
  'text/plain',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.oasis.opendocument.text',
  'text/html',
  'image/svg+xml',
  'application/x-msdownload',
  'not a type',
];
const NAMES = ['a.pdf', 'b.png', 'c.jpg', 'd.heic', 'e.tif', 'f.csv', 'g.txt', 'h.docx', 'i.xlsx', 'j.odt', 'k.exe', 'l.svg', 'm', '../n.csv', 'o.PDF'];

describe('any bytes, any claims', () => {
  it('never crash: they pass with a type both claims allow, or fail with UploadRefused', async () => {
    const word = await docx();
    const prefixes = [Buffer.alloc(0), pdf().subarray(0, 20), png().subarray(0, 16), jpeg().subarray(0, 4), tiff(), heic(), windowsProgram().subarray(0, 2), word.subarray(0, 40), Buffer.from('<svg '), Buffer.from('date,amount\n')];
    const content = fc.oneof(
      fc.tuple(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 3000 })).map(([prefix, rest]) => Buffer.concat([prefix, rest])),
      fc.string({ unit: 'grapheme', maxLength: 500 }).map((text) => Buffer.from(text)),
      fc.constantFrom(pdf(), png(), jpeg(), word),
    );
    // Half the time a coherent claim for some kind, so that acceptances are common enough to test.
    type Named = [filename: string, declaredType: string | undefined];
    const coherent = fc.constantFrom<Named>(
      ['a.pdf', 'application/pdf'],
      ['b.png', 'image/png'],
      ['c.jpg', 'image/jpeg'],
      ['d.heic', 'application/octet-stream'],
      ['e.tif', 'image/tiff'],
      ['f.csv', 'text/csv'],
      ['g.txt', 'text/plain'],
      ['h.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    );
    const anyClaim: fc.Arbitrary<Named> = fc.tuple(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 60 })), fc.oneof(fc.constantFrom(...DECLARED), fc.string({ maxLength: 40 })));
    const claims = fc.record({
      named: fc.oneof(coherent, anyClaim),
      maxBytes: fc.integer({ min: 1, max: 20_000 }),
      pieceSize: fc.integer({ min: 1, max: 4096 }),
    });

    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(content, claims, async (bytes, { named: [filename, declaredType], maxBytes, pieceSize }) => {
        const upload = inspectUpload(streamOf(bytes, pieceSize), { declaredType, filename, maxBytes });
        const passed = await collect(upload.stream).catch((error: unknown) => error);
        const verdict: unknown = await upload.verdict.catch((error: unknown) => error);
        if (verdict instanceof Error) {
          expect(verdict).toBeInstanceOf(UploadRefused);
          expect(passed).toBe(verdict);
          seen.refused++;
          return;
        }
        const { kind, sizeBytes } = verdict as IntakeVerdict;
        const rule = ALLOWED_KINDS[kind];
        expect(Buffer.isBuffer(passed) && passed.equals(bytes)).toBe(true);
        expect(sizeBytes).toBe(bytes.length);
        expect(sizeBytes).toBeLessThanOrEqual(maxBytes);
        const extension = filename.split(/[\\/]/u).pop()!.replace(/[. ]+$/u, '').split('.').pop()!.toLowerCase();
        expect(rule.extensions).toContain(extension);
        const declared = (declaredType ?? '').split(';')[0]!.trim().toLowerCase();
        if (!['', 'application/octet-stream'].includes(declared)) expect(rule.declaredTypes).toContain(declared);
        seen.accepted++;
      }),
      { numRuns: 400 },
    );
    // Both outcomes were exercised, not just the easy one.
    expect(seen.accepted).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(10);
  });
});
