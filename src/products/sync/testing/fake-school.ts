import { Faker, base, en, en_GB } from '@faker-js/faker';
import { upnCheckLetter, yearGroupName } from '../codes.ts';
import type {
  Address,
  AttendanceRecord,
  ContactLink,
  ContactRecord,
  FsmPeriod,
  GroupRecord,
  ImportBatch,
  Phone,
  PupilRecord,
  SchoolInfo,
  StaffRecord,
} from '../model.ts';

/**
 * A whole fake school as one full ImportBatch, deterministic per seed: pupils with contacts
 * (siblings share parents), staff, year / registration / house / class groups and session
 * attendance. Used by the connector tests and bench/sync-import.ts.
 *
 * Everything is fictitious: names from faker, postcodes in the non-geographic 'ZZ99' form,
 * e-mail at example.test, phone numbers from Ofcom's drama ranges (07700 900xxx, 020 7946 0xxx,
 * 0117 496 0xxx), LA number 999 (not a real local authority).
 *
 * Bulk randomness (attendance, weights) comes from a small seeded PRNG rather than faker so that
 * 2,000 pupils with 60 days of attendance (240,000 marks) build in well under a second.
 */

export interface FakeSchoolOptions {
  pupils: number;
  seed?: number;
  /** School days of AM+PM attendance from the start of the autumn term 2024 (weekends skipped). Default 0. */
  attendanceDays?: number;
  /** Default: 'secondary'. */
  phase?: 'primary' | 'secondary';
}

export type FakeSchool = ImportBatch & { school: SchoolInfo };

/** The fixed academic year the fake school lives in (so output never depends on today's date). */
export const FAKE_ACADEMIC_YEAR = 2024;
/** First day of the autumn term (a Monday). */
export const FAKE_TERM_START = '2024-09-02';

const LA = '999';
const HOUSES = ['Brunel', 'Darwin', 'Faraday', 'Nightingale'];
const SECONDARY_SUBJECTS = [
  ['Ma', 'Maths'],
  ['En', 'English'],
  ['Sc', 'Science'],
] as const;
const STAFF_ROLES = [
  'Teacher of Mathematics',
  'Teacher of English',
  'Teacher of Science',
  'Teacher of History',
  'Teacher of Geography',
  'Teacher of Art',
  'Teacher of Music',
  'Teacher of PE',
  'Teacher of Computing',
  'Teacher of Modern Languages',
  'Teaching Assistant',
  'Teaching Assistant',
  'Learning Mentor',
  'Office Administrator',
  'Site Manager',
];

type Rng = () => number;

/** mulberry32: tiny, fast, good enough for test data. */
function makeRng(seed: number): Rng {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickWeighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function isoDay(epochDay: number): string {
  return new Date(epochDay * 86_400_000).toISOString().slice(0, 10);
}

function epochDay(iso: string): number {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);
}

/** A random date between two ISO dates inclusive. */
function dateBetween(rng: Rng, from: string, to: string): string {
  return isoDay(int(rng, epochDay(from), epochDay(to)));
}

function asciiName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

const ETHNICITY_WEIGHTS: readonly (readonly [string, number])[] = [
  ['WBRI', 580],
  ['WENG', 20],
  ['WIRI', 8],
  ['WIRT', 2],
  ['WOTH', 40],
  ['WEEU', 15],
  ['WROM', 3],
  ['MWBC', 15],
  ['MWBA', 8],
  ['MWAS', 12],
  ['MOTH', 15],
  ['AIND', 30],
  ['APKN', 40],
  ['AMPK', 5],
  ['ABAN', 20],
  ['AOTH', 15],
  ['BCRB', 12],
  ['BAFR', 35],
  ['BNGN', 5],
  ['BSOM', 5],
  ['BOTH', 6],
  ['CHNE', 7],
  ['OOTH', 15],
  ['OARA', 4],
  ['REFU', 6],
  ['NOBT', 4],
  // An unknown code, kept as given with a warning: exercises that path in every import.
  ['ZZZZ', 1],
];

