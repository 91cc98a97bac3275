import fs from 'node:fs';
import { once } from 'node:events';
import { ATTENDANCE_CODES, isIsoDate } from '../codes.ts';
import type { Address, AttendanceRecord, ContactLink, ContactRecord, ImportBatch, Phone, PupilRecord, SchoolInfo } from '../model.ts';

/**
 * Writes a batch as a DfE Common Transfer File (the structure readCtf reads; see ctf.ts), streaming:
 * the file is written one pupil at a time with back-pressure, never built as one string.
 *
 * What a CTF can carry, and so what survives writeCtf → readCtf:
 * - school: name, URN, LA + establishment number;
 * - pupil: UPN (required; it is the CTF's only identifier), legal and preferred names, middle
 *   names, date of birth, gender, NC year, ethnicity, first language, address, phones, the first
 *   e-mail, FSM periods (eligibility = an open period), SEN provision, entry and leaving dates;
 * - contact (per pupil): order (priority), title, names, relationship, parental responsibility,
 *   address, phones, first e-mail;
 * - session attendance, as one marks string per pupil and academic year.
 * Not carried: MIS ids, admission numbers, staff, registration / house / class groups, religion,
 * photos, e-mail types, "lives with" and "no contact" flags.
 *
 * An address with more than four lines is written as AddressLines (CTF has no separate town there).
 * Attendance codes with a digit (C1, C2, J1, Y1–Y7) are written as two characters in the marks
 * string; see the note in ctf.ts.
 */
export async function writeCtf(batch: ImportBatch & { school: SchoolInfo }, filePath: string): Promise<void> {
  const out = fs.createWriteStream(filePath, { encoding: 'utf8' });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    const school = batch.school;
    const lea = school.laEstab?.slice(0, 3) ?? '';
    const estab = school.laEstab?.slice(3) ?? '';
    const now = new Date().toISOString().slice(0, 19);
    let head = '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n';
    head += el(4, 'DocumentName', 'Common Transfer File');
    head += el(4, 'CTFversion', CTF_VERSION);
    head += el(4, 'DateTime', now);
    head += el(4, 'DocumentQualifier', 'full');
    head += el(4, 'SupplierID', 'Custos');
    head += '    <SourceSchool>\n';
    head += el(6, 'LEA', lea);
    head += el(6, 'Estab', estab);
    head += el(6, 'URN', school.urn);
    head += el(6, 'SchoolName', school.name);
    head += el(6, 'AcademicYear', academicYear(now.slice(0, 10)));
    head += '    </SourceSchool>\n';
    // Destination not known: the DfE's "MMM"/"MMMM" placeholder.
    head += '    <DestSchool>\n' + el(6, 'LEA', 'MMM') + el(6, 'Estab', 'MMMM') + '    </DestSchool>\n';
    head += '  </Header>\n  <CTFpupilData>\n';
    await write(head);

    const contactsByPupil = new Map<string, { contact: ContactRecord; link: ContactLink }[]>();
    for (const contact of batch.contacts) {
      for (const link of contact.links) {
        let list = contactsByPupil.get(link.pupilMisId);
        if (!list) contactsByPupil.set(link.pupilMisId, (list = []));
        list.push({ contact, link });
      }
    }
    const attendanceByPupil = new Map<string, AttendanceRecord[]>();
    for (const a of batch.attendance) {
      let list = attendanceByPupil.get(a.pupilMisId);
      if (!list) attendanceByPupil.set(a.pupilMisId, (list = []));
      list.push(a);
    }

    for (const pupil of batch.pupils) {
      await write(pupilXml(pupil, lea, estab, school, contactsByPupil.get(pupil.misId) ?? [], attendanceByPupil.get(pupil.misId) ?? []));
    }
    await write('  </CTFpupilData>\n</CTfile>\n');
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
  } catch (error) {
    out.destroy();
    throw error;
  }
}

/** The CTF version written in the header. */
export const CTF_VERSION = '21.0';

