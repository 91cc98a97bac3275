import fs from 'node:fs';
import path from 'node:path';
import { SaxesParser } from 'saxes';
import {
  isAttendanceCode,
  isEthnicityCode,
  isGenderCode,
  isIsoDate,
  isLanguageCode,
  isNcYearCode,
  isRelationshipCode,
  isSenProvisionCode,
  isUpnFormat,
  SEN_PROVISION_CODES,
  TELEPHONE_TYPE_CODES,
  upnCheckLetter,
  yearGroupName,
} from '../codes.ts';
import {
  emptyBatch,
  type Address,
  type AttendanceRecord,
  type ContactLink,
  type ContactRecord,
  type FsmPeriod,
  type GroupRecord,
  type ImportBatch,
  type Phone,
  type PupilRecord,
  type SchoolInfo,
} from '../model.ts';

/**
 * DfE Common Transfer File (CTF) reader. Streams the file through saxes (never the whole file in
 * memory) into a `full` ImportBatch: pupils, their contacts, year groups (NCyearActual) and
 * session attendance. CTF carries no staff and no MIS ids.
 *
 * The structure followed (element names of the DfE CTF specification's "XML message structure",
 * CTF 15 onwards). Checked against public sources when written: the header and the Pupil / UPN /
 * Surname / Forename / DOB / Gender / BasicDetails / NCyearActual layout (a public MIS CTF writer),
 * the CTF 17–21 section list (FSM, SEN with start and end dates, address, contacts, attendance,
 * school history). Not confirmed against the specification text: the AttendanceStartDate /
 * AttendanceMarks names and the marks encoding below. Check both against the current CTF
 * specification and a real MIS export before relying on attendance read from a school's CTF.
 *
 *   CTfile
 *     Header: DocumentName, CTFversion, DateTime, DocumentQualifier, SupplierID,
 *             SourceSchool (LEA, Estab, URN, SchoolName, AcademicYear), DestSchool (LEA, Estab)
 *     CTFpupilData
 *       Pupil (repeated)
 *         UPN, UniqueLearnerNumber, UCI, Surname, Forename, DOB, Gender
 *         BasicDetails: FormerUPN, PreferredSurname, FormerSurname, PreferredForename, MiddleNames,
 *                       NCyearActual, Ethnicity, EthnicitySource, Languages/Type (LanguageType F =
 *                       first language, Language), MedicalFlag, Disabilities, EnrolStatus, …
 *         FSMhistory: FSMreviewDate, FSMinstance (FSMstartDate, FSMendDate, UKcountry)
 *         SENhistory: SEN (StartDate, EndDate, SENprovision), SENneeds
 *         Address: BS7666Address (SAON, PAON, Street, Locality, Town, AdministrativeArea, PostTown,
 *                  UniquePropertyReferenceNumber) or AddressLines (AddressLine1…5); County,
 *                  PostCode, Zip, Country
 *         Phones/Phone (TelephoneType, PhoneNo), Email
 *         Contacts/Contact: Order, Title, Surname, Forename, Gender, Relationship, Responsible,
 *                           Address, Phones, Email
 *         Attendance/YearData (repeated): Year, SessionsPossible, SessionsAuthorised,
 *                           SessionsUnauthorised, AttendanceStartDate, AttendanceMarks
 *         SchoolHistory/School: LEA, Estab, SchoolName, EntryDate, LeavingDate, LeavingReason
 *         StageAssessments, … (ignored)
 *
 * Tolerances (older layouts and hand-made files): Surname/Forename/DOB/Gender also accepted
 * inside BasicDetails; a plain BasicDetails/Language or FirstLanguage; AttendanceStartDate and
 * AttendanceMarks also accepted as StartDate / Marks and inside a SessionAttendance wrapper; a
 * non-standard BasicDetails/RegGroup (or Form) becomes a registration group when present.
 *
 * Attendance marks: one character per session from the AM session of AttendanceStartDate,
 * AM then PM, over consecutive calendar days. '-' (or a space) is "no mark"; '#' on a Saturday or
 * Sunday is "not a school day" and skipped ('#' on a weekday is the DfE planned-closure code and
 * kept). The August 2024 codes with a digit (C1, C2, J1, Y1–Y7) take two characters: a letter
 * followed by a digit is read as one code. That is this project's convention, not the DfE's (no
 * single-character code is a digit, so it cannot misread an older file).
 *
 * Problems: every one has a location `file.xml line N (CTfile/CTFpupilData/Pupil[12]/DOB)` and a
 * reason that never repeats a value from the file. Malformed XML ends the read with one error and
 * no records; the promise never rejects.
 */
