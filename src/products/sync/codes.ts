/**
 * CBDS / DfE code tables shared by every connector (CTF, OneRoster, CSV, …) and the fake school.
 *
 * Sources (checked while writing this file):
 * - Attendance: DfE "Working together to improve school attendance" (statutory from 19 August 2024)
 *   and the School Attendance (Pupil Registration) (England) Regulations 2024, which replaced J with
 *   J1, retired H and F, split C into C1 / C2 / C and Y into Q + Y1…Y7, and added K. Codes from
 *   before August 2024 (F, H, J, Y) are kept as `legacy` because CTFs and histories still carry them.
 * - Ethnicity, language, SEN provision, gender, NC year, telephone type, contact relationship: the
 *   Common Basic Data Set (CBDS) code sets used by the school census and the common transfer file.
 *
 * Unknown codes are never rejected by these helpers: connectors keep the value as given and add a
 * warning, so a code list that the DfE extends next year does not block a school's import.
 */

// ---------------------------------------------------------------- gender

/** CBDS gender (CTF `Gender`): the model also allows 'X' for "not specified / other". */
export const GENDER_CODES: Readonly<Record<string, string>> = {
  M: 'Male',
  F: 'Female',
  U: 'Unknown',
  X: 'Not specified / other',
};

export function isGenderCode(code: string): boolean {
  return Object.hasOwn(GENDER_CODES, code);
}

// ---------------------------------------------------------------- ethnicity

export interface EthnicityCode {
  description: string;
  /** The main (census) category this extended code rolls up to; the main codes point at themselves. */
  main: string;
}

/** The main CBDS ethnicity categories (the ones every school must be able to report). */
export const MAIN_ETHNICITY_CODES: Readonly<Record<string, string>> = {
  WBRI: 'White - British',
  WIRI: 'White - Irish',
  WIRT: 'Traveller of Irish heritage',
  WOTH: 'Any other White background',
  WROM: 'Gypsy / Roma',
  MWBC: 'White and Black Caribbean',
  MWBA: 'White and Black African',
  MWAS: 'White and Asian',
  MOTH: 'Any other mixed background',
  AIND: 'Indian',
  APKN: 'Pakistani',
  ABAN: 'Bangladeshi',
  AOTH: 'Any other Asian background',
  BCRB: 'Black Caribbean',
  BAFR: 'Black - African',
  BOTH: 'Any other Black background',
  CHNE: 'Chinese',
  OOTH: 'Any other ethnic group',
  REFU: 'Refused',
  NOBT: 'Information not yet obtained',
};

