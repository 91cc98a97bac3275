import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportBatch } from '../model.ts';
import { csvMappingSchema, readMappedCsv } from './mapped-csv.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapped-csv-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** windows-1252 bytes: Latin-1 for U+00A0–U+00FF, plus the 0x80–0x9F punctuation Excel uses. */
function cp1252(text: string): Buffer {
  const extra: Record<string, number> = { '\u2019': 0x92, '\u2018': 0x91, '\u201c': 0x93, '\u201d': 0x94, '\u20ac': 0x80, '\u2013': 0x96 };
  return Buffer.from([...text].map((ch) => extra[ch] ?? ch.charCodeAt(0)));
}

const PUPIL_MAPPING = {
  entity: 'pupils',
  columns: {
    misId: 'Adno',
    legalForename: 'Legal Forename',
    legalSurname: 'Legal Surname',
    preferredForename: 'Preferred Forename',
    dateOfBirth: 'DOB',
    gender: 'Gender',
    upn: 'UPN',
    ethnicity: 'Ethnicity',
    yearGroup: 'Year',
    registrationGroup: 'Reg',
    addressLine1: 'Address 1',
    addressLine2: 'Address 2',
    town: 'Town',
    postcode: 'Postcode',
    fsmEligible: 'FSM',
    email: 'Email',
    homePhone: 'Home Phone',
  },
  dateFormat: 'DD/MM/YYYY',
  delimiter: ';',
  encoding: 'windows-1252',
} as const;

const PERSONAL = ['Zoë', 'Zo', "O’Brien", 'Brien', 'Siân', 'Ffion', 'Ramírez', 'Jo', '14/03/2013', '2013-03-14', 'K999400126001', 'zoe@example.test', '020 7946', 'ZZ99', 'Flat 2', 'High Street'];

function expectNothingPersonal(batch: ImportBatch): void {
  for (const p of [...batch.errors, ...batch.warnings]) {
    for (const v of PERSONAL) {
      expect(p.location).not.toContain(v);
      expect(p.message).not.toContain(v);
    }
  }
}

