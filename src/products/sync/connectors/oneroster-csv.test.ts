import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactRecord, GroupRecord, ImportBatch, Phone, PupilRecord, StaffRecord } from '../model.ts';
import { fakeSchool, type FakeSchool } from '../testing/fake-school.ts';
import { readOneRosterCsv } from './oneroster-csv.ts';
import { writeOneRosterCsv } from './oneroster-csv-writer.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oneroster-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function tmp(name = 'package.zip'): string {
  return path.join(dir, `${++n}-${name}`);
}

/** Zips CSV texts (as given, byte for byte) into a temp file. */
async function zipOf(files: Record<string, string | Buffer>): Promise<string> {
  const file = tmp();
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), name);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject);
  });
  return file;
}

const csv = (...lines: string[]) => lines.join('\r\n') + '\r\n';

// ------------------------------------------------------------------ what OneRoster carries

function oneEmail(emails: { address: string }[] | undefined) {
  return emails && emails.length > 0 ? [{ address: emails[0]!.address }] : [];
}

/** The writer keeps one phone and the first mobile as the SMS number; the reader gives phone, then SMS. */
function carriedPhones(phones: Phone[] | undefined): Phone[] {
  const list = phones ?? [];
  const mobile = list.find((p) => p.type === 'mobile');
  const other = list.find((p) => p !== mobile);
  return [...(other ? [{ number: other.number }] : []), ...(mobile ? [{ number: mobile.number, type: 'mobile' }] : [])];
}

function expectedPupil(p: PupilRecord, version: '1.1' | '1.2', mode: 'bulk' | 'delta', groups = true): PupilRecord {
  const out: PupilRecord = {
    misId: p.misId,
    upn: p.upn ?? null,
    legalForename: p.legalForename,
    legalSurname: p.legalSurname,
    middleNames: p.middleNames ?? null,
    dateOfBirth: p.dateOfBirth ?? null,
    gender: version === '1.1' ? (p.gender === 'M' || p.gender === 'F' ? p.gender : null) : (p.gender ?? null),
    emails: oneEmail(p.emails),
    phones: carriedPhones(p.phones),
    yearGroup: p.yearGroup ?? null,
  };
  if (groups) out.registrationGroup = p.registrationGroup ?? null;
  if (version === '1.2') {
    out.admissionNumber = p.admissionNumber ?? null;
    out.preferredForename = p.preferredForename ?? null;
    out.preferredSurname = p.preferredSurname ?? null;
  } else if (!p.upn) out.admissionNumber = p.admissionNumber ?? null;
  if (mode === 'delta' && !p.dateOfBirth && !p.gender) {
    delete out.dateOfBirth;
    delete out.gender;
  }
  return out;
}

function expectedStaff(s: StaffRecord, version: '1.1' | '1.2'): StaffRecord {
  return {
    misId: s.misId,
    forename: s.forename,
    surname: s.surname,
    dateOfBirth: s.dateOfBirth ?? null,
    gender: version === '1.1' ? (s.gender === 'M' || s.gender === 'F' ? s.gender : null) : (s.gender ?? null),
    emails: oneEmail(s.emails),
    phones: carriedPhones(s.phones),
  };
}

/** OneRoster has parent, guardian and relative; a parent's sex (demographics) tells mother from father. */
const CARRIED_RELATIONSHIP: Record<string, string> = {
  PAM: 'PAM',
  STM: 'PAM',
  PAF: 'PAF',
  STF: 'PAF',
  GRM: 'REL',
  GRF: 'REL',
  FAM: 'REL',
  REL: 'REL',
};

function expectedContact(c: ContactRecord): ContactRecord {
  const relationship = CARRIED_RELATIONSHIP[c.links[0]?.relationship ?? ''] ?? 'guardian';
  return {
    misId: c.misId,
    forename: c.forename,
    surname: c.surname,
    emails: oneEmail(c.emails),
    phones: carriedPhones(c.phones),
    links: c.links.map((l) => ({ pupilMisId: l.pupilMisId, relationship })).sort((a, b) => a.pupilMisId.localeCompare(b.pupilMisId)),
  };
}

function sortedGroup(g: GroupRecord): GroupRecord {
  return { ...g, pupilMisIds: [...g.pupilMisIds].sort(), staffMisIds: [...g.staffMisIds].sort() };
}

function expectedGroups(school: ImportBatch, mode: 'bulk' | 'delta'): GroupRecord[] {
  const out = school.groups.filter((g) => g.kind === 'registration' || g.kind === 'class').map((g) => sortedGroup({ ...g, code: g.code ?? null }));
  if (mode === 'bulk') {
    for (const g of school.groups.filter((g) => g.kind === 'year')) {
      out.push(sortedGroup({ misId: `year:${g.code}`, kind: 'year', name: g.name, code: g.code ?? null, pupilMisIds: g.pupilMisIds, staffMisIds: [] }));
    }
  }
  return out.sort((a, b) => a.misId.localeCompare(b.misId));
}

