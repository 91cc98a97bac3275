/**
 * The one school data model every connector produces and the sync engine consumes. Connectors
 * (CTF XML, OneRoster CSV/REST, Wonde-style API, plain CSV) parse their source into these
 * records; they never touch the database. Dates are ISO `YYYY-MM-DD`; codes are the DfE / CBDS
 * codes where one exists (see codes.ts). Optional fields are left out when the source does not
 * carry them: "absent" (keep what we had, in a delta) is different from `null` (the source says
 * there is none).
 */

export const ENTITIES = ['pupils', 'contacts', 'staff', 'groups', 'attendance'] as const;
export type Entity = (typeof ENTITIES)[number];

export interface Address {
  /** Street lines, in order (house number/name, street, locality). */
  lines: string[];
  town?: string | null;
  county?: string | null;
  postcode?: string | null;
}

export interface Phone {
  number: string;
  /** 'home' | 'work' | 'mobile' | 'other' */
  type?: string | null;
}

export interface Email {
  address: string;
  /** 'home' | 'work' | 'other' */
  type?: string | null;
}

export interface FsmPeriod {
  start: string;
  end?: string | null;
}

export interface Photo {
  contentType: 'image/jpeg' | 'image/png';
  data: Buffer;
}

export interface PupilRecord {
  misId: string;
  upn?: string | null;
  admissionNumber?: string | null;
  legalForename: string;
  legalSurname: string;
  middleNames?: string | null;
  preferredForename?: string | null;
  preferredSurname?: string | null;
  dateOfBirth?: string | null;
  /** CBDS gender: 'M', 'F', 'U' (unknown), 'X' (not specified / other). */
  gender?: string | null;
  /** CBDS ethnicity code (e.g. 'WBRI'). */
  ethnicity?: string | null;
  /** CBDS religion code where known, else the source's text. */
  religion?: string | null;
  /** CBDS first-language code (e.g. 'ENG'). */
  firstLanguage?: string | null;
  address?: Address | null;
  emails?: Email[];
  phones?: Phone[];
  photo?: Photo | null;
  fsmEligible?: boolean | null;
  fsmPeriods?: FsmPeriod[];
  /** CBDS SEN provision: 'N' none, 'K' SEN support, 'E' EHC plan. */
  senStatus?: string | null;
  yearGroup?: string | null;
  registrationGroup?: string | null;
  house?: string | null;
  enrolmentDate?: string | null;
  leavingDate?: string | null;
}

/** How one contact stands to one pupil. */
export interface ContactLink {
  pupilMisId: string;
  relationship?: string | null;
  parentalResponsibility?: boolean | null;
  /** 1 = first to call. */
  priority?: number | null;
  livesWith?: boolean | null;
  /** Court order or other instruction that this person must not be contacted about the pupil. */
  noContact?: boolean | null;
}

export interface ContactRecord {
  misId: string;
  title?: string | null;
  forename: string;
  surname: string;
  emails?: Email[];
  phones?: Phone[];
  address?: Address | null;
  links: ContactLink[];
}

export interface StaffRecord {
  misId: string;
  title?: string | null;
  forename: string;
  surname: string;
  dateOfBirth?: string | null;
  gender?: string | null;
  jobTitle?: string | null;
  emails?: Email[];
  phones?: Phone[];
  photo?: Photo | null;
}

export type GroupKind = 'year' | 'registration' | 'house' | 'class';

export interface GroupRecord {
  misId: string;
  kind: GroupKind;
  name: string;
  code?: string | null;
  pupilMisIds: string[];
  staffMisIds: string[];
}

export interface AttendanceRecord {
  pupilMisId: string;
  date: string;
  session: 'AM' | 'PM';
  /** DfE attendance code (see codes.ts ATTENDANCE_CODES), e.g. '/', '\\', 'I', 'L', 'N'. */
  code: string;
}

export interface SchoolInfo {
  name?: string | null;
  urn?: string | null;
  /** LA number and establishment number, e.g. '123' + '4567' → '1234567'. */
  laEstab?: string | null;
  phase?: string | null;
}

/** One problem with the input: where (file and line, element path or JSON path) and why. Never a personal value. */
export interface ImportProblem {
  location: string;
  message: string;
}

/**
 * Everything one import read. `full`: the records are the whole school; anything the source had
 * before and does not list now has left. `delta`: only changes; `removed` lists records the
 * source says are gone (OneRoster `status=tobedeleted`, Wonde deletions).
 */
export interface ImportBatch {
  mode: 'full' | 'delta';
  /**
   * In a full run, the entities the source speaks for: only these can have leavers. Absent means
   * all. A plain CSV of contacts says nothing about pupils, so its run must not mark them left.
   */
  covers?: Entity[];
  school?: SchoolInfo;
  pupils: PupilRecord[];
  contacts: ContactRecord[];
  staff: StaffRecord[];
  groups: GroupRecord[];
  attendance: AttendanceRecord[];
  removed: { entity: Exclude<Entity, 'attendance'>; misId: string }[];
  /** Problems that do not block the run (an unknown code kept as given, …). */
  warnings: ImportProblem[];
  /** Problems that block it: with any error, nothing at all is written. */
  errors: ImportProblem[];
}

export function emptyBatch(mode: ImportBatch['mode']): ImportBatch {
  return { mode, pupils: [], contacts: [], staff: [], groups: [], attendance: [], removed: [], warnings: [], errors: [] };
}

export type ImportFormat = 'ctf' | 'oneroster-csv' | 'csv';