export async function readCtf(filePath: string): Promise<ImportBatch> {
  const reader = new CtfReader(path.basename(filePath));
  try {
    const stream = fs.createReadStream(filePath, { encoding: 'utf8', highWaterMark: 64 * 1024 });
    try {
      let first = true;
      for await (const chunk of stream as AsyncIterable<string>) {
        reader.write(first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk);
        first = false;
        if (reader.stopped) break;
      }
    } finally {
      stream.destroy();
    }
    return reader.finish();
  } catch (error) {
    return reader.abort(error);
  }
}

// ---------------------------------------------------------------- internal state

/** Elements that repeat under one parent: their position is shown in locations (Pupil[12]). */
const REPEATABLE = new Set(['Pupil', 'Contact', 'Phone', 'YearData', 'FSMinstance', 'SEN', 'School', 'Type', 'AddressLine', 'SENneed']);

const PUPIL_PATH = 'CTfile/CTFpupilData/Pupil';
const PUPIL_PREFIX = `${PUPIL_PATH}/`;

interface Frame {
  name: string;
  /** Plain path from the root, no positions: 'CTfile/CTFpupilData/Pupil/DOB'. */
  path: string;
  /** Line of the opening tag. */
  line: number;
  /** 1-based position among same-named siblings (only counted for REPEATABLE names). */
  index: number;
  counts?: Map<string, number>;
}

interface AddressState {
  saon?: string;
  paon?: string;
  street?: string;
  locality?: string;
  town?: string;
  postTown?: string;
  administrativeArea?: string;
  county?: string;
  postcode?: string;
  lines: string[];
}

interface PhoneState {
  type?: string | null;
  number?: string;
}

interface ContactState {
  order: number | null;
  title?: string;
  surname?: string;
  forename?: string;
  relationship?: string;
  responsible?: boolean | null;
  address?: AddressState;
  phones: Phone[];
  email?: string;
  location: string;
  line: number;
  /** Position among this pupil's contacts (fallback when Order is missing). */
  position: number;
}

interface YearDataState {
  startDate?: string;
  marks?: string;
  line: number;
  location: string;
  marksLine: number;
  marksLocation: string;
}

interface PupilState {
  index: number;
  line: number;
  location: string;
  upn?: string;
  surname?: string;
  forename?: string;
  dob?: string;
  gender?: string;
  middleNames?: string;
  preferredSurname?: string;
  preferredForename?: string;
  ncYear?: string;
  regGroup?: string;
  ethnicity?: string;
  firstLanguage?: string;
  languageType?: string;
  language?: string;
  fsmSeen: boolean;
  fsmPeriods: FsmPeriod[];
  fsmStart?: string;
  fsmEnd?: string;
  sen: { start?: string; end?: string; provision?: string }[];
  address?: AddressState;
  phones: Phone[];
  email?: string;
  contacts: ContactState[];
  yearData: YearDataState[];
  schools: { lea?: string; estab?: string; entry?: string; leaving?: string }[];
  upnInvalid: boolean;
}

interface ContactEntry {
  key: string;
  record: ContactRecord;
  /** (pupil UPN, order under that pupil): the contact's id comes from the smallest UPN. */
  seenAs: { upn: string; order: number }[];
}

const DAY_MS = 86_400_000;
/** No CTF value comes near this (the longest, a year of attendance marks, is under 1,500). */
const MAX_TEXT = 100_000;
/** A CTF is about eight levels deep. */
const MAX_DEPTH = 64;
/** A marks string covers at most one academic year. */
const MAX_SESSIONS = 2 * 366;

class CtfReader {
  private readonly parser: SaxesParser;
  private readonly batch: ImportBatch = emptyBatch('full');
  private readonly stack: Frame[] = [];
  private text = '';
  private textTooLong = false;
  private rootSeen = false;
  stopped = false;

  private header: { lea?: string; estab?: string; urn?: string; name?: string; date?: string } = {};
  private pupil: PupilState | null = null;
  private pupilCount = 0;
  private contact: ContactState | null = null;
  private phone: PhoneState | null = null;
  private yearData: YearDataState | null = null;
  private readonly upnSeen = new Map<string, number>();
  private readonly contactsByKey = new Map<string, ContactEntry>();
  private readonly contactOrder: ContactEntry[] = [];
  private readonly yearGroups = new Map<string, string[]>();
  private readonly regGroups = new Map<string, string[]>();
  private readonly dateCache = new Map<number, string>();