function actualContacts(batch: ImportBatch) {
  return batch.contacts.map((c) => ({ ...c, links: [...c.links].sort((a, b) => a.pupilMisId.localeCompare(b.pupilMisId)) }));
}

describe('OneRoster CSV round trip (fake school → writer → reader)', () => {
  let school: FakeSchool;
  beforeAll(() => {
    school = fakeSchool({ pupils: 120, seed: 7 });
  });

  for (const [version, mode] of [
    ['1.1', 'bulk'],
    ['1.2', 'bulk'],
    ['1.2', 'delta'],
    ['1.1', 'delta'],
  ] as const) {
    it(`${version} ${mode}: gives back every field OneRoster carries`, async () => {
      const file = tmp();
      await writeOneRosterCsv(school, file, { version, mode });
      const batch = await readOneRosterCsv(file);

      expect(batch.errors).toEqual([]);
      expect(batch.mode).toBe(mode === 'bulk' ? 'full' : 'delta');
      expect(batch.school).toEqual({ name: school.school.name, urn: school.school.urn });
      expect(batch.pupils).toEqual(school.pupils.map((p) => expectedPupil(p, version, mode)));
      expect(batch.staff).toEqual(school.staff.map((s) => expectedStaff(s, version)));
      expect(actualContacts(batch)).toEqual(school.contacts.map(expectedContact));
      expect(batch.groups.map(sortedGroup).sort((a, b) => a.misId.localeCompare(b.misId))).toEqual(expectedGroups(school, mode));
      expect(batch.attendance).toEqual([]);
      expect(batch.removed).toEqual([]);
      // Only the relationships OneRoster cannot say (guardian-like contacts) are reported.
      for (const w of batch.warnings) expect(w.message).toMatch(/parent or guardian without a sex|kept as given/);
    });
  }

  it('the fake school exercises what the round trip claims (mothers, fathers, step-parents, grandparents, others, two phones, preferred names)', () => {
    const rels = new Set(school.contacts.flatMap((c) => c.links.map((l) => l.relationship)));
    for (const r of ['PAM', 'PAF']) expect(rels).toContain(r);
    expect([...rels].some((r) => r === 'GRM' || r === 'GRF')).toBe(true);
    expect([...rels].some((r) => CARRIED_RELATIONSHIP[r!] === undefined)).toBe(true);
    expect(school.pupils.some((p) => p.preferredForename)).toBe(true);
    expect(school.contacts.some((c) => (c.phones ?? []).length >= 2)).toBe(true);
  });

  for (const version of ['1.1', '1.2'] as const) {
    it(`${version} delta: tobedeleted users and classes come back as removed, active rows as upserts`, async () => {
      const changed = { ...school.pupils[0]!, legalSurname: 'Changed-Surname' };
      const delta: ImportBatch = {
        mode: 'delta',
        school: school.school,
        pupils: [changed],
        contacts: [],
        staff: [],
        groups: [],
        attendance: [],
        removed: [
          { entity: 'pupils', misId: school.pupils[1]!.misId },
          { entity: 'staff', misId: school.staff[0]!.misId },
          { entity: 'contacts', misId: school.contacts[2]!.misId },
          { entity: 'groups', misId: school.groups.find((g) => g.kind === 'class')!.misId },
        ],
        warnings: [],
        errors: [],
      };
      const file = tmp();
      await writeOneRosterCsv(delta, file, { version, mode: 'delta' });
      const batch = await readOneRosterCsv(file);
      expect(batch.errors).toEqual([]);
      expect(batch.mode).toBe('delta');
      expect(batch.pupils).toEqual([expectedPupil(changed, version, 'delta', false)]);
      expect(batch.staff).toEqual([]);
      expect(batch.contacts).toEqual([]);
      expect(batch.groups).toEqual([]);
      const key = (r: { entity: string; misId: string }) => `${r.entity}/${r.misId}`;
      expect(batch.removed.map(key).sort()).toEqual(delta.removed.map(key).sort());
    });
  }
});

// ------------------------------------------------------------------ a hand-written 1.1 package

const MANIFEST_11 = csv(
  'propertyName,value',
  'manifest.version,1.0',
  'oneroster.version,1.1',
  'file.academicSessions,bulk',
  'file.categories,absent',
  'file.classes,bulk',
  'file.classResources,absent',
  'file.courses,bulk',
  'file.courseResources,absent',
  'file.demographics,bulk',
  'file.enrollments,bulk',
  'file.lineItems,absent',
  'file.orgs,bulk',
  'file.resources,absent',
  'file.results,absent',
  'file.users,bulk',
  'source.systemName,Example MIS',
  'source.systemCode,example',
);

