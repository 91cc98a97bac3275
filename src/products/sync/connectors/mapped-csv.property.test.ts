import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isIsoDate } from '../codes.ts';
import type { ImportBatch } from '../model.ts';
import { MAPPABLE_FIELDS, readMappedCsv } from './mapped-csv.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapped-csv-prop-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(content: Buffer): string {
  const file = path.join(dir, `${++n}.csv`);
  fs.writeFileSync(file, content);
  return file;
}

const HEADERS = ['Adno', 'Forename', 'Surname', 'DOB', 'Gender', 'UPN', 'Contact', 'Pupil', 'Priority', 'PR', 'Email', 'Phone', 'Year', 'Ethnicity', 'Relationship'];
const ALL_FIELDS = [...new Set(Object.values(MAPPABLE_FIELDS).flatMap((f) => [...f.required, ...f.optional]))];

/** Values that stand for personal data: none may show up in a problem. */
const PERSONAL = ['Quentinzz', 'Zephyrinezz', 'Oëttoline', 'wexley@example.test', '07700 900123', '14/03/2013', '2013-03-14', 'T999400126001'];

const cellArb = fc.oneof(
  fc.constantFrom(...PERSONAL, '', 'M', 'F', 'yes', 'no', '1', '0', '01/02/2012', '2012-02-01', 'WBRI', 'PAM', 'Mother', '7', 'R'),
  fc.constantFrom('"', '""', ',', ';', '\t', '\r\n', '\n', '"quoted, with comma"', '"line\nbreak"'),
  fc.string({ maxLength: 8 }),
);

const mappingArb = fc.oneof(
  { weight: 1, arbitrary: fc.anything() },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        entity: fc.oneof(fc.constantFrom('pupils', 'contacts', 'staff'), fc.string({ maxLength: 6 })),
        columns: fc.oneof(
          fc.dictionary(fc.oneof(fc.constantFrom(...ALL_FIELDS), fc.string({ maxLength: 6 })), fc.oneof(fc.constantFrom(...HEADERS), fc.string({ maxLength: 6 }), fc.integer()), {
            maxKeys: 12,
          }),
          fc.anything(),
        ),
        dateFormat: fc.oneof(fc.constantFrom('YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY'), fc.string({ maxLength: 4 })),
        delimiter: fc.oneof(fc.constantFrom(',', ';', '\t'), fc.string({ maxLength: 2 })),
        encoding: fc.oneof(fc.constantFrom('utf-8', 'windows-1252'), fc.string({ maxLength: 4 })),
      },
      { requiredKeys: ['entity', 'columns'] },
    ),
  },
);

/** A mapping that always validates, so that the CSV side gets exercised every run. */
const validMappingArb = fc.constantFrom('pupils', 'contacts', 'staff').chain((entity) => {
  const fields = MAPPABLE_FIELDS[entity];
  return fc
    .record({
      required: fc.tuple(...fields.required.map(() => fc.constantFrom(...HEADERS))),
      optional: fc.dictionary(fc.constantFrom(...fields.optional), fc.constantFrom(...HEADERS), { maxKeys: 6 }),
      dateFormat: fc.constantFrom('YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY'),
      delimiter: fc.constantFrom(',', ';', '\t'),
      encoding: fc.constantFrom('utf-8', 'windows-1252'),
    })
    .map(({ required, optional, ...rest }) => ({
      entity,
      columns: { ...optional, ...Object.fromEntries(fields.required.map((f, i) => [f, required[i]!])) },
      ...rest,
    }));
});

const csvArb = fc.record({
  header: fc.uniqueArray(fc.oneof(fc.constantFrom(...HEADERS), fc.string({ maxLength: 5 })), { minLength: 0, maxLength: 10 }),
  rows: fc.array(fc.array(cellArb, { maxLength: 11 }), { maxLength: 8 }),
  delimiter: fc.constantFrom(',', ';', '\t'),
  quoteAll: fc.boolean(),
  bom: fc.boolean(),
  latin1: fc.boolean(),
  lineEnd: fc.constantFrom('\r\n', '\n'),
  junk: fc.option(fc.uint8Array({ maxLength: 64 })),
});