const LANGUAGE_WEIGHTS: readonly (readonly [string, number])[] = [
  ['ENG', 780],
  ['ENB', 20],
  ['URD', 30],
  ['PNJ', 20],
  ['BNG', 20],
  ['POL', 30],
  ['ARA', 15],
  ['SOM', 10],
  ['GUJ', 10],
  ['POR', 10],
  ['SPA', 8],
  ['TUR', 7],
  ['OTH', 20],
  ['NOT', 10],
];

/** Absence reasons for a day off, by weight (I illness dominates, as in the national figures). */
const ABSENCE_WEIGHTS: readonly (readonly [string, number])[] = [
  ['I', 450],
  ['O', 90],
  ['N', 80],
  ['M', 80],
  ['G', 100],
  ['C', 40],
  ['C2', 20],
  ['R', 20],
  ['E', 10],
  ['J1', 8],
  ['C1', 4],
  ['T', 4],
  ['Q', 4],
  ['Y1', 6],
  ['Y2', 4],
  ['Y7', 6],
];

const APPROVED_WEIGHTS: readonly (readonly [string, number])[] = [
  ['V', 50],
  ['B', 30],
  ['P', 15],
  ['K', 5],
];

interface Household {
  surname: string;
  address: Address;
  homePhone: string | null;
  contacts: ContactRecord[];
}