const FILES_11: Record<string, string> = {
  'manifest.csv': MANIFEST_11,
  'orgs.csv': csv(
    'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId',
    'lea-1,,,Example Trust,district,,NULL',
    'sch-1,,,Greenfield Academy,school,140001,lea-1',
  ),
  'academicSessions.csv': csv(
    'sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear',
    'ay-2025,,,2025/26,schoolYear,2025-09-01,2026-08-31,,2026',
  ),
  'courses.csv': csv(
    'sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes',
    'crs-reg,,,ay-2025,Registration,REG,07,sch-1,,',
    'crs-ma7,,,ay-2025,Maths Year 7,MA7,07,sch-1,Maths,',
  ),
  'classes.csv': csv(
    'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
    'cls-7a,,,Form 7A,07,crs-reg,7A,homeroom,Room 4,sch-1,ay-2025,,,',
    'cls-7ma1,,,Year 7 Maths set 1,07,crs-ma7,7Ma1,scheduled,Room 12,sch-1,ay-2025,Maths,,"1,2"',
  ),
  'users.csv': csv(
    'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
    'stu-1,,,true,sch-1,student,asmith,{MIS:1001},Ava,Smith,Rose,T999400126001,ava.smith@example.test,,,par-1,07,',
    'stu-2,,,true,sch-1,student,bjones,,Ben,Jones,,002345,,,,"par-1,par-2",07,',
    'tch-1,,,true,sch-1,teacher,jlee,,Jordan,Lee,,,j.lee@example.test,07700 900001,0117 496 0001,,,',
    'par-1,,,true,sch-1,parent,csmith,,Casey,Smith,,,casey@example.test,07700 900002,,"stu-1,stu-2",,',
    'par-2,,,true,sch-1,guardian,djones,,Dana,Jones,,,,,020 7946 0003,,,',
    'prc-1,,,true,sch-1,proctor,pexam,,Pat,Exam,,,,,,,,',
    'ext-1,,,true,sch-1,ext:volunteer,vol,,Val,Unteer,,,,,,,,',
  ),
  'enrollments.csv': csv(
    'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
    'enr-1,,,cls-7a,sch-1,stu-1,student,,2025-09-01,',
    'enr-2,,,cls-7a,sch-1,stu-2,student,,2025-09-01,',
    'enr-3,,,cls-7a,sch-1,tch-1,teacher,true,,',
    'enr-4,,,cls-7ma1,sch-1,stu-1,student,,,',
    'enr-5,,,cls-7ma1,sch-1,tch-1,teacher,true,,',
  ),
  'demographics.csv': csv(
    'sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus',
    'stu-1,,,2014-03-09,female,false,false,false,false,true,false,false,,,,',
    'stu-2,,,2013-11-30,male,,,,,,,,,,,',
    'par-1,,,,female,,,,,,,,,,,',
  ),
};

/** Every value in the fixtures that is about a person: none may appear in a problem. */
const PERSONAL = ['K999400126001', 'Ava', 'Smith', 'Rose', 'T999400126001', 'ava.smith', 'Ben', 'Jones', '002345', 'Jordan', 'Lee', '07700', '0117', '020 7946', 'Casey', 'Dana', '2014-03-09', '2013-11-30', 'example.test', 'asmith', 'bjones'];

function expectNothingPersonal(batch: ImportBatch): void {
  for (const p of [...batch.errors, ...batch.warnings]) {
    for (const value of PERSONAL) {
      expect(p.location).not.toContain(value);
      expect(p.message).not.toContain(value);
    }
  }
}