interface CsvCase {
  header: string[];
  rows: string[][];
  delimiter: string;
  quoteAll: boolean;
  bom: boolean;
  latin1: boolean;
  lineEnd: string;
  junk: Uint8Array | null;
}

function render(c: CsvCase): Buffer {
  const q = (v: string) => (c.quoteAll ? `"${v.replace(/"/g, '""')}"` : v);
  const text = [c.header, ...c.rows].map((r) => r.map(q).join(c.delimiter)).join(c.lineEnd);
  const body = c.latin1 ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
  return Buffer.concat([c.bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), body, c.junk ? Buffer.from(c.junk) : Buffer.alloc(0)]);
}

function checkOutcome(batch: ImportBatch, file: string): void {
  expect(batch.mode).toBe('full');
  for (const p of [...batch.errors, ...batch.warnings]) {
    expect(p.location.length).toBeGreaterThan(0);
    expect(p.message.length).toBeGreaterThan(0);
    expect(p.location.startsWith('mapping') || p.location.startsWith(path.basename(file))).toBe(true);
    for (const v of PERSONAL) expect(p.message).not.toContain(v);
  }
  if (batch.errors.length === 0) {
    for (const p of batch.pupils) {
      expect(p.misId && p.legalForename && p.legalSurname).toBeTruthy();
      if (p.dateOfBirth) expect(isIsoDate(p.dateOfBirth)).toBe(true);
    }
    for (const s of batch.staff) expect(s.misId && s.forename && s.surname).toBeTruthy();
    for (const c of batch.contacts) {
      expect(c.misId && c.forename && c.surname).toBeTruthy();
      expect(c.links.length).toBeGreaterThan(0);
      for (const l of c.links) expect(l.pupilMisId).toBeTruthy();
    }
    const kinds = [batch.pupils, batch.contacts, batch.staff].filter((l) => l.length > 0);
    expect(kinds.length).toBeLessThanOrEqual(1);
  }
}

describe('readMappedCsv never throws', () => {
  it('random mappings over random CSV → resolves, with located problems or a valid batch', async () => {
    await fc.assert(
      fc.asyncProperty(mappingArb, csvArb, async (mapping, c) => {
        const file = write(render(c));
        checkOutcome(await readMappedCsv(file, mapping), file);
      }),
      { numRuns: 200 },
    );
  });

  it('valid mappings over CSVs with their headers and random cells (quotes, delimiters, newlines, bad bytes) → resolves', async () => {
    const arb = validMappingArb.chain((mapping) => {
      const header = [...new Set(Object.values(mapping.columns as Record<string, string>))];
      return fc.record({
        mapping: fc.constant(mapping),
        c: fc.record({
          header: fc.constant(header),
          rows: fc.array(fc.array(cellArb, { minLength: header.length, maxLength: header.length }), { maxLength: 6 }),
          delimiter: fc.constant(mapping.delimiter),
          quoteAll: fc.boolean(),
          bom: fc.boolean(),
          latin1: fc.constant(mapping.encoding === 'windows-1252'),
          lineEnd: fc.constantFrom('\r\n', '\n'),
          junk: fc.option(fc.uint8Array({ maxLength: 16 }), { freq: 8 }),
        }),
      });
    });
    let clean = 0;
    let withRecords = 0;
    await fc.assert(
      fc.asyncProperty(arb, async ({ mapping, c }) => {
        const file = write(render(c));
        const batch = await readMappedCsv(file, mapping);
        checkOutcome(batch, file);
        expect(batch.errors.filter((e) => e.location.startsWith('mapping'))).toEqual([]);
        if (batch.errors.length === 0) {
          clean++;
          if (batch.pupils.length + batch.contacts.length + batch.staff.length > 0) withRecords++;
        }
      }),
      { numRuns: 200 },
    );
    // Both outcomes are exercised: clean batches with records, and located errors.
    expect(clean).toBeGreaterThan(0);
    expect(withRecords).toBeGreaterThan(0);
    expect(clean).toBeLessThan(200);
  });

  it('random bytes as the file → resolves', async () => {
    await fc.assert(
      fc.asyncProperty(validMappingArb, fc.uint8Array({ maxLength: 512 }), async (mapping, bytes) => {
        const file = write(Buffer.from(bytes));
        checkOutcome(await readMappedCsv(file, mapping), file);
      }),
      { numRuns: 200 },
    );
  });
});