describe('readMappedCsv: an MIS report export through a saved mapping', () => {
  it('DD/MM/YYYY dates, ";" delimiter, windows-1252 names and a quoted field with a newline', async () => {
    const text = [
      'Adno;Legal Forename;Legal Surname;Preferred Forename;DOB;Gender;UPN;Ethnicity;Year;Reg;Address 1;Address 2;Town;Postcode;FSM;Email;Home Phone;Unused',
      '001;Zoë;O’Brien;;14/03/2013;F;T999400126001;WBRI;Year 7;7A;"Flat 2\r\nThe Old Mill";High Street;Testville;zz99 1ab;Y;zoe@example.test;020 7946 0001;x',
      '002;Siân;Ramírez;Jo;1/9/2012;Male;;ZZZZ;R;RA;;;;;no;;;y',
    ].join('\r\n');
    const batch = await readMappedCsv(write('pupils.csv', cp1252(text)), PUPIL_MAPPING);
    expect(batch.errors).toEqual([]);
    expect(batch.mode).toBe('full');
    expect(batch.pupils).toEqual([
      {
        misId: '001',
        upn: 'T999400126001',
        legalForename: 'Zoë',
        legalSurname: 'O’Brien',
        preferredForename: null,
        dateOfBirth: '2013-03-14',
        gender: 'F',
        ethnicity: 'WBRI',
        address: { lines: ['Flat 2\r\nThe Old Mill', 'High Street'], town: 'Testville', postcode: 'ZZ99 1AB' },
        emails: [{ address: 'zoe@example.test' }],
        phones: [{ number: '020 7946 0001', type: 'home' }],
        fsmEligible: true,
        yearGroup: '7',
        registrationGroup: '7A',
      },
      {
        misId: '002',
        upn: null,
        legalForename: 'Siân',
        legalSurname: 'Ramírez',
        preferredForename: 'Jo',
        dateOfBirth: '2012-09-01',
        gender: 'M',
        ethnicity: 'ZZZZ',
        address: null,
        emails: [],
        phones: [],
        fsmEligible: false,
        yearGroup: 'R',
        registrationGroup: 'RA',
      },
    ]);
    expect(batch.warnings).toEqual([{ location: 'pupils.csv line 4 (column Ethnicity)', message: 'is not a CBDS ethnicity code; kept as given' }]);
    expect([batch.contacts, batch.staff, batch.groups, batch.attendance, batch.removed]).toEqual([[], [], [], [], []]);
    expectNothingPersonal(batch);
  });

  it('a UTF-8 BOM wins over a declared windows-1252; without a BOM, non-UTF-8 bytes are an error that names the fix', async () => {
    const text = 'Adno,Forename,Surname\n001,Zoë,Brown\n';
    const mapping = { entity: 'pupils', columns: { misId: 'Adno', legalForename: 'Forename', legalSurname: 'Surname' } };
    let batch = await readMappedCsv(write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])), { ...mapping, encoding: 'windows-1252' });
    expect(batch.errors).toEqual([]);
    expect(batch.pupils.map((p) => p.legalForename)).toEqual(['Zoë']);

    batch = await readMappedCsv(write('bom-utf8.csv', '\uFEFF' + text), mapping);
    expect(batch.errors).toEqual([]);
    expect(batch.pupils[0]!.misId).toBe('001');

    batch = await readMappedCsv(write('excel.csv', cp1252(text)), mapping);
    expect(batch.errors).toEqual([
      { location: 'excel.csv', message: 'is not valid UTF-8 text (a file saved by Excel as "CSV" is usually windows-1252: set that encoding)' },
    ]);
    expectNothingPersonal(batch);
  });

  it('contacts: one row per contact–pupil pair, merged per contact, with relationship, priority and parental responsibility', async () => {
    const text = [
      'Contact ID\tPupil ID\tTitle\tForename\tSurname\tRelationship\tPriority\tPR\tMobile\tEmail',
      'C1\tP1\tMrs\tAnna\tSmith\tMother\t1\tYes\t07700 900001\tanna@example.test',
      'C1\tP2\tMrs\tAnna\tSmith\tPAM\t1\tYes\t07700 900001\tanna@example.test',
      'C2\tP1\tMr\tBob\tSmith\tStep-father\t2\tNo\t\t',
      'C3\tP2\t\tCara\tJones\tNeighbour\t\t\t\t',
    ].join('\n');
    const batch = await readMappedCsv(write('contacts.txt', text), {
      entity: 'contacts',
      delimiter: '\t',
      columns: {
        misId: 'Contact ID',
        pupilMisId: 'Pupil ID',
        title: 'Title',
        forename: 'Forename',
        surname: 'Surname',
        relationship: 'Relationship',
        priority: 'Priority',
        parentalResponsibility: 'PR',
        mobilePhone: 'Mobile',
        email: 'Email',
      },
    });
    expect(batch.errors).toEqual([]);
    expect(batch.contacts).toEqual([
      {
        misId: 'C1',
        title: 'Mrs',
        forename: 'Anna',
        surname: 'Smith',
        emails: [{ address: 'anna@example.test' }],
        phones: [{ number: '07700 900001', type: 'mobile' }],
        links: [
          { pupilMisId: 'P1', relationship: 'PAM', priority: 1, parentalResponsibility: true },
          { pupilMisId: 'P2', relationship: 'PAM', priority: 1, parentalResponsibility: true },
        ],
      },
      {
        misId: 'C2',
        title: 'Mr',
        forename: 'Bob',
        surname: 'Smith',
        emails: [],
        phones: [],
        links: [{ pupilMisId: 'P1', relationship: 'STF', priority: 2, parentalResponsibility: false }],
      },
      {
        misId: 'C3',
        title: null,
        forename: 'Cara',
        surname: 'Jones',
        emails: [],
        phones: [],
        links: [{ pupilMisId: 'P2', relationship: 'Neighbour', priority: null, parentalResponsibility: null }],
      },
    ]);
    expect(batch.warnings).toEqual([{ location: 'contacts.txt line 5 (column Relationship)', message: 'is not a CBDS relationship code; kept as given' }]);
    expect(batch.pupils).toEqual([]);
  });

  it('staff, with ISO dates by default', async () => {
    const text = 'Staff Code,First,Last,Title,Born,Sex,Role,Work Email\nS1,Ada,Lovelace,Dr,1985-12-10,F,Teacher of Computing,a.l@example.test\n';
    const batch = await readMappedCsv(write('staff.csv', text), {
      entity: 'staff',
      columns: { misId: 'Staff Code', forename: 'First', surname: 'Last', title: 'Title', dateOfBirth: 'Born', gender: 'Sex', jobTitle: 'Role', email: 'Work Email' },
    });
    expect(batch.errors).toEqual([]);
    expect(batch.staff).toEqual([
      { misId: 'S1', title: 'Dr', forename: 'Ada', surname: 'Lovelace', dateOfBirth: '1985-12-10', gender: 'F', jobTitle: 'Teacher of Computing', emails: [{ address: 'a.l@example.test' }] },
    ]);
  });
});