const EXTENDED_ETHNICITY: Record<string, [string, string]> = {
  // White - British
  WCOR: ['White - Cornish', 'WBRI'],
  WENG: ['White - English', 'WBRI'],
  WSCO: ['White - Scottish', 'WBRI'],
  WWEL: ['White - Welsh', 'WBRI'],
  WOWB: ['Other White British', 'WBRI'],
  // Any other White background
  WALB: ['Albanian', 'WOTH'],
  WBOS: ['Bosnian- Herzegovinian', 'WOTH'],
  WCRO: ['Croatian', 'WOTH'],
  WGRE: ['Greek / Greek Cypriot', 'WOTH'],
  WGRK: ['Greek', 'WOTH'],
  WGRC: ['Greek Cypriot', 'WOTH'],
  WITA: ['Italian', 'WOTH'],
  WKOS: ['Kosovan', 'WOTH'],
  WPOR: ['Portuguese', 'WOTH'],
  WSER: ['Serbian', 'WOTH'],
  WTUR: ['Turkish / Turkish Cypriot', 'WOTH'],
  WTUK: ['Turkish', 'WOTH'],
  WTUC: ['Turkish Cypriot', 'WOTH'],
  WEEU: ['White Eastern European', 'WOTH'],
  WWEU: ['White Western European', 'WOTH'],
  WOTW: ['White other', 'WOTH'],
  // Gypsy / Roma
  WROG: ['Gypsy', 'WROM'],
  WROR: ['Roma', 'WROM'],
  WROO: ['Other Gypsy / Roma', 'WROM'],
  // Any other mixed background
  MAOE: ['Asian and any other ethnic group', 'MOTH'],
  MABL: ['Asian and Black', 'MOTH'],
  MACH: ['Asian and Chinese', 'MOTH'],
  MBOE: ['Black and any other ethnic group', 'MOTH'],
  MBCH: ['Black and Chinese', 'MOTH'],
  MCOE: ['Chinese and any other ethnic group', 'MOTH'],
  MWOE: ['White and any other ethnic group', 'MOTH'],
  MWCH: ['White and Chinese', 'MOTH'],
  MOTM: ['Other mixed background', 'MOTH'],
  // Pakistani
  AMPK: ['Mirpuri Pakistani', 'APKN'],
  AKPA: ['Kashmiri Pakistani', 'APKN'],
  AOPK: ['Other Pakistani', 'APKN'],
  // Any other Asian background
  AAFR: ['African Asian', 'AOTH'],
  AKAO: ['Kashmiri other', 'AOTH'],
  ANEP: ['Nepali', 'AOTH'],
  ASNL: ['Sri Lankan Sinhalese', 'AOTH'],
  ASLT: ['Sri Lankan Tamil', 'AOTH'],
  ASRO: ['Sri Lankan other', 'AOTH'],
  AOTA: ['Other Asian', 'AOTH'],
  // Black - African
  BANN: ['Black - Angolan', 'BAFR'],
  BCON: ['Black - Congolese', 'BAFR'],
  BGHA: ['Black - Ghanaian', 'BAFR'],
  BNGN: ['Black - Nigerian', 'BAFR'],
  BSLN: ['Black - Sierra Leonean', 'BAFR'],
  BSOM: ['Black - Somali', 'BAFR'],
  BSUD: ['Black - Sudanese', 'BAFR'],
  BAOF: ['Other Black - African', 'BAFR'],
  // Any other Black background
  BEUR: ['Black European', 'BOTH'],
  BNAM: ['Black North American', 'BOTH'],
  BOTB: ['Other Black', 'BOTH'],
  // Chinese
  CHKC: ['Hong Kong Chinese', 'CHNE'],
  CMAL: ['Malaysian Chinese', 'CHNE'],
  CSNG: ['Singaporean Chinese', 'CHNE'],
  CTWN: ['Taiwanese', 'CHNE'],
  COCH: ['Other Chinese', 'CHNE'],
  // Any other ethnic group
  OAFG: ['Afghan', 'OOTH'],
  OARA: ['Arab other', 'OOTH'],
  OEGY: ['Egyptian', 'OOTH'],
  OFIL: ['Filipino', 'OOTH'],
  OIRN: ['Iranian', 'OOTH'],
  OIRQ: ['Iraqi', 'OOTH'],
  OJPN: ['Japanese', 'OOTH'],
  OKOR: ['Korean', 'OOTH'],
  OKRD: ['Kurdish', 'OOTH'],
  OLAM: ['Latin / South / Central American', 'OOTH'],
  OLEB: ['Lebanese', 'OOTH'],
  OLIB: ['Libyan', 'OOTH'],
  OMAL: ['Malay', 'OOTH'],
  OMRC: ['Moroccan', 'OOTH'],
  OPOL: ['Polynesian', 'OOTH'],
  OTHA: ['Thai', 'OOTH'],
  OVIE: ['Vietnamese', 'OOTH'],
  OYEM: ['Yemeni', 'OOTH'],
  OOEG: ['Other ethnic group', 'OOTH'],
};

/** Every CBDS ethnicity code (main and extended) with its description and main category. */
export const ETHNICITY_CODES: Readonly<Record<string, EthnicityCode>> = Object.freeze({
  ...Object.fromEntries(Object.entries(MAIN_ETHNICITY_CODES).map(([code, description]) => [code, { description, main: code }])),
  ...Object.fromEntries(Object.entries(EXTENDED_ETHNICITY).map(([code, [description, main]]) => [code, { description, main }])),
});

export function isEthnicityCode(code: string): boolean {
  return Object.hasOwn(ETHNICITY_CODES, code);
}

/** The main category of a main or extended code ('WENG' → 'WBRI'); undefined for an unknown code. */
export function mainEthnicity(code: string): string | undefined {
  return Object.hasOwn(ETHNICITY_CODES, code) ? ETHNICITY_CODES[code]!.main : undefined;
}

// ---------------------------------------------------------------- first language

/**
 * CBDS first-language codes: the "English / other" summary codes every MIS may send, and the
 * most common specific languages in English schools. Not the full ~300-entry list: an unknown code
 * is kept as given with a warning.
 */
export const LANGUAGE_CODES: Readonly<Record<string, string>> = {
  ENG: 'English',
  ENB: 'Believed to be English',
  OTH: 'Other than English',
  OTB: 'Believed to be other than English',
  REFU: 'Refused',
  NOT: 'Information not obtained',
  WEL: 'Welsh / Cymraeg',
  URD: 'Urdu',
  PNJ: 'Panjabi',
  BNG: 'Bengali',
  GUJ: 'Gujarati',
  POL: 'Polish',
  ARA: 'Arabic',
  SOM: 'Somali',
  TUR: 'Turkish',
  FRN: 'French',
  POR: 'Portuguese',
  SPA: 'Spanish',
  ITA: 'Italian',
  TAM: 'Tamil',
  LIT: 'Lithuanian',
};

export function isLanguageCode(code: string): boolean {
  return Object.hasOwn(LANGUAGE_CODES, code);
}

