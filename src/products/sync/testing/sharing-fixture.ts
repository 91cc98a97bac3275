import type { Platform } from '../../../platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../../platform/tenancy/tenant-scope.ts';
import { runImport } from '../engine.ts';
import { emptyBatch, type ImportBatch } from '../model.ts';

/**
 * A small school with every field filled in, for the sharing, reader and route tests: three
 * pupils (two Smiths), two contacts (one with a no-contact order), two staff, three groups and
 * two days of attendance. All names are made up.
 */
export function sharingSchool(): ImportBatch {
  const batch = emptyBatch('full');
  batch.school = { name: 'Fixture Primary', urn: '100001', laEstab: '9991001', phase: 'primary' };
  batch.pupils = [
    {
      misId: 'P1',
      upn: 'A123456789012',
      admissionNumber: '001',
      legalForename: 'Annabel',
      legalSurname: 'Smith',
      middleNames: 'Rose',
      preferredForename: 'Anna',
      preferredSurname: null,
      dateOfBirth: '2014-03-01',
      gender: 'F',
      ethnicity: 'WBRI',
      religion: 'Christian',
      firstLanguage: 'ENG',
      address: { lines: ['1 Fixture Lane'], town: 'Testtown', county: null, postcode: 'ZZ1 1ZZ' },
      emails: [{ address: 'annabel.pupil@example.test', type: 'home' }],
      phones: [{ number: '07700 900001', type: 'mobile' }],
      photo: { contentType: 'image/jpeg', data: Buffer.from('not really a jpeg, but bytes all the same') },
      fsmEligible: true,
      fsmPeriods: [{ start: '2023-09-01', end: null }],
      senStatus: 'K',
      yearGroup: '5',
      registrationGroup: '5A',
      house: 'Brunel',
      enrolmentDate: '2019-09-01',
    },
    { misId: 'P2', legalForename: 'Benedict', legalSurname: 'Jones', dateOfBirth: '2014-05-02', gender: 'M', yearGroup: '5', registrationGroup: '5A', fsmEligible: false },
    { misId: 'P3', legalForename: 'Cara', legalSurname: 'Smith', dateOfBirth: '2016-07-03', gender: 'F', yearGroup: '3', registrationGroup: '3B' },
  ];
  batch.contacts = [
    {
      misId: 'C1',
      title: 'Mrs',
      forename: 'Mary',
      surname: 'Smith',
      emails: [{ address: 'mary.smith@example.test', type: 'home' }],
      phones: [{ number: '07700 900101', type: 'mobile' }],
      address: { lines: ['1 Fixture Lane'], town: 'Testtown', postcode: 'ZZ1 1ZZ' },
      links: [
        { pupilMisId: 'P1', relationship: 'MUM', parentalResponsibility: true, priority: 1, livesWith: true, noContact: false },
        { pupilMisId: 'P3', relationship: 'MUM', parentalResponsibility: true, priority: 1, livesWith: true, noContact: false },
      ],
    },
    {
      misId: 'C2',
      title: 'Mr',
      forename: 'Tom',
      surname: 'Jones',
      phones: [{ number: '07700 900102', type: 'mobile' }],
      links: [{ pupilMisId: 'P2', relationship: 'DAD', parentalResponsibility: true, priority: 2, livesWith: false, noContact: true }],
    },
  ];
  batch.staff = [
    { misId: 'S1', title: 'Ms', forename: 'Olive', surname: 'Teacher', dateOfBirth: '1985-01-01', gender: 'F', jobTitle: 'Class teacher', emails: [{ address: 'o.teacher@school.example.test', type: 'work' }] },
    { misId: 'S2', title: 'Mr', forename: 'Peter', surname: 'Office', jobTitle: 'Office manager' },
  ];
  batch.groups = [
    { misId: 'G5A', kind: 'registration', name: '5A', pupilMisIds: ['P1', 'P2'], staffMisIds: ['S1'] },
    { misId: 'G3B', kind: 'registration', name: '3B', pupilMisIds: ['P3'], staffMisIds: [] },
    { misId: 'Y5', kind: 'year', name: 'Year 5', code: '5', pupilMisIds: ['P1', 'P2'], staffMisIds: ['S1', 'S2'] },
  ];
  batch.attendance = [
    { pupilMisId: 'P1', date: '2024-09-02', session: 'AM', code: '/' },
    { pupilMisId: 'P1', date: '2024-09-02', session: 'PM', code: 'I' },
    { pupilMisId: 'P2', date: '2024-09-02', session: 'AM', code: '/' },
    { pupilMisId: 'P3', date: '2024-09-03', session: 'AM', code: 'N' },
  ];
  return batch;
}

export interface ImportedSchool {
  runId: string;
  /** Record ids by MIS id. */
  pupils: Record<'P1' | 'P2' | 'P3', string>;
  contacts: Record<'C1' | 'C2', string>;
  staff: Record<'S1' | 'S2', string>;
  groups: Record<'G5A' | 'G3B' | 'Y5', string>;
}

/** Imports the batch through the real engine as the system, and returns the records' ids. */
export async function importSharingSchool(platform: Platform, tenantId: string, batch: ImportBatch = sharingSchool()): Promise<ImportedSchool> {
  const context = { tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('test') };
  const summary = await runImport(platform, context, batch, { format: 'test', source: 'upload:test', startedBy: 'test' });
  if (summary.status !== 'succeeded' || !summary.runId) throw new Error(`fixture import failed: ${JSON.stringify(summary.errors)}`);
  return platform.inTenant(context, async (scope) => {
    const ids = async <K extends string>(table: 'pupils' | 'contacts' | 'staff' | 'school_groups', keys: K[]): Promise<Record<K, string>> => {
      const rows = await scope.trx.selectFrom(table).select(['id', 'mis_id']).execute();
      const byMisId = Object.fromEntries(rows.map((r) => [r.mis_id, r.id]));
      for (const key of keys) if (!byMisId[key]) throw new Error(`fixture record ${key} was not imported`);
      return byMisId as Record<K, string>;
    };
    return {
      runId: summary.runId!,
      pupils: await ids('pupils', ['P1', 'P2', 'P3']),
      contacts: await ids('contacts', ['C1', 'C2']),
      staff: await ids('staff', ['S1', 'S2']),
      groups: await ids('school_groups', ['G5A', 'G3B', 'Y5']),
    };
  });
}