describe('a hand-written OneRoster 1.1 package (the binding’s exact headers)', () => {
  it('parses into the model', async () => {
    const batch = await readOneRosterCsv(await zipOf(FILES_11));
    expect(batch.errors).toEqual([]);
    expect(batch).toEqual({
      mode: 'full',
      // users.csv and classes.csv are in the manifest: leavers may be marked among all four.
      covers: ['pupils', 'contacts', 'staff', 'groups'],
      school: { name: 'Greenfield Academy', urn: '140001' },
      pupils: [
        {
          misId: 'stu-1',
          upn: 'T999400126001',
          legalForename: 'Ava',
          legalSurname: 'Smith',
          middleNames: 'Rose',
          dateOfBirth: '2014-03-09',
          gender: 'F',
          emails: [{ address: 'ava.smith@example.test' }],
          phones: [],
          yearGroup: '7',
          registrationGroup: '7A',
        },
        {
          misId: 'stu-2',
          upn: null,
          admissionNumber: '002345',
          legalForename: 'Ben',
          legalSurname: 'Jones',
          middleNames: null,
          dateOfBirth: '2013-11-30',
          gender: 'M',
          emails: [],
          phones: [],
          yearGroup: '7',
          registrationGroup: '7A',
        },
      ],
      staff: [
        {
          misId: 'tch-1',
          forename: 'Jordan',
          surname: 'Lee',
          dateOfBirth: null,
          gender: null,
          emails: [{ address: 'j.lee@example.test' }],
          phones: [{ number: '0117 496 0001' }, { number: '07700 900001', type: 'mobile' }],
        },
        { misId: 'prc-1', forename: 'Pat', surname: 'Exam', dateOfBirth: null, gender: null, emails: [], phones: [] },
      ],
      contacts: [
        {
          misId: 'par-1',
          forename: 'Casey',
          surname: 'Smith',
          emails: [{ address: 'casey@example.test' }],
          phones: [{ number: '07700 900002', type: 'mobile' }],
          links: [
            { pupilMisId: 'stu-1', relationship: 'PAM' },
            { pupilMisId: 'stu-2', relationship: 'PAM' },
          ],
        },
        {
          misId: 'par-2',
          forename: 'Dana',
          surname: 'Jones',
          emails: [],
          phones: [{ number: '020 7946 0003' }],
          links: [{ pupilMisId: 'stu-2', relationship: 'guardian' }],
        },
      ],
      groups: [
        { misId: 'cls-7a', kind: 'registration', name: 'Form 7A', code: '7A', pupilMisIds: ['stu-1', 'stu-2'], staffMisIds: ['tch-1'] },
        { misId: 'cls-7ma1', kind: 'class', name: 'Year 7 Maths set 1', code: '7Ma1', pupilMisIds: ['stu-1'], staffMisIds: ['tch-1'] },
        { misId: 'year:7', kind: 'year', name: 'Year 7', code: '7', pupilMisIds: ['stu-1', 'stu-2'], staffMisIds: [] },
      ],
      attendance: [],
      removed: [],
      warnings: [
        { location: 'users.csv line 8 (column role)', message: 'is not a role this import reads; row skipped' },
        {
          location: 'demographics.csv',
          message: expect.stringMatching(/race and ethnicity flags .* do not map to CBDS ethnicity codes: ethnicity is left unset/),
        },
        { location: 'users.csv', message: expect.stringMatching(/^1 contacts are a OneRoster parent or guardian/) },
      ],
      errors: [],
    });
    expectNothingPersonal(batch);
  });

  it('reads files under a folder in the zip, with a BOM and LF line ends', async () => {
    const files = Object.fromEntries(Object.entries(FILES_11).map(([name, text]) => [`export/${name}`, '\uFEFF' + text.replace(/\r\n/g, '\n')]));
    const batch = await readOneRosterCsv(await zipOf(files));
    expect(batch.errors).toEqual([]);
    expect(batch.pupils.map((p) => p.misId)).toEqual(['stu-1', 'stu-2']);
  });

  it('ignores files the manifest declares absent, even when they are in the zip', async () => {
    const manifest = FILES_11['manifest.csv']!.replace('file.demographics,bulk', 'file.demographics,absent');
    const batch = await readOneRosterCsv(await zipOf({ ...FILES_11, 'manifest.csv': manifest, 'demographics.csv': 'this is not read' }));
    expect(batch.errors).toEqual([]);
    expect(batch.pupils[0]).not.toHaveProperty('dateOfBirth');
    expect(batch.warnings).toContainEqual({ location: 'demographics.csv', message: 'is in the zip but manifest.csv declares it absent: not read' });
  });
});