// ---------------------------------------------------------------- SEN provision

export const SEN_PROVISION_CODES: Readonly<Record<string, { description: string; legacy?: true }>> = {
  N: { description: 'No special educational need' },
  K: { description: 'SEN support' },
  E: { description: 'Education, health and care plan' },
  // Before September 2014 (still seen in histories).
  S: { description: 'Statement (replaced by E)', legacy: true },
  A: { description: 'School Action (replaced by K)', legacy: true },
  P: { description: 'School Action Plus (replaced by K)', legacy: true },
};

/** Current SEN provision codes only (N, K, E); legacy codes return false. */
export function isSenProvisionCode(code: string): boolean {
  return Object.hasOwn(SEN_PROVISION_CODES, code) && !SEN_PROVISION_CODES[code]!.legacy;
}

// ---------------------------------------------------------------- NC year

/** CBDS National Curriculum year group codes (CTF `NCyearActual`). */
export const NC_YEAR_CODES: readonly string[] = ['E1', 'E2', 'N1', 'N2', 'R', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', 'X'];

export function isNcYearCode(code: string): boolean {
  return NC_YEAR_CODES.includes(code);
}

/** Display name for an NC year code: 'R' → 'Reception', '7' → 'Year 7', 'N1' → 'Nursery 1'. */
export function yearGroupName(code: string): string {
  if (code === 'R') return 'Reception';
  if (code === 'N1' || code === 'N2') return `Nursery ${code.slice(1)}`;
  if (code === 'E1' || code === 'E2') return `Early years ${code.slice(1)}`;
  if (code === 'X') return 'National Curriculum not followed';
  return `Year ${code}`;
}

// ---------------------------------------------------------------- telephone type

/** CBDS telephone type (CTF `TelephoneType`) and how it maps onto the model's phone type. */
export const TELEPHONE_TYPE_CODES: Readonly<Record<string, { description: string; modelType: 'home' | 'work' | 'mobile' | 'other' }>> = {
  H: { description: 'Home', modelType: 'home' },
  W: { description: 'Work', modelType: 'work' },
  M: { description: 'Mobile', modelType: 'mobile' },
  D: { description: 'Daytime', modelType: 'other' },
  E: { description: 'Evening', modelType: 'other' },
  F: { description: 'Fax', modelType: 'other' },
  A: { description: 'Alternative / other', modelType: 'other' },
  T: { description: 'Minicom / textphone', modelType: 'other' },
};

// ---------------------------------------------------------------- contact relationship

/** CBDS relationship of a contact to the pupil (CTF `Relationship`). */
export const RELATIONSHIP_CODES: Readonly<Record<string, string>> = {
  PAM: 'Parent (mother)',
  PAF: 'Parent (father)',
  STM: 'Step-mother',
  STF: 'Step-father',
  FOM: 'Foster mother',
  FOF: 'Foster father',
  GRM: 'Grandmother',
  GRF: 'Grandfather',
  CAR: 'Carer',
  CHM: 'Childminder',
  DOC: 'Doctor',
  FAM: 'Other family member',
  REL: 'Other relative',
  SWR: 'Social worker',
  OTH: 'Other contact',
};

export function isRelationshipCode(code: string): boolean {
  return Object.hasOwn(RELATIONSHIP_CODES, code);
}

// ---------------------------------------------------------------- attendance

export type AttendanceCategory =
  | 'present'
  | 'approved-educational-activity'
  | 'authorised-absence'
  | 'unauthorised-absence'
  /** Absent but not counted as a possible session: Q and Y1–Y7 ("unable to attend due to exceptional circumstances"). */
  | 'unable-to-attend'
  | 'not-required'
  | 'administrative';

export interface AttendanceCode {
  meaning: string;
  category: AttendanceCategory;
  /** Counts towards "sessions possible" in DfE absence statistics. */
  possible: boolean;
  /** Retired on 19 August 2024 (still found in older registers and CTFs). */
  legacy?: true;
}

function code(meaning: string, category: AttendanceCategory, possible: boolean, legacy?: true): AttendanceCode {
  return legacy ? { meaning, category, possible, legacy } : { meaning, category, possible };
}

/** DfE national attendance and absence codes (from 19 August 2024), plus the retired ones. */
export const ATTENDANCE_CODES: Readonly<Record<string, AttendanceCode>> = Object.freeze({
  // Attending the school
  '/': code('Present (AM)', 'present', true),
  '\\': code('Present (PM)', 'present', true),
  L: code('Late arrival before the register is closed', 'present', true),
  // Attending a place other than the school
  K: code('Attending education provision arranged by the local authority', 'approved-educational-activity', true),
  V: code('Attending an educational visit or trip', 'approved-educational-activity', true),
  P: code('Participating in a supervised sporting activity', 'approved-educational-activity', true),
  W: code('Attending work experience', 'approved-educational-activity', true),
  B: code('Attending any other approved educational activity', 'approved-educational-activity', true),
  D: code('Dual registered: attending the other school at which the pupil is registered', 'approved-educational-activity', false),
  // Absent: leave of absence
  C1: code('Leave of absence for a regulated performance or regulated employment abroad', 'authorised-absence', true),
  M: code('Leave of absence for a medical or dental appointment', 'authorised-absence', true),
  J1: code('Leave of absence for an interview', 'authorised-absence', true),
  S: code('Leave of absence for study leave', 'authorised-absence', true),
  X: code('Non-compulsory school age pupil not required to be in school', 'not-required', false),
  C2: code('Leave of absence for a compulsory school age pupil subject to a part-time timetable', 'authorised-absence', true),
  C: code('Leave of absence for exceptional circumstances', 'authorised-absence', true),
  // Absent: other authorised reasons
  T: code('Parent travelling for occupational purposes', 'authorised-absence', true),
  R: code('Religious observance', 'authorised-absence', true),
  I: code('Illness (not medical or dental appointment)', 'authorised-absence', true),
  E: code('Suspended or permanently excluded and no alternative provision made', 'authorised-absence', true),
  // Absent: unable to attend due to exceptional circumstances
  Q: code('Unable to attend the school because of a lack of access arrangements', 'unable-to-attend', false),
  Y1: code('Unable to attend due to transport normally provided not being available', 'unable-to-attend', false),
  Y2: code('Unable to attend due to widespread disruption to travel', 'unable-to-attend', false),
  Y3: code('Unable to attend due to part of the school premises being closed', 'unable-to-attend', false),
  Y4: code('Unable to attend due to the whole school site being unexpectedly closed', 'unable-to-attend', false),
  Y5: code('Unable to attend as pupil is in criminal justice detention', 'unable-to-attend', false),
  Y6: code('Unable to attend in accordance with public health guidance or law', 'unable-to-attend', false),
  Y7: code('Unable to attend because of any other unavoidable cause', 'unable-to-attend', false),
  // Absent: unauthorised
  G: code('Holiday not granted by the school', 'unauthorised-absence', true),
  N: code('Reason for absence not yet established', 'unauthorised-absence', true),
  O: code('Absent in other or unknown circumstances', 'unauthorised-absence', true),
  U: code('Arrived in school after registration closed', 'unauthorised-absence', true),
  // Administrative
  Z: code('Prospective pupil not on admission register', 'administrative', false),
  '#': code('Planned whole or partial school closure', 'administrative', false),
  // Retired on 19 August 2024
  H: code('Holiday authorised by the school (before August 2024)', 'authorised-absence', true, true),
  F: code('Agreed extended family holiday (before September 2013)', 'authorised-absence', true, true),
  J: code('Interview (before August 2024: approved educational activity)', 'approved-educational-activity', true, true),
  Y: code('Unable to attend due to exceptional circumstances (before August 2024)', 'unable-to-attend', false, true),
});

/** True for a current or legacy DfE attendance code. */
export function isAttendanceCode(code: string): boolean {
  return Object.hasOwn(ATTENDANCE_CODES, code);
}

/** The category of an attendance code, or undefined when the code is unknown. */
export function attendanceCategory(code: string): AttendanceCategory | undefined {
  return Object.hasOwn(ATTENDANCE_CODES, code) ? ATTENDANCE_CODES[code]!.category : undefined;
}

// ---------------------------------------------------------------- UPN

const UPN_CHECK_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ';

/**
 * The check letter (first character) of a UPN from its other 12 characters: each character in
 * positions 2–13 is multiplied by its position number, a letter in position 13 (temporary UPN)
 * counting as its index in the check-letter alphabet; the sum modulo 23 indexes that alphabet.
 * Returns undefined when the 12 characters are not of the UPN form.
 */
export function upnCheckLetter(rest: string): string | undefined {
  if (!/^\d{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]$/.test(rest)) return undefined;
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    const ch = rest[i]!;
    const value = ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : UPN_CHECK_LETTERS.indexOf(ch);
    sum += value * (i + 2);
  }
  return UPN_CHECK_LETTERS[sum % 23];
}

/** A UPN's shape: check letter, 11 digits, then a digit (permanent) or a letter (temporary). */
export function isUpnFormat(upn: string): boolean {
  return /^[ABCDEFGHJKLMNPQRTUVWXYZ]\d{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]$/.test(upn);
}

/** Shape and check letter both right. */
export function isValidUpn(upn: string): boolean {
  return isUpnFormat(upn) && upnCheckLetter(upn.slice(1)) === upn[0];
}

// ---------------------------------------------------------------- dates

/** A real calendar date written as YYYY-MM-DD. */
export function isIsoDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}