describe('readMappedCsv: problems', () => {
  const csvText = 'Adno;Legal Forename;Legal Surname;Preferred Forename;DOB;Gender;UPN;Ethnicity;Year;Reg;Address 1;Address 2;Town;Postcode;FSM;Email;Home Phone\n';

  it('a bad mapping → errors located in the mapping, and the file is not read', async () => {
    const file = write('never-read.csv', 'not,even,looked,at\n');
    const bad = {
      entity: 'pupils',
      columns: { legalForename: 'Forename', legalSurname: '', dateOfBirth: 42, favouriteColour: 'Colour' },
      dateFormat: 'D/M/Y',
      delimiter: '|',
      sheet: 'Sheet1',
    };
    const batch = await readMappedCsv(file, bad);
    expect(batch.pupils).toEqual([]);
    expect(batch.errors).toEqual(
      expect.arrayContaining([
        { location: 'mapping: columns.misId', message: 'this field must be mapped to a column' },
        { location: 'mapping: columns.legalSurname', message: 'must be a column header name' },
        { location: 'mapping: columns.dateOfBirth', message: 'must be a column header name' },
        { location: 'mapping: columns.favouriteColour', message: 'is not a field this entity has' },
        { location: 'mapping: dateFormat', message: expect.any(String) },
        { location: 'mapping: delimiter', message: expect.any(String) },
        { location: 'mapping: sheet', message: 'is not a mapping setting' },
      ]),
    );
    expect(batch.errors).toHaveLength(7);
    for (const e of batch.errors) expect(e.location).toMatch(/^mapping: /);

    expect((await readMappedCsv(file, { entity: 'parents', columns: {} })).errors).toEqual([{ location: 'mapping: entity', message: "must be 'pupils', 'contacts' or 'staff'" }]);
    expect((await readMappedCsv(file, null)).errors).toEqual([{ location: 'mapping', message: 'must be an object with entity and columns' }]);
    expect((await readMappedCsv(file, { entity: 'staff', columns: 'Staff Code' })).errors).toEqual([
      { location: 'mapping: columns', message: 'must be an object of field → column header' },
    ]);
    // A contact mapping must say which pupil each row is for.
    expect((await readMappedCsv(file, { entity: 'contacts', columns: { misId: 'a', forename: 'b', surname: 'c' } })).errors).toEqual([
      { location: 'mapping: columns.pupilMisId', message: 'this field must be mapped to a column' },
    ]);
  });

  it('the schema is exported for the UI and the API', () => {
    expect(csvMappingSchema.safeParse(PUPIL_MAPPING).success).toBe(true);
  });

  it('a mapped header the file lacks → an error naming it', async () => {
    const batch = await readMappedCsv(write('missing.csv', cp1252(csvText.replace(';DOB;', ';Date of Birth;'))), PUPIL_MAPPING);
    expect(batch.errors).toEqual([{ location: 'missing.csv line 1 (column DOB)', message: "is not in the header row (the mapping's dateOfBirth column)" }]);
  });

  it('per-row problems: file, line and the file’s own header; nothing personal', async () => {
    const rows = [
      '001;Zoë;O’Brien;;31/02/2013;F;;WBRI;7;7A;;;;;maybe;;',
      '002;;Ramírez;;14/03/2013;F;;WBRI;7;7A;;;;;;;',
      '003;Siân;Ffion;;14/03/2013;F;K999400126001;WBRI;7;7A;;;;;;;',
      '001;Zoë;O’Brien;;14/03/2013;F;;WBRI;7;7A;;;;;;;',
      '004;Jo;Brien;;14/03/2013',
      '"005;Jo;Brien',
    ];
    const batch = await readMappedCsv(write('rows.csv', cp1252(csvText + rows.join('\n') + '\n')), PUPIL_MAPPING);
    expect(batch.errors).toEqual([
      { location: 'rows.csv line 2 (column DOB)', message: 'is not a date in the form DD/MM/YYYY' },
      { location: 'rows.csv line 2 (column FSM)', message: 'is not yes/no (true, false, Y, N, 1 or 0)' },
      { location: 'rows.csv line 3 (column Legal Forename)', message: 'is blank; a value is required' },
      { location: 'rows.csv line 5 (column Adno)', message: 'repeats the MIS id on line 2' },
      { location: 'rows.csv line 6', message: 'has 5 fields; the header row has 17' },
      { location: 'rows.csv line 7', message: 'a quoted field is never closed' },
    ]);
    expect(batch.warnings).toEqual([{ location: 'rows.csv line 4 (column UPN)', message: 'is not a valid UPN (shape or check letter); kept as given' }]);
    expectNothingPersonal(batch);
  });

  it('a missing file, an empty file, a bad priority and a repeated contact–pupil pair', async () => {
    const mapping = { entity: 'contacts', columns: { misId: 'C', pupilMisId: 'P', forename: 'F', surname: 'S', priority: 'N' } };
    expect((await readMappedCsv(path.join(dir, 'gone.csv'), mapping)).errors).toEqual([{ location: 'gone.csv', message: 'was not found' }]);
    expect((await readMappedCsv(write('empty.csv', ''), mapping)).errors).toEqual([{ location: 'empty.csv', message: 'is empty: there is no header row' }]);
    const batch = await readMappedCsv(write('pairs.csv', 'C,P,F,S,N\nc1,p1,Ann,Lee,first\nc1,p1,Ann,Lee,1\n'), mapping);
    expect(batch.errors).toEqual([
      { location: 'pairs.csv line 2 (column N)', message: 'is not a whole number from 1 (first to call)' },
      { location: 'pairs.csv line 3 (column P)', message: 'repeats the contact and pupil pair on line 2' },
    ]);
  });
});
