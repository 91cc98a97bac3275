import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportBatch } from '../model.ts';
import { fakeSchool } from '../testing/fake-school.ts';
import { readCtf } from './ctf.ts';
import { writeCtf } from './ctf-writer.ts';

/**
 * Whatever bytes arrive, readCtf resolves: either with errors that each say where (file and line),
 * or with a batch whose records hang together.
 */

let dir: string;
let valid: string;
let counter = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-ctf-prop-'));
  const file = path.join(dir, 'valid.xml');
  await writeCtf(fakeSchool({ pupils: 6, seed: 99, attendanceDays: 3 }), file);
  valid = fs.readFileSync(file, 'utf8');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function readBytes(bytes: Uint8Array | string): Promise<ImportBatch> {
  const file = path.join(dir, `case-${++counter}.xml`);
  fs.writeFileSync(file, bytes);
  try {
    return await readCtf(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function checkOutcome(batch: ImportBatch): void {
  for (const problem of [...batch.errors, ...batch.warnings]) {
    expect(problem.location).toMatch(/^case-\d+\.xml line \d+ \(.+\)$/);
    expect(problem.message.length).toBeGreaterThan(0);
  }
  if (batch.errors.length > 0) return;
  expect(batch.mode).toBe('full');
  const pupilIds = new Set(batch.pupils.map((p) => p.misId));
  expect(pupilIds.size).toBe(batch.pupils.length);
  for (const p of batch.pupils) {
    expect(p.misId).toBe(p.upn);
    expect(p.legalSurname.length).toBeGreaterThan(0);
    expect(p.legalForename.length).toBeGreaterThan(0);
  }
  for (const c of batch.contacts) for (const l of c.links) expect(pupilIds.has(l.pupilMisId)).toBe(true);
  for (const g of batch.groups) for (const id of g.pupilMisIds) expect(pupilIds.has(id)).toBe(true);
  for (const a of batch.attendance) {
    expect(pupilIds.has(a.pupilMisId)).toBe(true);
    expect(a.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  }
}

const NAMES = ['Pupil', 'UPN', 'Surname', 'Forename', 'DOB', 'Contact', 'Contacts', 'CTFpupilData', 'CTfile', 'Header', 'AttendanceMarks', 'YearData', 'Attendance', 'FSMinstance', 'SEN', 'Phone', 'Address', 'X'];

/** An element, a stray tag or plain noise to drop into a valid file. */
const insertion = fc.oneof(
  fc.tuple(fc.constantFrom(...NAMES), fc.string({ maxLength: 20 })).map(([n, t]) => `<${n}>${t.replace(/[<&]/g, '')}</${n}>`),
  fc.constantFrom(...NAMES).map((n) => `<${n}>`),
  fc.constantFrom(...NAMES).map((n) => `</${n}>`),
  fc.constantFrom(...NAMES).map((n) => `<${n}/>`),
  fc.string({ maxLength: 30 }),
  fc.constantFrom('<![CDATA[x]]>', '<!-- c -->', '&amp;', '&bogus;', '\u0000', '<?pi x?>', '<!DOCTYPE x>', ']]>', '<Pupil><UPN>A999400124001</UPN></Pupil>'),
);

describe('readCtf never throws', () => {
  it('on arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2_000 }), async (bytes) => {
        checkOutcome(await readBytes(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('on a valid file cut short anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 1_000_000 }), async (n) => {
        const cut = n % (valid.length + 1);
        const batch = await readBytes(valid.slice(0, cut));
        checkOutcome(batch);
        if (cut < valid.length - 1) expect(batch.errors.length).toBeGreaterThan(0); // the root is never closed
      }),
      { numRuns: 200 },
    );
  });

  it('on a valid file with elements and noise inserted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 1_000_000 }), insertion), { minLength: 1, maxLength: 4 }), async (edits) => {
        let text = valid;
        for (const [at, piece] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + piece + text.slice(i);
        }
        checkOutcome(await readBytes(text));
      }),
      { numRuns: 200 },
    );
  });

  it('on a valid file with bytes flipped', async () => {
    const bytes = Buffer.from(valid, 'utf8');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), async (flips) => {
        const copy = Buffer.from(bytes);
        for (const [at, value] of flips) copy[at % copy.length] = value;
        checkOutcome(await readBytes(copy));
      }),
      { numRuns: 200 },
    );
  });
});
