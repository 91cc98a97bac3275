import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportBatch } from '../model.ts';
import { readOneRosterCsv } from './oneroster-csv.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oneroster-prop-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
const tmp = () => path.join(dir, `${++n}.zip`);

async function zipOf(files: Record<string, Buffer>): Promise<string> {
  const file = tmp();
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(content, name);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject);
  });
  return file;
}

const csv = (...lines: string[]) => lines.join('\r\n') + '\r\n';

const BASE: Record<string, string> = {
  'manifest.csv': csv(
    'propertyName,value',
    'manifest.version,1.0',
    'oneroster.version,1.2',
    'file.classes,bulk',
    'file.demographics,bulk',
    'file.enrollments,bulk',
    'file.orgs,bulk',
    'file.roles,bulk',
    'file.users,bulk',
  ),
  'orgs.csv': csv('sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId', 'sch-1,,,Greenfield Academy,school,140001,'),
  'users.csv': csv(
    'sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns',
    'stu-1,,,true,stu-1,,Quentin,Zephyrine,Rose,A1,quentin@example.test,,,par-1,07,,T999400126001,Quin,,,sch-1,',
    'stu-2,,,true,stu-2,,Ottoline,Varga,,A2,,,,"par-1,par-2",08,,,,,,sch-1,',
    'tch-1,,,true,tch-1,,Isadora,Wexley,,,i.wexley@example.test,07700 900001,0117 496 0001,,,,,,,,sch-1,',
    'par-1,,,true,par-1,,Leopold,Zephyrine,,,leo@example.test,07700 900002,,"stu-1,stu-2",,,,,,,sch-1,',
    'par-2,,,true,par-2,,Marisol,Varga,,,,,020 7946 0003,,,,,,,,sch-1,',
  ),
  'roles.csv': csv(
    'sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId',
    'r1,,,stu-1,primary,student,,,sch-1,',
    'r2,,,stu-2,primary,student,,,sch-1,',
    'r3,,,tch-1,primary,teacher,,,sch-1,',
    'r4,,,par-1,primary,parent,,,sch-1,',
    'r5,,,par-2,primary,guardian,,,sch-1,',
  ),
  'demographics.csv': csv(
    'sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus',
    'stu-1,,,2014-03-09,female,,,,,,,,,,,',
    'stu-2,,,2013-11-30,male,,,,,,,,,,,',
  ),
  'classes.csv': csv(
    'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
    'cls-7a,,,Form 7A,07,crs,7A,homeroom,,sch-1,t1,,,',
    'cls-ma,,,Maths,07,crs,7Ma1,scheduled,,sch-1,t1,,,',
  ),
  'enrollments.csv': csv(
    'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
    'e1,,,cls-7a,sch-1,stu-1,student,,,',
    'e2,,,cls-7a,sch-1,stu-2,student,,,',
    'e3,,,cls-ma,sch-1,tch-1,teacher,true,,',
  ),
};

const PERSONAL = ['Quentin', 'Zephyrine', 'Rose', 'Quin', 'Ottoline', 'Varga', 'Isadora', 'Wexley', 'Leopold', 'Marisol', 'example.test', '07700', '0117', '7946', '2014-03-09', '2013-11-30', 'T999400126001'];