describe('a hand-written OneRoster 1.2 package', () => {
  const files: Record<string, string> = {
    'manifest.csv': csv(
      'propertyName,value',
      'manifest.version,1.0',
      'oneroster.version,1.2',
      'file.academicSessions,absent',
      'file.classes,bulk',
      'file.courses,absent',
      'file.demographics,bulk',
      'file.enrollments,bulk',
      'file.orgs,bulk',
      'file.roles,bulk',
      'file.userProfiles,absent',
      'file.users,bulk',
    ),
    'orgs.csv': csv('sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId', 'sch-1,,,Hillside Primary,school,9992001,'),
    'users.csv': csv(
      'sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns',
      'u1,,,true,u1,,Alexander,Brown,,A1234,,,,u3,KG,,T999400126001,Alex,,,sch-1,',
      'u2,,,true,u2,,Sam,Green,,,,,,,,,,,,,sch-1,',
      'u3,,,true,u3,,Chris,Brown,,,c.brown@example.test,,,,,,,,,,sch-1,',
      'u4,,,true,u4,,Robin,Grey,,,,,,u1,,,,,,,sch-1,',
    ),
    'roles.csv': csv(
      'sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId',
      'r1,,,u1,primary,student,2024-09-01,,sch-1,',
      'r2,,,u2,primary,teacher,,,sch-1,',
      'r3,,,u3,primary,parent,,,sch-1,',
      'r4,,,u2,secondary,parent,,,sch-1,',
      'r5,,,u4,primary,relative,,,sch-1,',
    ),
    'demographics.csv': csv(
      'sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus',
      'u1,,,2020-01-15,other,,,,,,,,,,,',
      'u2,,,1985-06-01,unspecified,,,,,,,,,,,',
      'u3,,,,male,,,,,,,,,,,',
    ),
    'classes.csv': csv(
      'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
      'c1,,,Reception Owls,KG,crs,,homeroom,,sch-1,t1,,,',
    ),
    'enrollments.csv': csv(
      'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
      'e1,,,c1,sch-1,u1,student,,,',
      'e2,,,c1,sch-1,u2,teacher,true,,',
    ),
  };

  it('takes roles from roles.csv (a teacher who is also a parent is both), preferred names and the UPN from userMasterIdentifier', async () => {
    const batch = await readOneRosterCsv(await zipOf(files));
    expect(batch.errors).toEqual([]);
    expect(batch.school).toEqual({ name: 'Hillside Primary', laEstab: '9992001' });
    expect(batch.pupils).toEqual([
      {
        misId: 'u1',
        upn: 'T999400126001',
        admissionNumber: 'A1234',
        legalForename: 'Alexander',
        legalSurname: 'Brown',
        middleNames: null,
        preferredForename: 'Alex',
        preferredSurname: null,
        dateOfBirth: '2020-01-15',
        gender: 'X',
        emails: [],
        phones: [],
        yearGroup: 'R',
        registrationGroup: 'Reception Owls',
      },
    ]);
    expect(batch.staff).toEqual([{ misId: 'u2', forename: 'Sam', surname: 'Green', dateOfBirth: '1985-06-01', gender: 'U', emails: [], phones: [] }]);
    expect(batch.contacts).toEqual([
      { misId: 'u2', forename: 'Sam', surname: 'Green', emails: [], phones: [], links: [] },
      { misId: 'u3', forename: 'Chris', surname: 'Brown', emails: [{ address: 'c.brown@example.test' }], phones: [], links: [{ pupilMisId: 'u1', relationship: 'PAF' }] },
      { misId: 'u4', forename: 'Robin', surname: 'Grey', emails: [], phones: [], links: [{ pupilMisId: 'u1', relationship: 'REL' }] },
    ]);
    expect(batch.groups).toEqual([
      { misId: 'c1', kind: 'registration', name: 'Reception Owls', code: null, pupilMisIds: ['u1'], staffMisIds: ['u2'] },
      { misId: 'year:R', kind: 'year', name: 'Reception', code: 'R', pupilMisIds: ['u1'], staffMisIds: [] },
    ]);
  });

  it('needs roles.csv, or a role column, to tell pupils from staff', async () => {
    const manifest = files['manifest.csv']!.replace('file.roles,bulk', 'file.roles,absent');
    const batch = await readOneRosterCsv(await zipOf({ ...files, 'manifest.csv': manifest }));
    expect(batch.errors).toContainEqual({
      location: 'users.csv line 1 (column role)',
      message: 'roles.csv is absent and users.csv has no role column: pupils cannot be told from staff',
    });
  });
});

// ------------------------------------------------------------------ each kind of problem

function withFile(name: string, text: string): Record<string, string> {
  return { ...FILES_11, [name]: text };
}