  constructor(private readonly file: string) {
    this.parser = new SaxesParser({ position: true });
    this.parser.on('opentag', (tag) => this.open(tag.name));
    this.parser.on('closetag', () => this.close());
    this.parser.on('text', (t) => this.addText(t));
    this.parser.on('cdata', (t) => this.addText(t));
    this.parser.on('error', (err) => this.malformed(err));
  }

  private addText(t: string): void {
    if (this.stopped || this.textTooLong) return;
    if (this.text.length + t.length > MAX_TEXT) {
      this.textTooLong = true;
      this.text = '';
      return;
    }
    this.text += t;
  }

  write(chunk: string): void {
    if (this.stopped) return;
    this.parser.write(chunk);
  }

  finish(): ImportBatch {
    if (!this.stopped) this.parser.close();
    if (!this.stopped && !this.rootSeen) this.fail(this.at(1, 'CTfile'), 'is required (the file has no CTfile root element)');
    return this.result();
  }

  /** An unexpected failure (unreadable file, a bug): one error, never a rejection. */
  abort(error: unknown): ImportBatch {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason = code === 'ENOENT' ? 'could not be read (no such file)' : code ? 'could not be read' : 'could not be read (unexpected failure)';
    this.stopped = true;
    this.batch.errors.push({ location: this.at(this.parser.line || 1, this.locationPath() || 'CTfile'), message: reason });
    return this.result();
  }

  // ------------------------------------------------------------ problems

  private at(line: number, elementPath: string): string {
    return `${this.file} line ${line} (${elementPath})`;
  }

  /** 'CTfile/CTFpupilData/Pupil[12]/DOB' for the current stack. */
  private locationPath(extra?: string): string {
    let out = '';
    for (const f of this.stack) {
      out += (out ? '/' : '') + (REPEATABLE.has(f.name) ? `${f.name}[${f.index}]` : f.name);
    }
    return extra ? `${out}/${extra}` : out;
  }

  private fail(location: string, message: string): void {
    this.batch.errors.push({ location, message });
  }

  private warn(location: string, message: string): void {
    this.batch.warnings.push({ location, message });
  }

  private here(): string {
    const frame = this.stack[this.stack.length - 1];
    return this.at(frame?.line ?? this.parser.line, this.locationPath());
  }