/** Resolved (never rejected), every problem located, nothing personal in any, and a clean batch is whole. */
function checkOutcome(batch: ImportBatch): void {
  expect(['full', 'delta']).toContain(batch.mode);
  for (const p of [...batch.errors, ...batch.warnings]) {
    expect(typeof p.location).toBe('string');
    expect(p.location.length).toBeGreaterThan(0);
    expect(p.message.length).toBeGreaterThan(0);
    for (const v of PERSONAL) {
      expect(p.location).not.toContain(v);
      expect(p.message).not.toContain(v);
    }
  }
  if (batch.errors.length === 0) {
    for (const p of batch.pupils) expect(p.misId && p.legalForename && p.legalSurname).toBeTruthy();
    for (const s of batch.staff) expect(s.misId && s.forename && s.surname).toBeTruthy();
    for (const c of batch.contacts) expect(c.misId && c.forename && c.surname).toBeTruthy();
    for (const d of [...batch.pupils, ...batch.staff]) if (d.dateOfBirth) expect(d.dateOfBirth).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    if (batch.mode === 'full') {
      const pupils = new Set(batch.pupils.map((p) => p.misId));
      const staff = new Set(batch.staff.map((s) => s.misId));
      for (const g of batch.groups) {
        for (const id of g.pupilMisIds) expect(pupils.has(id)).toBe(true);
        for (const id of g.staffMisIds) expect(staff.has(id)).toBe(true);
      }
      for (const c of batch.contacts) for (const l of c.links) expect(pupils.has(l.pupilMisId)).toBe(true);
    }
  }
}

type Op = { kind: 'insert'; at: number; text: string } | { kind: 'delete'; at: number; length: number } | { kind: 'truncate'; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom('"', '""', ',', ',,', '\r\n', '\n', '\r', '"\n', '\uFEFF', '\u0000', '\u00e9', 'tobedeleted', 'bulk', 'delta', '2014-13-45'),
      fc.string({ maxLength: 6, unit: 'binary' }),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, ops: Op[]): string {
  let t = text;
  for (const op of ops) {
    const at = t.length === 0 ? 0 : op.at % (t.length + 1);
    if (op.kind === 'insert') t = t.slice(0, at) + op.text + t.slice(at);
    else if (op.kind === 'delete') t = t.slice(0, at) + t.slice(at + op.length);
    else t = t.slice(0, at);
  }
  return t;
}

describe('readOneRosterCsv never throws', () => {
  it('random bytes as a "zip" → resolves with an error naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const file = tmp();
        fs.writeFileSync(file, bytes);
        const batch = await readOneRosterCsv(file);
        checkOutcome(batch);
        expect(batch.errors.length).toBeGreaterThan(0);
        expect(batch.errors[0]!.location).toBe(path.basename(file));
      }),
      { numRuns: 200 },
    );
  });

  it('a real zip with its tail or middle damaged → resolves', async () => {
    const good = fs.readFileSync(await zipOf(Object.fromEntries(Object.entries(BASE).map(([k, v]) => [k, Buffer.from(v)]))));
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), async (at, junk, truncate) => {
        const pos = at % good.length;
        const bytes = truncate ? good.subarray(0, pos) : Buffer.concat([good.subarray(0, pos), junk, good.subarray(pos + junk.length)]);
        const file = tmp();
        fs.writeFileSync(file, bytes);
        checkOutcome(await readOneRosterCsv(file));
      }),
      { numRuns: 200 },
    );
  });

  it('valid zips with randomly corrupted CSV text (quotes, truncated rows, wrong field counts, junk) → resolves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ file: fc.constantFrom(...Object.keys(BASE)), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 4 }),
        fc.subarray(Object.keys(BASE).filter((k) => k !== 'manifest.csv')),
        async (edits, dropped) => {
          const files: Record<string, string> = { ...BASE };
          for (const name of dropped.slice(0, 1)) delete files[name];
          for (const e of edits) if (files[e.file] !== undefined) files[e.file] = mutate(files[e.file]!, e.ops);
          const batch = await readOneRosterCsv(await zipOf(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v, 'utf8')]))));
          checkOutcome(batch);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the unmutated package reads cleanly (the base the corruptions start from)', async () => {
    const batch = await readOneRosterCsv(await zipOf(Object.fromEntries(Object.entries(BASE).map(([k, v]) => [k, Buffer.from(v)]))));
    expect(batch.errors).toEqual([]);
    expect(batch.pupils).toHaveLength(2);
    expect(batch.contacts).toHaveLength(2);
    checkOutcome(batch);
  });
});