function pupilXml(
  p: PupilRecord,
  lea: string,
  estab: string,
  school: SchoolInfo,
  contacts: { contact: ContactRecord; link: ContactLink }[],
  attendance: AttendanceRecord[],
): string {
  if (!p.upn) throw new Error(`pupil ${p.misId} has no UPN, which a CTF requires`);
  let x = '    <Pupil>\n';
  x += el(6, 'UPN', p.upn);
  x += el(6, 'Surname', p.legalSurname);
  x += el(6, 'Forename', p.legalForename);
  x += el(6, 'DOB', p.dateOfBirth);
  x += el(6, 'Gender', p.gender);
  let basic = '';
  basic += el(8, 'PreferredSurname', p.preferredSurname);
  basic += el(8, 'PreferredForename', p.preferredForename);
  basic += el(8, 'MiddleNames', p.middleNames);
  basic += el(8, 'NCyearActual', p.yearGroup);
  basic += el(8, 'Ethnicity', p.ethnicity);
  if (p.firstLanguage) {
    basic += '        <Languages>\n          <Type>\n' + el(12, 'LanguageType', 'F') + el(12, 'Language', p.firstLanguage) + '          </Type>\n        </Languages>\n';
  }
  if (basic) x += `      <BasicDetails>\n${basic}      </BasicDetails>\n`;

  if ((p.fsmPeriods && p.fsmPeriods.length > 0) || p.fsmEligible === false) {
    x += '      <FSMhistory>\n';
    for (const f of p.fsmPeriods ?? []) {
      x += '        <FSMinstance>\n' + el(10, 'FSMstartDate', f.start) + el(10, 'FSMendDate', f.end) + '        </FSMinstance>\n';
    }
    x += '      </FSMhistory>\n';
  }
  if (p.senStatus) x += '      <SENhistory>\n        <SEN>\n' + el(10, 'SENprovision', p.senStatus) + '        </SEN>\n      </SENhistory>\n';
  x += addressXml(6, p.address);
  x += phonesXml(6, p.phones);
  x += el(6, 'Email', p.emails?.[0]?.address);

  if (contacts.length > 0) {
    const sorted = [...contacts].sort((a, b) => (a.link.priority ?? 999) - (b.link.priority ?? 999));
    x += '      <Contacts>\n';
    sorted.forEach(({ contact: c, link }, i) => {
      x += '        <Contact>\n';
      x += el(10, 'Order', String(link.priority ?? i + 1));
      x += el(10, 'Title', c.title);
      x += el(10, 'Surname', c.surname);
      x += el(10, 'Forename', c.forename);
      x += el(10, 'Relationship', link.relationship);
      if (link.parentalResponsibility !== undefined && link.parentalResponsibility !== null) x += el(10, 'Responsible', String(link.parentalResponsibility));
      x += addressXml(10, c.address);
      x += phonesXml(10, c.phones);
      x += el(10, 'Email', c.emails?.[0]?.address);
      x += '        </Contact>\n';
    });
    x += '      </Contacts>\n';
  }

  if (attendance.length > 0) x += attendanceXml(attendance);

  if (p.enrolmentDate || p.leavingDate) {
    x += '      <SchoolHistory>\n        <School>\n';
    x += el(10, 'LEA', lea) + el(10, 'Estab', estab) + el(10, 'SchoolName', school.name);
    x += el(10, 'EntryDate', p.enrolmentDate) + el(10, 'LeavingDate', p.leavingDate);
    x += '        </School>\n      </SchoolHistory>\n';
  }
  x += '    </Pupil>\n';
  return x;
}

function addressXml(indent: number, a: Address | null | undefined): string {
  if (!a) return '';
  const sp = ' '.repeat(indent);
  let x = `${sp}<Address>\n`;
  const lines = a.lines.filter((l) => l.trim() !== '');
  if (lines.length <= 4) {
    // BS7666: [SAON,] PAON, Street, Locality: the model's lines are house number/name, street, locality.
    const [saon, paon, street, locality] = lines.length === 4 ? lines : [undefined, ...lines];
    x += `${sp}  <BS7666Address>\n`;
    x += el(indent + 4, 'SAON', saon) + el(indent + 4, 'PAON', paon) + el(indent + 4, 'Street', street) + el(indent + 4, 'Locality', locality);
    x += el(indent + 4, 'PostTown', a.town) + el(indent + 4, 'AdministrativeArea', a.county);
    x += `${sp}  </BS7666Address>\n`;
  } else {
    x += `${sp}  <AddressLines>\n`;
    lines.slice(0, 5).forEach((l, i) => (x += el(indent + 4, `AddressLine${i + 1}`, l)));
    x += `${sp}  </AddressLines>\n`;
    x += el(indent + 2, 'County', a.county);
  }
  x += el(indent + 2, 'PostCode', a.postcode);
  x += `${sp}</Address>\n`;
  return x;
}

