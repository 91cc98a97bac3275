import {
  isEthnicityCode,
  isGenderCode,
  isLanguageCode,
  isNcYearCode,
  isSenProvisionCode,
  isUpnFormat,
  SEN_PROVISION_CODES,
  upnCheckLetter,
} from '../../codes.ts';
import type { FsmPeriod, Phone, PupilRecord } from '../../model.ts';
import { toAddress, type AddressState } from './address.ts';
import type { YearDataState } from './attendance.ts';
import type { ContactState } from './contacts.ts';
import type { CtfContext, Frame } from './elements.ts';
import type { CtfHeader } from './school.ts';

/** A pupil's own fields as they close, and the pupil's record once the Pupil element has closed. */

export interface PupilState {
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

/** A Pupil element just opened. */
export function newPupil(index: number, line: number, location: string): PupilState {
  return {
    index,
    line,
    location,
    fsmSeen: false,
    fsmPeriods: [],
    sen: [],
    phones: [],
    contacts: [],
    yearData: [],
    schools: [],
    upnInvalid: false,
  };
}

/** One closed field of a pupil, by its path under Pupil (contacts, address, phones and attendance are read elsewhere). */
export function pupilField(r: CtfContext, p: PupilState, rel: string, value: string, frame: Frame, upnSeen: Map<string, number>): void {
  switch (rel) {
    case 'UPN':
      closeUpn(r, p, upnSeen, value);
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
      if (value && r.checkDate(value)) p.dob = value;
      return;
    case 'Gender':
    case 'Sex':
    case 'BasicDetails/Gender':
      if (!value) return;
      if (!isGenderCode(value)) r.warn(r.here(), 'unknown gender code kept as given');
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
      if (!isNcYearCode(value)) r.warn(r.here(), 'unknown National Curriculum year code kept as given');
      p.ncYear = value;
      return;
    case 'BasicDetails/RegGroup':
    case 'BasicDetails/Form':
    case 'BasicDetails/RegistrationGroup':
      p.regGroup = value || p.regGroup;
      return;
    case 'BasicDetails/Ethnicity':
      if (!value) return;
      if (!isEthnicityCode(value)) r.warn(r.here(), 'unknown ethnicity code kept as given');
      p.ethnicity = value;
      return;
    case 'BasicDetails/Language':
    case 'BasicDetails/FirstLanguage':
      if (!value) return;
      if (!isLanguageCode(value)) r.warn(r.here(), 'unknown language code kept as given');
      p.firstLanguage = value;
      return;
    case 'BasicDetails/Languages/Type/LanguageType':
      p.languageType = value;
      return;
    case 'BasicDetails/Languages/Type/Language':
      p.language = value;
      if (value && !isLanguageCode(value)) r.warn(r.here(), 'unknown language code kept as given');
      return;
    case 'BasicDetails/Languages/Type':
      // 'F' is the first language; the first Type without a LanguageType also counts.
      if (p.language && (p.languageType === 'F' || (!p.languageType && !p.firstLanguage))) p.firstLanguage = p.language;
      return;
    case 'FSMhistory/FSMinstance/FSMstartDate':
      if (value && r.checkDate(value)) p.fsmStart = value;
      return;
    case 'FSMhistory/FSMinstance/FSMendDate':
      if (value && r.checkDate(value)) p.fsmEnd = value;
      return;
    case 'FSMhistory/FSMinstance':
      if (!p.fsmStart) {
        r.fail(r.at(frame.line, r.locationPath('FSMstartDate')), 'is required');
        return;
      }
      if (p.fsmEnd && p.fsmEnd < p.fsmStart) r.fail(r.at(frame.line, r.locationPath('FSMendDate')), 'is before FSMstartDate');
      p.fsmPeriods.push({ start: p.fsmStart, end: p.fsmEnd ?? null });
      return;
    case 'SENhistory/SEN/StartDate':
      if (value && r.checkDate(value)) p.sen[p.sen.length - 1]!.start = value;
      return;
    case 'SENhistory/SEN/EndDate':
      if (value && r.checkDate(value)) p.sen[p.sen.length - 1]!.end = value;
      return;
    case 'SENhistory/SEN/SENprovision':
    case 'BasicDetails/SENprovision':
      if (!value) return;
      if (!isSenProvisionCode(value)) {
        r.warn(r.here(), Object.hasOwn(SEN_PROVISION_CODES, value) ? 'SEN provision code from before 2014 kept as given' : 'unknown SEN provision code kept as given');
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
      if (value && r.checkDate(value)) p.schools[p.schools.length - 1]!.entry = value;
      return;
    case 'SchoolHistory/School/LeavingDate':
      if (value && r.checkDate(value)) p.schools[p.schools.length - 1]!.leaving = value;
      return;
    default:
      return;
  }
}

function closeUpn(r: CtfContext, p: PupilState, upnSeen: Map<string, number>, value: string): void {
  if (!value) return; // reported as "is required" when the pupil closes
  if (!isUpnFormat(value)) {
    r.fail(r.here(), 'is not a valid UPN (expected a check letter, 11 digits and a final digit or letter)');
    p.upnInvalid = true;
    return;
  }
  if (upnCheckLetter(value.slice(1)) !== value[0]) r.warn(r.here(), 'UPN check letter does not match the rest of the UPN');
  const earlier = upnSeen.get(value);
  if (earlier !== undefined) {
    r.fail(r.here(), `duplicates the UPN of Pupil[${earlier}]`);
    p.upnInvalid = true;
    return;
  }
  upnSeen.set(value, p.index);
  p.upn = value;
}

/**
 * A closed Pupil → its record; undefined (with the problems logged) when it has no usable UPN,
 * without which nothing else of this pupil can be placed.
 */
export function pupilRecord(r: CtfContext, p: PupilState, header: CtfHeader): PupilRecord | undefined {
  if (!p.upn && !p.upnInvalid) r.fail(r.at(p.line, `${p.location}/UPN`), 'is required');
  if (!p.surname) r.fail(r.at(p.line, `${p.location}/Surname`), 'is required');
  if (!p.forename) r.fail(r.at(p.line, `${p.location}/Forename`), 'is required');
  if (!p.upn) return undefined; // without an identity nothing else of this pupil can be placed
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
    const asOf = header.date;
    record.fsmEligible = p.fsmPeriods.some((f) => !f.end || (asOf !== undefined && f.end >= asOf));
  }
  if (p.sen.length > 0) {
    // The current provision: an open entry (latest start first), else the latest entry.
    const withProvision = p.sen.filter((s) => s.provision);
    const open = withProvision.filter((s) => !s.end).sort((a, b) => (b.start ?? '').localeCompare(a.start ?? ''));
    const current = open[0] ?? withProvision.sort((a, b) => (b.end ?? b.start ?? '').localeCompare(a.end ?? a.start ?? ''))[0];
    if (current?.provision) record.senStatus = current.provision;
  }
  if (p.ncYear) record.yearGroup = p.ncYear;
  if (p.regGroup) record.registrationGroup = p.regGroup;
  const here = p.schools.find((s) => s.lea === header.lea && s.estab === header.estab) ?? (p.schools.length === 1 ? p.schools[0] : undefined);
  if (here?.entry) record.enrolmentDate = here.entry;
  if (here?.leaving) record.leavingDate = here.leaving;
  return record;
}