describe('problems: where and why, never a personal value', () => {
  async function read(files: Record<string, string | Buffer>) {
    const batch = await readOneRosterCsv(await zipOf(files));
    expectNothingPersonal(batch);
    return batch;
  }

  it('not a zip → an error naming the file', async () => {
    const file = tmp('roster-upload.zip');
    fs.writeFileSync(file, 'sourcedId,givenName\nstu-1,Ava\n');
    const batch = await readOneRosterCsv(file);
    expect(batch.errors).toEqual([{ location: path.basename(file), message: 'is not a zip file (or the zip is damaged)' }]);
    expect(batch.pupils).toEqual([]);
  });

  it('a missing file → an error naming it', async () => {
    const batch = await readOneRosterCsv(path.join(dir, 'nowhere.zip'));
    expect(batch.errors).toEqual([{ location: 'nowhere.zip', message: 'was not found' }]);
  });

  it('no manifest.csv → an error naming the zip', async () => {
    const { 'manifest.csv': _, ...rest } = FILES_11;
    const file = await zipOf(rest);
    const batch = await readOneRosterCsv(file);
    expect(batch.errors).toEqual([{ location: path.basename(file), message: 'has no manifest.csv: it is not a OneRoster CSV package' }]);
  });

  it('a file the manifest declares but the zip lacks', async () => {
    const { 'enrollments.csv': _, ...rest } = FILES_11;
    const batch = await read(rest);
    expect(batch.errors).toEqual([{ location: 'enrollments.csv', message: 'manifest.csv declares it bulk but it is not in the zip' }]);
  });

  it('an unsupported OneRoster version, or a bad file mode', async () => {
    let batch = await read(withFile('manifest.csv', MANIFEST_11.replace('oneroster.version,1.1', 'oneroster.version,1.0')));
    expect(batch.errors).toEqual([{ location: 'manifest.csv line 3 (column value)', message: 'oneroster.version must be 1.1 or 1.2' }]);
    batch = await read(withFile('manifest.csv', MANIFEST_11.replace('file.users,bulk', 'file.users,full')));
    expect(batch.errors).toEqual([{ location: 'manifest.csv line 16 (column value)', message: 'file.users must be bulk, delta or absent' }]);
    batch = await read(withFile('manifest.csv', MANIFEST_11.replace('file.users,bulk', 'file.users,absent')));
    expect(batch.errors).toEqual([{ location: 'manifest.csv', message: 'file.users is absent: a bulk (full) import needs users.csv' }]);
  });

  it('a missing required column → an error naming file and column', async () => {
    const users = FILES_11['users.csv']!.replace(',givenName,', ',firstName,');
    const batch = await read(withFile('users.csv', users));
    expect(batch.errors).toEqual([{ location: 'users.csv line 1 (column givenName)', message: 'required column is missing from the header row' }]);
  });

  it('an unknown role → a warning, the row skipped', async () => {
    const batch = await read(FILES_11);
    expect(batch.warnings).toContainEqual({ location: 'users.csv line 8 (column role)', message: 'is not a role this import reads; row skipped' });
    expect([...batch.pupils, ...batch.staff, ...batch.contacts].map((r) => r.misId)).not.toContain('ext-1');
  });

  it('references to unknown sourcedIds → errors (enrollment to a missing class or user, agent to a missing user)', async () => {
    const enrollments = FILES_11['enrollments.csv']! + csv('enr-6,,,cls-missing,sch-1,stu-1,student,,,', 'enr-7,,,cls-7a,sch-1,stu-missing,student,,,');
    const users = FILES_11['users.csv']!.replace('"par-1,par-2"', '"par-1,par-9"');
    const batch = await read({ ...FILES_11, 'enrollments.csv': enrollments, 'users.csv': users });
    expect(batch.errors).toEqual([
      { location: 'enrollments.csv line 7 (column classSourcedId)', message: 'refers to a class not in classes.csv' },
      { location: 'enrollments.csv line 8 (column userSourcedId)', message: 'refers to a user not in users.csv' },
      { location: 'users.csv line 3 (column agentSourcedIds)', message: 'refers to a user not in users.csv' },
    ]);
  });

  it('a demographics row for an unknown user → an error', async () => {
    const demographics = FILES_11['demographics.csv']! + csv('stu-9,,,2014-01-01,male,,,,,,,,,,,');
    const batch = await read(withFile('demographics.csv', demographics));
    expect(batch.errors).toEqual([{ location: 'demographics.csv line 5 (column sourcedId)', message: 'refers to a user not in users.csv' }]);
  });

  it('a duplicate sourcedId → an error pointing at both lines', async () => {
    const users = FILES_11['users.csv']! + csv('stu-1,,,true,sch-1,student,x,,Ava,Smith,,,,,,,07,');
    const batch = await read(withFile('users.csv', users));
    expect(batch.errors).toEqual([{ location: 'users.csv line 9 (column sourcedId)', message: 'repeats the sourcedId of line 2' }]);
  });

  it('a bad date → an error', async () => {
    const demographics = FILES_11['demographics.csv']!.replace('2014-03-09', '09/03/2014').replace('2013-11-30', '2013-02-30');
    const batch = await read(withFile('demographics.csv', demographics));
    expect(batch.errors).toEqual([
      { location: 'demographics.csv line 2 (column birthDate)', message: 'is not a date (YYYY-MM-DD)' },
      { location: 'demographics.csv line 3 (column birthDate)', message: 'is not a date (YYYY-MM-DD)' },
    ]);
  });

  it('a blank required value, a wrong field count, an unknown sex and grade', async () => {
    const users = FILES_11['users.csv']!.replace('Ben,Jones', ',Jones').replace('"par-1,par-2",07', '"par-1,par-2",P9') + 'short,row\r\n';
    const demographics = FILES_11['demographics.csv']!.replace('2013-11-30,male', '2013-11-30,M');
    const batch = await read({ ...FILES_11, 'users.csv': users, 'demographics.csv': demographics });
    expect(batch.errors).toEqual([
      { location: 'users.csv line 3 (column givenName)', message: 'is blank; a value is required' },
      { location: 'users.csv line 9', message: 'has 2 fields; the header row has 18' },
    ]);
    expect(batch.warnings).toContainEqual({
      location: 'users.csv line 3 (column grades)',
      message: 'is not a CEDS grade level with a National Curriculum year; kept as given',
    });
    expect(batch.warnings).toContainEqual({
      location: 'demographics.csv line 3 (column sex)',
      message: 'is not male, female, other or unspecified; gender left unset',
    });
  });

  it('a UPN with a wrong check letter → a warning, kept as given', async () => {
    const batch = await read(withFile('users.csv', FILES_11['users.csv']!.replace('T999400126001', 'K999400126001')));
    expect(batch.errors).toEqual([]);
    expect(batch.warnings).toContainEqual({ location: 'users.csv line 2 (column identifier)', message: 'is a UPN whose check letter does not match; kept as given' });
    expect(batch.pupils[0]!.upn).toBe('K999400126001');
  });

  it('broken CSV quoting and bytes that are not UTF-8', async () => {
    let batch = await read(withFile('classes.csv', FILES_11['classes.csv']! + 'cls-x,,,"Unclosed title,07,crs-reg,7X,homeroom,,sch-1,ay-2025,,,\r\n'));
    expect(batch.errors).toEqual([{ location: 'classes.csv line 4', message: 'a quoted field is never closed' }]);
    const latin1 = Buffer.from(FILES_11['users.csv']!.replace('Ava', 'Zo\u00eb'), 'latin1');
    batch = await read({ ...FILES_11, 'users.csv': latin1 });
    expect(batch.errors[0]).toEqual({
      location: 'users.csv',
      message: 'is not valid UTF-8 text (a file saved by Excel as "CSV" is usually windows-1252: set that encoding)',
    });
  });

  it('a delta row without a status → an error; tobedeleted rows in a bulk file are simply left out', async () => {
    const manifest = MANIFEST_11.replace('file.users,bulk', 'file.users,delta');
    const deltaUsers = csv(
      'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
      'stu-1,,2025-10-01T09:00:00Z,true,sch-1,student,a,,Ava,Smith,,,,,,,07,',
      'stu-2,active,2025-10-01,true,sch-1,student,b,,Ben,Jones,,,,,,,07,',
      'stu-3,tobedeleted,yesterday,,,student,,,,,,,,,,,,',
    );
    let batch = await read({ ...FILES_11, 'manifest.csv': manifest, 'users.csv': deltaUsers });
    expect(batch.errors).toEqual([
      { location: 'users.csv line 2 (column status)', message: 'is blank; a delta file needs active or tobedeleted' },
      { location: 'users.csv line 4 (column dateLastModified)', message: 'is not an ISO 8601 date-time' },
    ]);
    const bulkUsers = FILES_11['users.csv']!.replace('stu-2,,,', 'stu-2,tobedeleted,2025-10-01,');
    batch = await read({ ...withFile('users.csv', bulkUsers), 'enrollments.csv': csv('sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate') });
    expect(batch.errors).toEqual([]);
    expect(batch.pupils.map((p) => p.misId)).toEqual(['stu-1']);
    expect(batch.removed).toEqual([]);
  });

  it('a 1.2 delta: a user without a roles row is skipped with a warning; a deleted user without one is removed as every kind of person', async () => {
    const files = {
      'manifest.csv': csv('propertyName,value', 'manifest.version,1.0', 'oneroster.version,1.2', 'file.users,delta', 'file.roles,delta'),
      'users.csv': csv(
        'sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns',
        'u1,active,2025-10-01T08:00:00Z,true,u1,,Ava,Smith,,,,,,,,,,,,,,',
        'u2,tobedeleted,2025-10-01T08:00:00Z,,,,,,,,,,,,,,,,,,,',
        'u3,active,2025-10-01T08:00:00Z,true,u3,,Ben,Jones,,,,,,stu-elsewhere,,,,,,,,',
      ),
      'roles.csv': csv('sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId', 'r3,active,2025-10-01T08:00:00Z,u3,primary,guardian,,,sch-1,'),
    };
    const batch = await read(files);
    expect(batch.errors).toEqual([]);
    expect(batch.pupils).toEqual([]);
    // A guardian in a delta may list pupils the delta does not carry.
    expect(batch.contacts).toEqual([{ misId: 'u3', forename: 'Ben', surname: 'Jones', emails: [], phones: [], links: [{ pupilMisId: 'stu-elsewhere', relationship: 'guardian' }] }]);
    expect(batch.removed).toEqual([
      { entity: 'pupils', misId: 'u2' },
      { entity: 'staff', misId: 'u2' },
      { entity: 'contacts', misId: 'u2' },
    ]);
    expect(batch.warnings).toContainEqual({ location: 'users.csv line 2', message: 'this user has no role in roles.csv; row skipped' });
    expect(batch.warnings).toContainEqual({ location: 'users.csv', message: '1 users to be deleted have no role this import reads; each is removed as a pupil, staff member and contact' });
  });

  it('a full import without classes.csv says that it lists no groups', async () => {
    const manifest = MANIFEST_11.replace('file.classes,bulk', 'file.classes,absent').replace('file.enrollments,bulk', 'file.enrollments,absent');
    const batch = await read({ ...FILES_11, 'manifest.csv': manifest });
    expect(batch.errors).toEqual([]);
    expect(batch.groups.map((g) => g.kind)).toEqual(['year']);
    expect(batch.pupils[0]).not.toHaveProperty('registrationGroup');
    expect(batch.warnings).toContainEqual({ location: 'manifest.csv', message: 'file.classes is absent: this full import lists no registration groups or classes' });
  });

  it('lists at most 100 problems of a kind per file, then counts the rest', async () => {
    const rows = Array.from({ length: 150 }, (_, i) => `e${i},,,cls-missing,sch-1,stu-1,student,,,`);
    const batch = await read(withFile('enrollments.csv', csv('sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate', ...rows)));
    expect(batch.errors).toHaveLength(101);
    expect(batch.errors[100]).toEqual({ location: 'enrollments.csv', message: '50 more errors in this file are not listed' });
  });
});