const PHONE_TYPE: Record<string, string> = { home: 'H', work: 'W', mobile: 'M', other: 'A' };

function phonesXml(indent: number, phones: Phone[] | undefined): string {
  if (!phones || phones.length === 0) return '';
  const sp = ' '.repeat(indent);
  let x = `${sp}<Phones>\n`;
  for (const ph of phones) {
    x += `${sp}  <Phone>\n`;
    if (ph.type) x += el(indent + 4, 'TelephoneType', PHONE_TYPE[ph.type] ?? 'A');
    x += el(indent + 4, 'PhoneNo', ph.number);
    x += `${sp}  </Phone>\n`;
  }
  return x + `${sp}</Phones>\n`;
}

const DAY_MS = 86_400_000;

function attendanceXml(records: AttendanceRecord[]): string {
  const byYear = new Map<string, AttendanceRecord[]>();
  for (const r of records) {
    if (!isIsoDate(r.date)) throw new Error(`attendance date is not YYYY-MM-DD for pupil ${r.pupilMisId}`);
    if (!/^(?:[^0-9A-Z]|[A-Z]|[A-Z][0-9])$/.test(r.code) || r.code === '-' || r.code === ' ') {
      throw new Error(`attendance code of ${r.code.length} characters cannot be written to a CTF marks string`);
    }
    const year = academicYear(r.date);
    let list = byYear.get(year);
    if (!list) byYear.set(year, (list = []));
    list.push(r);
  }
  let x = '      <Attendance>\n';
  for (const [year, list] of [...byYear].sort(([a], [b]) => a.localeCompare(b))) {
    let first = Infinity;
    let last = -Infinity;
    for (const r of list) {
      const d = Date.parse(`${r.date}T00:00:00Z`) / DAY_MS;
      if (d < first) first = d;
      if (d > last) last = d;
    }
    const slots: string[] = new Array((last - first + 1) * 2).fill('-');
    let possible = 0;
    let authorised = 0;
    let unauthorised = 0;
    for (const r of list) {
      const slot = (Date.parse(`${r.date}T00:00:00Z`) / DAY_MS - first) * 2 + (r.session === 'PM' ? 1 : 0);
      slots[slot] = r.code;
    }
    for (const code of slots) {
      const known = ATTENDANCE_CODES[code];
      if (!known) continue;
      if (known.possible) possible++;
      if (known.category === 'authorised-absence') authorised++;
      if (known.category === 'unauthorised-absence') unauthorised++;
    }
    x += '        <YearData>\n';
    x += el(10, 'Year', year);
    x += el(10, 'SessionsPossible', String(possible));
    x += el(10, 'SessionsAuthorised', String(authorised));
    x += el(10, 'SessionsUnauthorised', String(unauthorised));
    x += el(10, 'AttendanceStartDate', new Date(first * DAY_MS).toISOString().slice(0, 10));
    x += el(10, 'AttendanceMarks', slots.join(''));
    x += '        </YearData>\n';
  }
  return x + '      </Attendance>\n';
}

/** The academic year (as its starting calendar year) a date falls in: September to August. */
function academicYear(isoDate: string): string {
  const y = Number(isoDate.slice(0, 4));
  const m = Number(isoDate.slice(5, 7));
  return String(m >= 9 ? y : y - 1);
}

/** One element on its own line, or nothing for an absent / empty value. */
function el(indent: number, name: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  return `${' '.repeat(indent)}<${name}>${escapeXml(value)}</${name}>\n`;
}

// Characters XML 1.0 does not allow at all are dropped rather than written into an unreadable file.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeXml(value: string): string {
  return value.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}