  private malformed(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    const raw = err.message.replace(/^[^:]*:\d+:\d+: /, '').replace(/^\d+:\d+: /, '');
    // Keep saxes' reason but never anything after a colon (a tag or entity name from the file).
    const reason = raw.replace(/:.*$/s, '').replace(/\.$/, '').trim();
    const safe = /^[A-Za-z][A-Za-z ,"'\\/()-]{0,80}$/.test(reason) ? reason : 'syntax error';
    this.batch.errors.push({ location: this.at(this.parser.line, this.locationPath() || 'CTfile'), message: `is not well-formed XML (${safe})` });
  }

  private result(): ImportBatch {
    const b = this.batch;
    if (this.stopped && b.errors.length > 0) {
      // Malformed or unreadable: nothing from a half-read file is offered.
      return { ...emptyBatch('full'), warnings: b.warnings, errors: b.errors };
    }
    b.contacts = this.buildContacts();
    b.groups = this.buildGroups();
    // A CTF carries pupils, their contacts and year groups; never staff.
    b.covers = ['pupils', 'contacts', 'groups'];
    const school: SchoolInfo = {};
    if (this.header.name) school.name = this.header.name;
    if (this.header.urn) school.urn = this.header.urn;
    if (this.header.lea && this.header.estab) school.laEstab = this.header.lea + this.header.estab;
    if (Object.keys(school).length > 0) b.school = school;
    return b;
  }

  // ------------------------------------------------------------ events

  private open(name: string): void {
    if (this.stopped) return;
    const parent = this.stack[this.stack.length - 1];
    let index = 1;
    if (parent && REPEATABLE.has(name)) {
      parent.counts ??= new Map();
      index = (parent.counts.get(name) ?? 0) + 1;
      parent.counts.set(name, index);
    }
    const framePath = parent ? `${parent.path}/${name}` : name;
    this.stack.push({ name, path: framePath, line: this.parser.line, index });
    this.text = '';
    this.textTooLong = false;
    if (this.stack.length > MAX_DEPTH) {
      this.stopped = true;
      this.batch.errors.push({ location: this.here(), message: `is nested more than ${MAX_DEPTH} elements deep (this is not a Common Transfer File)` });
      return;
    }

    if (!parent) {
      this.rootSeen = true;
      if (name !== 'CTfile') {
        this.stopped = true;
        this.batch.errors.push({ location: this.at(this.parser.line, 'CTfile'), message: 'is required as the root element (this is not a Common Transfer File)' });
      }
      return;
    }
    if (framePath === PUPIL_PATH) {
      this.pupilCount++;
      this.pupil = {
        index: this.pupilCount,
        line: this.parser.line,
        location: this.locationPath(),
        fsmSeen: false,
        fsmPeriods: [],
        sen: [],
        phones: [],
        contacts: [],
        yearData: [],
        schools: [],
        upnInvalid: false,
      };
      return;
    }
    const p = this.pupil;
    if (!p || !framePath.startsWith(PUPIL_PREFIX)) return;
    const rel = framePath.slice(PUPIL_PREFIX.length);
    switch (rel) {
      case 'Contacts/Contact':
        this.contact = { order: null, phones: [], location: this.locationPath(), line: this.parser.line, position: p.contacts.length + 1 };
        return;
      case 'Address':
        p.address = { lines: [] };
        return;
      case 'Contacts/Contact/Address':
        if (this.contact) this.contact.address = { lines: [] };
        return;
      case 'Phones/Phone':
      case 'Contacts/Contact/Phones/Phone':
        this.phone = {};
        return;
      case 'FSMhistory':
        p.fsmSeen = true;
        return;
      case 'FSMhistory/FSMinstance':
        p.fsmStart = undefined;
        p.fsmEnd = undefined;
        return;
      case 'SENhistory/SEN':
        p.sen.push({});
        return;
      case 'SchoolHistory/School':
        p.schools.push({});
        return;
      case 'BasicDetails/Languages/Type':
        p.languageType = undefined;
        p.language = undefined;
        return;
      case 'Attendance/YearData':
        this.yearData = { line: this.parser.line, location: this.locationPath(), marksLine: this.parser.line, marksLocation: this.locationPath() };
        return;
      default:
        return;
    }
  }

  private close(): void {
    if (this.stopped) return;
    const frame = this.stack[this.stack.length - 1];
    if (!frame) return;
    const value = own(this.text.trim());
    this.text = '';
    if (this.textTooLong) {
      this.textTooLong = false;
      this.fail(this.here(), `is longer than ${MAX_TEXT.toLocaleString('en-GB')} characters`);
      this.stack.pop();
      return;
    }
    try {
      this.handleClose(frame, value);
    } finally {
      this.stack.pop();
    }
  }

  private handleClose(frame: Frame, value: string): void {
    const fp = frame.path;
    if (fp === PUPIL_PATH) {
      this.finishPupil();
      return;
    }
    if (fp === 'CTfile/Header/DateTime') {
      if (isIsoDate(value.slice(0, 10))) this.header.date = value.slice(0, 10);
      return;
    }
    if (fp.startsWith('CTfile/Header/SourceSchool/')) {
      const field = fp.slice('CTfile/Header/SourceSchool/'.length);
      if (field === 'LEA') this.header.lea = value || undefined;
      else if (field === 'Estab') this.header.estab = value || undefined;
      else if (field === 'URN') this.header.urn = value || undefined;
      else if (field === 'SchoolName') this.header.name = value || undefined;
      return;
    }
    const p = this.pupil;
    if (!p || !fp.startsWith(PUPIL_PREFIX)) return;
    const rel = fp.slice(PUPIL_PREFIX.length);

    if (rel.startsWith('Contacts/Contact')) {
      this.closeContactField(rel.slice('Contacts/Contact'.length), value);
      return;
    }
    if (rel.startsWith('Address/')) {
      if (p.address) this.addressField(p.address, rel.slice('Address/'.length), value);
      return;
    }
    if (rel.startsWith('Phones/Phone')) {
      this.phoneField(rel.slice('Phones/Phone'.length), value, p.phones);
      return;
    }
    if (rel.startsWith('Attendance/YearData')) {
      this.yearDataField(rel.slice('Attendance/YearData'.length), value);
      return;
    }

    switch (rel) {
      case 'UPN':
        this.closeUpn(value);
        return;
      case 'Surname':
      case 'BasicDetails/Surname':
        p.surname = value || p.surname;
        return;
      case 'Forename':
      case 'BasicDetails/Forename':
        p.forename = value || p.forename;
        return;
      case 'DOB':
      case 'BasicDetails/DOB':
        if (value && this.checkDate(value)) p.dob = value;
        return;
      case 'Gender':
      case 'Sex':
      case 'BasicDetails/Gender':
        if (!value) return;
        if (!isGenderCode(value)) this.warn(this.here(), 'unknown gender code kept as given');
        p.gender = value;
        return;
      case 'BasicDetails/MiddleNames':
        p.middleNames = value || undefined;
        return;
      case 'BasicDetails/PreferredSurname':
        p.preferredSurname = value || undefined;
        return;
      case 'BasicDetails/PreferredForename':
        p.preferredForename = value || undefined;
        return;
      case 'BasicDetails/NCyearActual':
        if (!value) return;
        if (!isNcYearCode(value)) this.warn(this.here(), 'unknown National Curriculum year code kept as given');
        p.ncYear = value;
        return;
      case 'BasicDetails/RegGroup':
      case 'BasicDetails/Form':
      case 'BasicDetails/RegistrationGroup':
        p.regGroup = value || p.regGroup;
        return;
      case 'BasicDetails/Ethnicity':
        if (!value) return;
        if (!isEthnicityCode(value)) this.warn(this.here(), 'unknown ethnicity code kept as given');
        p.ethnicity = value;
        return;
      case 'BasicDetails/Language':
      case 'BasicDetails/FirstLanguage':
        if (!value) return;
        if (!isLanguageCode(value)) this.warn(this.here(), 'unknown language code kept as given');
        p.firstLanguage = value;
        return;
      case 'BasicDetails/Languages/Type/LanguageType':
        p.languageType = value;
        return;
      case 'BasicDetails/Languages/Type/Language':
        p.language = value;
        if (value && !isLanguageCode(value)) this.warn(this.here(), 'unknown language code kept as given');
        return;
      case 'BasicDetails/Languages/Type':
        // 'F' is the first language; the first Type without a LanguageType also counts.
        if (p.language && (p.languageType === 'F' || (!p.languageType && !p.firstLanguage))) p.firstLanguage = p.language;
        return;
      case 'FSMhistory/FSMinstance/FSMstartDate':
        if (value && this.checkDate(value)) p.fsmStart = value;
        return;
      case 'FSMhistory/FSMinstance/FSMendDate':
        if (value && this.checkDate(value)) p.fsmEnd = value;
        return;
      case 'FSMhistory/FSMinstance':
        if (!p.fsmStart) {
          this.fail(this.at(frame.line, this.locationPath('FSMstartDate')), 'is required');
          return;
        }
        if (p.fsmEnd && p.fsmEnd < p.fsmStart) this.fail(this.at(frame.line, this.locationPath('FSMendDate')), 'is before FSMstartDate');
        p.fsmPeriods.push({ start: p.fsmStart, end: p.fsmEnd ?? null });
        return;
      case 'SENhistory/SEN/StartDate':
        if (value && this.checkDate(value)) p.sen[p.sen.length - 1]!.start = value;
        return;
      case 'SENhistory/SEN/EndDate':
        if (value && this.checkDate(value)) p.sen[p.sen.length - 1]!.end = value;
        return;
      case 'SENhistory/SEN/SENprovision':
      case 'BasicDetails/SENprovision':
        if (!value) return;
        if (!isSenProvisionCode(value)) {
          this.warn(this.here(), Object.hasOwn(SEN_PROVISION_CODES, value) ? 'SEN provision code from before 2014 kept as given' : 'unknown SEN provision code kept as given');
        }
        if (rel === 'BasicDetails/SENprovision') p.sen.push({ provision: value });
        else p.sen[p.sen.length - 1]!.provision = value;
        return;
      case 'Email':
        p.email = value || undefined;
        return;
      case 'SchoolHistory/School/LEA':
        p.schools[p.schools.length - 1]!.lea = value;
        return;
      case 'SchoolHistory/School/Estab':
        p.schools[p.schools.length - 1]!.estab = value;
        return;
      case 'SchoolHistory/School/EntryDate':
        if (value && this.checkDate(value)) p.schools[p.schools.length - 1]!.entry = value;
        return;
      case 'SchoolHistory/School/LeavingDate':
        if (value && this.checkDate(value)) p.schools[p.schools.length - 1]!.leaving = value;
        return;
      default:
        return;
    }
  }

  private checkDate(value: string): boolean {
    if (isIsoDate(value)) return true;
    this.fail(this.here(), 'is not a date (expected YYYY-MM-DD)');
    return false;
  }

  private closeUpn(value: string): void {
    const p = this.pupil!;
    if (!value) return; // reported as "is required" when the pupil closes
    if (!isUpnFormat(value)) {
      this.fail(this.here(), 'is not a valid UPN (expected a check letter, 11 digits and a final digit or letter)');
      p.upnInvalid = true;
      return;
    }
    if (upnCheckLetter(value.slice(1)) !== value[0]) this.warn(this.here(), 'UPN check letter does not match the rest of the UPN');
    const earlier = this.upnSeen.get(value);
    if (earlier !== undefined) {
      this.fail(this.here(), `duplicates the UPN of Pupil[${earlier}]`);
      p.upnInvalid = true;
      return;
    }
    this.upnSeen.set(value, p.index);
    p.upn = value;
  }

  private addressField(a: AddressState, field: string, value: string): void {
    if (!value) return;
    switch (field) {
      case 'BS7666Address/SAON':
        a.saon = value;
        return;
      case 'BS7666Address/PAON':
        a.paon = value;
        return;
      case 'BS7666Address/Street':
        a.street = value;
        return;
      case 'BS7666Address/Locality':
        a.locality = value;
        return;
      case 'BS7666Address/Town':
        a.town = value;
        return;
      case 'BS7666Address/PostTown':
        a.postTown = value;
        return;
      case 'BS7666Address/AdministrativeArea':
        a.administrativeArea = value;
        return;
      case 'County':
        a.county = value;
        return;
      case 'PostCode':
      case 'Postcode':
        a.postcode = value;
        return;
      default:
        if (/^AddressLines\/AddressLine[1-5]$/.test(field)) a.lines.push(value);
        return;
    }
  }

  private phoneField(field: string, value: string, into: Phone[]): void {
    const ph = this.phone;
    if (!ph) return;
    if (field === '/TelephoneType') {
      if (!value) return;
      const known = TELEPHONE_TYPE_CODES[value];
      if (!known) this.warn(this.here(), 'unknown telephone type recorded as other');
      ph.type = known?.modelType ?? 'other';
    } else if (field === '/PhoneNo') {
      ph.number = value || undefined;
    } else if (field === '') {
      if (ph.number) into.push(ph.type === undefined ? { number: ph.number } : { number: ph.number, type: ph.type });
      this.phone = null;
    }
  }

  private closeContactField(field: string, value: string): void {
    const c = this.contact;
    if (!c) return;
    if (field.startsWith('/Address/')) {
      if (c.address) this.addressField(c.address, field.slice('/Address/'.length), value);
      return;
    }
    if (field.startsWith('/Phones/Phone')) {
      this.phoneField(field.slice('/Phones/Phone'.length), value, c.phones);
      return;
    }
    switch (field) {
      case '':
        this.pupil!.contacts.push(c);
        this.contact = null;
        return;
      case '/Order': {
        if (!value) return;
        const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
        if (!(n >= 1)) {
          this.warn(this.here(), 'is not a positive whole number; contact priority left unset');
          return;
        }
        c.order = n;
        return;
      }
      case '/Title':
        c.title = value || undefined;
        return;
      case '/Surname':
        c.surname = value || undefined;
        return;
      case '/Forename':
        c.forename = value || undefined;
        return;
      case '/Relationship':
        if (!value) return;
        if (!isRelationshipCode(value)) this.warn(this.here(), 'unknown relationship code kept as given');
        c.relationship = value;
        return;
      case '/Responsible':
        if (!value) return;
        if (value === 'true' || value === '1') c.responsible = true;
        else if (value === 'false' || value === '0') c.responsible = false;
        else this.warn(this.here(), 'is not true or false; parental responsibility left unset');
        return;
      case '/Email':
        c.email = value || undefined;
        return;
      default:
        return;
    }
  }

  private yearDataField(field: string, value: string): void {
    const y = this.yearData;
    if (!y) return;
    switch (field) {
      case '':
        this.pupil!.yearData.push(y);
        this.yearData = null;
        return;
      case '/AttendanceStartDate':
      case '/StartDate':
      case '/SessionAttendance/AttendanceStartDate':
      case '/SessionAttendance/StartDate':
        if (value && this.checkDate(value)) y.startDate = value;
        return;
      case '/AttendanceMarks':
      case '/Marks':
      case '/SessionAttendance/AttendanceMarks':
      case '/SessionAttendance/Marks': {
        const frame = this.stack[this.stack.length - 1]!;
        y.marks = value;
        y.marksLine = frame.line;
        y.marksLocation = this.locationPath();
        return;
      }
      default:
        return;
    }
  }

  // ------------------------------------------------------------ a finished pupil

  private finishPupil(): void {
    const p = this.pupil!;
    this.pupil = null;
    this.contact = null;
    this.yearData = null;
    if (!p.upn && !p.upnInvalid) this.fail(this.at(p.line, `${p.location}/UPN`), 'is required');
    if (!p.surname) this.fail(this.at(p.line, `${p.location}/Surname`), 'is required');
    if (!p.forename) this.fail(this.at(p.line, `${p.location}/Forename`), 'is required');
    if (!p.upn) return; // without an identity nothing else of this pupil can be placed
    const misId = p.upn;

    const record: PupilRecord = { misId, upn: p.upn, legalForename: p.forename ?? '', legalSurname: p.surname ?? '' };
    if (p.middleNames) record.middleNames = p.middleNames;
    if (p.preferredForename) record.preferredForename = p.preferredForename;
    if (p.preferredSurname) record.preferredSurname = p.preferredSurname;
    if (p.dob) record.dateOfBirth = p.dob;
    if (p.gender) record.gender = p.gender;
    if (p.ethnicity) record.ethnicity = p.ethnicity;
    if (p.firstLanguage) record.firstLanguage = p.firstLanguage;
    if (p.address) {
      const address = toAddress(p.address);
      if (address) record.address = address;
    }
    if (p.email) record.emails = [{ address: p.email }];
    if (p.phones.length > 0) record.phones = p.phones;
    if (p.fsmSeen) {
      record.fsmPeriods = p.fsmPeriods;
      // Eligible: a period with no end, or one ending after the file was made.
      const asOf = this.header.date;
      record.fsmEligible = p.fsmPeriods.some((f) => !f.end || (asOf !== undefined && f.end >= asOf));
    }
    if (p.sen.length > 0) {
      // The current provision: an open entry (latest start first), else the latest entry.
      const withProvision = p.sen.filter((s) => s.provision);
      const open = withProvision.filter((s) => !s.end).sort((a, b) => (b.start ?? '').localeCompare(a.start ?? ''));
      const current = open[0] ?? withProvision.sort((a, b) => (b.end ?? b.start ?? '').localeCompare(a.end ?? a.start ?? ''))[0];
      if (current?.provision) record.senStatus = current.provision;
    }
    if (p.ncYear) {
      record.yearGroup = p.ncYear;
      let list = this.yearGroups.get(p.ncYear);
      if (!list) this.yearGroups.set(p.ncYear, (list = []));
      list.push(misId);
    }
    if (p.regGroup) {
      record.registrationGroup = p.regGroup;
      let list = this.regGroups.get(p.regGroup);
      if (!list) this.regGroups.set(p.regGroup, (list = []));
      list.push(misId);
    }
    const here = p.schools.find((s) => s.lea === this.header.lea && s.estab === this.header.estab) ?? (p.schools.length === 1 ? p.schools[0] : undefined);
    if (here?.entry) record.enrolmentDate = here.entry;
    if (here?.leaving) record.leavingDate = here.leaving;
    this.batch.pupils.push(record);

    for (const c of p.contacts) this.addContact(misId, c);
    for (const y of p.yearData) this.expandAttendance(misId, y);
  }

  private addContact(pupilMisId: string, c: ContactState): void {
    if (!c.surname) {
      this.fail(this.at(c.line, `${c.location}/Surname`), 'is required');
      return;
    }
    if (!c.forename) this.warn(this.at(c.line, `${c.location}/Forename`), 'is missing; contact kept with an empty forename');
    const address = c.address ? toAddress(c.address) : undefined;
    const norm = (s: string | undefined | null) => (s ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
    // Dedupe key (kept in memory only, never written): the same person listed under several
    // siblings has the same name and the same address (or, without an address, the same phone or
    // e-mail). Without any of those the contact is not merged.
    const reach = address ? `a:${norm(address.postcode)}|${norm(address.lines[0])}` : c.phones[0] ? `p:${c.phones[0].number.replace(/\D/g, '')}` : c.email ? `e:${norm(c.email)}` : `u:${pupilMisId}#${c.position}`;
    const key = `${norm(c.title)}|${norm(c.forename)}|${norm(c.surname)}|${reach}`;
    const link: ContactLink = { pupilMisId };
    if (c.relationship) link.relationship = c.relationship;
    if (c.responsible !== undefined) link.parentalResponsibility = c.responsible;
    if (c.order !== null) link.priority = c.order;
    let entry = this.contactsByKey.get(key);
    if (!entry) {
      const record: ContactRecord = { misId: '', forename: c.forename ?? '', surname: c.surname, links: [] };
      if (c.title) record.title = c.title;
      if (c.email) record.emails = [{ address: c.email }];
      if (c.phones.length > 0) record.phones = c.phones;
      if (address) record.address = address;
      entry = { key, record, seenAs: [] };
      this.contactsByKey.set(key, entry);
      this.contactOrder.push(entry);
    }
    if (entry.record.links.some((l) => l.pupilMisId === pupilMisId)) return;
    entry.record.links.push(link);
    entry.seenAs.push({ upn: pupilMisId, order: c.order ?? c.position });
  }

  private isoFor(day: number): string {
    let s = this.dateCache.get(day);
    if (s === undefined) {
      s = new Date(day * DAY_MS).toISOString().slice(0, 10);
      this.dateCache.set(day, s);
    }
    return s;
  }

  private expandAttendance(pupilMisId: string, y: YearDataState): void {
    const marks = y.marks;
    if (!marks) return;
    if (!y.startDate) {
      this.fail(this.at(y.line, `${y.location}/AttendanceStartDate`), 'is required when AttendanceMarks are given');
      return;
    }
    const start = Math.round(Date.parse(`${y.startDate}T00:00:00Z`) / DAY_MS);
    const out = this.batch.attendance;
    let session = 0;
    let unknown = false;
    for (let i = 0; i < marks.length; i++) {
      let code = marks[i]!;
      const c0 = marks.charCodeAt(i);
      const next = marks.charCodeAt(i + 1);
      if (next >= 48 && next <= 57 && c0 >= 65 && c0 <= 90) {
        code += marks[i + 1];
        i++;
      }
      if (session >= MAX_SESSIONS) {
        this.fail(this.at(y.marksLine, y.marksLocation), 'is longer than one year of sessions');
        return;
      }
      const day = start + (session >> 1);
      const pm = (session & 1) === 1;
      session++;
      if (code === '-' || code === ' ' || code === '.') continue;
      if (code === '#') {
        const dow = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
        if (dow === 0 || dow === 6) continue;
      }
      if (!isAttendanceCode(code)) unknown = true;
      const rec: AttendanceRecord = { pupilMisId, date: this.isoFor(day), session: pm ? 'PM' : 'AM', code };
      out.push(rec);
    }
    if (unknown) this.warn(this.at(y.marksLine, y.marksLocation), 'contains unknown attendance codes kept as given');
  }

  // ------------------------------------------------------------ after the last pupil

  private buildContacts(): ContactRecord[] {
    const used = new Set<string>();
    const out: ContactRecord[] = [];
    for (const entry of this.contactOrder) {
      // CTF has no id for a contact. The id is the smallest UPN among the pupils this person is a
      // contact of, with their Order under that pupil: stable across imports while that pupil
      // stays on roll and the MIS keeps the order, and free of any hash of a name or address.
      let first = entry.seenAs[0]!;
      for (const s of entry.seenAs) if (s.upn < first.upn) first = s;
      let misId = `ctf:${first.upn}:${first.order}`;
      for (let n = 2; used.has(misId); n++) misId = `ctf:${first.upn}:${first.order}:${n}`;
      used.add(misId);
      entry.record.misId = misId;
      out.push(entry.record);
    }
    return out;
  }

  private buildGroups(): GroupRecord[] {
    const groups: GroupRecord[] = [];
    for (const [code, pupilMisIds] of this.yearGroups) {
      groups.push({ misId: `year:${code}`, kind: 'year', name: yearGroupName(code), code, pupilMisIds, staffMisIds: [] });
    }
    for (const [name, pupilMisIds] of this.regGroups) {
      groups.push({ misId: `registration:${name}`, kind: 'registration', name, code: name, pupilMisIds, staffMisIds: [] });
    }
    return groups;
  }
}

/**
 * A copy of a value that does not share memory with the 64 KiB chunk it was parsed from. V8 keeps
 * substrings of 13+ characters as views into their parent string, so one kept UPN would keep its
 * whole chunk alive, and with it, chunk by chunk, the whole file.
 */
function own(value: string): string {
  return value.length < 13 ? value : Buffer.from(value, 'utf8').toString('utf8');
}

function toAddress(a: AddressState): Address | undefined {
  const lines = a.lines.length > 0 ? a.lines : [a.saon, a.paon, a.street, a.locality].filter((l): l is string => !!l);
  const town = a.postTown ?? a.town;
  const county = a.administrativeArea ?? a.county;
  if (lines.length === 0 && !town && !a.postcode) return undefined;
  const address: Address = { lines };
  if (town) address.town = town;
  if (county) address.county = county;
  if (a.postcode) address.postcode = a.postcode;
  return address;
}

