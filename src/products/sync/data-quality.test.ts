import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantContext } from '../../platform/tenancy/tenant-scope.ts';
import { addressKey, dataQualityReport, normalisePhone, type DataQualityReport } from './data-quality.ts';
import { runImport } from './engine.ts';
import { emptyBatch, type ImportBatch } from './model.ts';

let platform: TestPlatform;
let school: TestOrganisation;
let other: TestOrganisation;
let report: DataQualityReport;
/** Record ids by MIS id. */
let ids: Record<string, string>;

const HOME = { lines: ['1 Oak Road', 'Testville'], town: 'Testtown', postcode: 'ZZ9 1AA' };

/**
 * Exactly one case of each problem, some clean records, and a left pupil and contact that would
 * each be flagged if they were current. All names are made up.
 */
function batch(): ImportBatch {
  const b = emptyBatch('full');
  b.school = { name: 'Quality Primary', urn: '100099', laEstab: '9991099', phase: 'primary' };
  b.pupils = [
    // Siblings at one home (the second written differently): Mark Brook is linked to Ava only.
    { misId: 'P1', legalForename: 'Ava', legalSurname: 'Brook', address: HOME },
    { misId: 'P2', legalForename: 'Benjamin', preferredForename: 'Ben', legalSurname: 'Brook', address: { lines: ['1, OAK  road'], postcode: 'zz91aa' } },
    // Clean.
    { misId: 'P3', legalForename: 'Cleo', legalSurname: 'Stone', address: { lines: ['5 Elm Street'], postcode: 'ZZ9 3CC' } },
    // Nobody with parental responsibility.
    { misId: 'P4', legalForename: 'Dan', legalSurname: 'Wolfe' },
    // Will leave: no contact at all.
    { misId: 'P9', legalForename: 'Gone', legalSurname: 'Pupil' },
  ];
  b.contacts = [
    { misId: 'C1', forename: 'Helen', surname: 'Brook', emails: [{ address: 'helen.brook@example.test' }], address: HOME, links: [
      { pupilMisId: 'P1', parentalResponsibility: true, livesWith: true },
      { pupilMisId: 'P2', parentalResponsibility: true, livesWith: true },
    ] },
    { misId: 'C2', forename: 'Mark', surname: 'Brook', phones: [{ number: '07700 900200' }], address: HOME, links: [{ pupilMisId: 'P1', parentalResponsibility: true, livesWith: true }] },
    // The same person twice under two MIS ids: one phone, written two ways.
    { misId: 'C3', forename: 'Sara', surname: 'Stone', emails: [{ address: 'sara@example.test' }], phones: [{ number: '07700 900300' }], address: { lines: ['5 Elm Street'], postcode: 'ZZ9 3CC' }, links: [
      { pupilMisId: 'P3', parentalResponsibility: true, livesWith: true },
    ] },
    { misId: 'C4', forename: 'sara ', surname: 'STONE', phones: [{ number: '+44 (0)7700 900300' }], links: [{ pupilMisId: 'P3', relationship: 'MUM' }] },
    // Unreachable, and without parental responsibility for Dan.
    { misId: 'C5', forename: 'Gus', surname: 'Wolfe', links: [{ pupilMisId: 'P4', parentalResponsibility: false }] },
    // Same name, nothing else in common: not duplicates.
    { misId: 'C6', forename: 'Ian', surname: 'Grey', emails: [{ address: 'ian.one@example.test' }], links: [{ pupilMisId: 'P4', parentalResponsibility: false }] },
    { misId: 'C7', forename: 'Ian', surname: 'Grey', emails: [{ address: 'ian.two@example.test' }], address: { lines: ['9 Far Away'], postcode: 'ZZ1 9ZZ' }, links: [] },
    // Will leave: unreachable, and a duplicate of Gus Wolfe by MIS id alone.
    { misId: 'C9', forename: 'Gus', surname: 'Wolfe', links: [{ pupilMisId: 'P9', parentalResponsibility: false }] },
  ];
  return b;
}

async function run(context: TenantContext, b: ImportBatch): Promise<void> {
  const summary = await runImport(platform, context, b, { format: 'test', source: 'upload:test', startedBy: 'test' });
  if (summary.status !== 'succeeded') throw new Error(`import failed: ${JSON.stringify(summary.errors)}`);
}

beforeAll(async () => {
  platform = await startTestPlatform();
  school = await createTestOrganisation(platform);
  other = await createTestOrganisation(platform);
  const context: TenantContext = { tenantId: school.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') };
  await run(context, batch());
  const leavers = emptyBatch('delta');
  leavers.removed = [{ entity: 'pupils', misId: 'P9' }, { entity: 'contacts', misId: 'C9' }];
  await run(context, leavers);
  ids = await asSystem(platform, school.id, async (scope) => {
    const rows = [
      ...(await scope.trx.selectFrom('pupils').select(['id', 'mis_id']).execute()),
      ...(await scope.trx.selectFrom('contacts').select(['id', 'mis_id']).execute()),
    ];
    return Object.fromEntries(rows.map((r) => [r.mis_id, r.id]));
  });
  report = await asSystem(platform, school.id, dataQualityReport);
});
afterAll(async () => platform?.close());

const pupil = (misId: string, name: string) => ({ entity: 'pupils', id: ids[misId], misId, name });
const contact = (misId: string, name: string) => ({ entity: 'contacts', id: ids[misId], misId, name });

describe('data-quality report', () => {
  it('flags exactly the one case of each problem, among current records only', () => {
    expect(report.issues).toEqual([
      { check: 'contact-unreachable', records: [contact('C5', 'Gus Wolfe')] },
      { check: 'no-parental-responsibility', records: [pupil('P4', 'Dan Wolfe')] },
      { check: 'duplicate-contact', records: [contact('C3', 'Sara Stone'), contact('C4', 'sara STONE')] },
      { check: 'siblings-not-linked', records: [pupil('P1', 'Ava Brook'), pupil('P2', 'Ben Brook'), contact('C2', 'Mark Brook')] },
    ]);
    expect(report.counts).toEqual({ 'contact-unreachable': 1, 'no-parental-responsibility': 1, 'duplicate-contact': 1, 'siblings-not-linked': 1 });
    expect(Date.parse(report.checkedAt)).not.toBeNaN();
  });

  it('shows another tenant nothing of the school', async () => {
    const seen = await asSystem(platform, other.id, dataQualityReport);
    expect(seen.issues).toEqual([]);
    expect(Object.values(seen.counts)).toEqual([0, 0, 0, 0]);
  });

  it('normalises phones and addresses', () => {
    expect(normalisePhone('+44 (0)7700 900300')).toBe(normalisePhone('07700 900300'));
    expect(normalisePhone('0044 7700 900300')).toBe('07700900300');
    expect(normalisePhone('123')).toBe('');
    expect(addressKey({ lines: ['1, OAK  road'], postcode: 'zz91aa' })).toBe(addressKey(HOME));
    expect(addressKey({ lines: ['1 Oak Road'], postcode: null })).toBeNull();
  });
});