// ------------------------------------------------------------------ streaming

function gc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** JS heap plus Buffer memory: a reader that buffered raw bytes would show in the second. */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Peak growth of `used()` over its value before `work`, sampled every 5 ms, with a full collection
 * every 100 ms so that the figure is memory still held, not garbage the collector has not reached
 * yet (Buffers that streamed past are freed lazily).
 */
async function peakHeapGrowth(work: () => Promise<unknown>): Promise<{ peak: number; result: unknown }> {
  const collect = gc();
  collect();
  const base = used();
  let peak = base;
  let ticks = 0;
  const timer = setInterval(() => {
    if (++ticks % 20 === 0) collect();
    peak = Math.max(peak, used());
  }, 5);
  const result = await work();
  clearInterval(timer);
  peak = Math.max(peak, used());
  return { peak: peak - base, result };
}

describe('streaming', () => {
  it('a 2,000-pupil zip parses with heap growth bounded by the records, not the file', async () => {
    const school = fakeSchool({ pupils: 2000, seed: 11 });
    const plain = tmp('plain.zip');
    await writeOneRosterCsv(school, plain, { version: '1.2', mode: 'bulk' });
    // The same package with ~50 KB of padding in every users.csv row (the password column, which the
    // reader ignores): users.csv grows to ~290 MB while the records stay the same. A reader that
    // buffered a file would need more than that; a streaming one needs what the records need.
    const pad = 'x'.repeat(50_000);
    const paddedWithPassword = tmp('padded.zip');
    await rewriteUsersWithPadding(plain, paddedWithPassword, pad);

    const a = await peakHeapGrowth(() => readOneRosterCsv(plain));
    const b = await peakHeapGrowth(() => readOneRosterCsv(paddedWithPassword));
    const plainBatch = a.result as ImportBatch;
    const paddedBatch = b.result as ImportBatch;
    expect(plainBatch.errors).toEqual([]);
    expect(paddedBatch.errors).toEqual([]);
    expect(paddedBatch.pupils).toHaveLength(2000);
    expect(paddedBatch.pupils).toEqual(plainBatch.pupils);
    const usersCsvBytes = (school.pupils.length + school.staff.length + school.contacts.length) * pad.length;
    const mb = (x: number) => Math.round(x / 1_048_576);
    console.log(`OneRoster 1.2 zip, 2,000 pupils: peak heap + buffer growth ${mb(a.peak)} MB plain, ${mb(b.peak)} MB with ${mb(usersCsvBytes)} MB of users.csv padding`);
    expect(b.peak).toBeLessThan(usersCsvBytes / 4);
    expect(b.peak).toBeLessThan(a.peak + 32 * 1_048_576);
  }, 180_000);
});

