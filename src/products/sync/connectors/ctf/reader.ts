import { emptyBatch, type ImportBatch } from '../../model.ts';
import { addressField, phoneField, type PhoneState } from './address.ts';
import { AttendanceMarks, yearDataField, type YearDataState } from './attendance.ts';
import { ContactBook, contactField, type ContactState } from './contacts.ts';
import { CtfElementReader, type Frame } from './elements.ts';
import { newPupil, pupilField, pupilRecord, type PupilState } from './pupil.ts';
import { headerField, SchoolGroups, schoolInfo, type CtfHeader } from './school.ts';

const PUPIL_PATH = 'CTfile/CTFpupilData/Pupil';
const PUPIL_PREFIX = `${PUPIL_PATH}/`;

/**
 * The CTF's elements → a `full` ImportBatch. Each Pupil is gathered while it is open and placed
 * when it closes: its record, its contacts (merged across siblings), its groups and its attendance.
 */
export class CtfReader extends CtfElementReader {
  private readonly batch: ImportBatch = emptyBatch('full');
  private readonly header: CtfHeader = {};
  private pupil: PupilState | null = null;
  private pupilCount = 0;
  private contact: ContactState | null = null;
  private phone: PhoneState | null = null;
  private yearData: YearDataState | null = null;
  private readonly upnSeen = new Map<string, number>();
  private readonly contacts = new ContactBook();
  private readonly groups = new SchoolGroups();
  private readonly attendance = new AttendanceMarks();

  protected opened(framePath: string): void {
    if (framePath === PUPIL_PATH) {
      this.pupilCount++;
      this.pupil = newPupil(this.pupilCount, this.line, this.locationPath());
      return;
    }
    const p = this.pupil;
    if (!p || !framePath.startsWith(PUPIL_PREFIX)) return;
    const rel = framePath.slice(PUPIL_PREFIX.length);
    switch (rel) {
      case 'Contacts/Contact':
        this.contact = { order: null, phones: [], location: this.locationPath(), line: this.line, position: p.contacts.length + 1 };
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
        this.yearData = { line: this.line, location: this.locationPath(), marksLine: this.line, marksLocation: this.locationPath() };
        return;
      default:
        return;
    }
  }

  protected closed(frame: Frame, value: string): void {
    const fp = frame.path;
    if (fp === PUPIL_PATH) {
      this.finishPupil();
      return;
    }
    if (headerField(this.header, fp, value)) return;
    const p = this.pupil;
    if (!p || !fp.startsWith(PUPIL_PREFIX)) return;
    const rel = fp.slice(PUPIL_PREFIX.length);

    if (rel.startsWith('Contacts/Contact')) {
      this.closeContactField(rel.slice('Contacts/Contact'.length), value);
      return;
    }
    if (rel.startsWith('Address/')) {
      if (p.address) addressField(p.address, rel.slice('Address/'.length), value);
      return;
    }
    if (rel.startsWith('Phones/Phone')) {
      this.phone = phoneField(this, this.phone, rel.slice('Phones/Phone'.length), value, p.phones);
      return;
    }
    if (rel.startsWith('Attendance/YearData')) {
      this.closeYearDataField(rel.slice('Attendance/YearData'.length), value);
      return;
    }
    pupilField(this, p, rel, value, frame, this.upnSeen);
  }

  private closeContactField(field: string, value: string): void {
    const c = this.contact;
    if (!c) return;
    if (field.startsWith('/Address/')) {
      if (c.address) addressField(c.address, field.slice('/Address/'.length), value);
      return;
    }
    if (field.startsWith('/Phones/Phone')) {
      this.phone = phoneField(this, this.phone, field.slice('/Phones/Phone'.length), value, c.phones);
      return;
    }
    if (field === '') {
      this.pupil!.contacts.push(c);
      this.contact = null;
      return;
    }
    contactField(this, c, field, value);
  }

  private closeYearDataField(field: string, value: string): void {
    const y = this.yearData;
    if (!y) return;
    if (field === '') {
      this.pupil!.yearData.push(y);
      this.yearData = null;
      return;
    }
    yearDataField(this, y, field, value);
  }

  private finishPupil(): void {
    const p = this.pupil!;
    this.pupil = null;
    this.contact = null;
    this.yearData = null;
    const record = pupilRecord(this, p, this.header);
    if (!record) return;
    this.groups.add(record.misId, p.ncYear, p.regGroup);
    this.batch.pupils.push(record);

    for (const c of p.contacts) this.contacts.add(this, record.misId, c);
    for (const y of p.yearData) this.attendance.expand(this, this.batch.attendance, record.misId, y);
  }

  protected result(): ImportBatch {
    const b = this.batch;
    if (this.stopped && this.errors.length > 0) {
      // Malformed or unreadable: nothing from a half-read file is offered.
      return { ...emptyBatch('full'), warnings: this.warnings, errors: this.errors };
    }
    b.errors = this.errors;
    b.warnings = this.warnings;
    b.contacts = this.contacts.build();
    b.groups = this.groups.build();
    // A CTF carries pupils, their contacts and year groups; never staff.
    b.covers = ['pupils', 'contacts', 'groups'];
    const school = schoolInfo(this.header);
    if (school) b.school = school;
    return b;
  }
}