export function fakeSchool(options: FakeSchoolOptions): FakeSchool {
  const count = Math.max(0, Math.floor(options.pupils));
  const seed = options.seed ?? 1;
  const phase = options.phase ?? 'secondary';
  const attendanceDays = Math.max(0, Math.floor(options.attendanceDays ?? 0));
  const faker = new Faker({ locale: [en_GB, en, base], seed });
  const rng = makeRng(seed * 2654435761 + 17);

  const estab = pad(phase === 'primary' ? 2000 + int(rng, 0, 999) : 4000 + int(rng, 0, 999), 4);
  const town = faker.location.city();
  const school: SchoolInfo = {
    name: `${town} ${phase === 'primary' ? 'Primary School' : 'Academy'}`,
    urn: String(900000 + int(rng, 0, 99999)),
    laEstab: LA + estab,
    phase,
  };

  // ------------------------------------------------------------ year groups and slots
  const years = phase === 'primary' ? ['R', '1', '2', '3', '4', '5', '6'] : ['7', '8', '9', '10', '11', '12', '13'];
  const weights = years.map((y) => (y === '12' || y === '13' ? 0.5 : 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const perYear = weights.map((w) => Math.floor((count * w) / totalWeight));
  for (let i = 0; perYear.reduce((a, b) => a + b, 0) < count; i = (i + 1) % years.length) perYear[i]!++;
  const slots: string[] = [];
  years.forEach((y, i) => {
    for (let k = 0; k < perYear[i]!; k++) slots.push(y);
  });
  // Shuffle so households get children in different years.
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }

  // ------------------------------------------------------------ staff
  const staff: StaffRecord[] = [];
  const staffCount = count === 0 ? 0 : Math.max(1, Math.round(count / 13));
  for (let i = 0; i < staffCount; i++) {
    const sex = rng() < 0.7 ? 'female' : 'male';
    const forename = faker.person.firstName(sex);
    const surname = faker.person.lastName();
    const role = i === 0 ? 'Headteacher' : i === 1 ? 'Deputy Headteacher' : pick(rng, STAFF_ROLES);
    const phones: Phone[] = rng() < 0.5 ? [{ number: `07700 900${pad(int(rng, 0, 999), 3)}`, type: 'mobile' }] : [];
    staff.push({
      misId: `S${pad(i + 1, 5)}`,
      title: sex === 'female' ? pick(rng, ['Mrs', 'Ms', 'Miss', 'Dr']) : pick(rng, ['Mr', 'Mr', 'Dr']),
      forename,
      surname,
      dateOfBirth: dateBetween(rng, '1962-01-01', '2001-12-31'),
      gender: sex === 'female' ? 'F' : 'M',
      jobTitle: role,
      emails: [{ address: `${asciiName(forename).slice(0, 1)}.${asciiName(surname)}${i + 1}@example.test`, type: 'work' }],
      phones,
    });
  }
  const teachers = staff.filter((s) => s.jobTitle?.startsWith('Teacher') || s.jobTitle === 'Headteacher' || s.jobTitle === 'Deputy Headteacher');
  const teacherPool = teachers.length > 0 ? teachers : staff;
  let teacherCursor = 0;
  const nextTeacher = (): string[] => {
    if (teacherPool.length === 0) return [];
    const t = teacherPool[teacherCursor % teacherPool.length]!;
    teacherCursor++;
    return [t.misId];
  };

  // ------------------------------------------------------------ households, pupils, contacts
  const pupils: PupilRecord[] = [];
  const contacts: ContactRecord[] = [];
  const upnSerials = new Map<string, number>();

  const makeAddress = (): Address => {
    const postcode = fakePostcode(rng);
    const addressTown = rng() < 0.85 ? town : faker.location.city();
    const county = rng() < 0.3 ? faker.location.county() : null;
    if (rng() < 0.1) {
      // House name, street, locality.
      const name = faker.word.adjective({ length: { min: 4, max: 9 } });
      return { lines: [`${name[0]!.toUpperCase()}${name.slice(1)} House`, faker.location.street(), `Little ${faker.location.city()}`], town: addressTown, county, postcode };
    }
    return { lines: [String(int(rng, 1, 240)), faker.location.street()], town: addressTown, county, postcode };
  };

  const mobile = () => `07700 900${pad(int(rng, 0, 999), 3)}`;
  const emailFor = (forename: string, surname: string, n: number) => `${asciiName(forename)}.${asciiName(surname)}${n}@example.test`;

  let contactSeq = 0;
  const newContact = (h: Household, role: 'mother' | 'father' | 'grandparent' | 'other', sameAddress: boolean): ContactRecord => {
    const female = role === 'mother' ? true : role === 'father' ? false : rng() < 0.6;
    const forename = faker.person.firstName(female ? 'female' : 'male');
    const surname = role === 'mother' && rng() < 0.2 ? faker.person.lastName() : role === 'other' && rng() < 0.7 ? faker.person.lastName() : h.surname;
    contactSeq++;
    const phones: Phone[] = [{ number: mobile(), type: 'mobile' }];
    if (sameAddress && h.homePhone) phones.push({ number: h.homePhone, type: 'home' });
    if ((role === 'mother' || role === 'father') && rng() < 0.2) phones.push({ number: `0117 496 0${pad(int(rng, 0, 999), 3)}`, type: 'work' });
    const c: ContactRecord = {
      misId: `C${pad(contactSeq, 6)}`,
      title: female ? pick(rng, ['Mrs', 'Ms', 'Miss', 'Mrs', 'Dr']) : pick(rng, ['Mr', 'Mr', 'Mr', 'Dr']),
      forename,
      surname,
      emails: role !== 'other' && rng() < 0.85 ? [{ address: emailFor(forename, surname, contactSeq), type: 'home' }] : [],
      phones,
      address: sameAddress ? { ...h.address, lines: [...h.address.lines] } : makeAddress(),
      links: [],
    };
    h.contacts.push(c);
    contacts.push(c);
    return c;
  };

  let pupilSeq = 0;
  let slotIndex = 0;
  while (slotIndex < slots.length) {
    const children = Math.min(slots.length - slotIndex, pickWeighted(rng, [[1, 70], [2, 25], [3, 5]] as const));
    const household: Household = {
      surname: faker.person.lastName(),
      address: makeAddress(),
      homePhone: rng() < 0.6 ? `020 7946 0${pad(int(rng, 0, 999), 3)}` : null,
      contacts: [],
    };
    const contactCount = pickWeighted(rng, [[1, 10], [2, 50], [3, 30], [4, 10]] as const);
    // Roles: mother / father first (one of them for a single-contact household), then a grandparent, then another contact.
    const roles: { role: 'mother' | 'father' | 'grandparent' | 'other'; relationship: string; pr: boolean; livesWith: boolean }[] = [];
    if (contactCount === 1) {
      const mother = rng() < 0.8;
      roles.push({ role: mother ? 'mother' : 'father', relationship: mother ? 'PAM' : 'PAF', pr: true, livesWith: true });
    } else {
      roles.push({ role: 'mother', relationship: 'PAM', pr: true, livesWith: true });
      const step = rng() < 0.06;
      const separated = !step && rng() < 0.12;
      roles.push({ role: 'father', relationship: step ? 'STF' : 'PAF', pr: !step, livesWith: !separated });
      if (contactCount >= 3) {
        const gm = rng() < 0.6;
        roles.push({ role: 'grandparent', relationship: gm ? 'GRM' : 'GRF', pr: false, livesWith: false });
      }
      if (contactCount >= 4) roles.push({ role: 'other', relationship: pick(rng, ['CHM', 'OTH', 'REL']), pr: false, livesWith: false });
    }
    const householdContacts = roles.map((r) => newContact(household, r.role, r.livesWith));
    // A different forename for the two parents keeps contacts distinguishable by name + address.
    if (householdContacts.length >= 2 && householdContacts[0]!.forename === householdContacts[1]!.forename) householdContacts[1]!.forename += 'o';

    for (let k = 0; k < children; k++) {
      const year = slots[slotIndex++]!;
      pupilSeq++;
      const misId = `P${pad(pupilSeq, 6)}`;
      const sexRoll = rng();
      const gender = sexRoll < 0.495 ? 'M' : sexRoll < 0.99 ? 'F' : 'U';
      const forename = faker.person.firstName(gender === 'M' ? 'male' : gender === 'F' ? 'female' : undefined);
      const surname = rng() < 0.92 ? household.surname : (householdContacts[0]?.surname ?? household.surname);
      const yearIndex = year === 'R' ? 0 : Number(year);
      // Born 1 September (2019 − N) … 31 August (2020 − N) for NC year N in 2024/25.
      const dob = dateBetween(rng, `${2019 - yearIndex}-09-01`, `${2020 - yearIndex}-08-31`);
      const firstYear = phase === 'primary' ? 0 : 7;
      const sixthFormEntrant = yearIndex >= 12 && rng() < 0.2;
      const entryYear = FAKE_ACADEMIC_YEAR - (sixthFormEntrant ? yearIndex - 12 : yearIndex - firstYear);
      const enrolmentDate =
        entryYear < FAKE_ACADEMIC_YEAR && rng() < 0.1 ? dateBetween(rng, `${entryYear}-09-15`, `${entryYear + 1}-07-10`) : firstWeekdayOfSeptember(entryYear);
      const fsmRoll = rng();
      let fsmPeriods: FsmPeriod[] = [];
      // Eligibility may predate this school (it follows the child from reception).
      const schoolStart = `${FAKE_ACADEMIC_YEAR - yearIndex}-09-01`;
      if (fsmRoll < 0.18) fsmPeriods = [{ start: dateBetween(rng, schoolStart, FAKE_TERM_START), end: null }];
      else if (fsmRoll < 0.22) {
        const start = dateBetween(rng, schoolStart, '2024-01-31');
        fsmPeriods = [{ start, end: dateBetween(rng, start, '2024-07-19') }];
      }
      const senRoll = rng();
      const upn = makeUpn(upnSerials, estab, entryYear);
      const phones: Phone[] = household.homePhone ? [{ number: household.homePhone, type: 'home' }] : [];
      const pupil: PupilRecord = {
        misId,
        upn,
        admissionNumber: pad(1000 + pupilSeq, 6),
        legalForename: forename,
        legalSurname: surname,
        middleNames: rng() < 0.4 ? faker.person.firstName(gender === 'M' ? 'male' : gender === 'F' ? 'female' : undefined) : null,
        preferredForename: rng() < 0.05 ? faker.person.firstName(gender === 'M' ? 'male' : 'female') : null,
        preferredSurname: rng() < 0.02 ? faker.person.lastName() : null,
        dateOfBirth: dob,
        gender,
        ethnicity: pickWeighted(rng, ETHNICITY_WEIGHTS),
        firstLanguage: pickWeighted(rng, LANGUAGE_WEIGHTS),
        address: { ...household.address, lines: [...household.address.lines] },
        emails: [],
        phones,
        fsmEligible: fsmPeriods.some((p) => !p.end),
        fsmPeriods,
        senStatus: senRoll < 0.84 ? 'N' : senRoll < 0.97 ? 'K' : 'E',
        yearGroup: year,
        registrationGroup: null, // set below once groups are cut
        house: pick(rng, HOUSES),
        enrolmentDate,
        leavingDate: null,
      };
      pupils.push(pupil);
      householdContacts.forEach((c, index) => {
        const r = roles[index]!;
        const link: ContactLink = {
          pupilMisId: misId,
          relationship: r.relationship,
          parentalResponsibility: r.pr,
          priority: index + 1,
          livesWith: r.livesWith,
          noContact: r.role === 'father' && rng() < 0.005,
        };
        c.links.push(link);
      });
    }
  }

  // ------------------------------------------------------------ groups
  const groups: GroupRecord[] = [];
  const byYear = new Map<string, PupilRecord[]>();
  for (const y of years) byYear.set(y, []);
  for (const p of pupils) byYear.get(p.yearGroup!)!.push(p);
  // Stable order inside a year: by surname, forename (as registers are).
  for (const list of byYear.values()) list.sort((a, b) => (a.legalSurname + a.legalForename).localeCompare(b.legalSurname + b.legalForename));

  for (const y of years) {
    const list = byYear.get(y)!;
    if (list.length === 0) continue;
    groups.push({ misId: `Y-${y}`, kind: 'year', name: yearGroupName(y), code: y, pupilMisIds: list.map((p) => p.misId), staffMisIds: nextTeacher() });
  }
  for (const y of years) {
    const list = byYear.get(y)!;
    const forms = Math.ceil(list.length / 28);
    for (let f = 0; f < forms; f++) {
      const code = `${y}${String.fromCharCode(65 + (f % 26))}${f >= 26 ? Math.floor(f / 26) : ''}`;
      const members = list.filter((_, i) => i % forms === f);
      for (const p of members) p.registrationGroup = code;
      groups.push({ misId: `R-${code}`, kind: 'registration', name: `Form ${code}`, code, pupilMisIds: members.map((p) => p.misId), staffMisIds: nextTeacher() });
    }
  }
  if (pupils.length > 0) {
    for (const house of HOUSES) {
      groups.push({ misId: `H-${house}`, kind: 'house', name: `${house} House`, code: house.slice(0, 3).toUpperCase(), pupilMisIds: pupils.filter((p) => p.house === house).map((p) => p.misId), staffMisIds: nextTeacher() });
    }
  }
  const subjects = phase === 'secondary' ? SECONDARY_SUBJECTS : ([['Ma', 'Maths']] as const);
  for (const y of years) {
    const list = byYear.get(y)!;
    if (list.length === 0) continue;
    const sets = Math.ceil(list.length / 30);
    for (const [short, subject] of subjects) {
      // Sets by a per-subject "prior attainment" order so pupils mix between subjects.
      const order = list.map((p) => ({ p, score: rng() })).sort((a, b) => a.score - b.score);
      for (let s = 0; s < sets; s++) {
        const members = order.slice(Math.floor((s * order.length) / sets), Math.floor(((s + 1) * order.length) / sets)).map((o) => o.p.misId);
        const code = `${y}${short}${s + 1}`;
        groups.push({ misId: `K-${code}`, kind: 'class', name: `${yearGroupName(y)} ${subject} set ${s + 1}`, code, pupilMisIds: members, staffMisIds: nextTeacher() });
      }
    }
  }

  // ------------------------------------------------------------ attendance
  const attendance = makeAttendance(pupils, attendanceDays, makeRng(seed * 7919 + 3));

  return {
    mode: 'full',
    school,
    pupils,
    contacts,
    staff,
    groups,
    attendance,
    removed: [],
    warnings: [],
    errors: [],
  };
}

/** School days (Mon–Fri) from FAKE_TERM_START, as ISO strings. */
export function fakeSchoolDays(days: number): string[] {
  const out: string[] = [];
  let d = epochDay(FAKE_TERM_START);
  while (out.length < days) {
    const dow = new Date(d * 86_400_000).getUTCDay();
    if (dow !== 0 && dow !== 6) out.push(isoDay(d));
    d++;
  }
  return out;
}

function makeAttendance(pupils: PupilRecord[], days: number, rng: Rng): AttendanceRecord[] {
  if (days === 0 || pupils.length === 0) return [];
  const dates = fakeSchoolDays(days);
  const out: AttendanceRecord[] = new Array(pupils.length * dates.length * 2);
  let n = 0;
  for (const p of pupils) {
    const persistent = rng() < 0.08;
    const dayAbsence = persistent ? 0.1 + rng() * 0.12 : rng() * 0.06;
    const lateRate = rng() < 0.1 ? 0.06 : 0.01;
    let streak: string | null = null;
    const pupilMisId = p.misId;
    for (const date of dates) {
      let am: string;
      let pm: string;
      if (streak !== null && rng() < 0.45) {
        am = pm = streak; // illness and the like run on
      } else {
        streak = null;
        const roll = rng();
        if (roll < dayAbsence) {
          const reason = pickWeighted(rng, ABSENCE_WEIGHTS);
          if (reason === 'M') {
            // Appointments take one session.
            if (rng() < 0.5) {
              am = 'M';
              pm = '\\';
            } else {
              am = '/';
              pm = 'M';
            }
          } else {
            am = pm = reason;
            if (reason === 'I') streak = 'I';
          }
        } else if (roll < dayAbsence + 0.004) {
          am = pm = pickWeighted(rng, APPROVED_WEIGHTS);
        } else {
          const r2 = rng();
          am = r2 < lateRate ? 'L' : r2 < lateRate + 0.002 ? 'U' : '/';
          pm = '\\';
        }
      }
      out[n++] = { pupilMisId, date, session: 'AM', code: am };
      out[n++] = { pupilMisId, date, session: 'PM', code: pm };
    }
  }
  return out;
}

function firstWeekdayOfSeptember(year: number): string {
  let d = epochDay(`${year}-09-01`);
  for (;;) {
    const dow = new Date(d * 86_400_000).getUTCDay();
    if (dow !== 0 && dow !== 6) return isoDay(d);
    d++;
  }
}

/** 'ZZ99' is the non-geographic pseudo-postcode prefix: never a real address. */
function fakePostcode(rng: Rng): string {
  const letters = 'ABDEFGHJLNPQRSTUWXYZ';
  return `ZZ99 ${int(rng, 1, 9)}${pick(rng, letters.split(''))}${pick(rng, letters.split(''))}`;
}

/** A UPN with a correct check letter: LA (999 = not a real LA) + establishment + 2-digit year + 3-digit serial. */
function makeUpn(serials: Map<string, number>, estab: string, entryYear: number): string {
  let yy = entryYear % 100;
  for (;;) {
    const key = pad(yy, 2);
    const next = (serials.get(key) ?? 0) + 1;
    if (next <= 999) {
      serials.set(key, next);
      const rest = `${LA}${estab}${key}${pad(next, 3)}`;
      return upnCheckLetter(rest)! + rest;
    }
    yy = (yy + 1) % 100;
  }
}