/** Copies a zip, adding `pad` as every users.csv row's password (streamed through yauzl/yazl). */
async function rewriteUsersWithPadding(from: string, to: string, pad: string): Promise<void> {
  const yauzl = await import('yauzl');
  const { parse } = await import('csv-parse');
  const { Readable } = await import('node:stream');
  const zipIn = await yauzl.openPromise(from, { lazyEntries: true });
  const zipOut = new yazl.ZipFile();
  for await (const entry of zipIn.eachEntry()) {
    const stream = await zipIn.openReadStreamPromise(entry);
    if (entry.fileName !== 'users.csv') {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      zipOut.addBuffer(Buffer.concat(chunks), entry.fileName);
      continue;
    }
    const rows: string[][] = [];
    for await (const r of stream.pipe(parse())) rows.push(r as string[]);
    const header = rows[0]!;
    const pw = header.indexOf('password');
    const lines = function* () {
      yield header.join(',') + '\r\n';
      for (const r of rows.slice(1)) {
        r[pw] = pad;
        yield r.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',') + '\r\n';
      }
    };
    zipOut.addReadStream(Readable.from(lines(), { objectMode: false }), 'users.csv');
  }
  zipOut.end();
  await new Promise<void>((resolve, reject) => {
    zipOut.outputStream.pipe(fs.createWriteStream(to)).on('close', resolve).on('error', reject);
  });
}
