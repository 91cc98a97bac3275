import type { SyncAddress, SyncEmail, SyncGroupKind, SyncPhone, SyncPupil } from '../../api/sync.ts';

/** Words for the codes and keys the sync hub stores (DfE / CBDS codes where there is one). */

export const ENTITY_LABELS: Record<string, string> = {
  pupils: 'Pupils',
  contacts: 'Contacts',
  staff: 'Staff',
  groups: 'Groups',
  attendance: 'Attendance marks',
};

export const FORMAT_LABELS: Record<string, string> = {
  ctf: 'Common Transfer File (CTF, XML)',
  'oneroster-csv': 'OneRoster CSV (zip)',
  csv: 'CSV with a column mapping',
  wonde: 'Wonde (API)',
  'oneroster-rest': 'OneRoster (API)',
};

export const CHANGE_LABELS: Record<string, string> = { created: 'Added', updated: 'Updated', left: 'Left' };

export const GROUP_KIND_LABELS: Record<SyncGroupKind, string> = {
  year: 'Year group',
  registration: 'Registration group',
  house: 'House',
  class: 'Class',
};

export const GENDER_LABELS: Record<string, string> = { M: 'Male', F: 'Female', U: 'Unknown', X: 'Not specified or other' };

export const SEN_LABELS: Record<string, string> = {
  N: 'No special educational need',
  K: 'SEN support',
  E: 'Education, health and care plan',
  S: 'Statement (replaced by EHC plan)',
  A: 'School Action (replaced by SEN support)',
  P: 'School Action Plus (replaced by SEN support)',
};

export const RELATIONSHIP_LABELS: Record<string, string> = {
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

/** What each sharing scope lets a grantee read, in the words the sharing page uses. */
export const SCOPE_LABELS: Record<string, { label: string; description: string }> = {
  'pupils.basic': { label: "Pupils' names and groups", description: 'Names, year group, registration group and house.' },
  'pupils.contact': { label: "Pupils' own contact details", description: 'Address, email addresses and phone numbers of the pupil.' },
  'pupils.sensitive': {
    label: "Pupils' sensitive details",
    description: 'Date of birth, gender, UPN, ethnicity, religion, first language and SEN status.',
  },
  'pupils.photo': { label: "Pupils' photos", description: 'The photo held for each pupil.' },
  contacts: { label: 'Parents and carers', description: 'Contacts and how each stands to each pupil, no-contact flags included.' },
  staff: { label: 'Staff', description: 'Names, job titles, work contact details and photos (not date of birth or gender).' },
  groups: { label: 'Groups', description: 'Year, registration, house and class groups and who is in them.' },
  attendance: { label: 'Attendance', description: 'Attendance marks for each session.' },
  fsm: { label: 'Free school meals', description: 'Eligibility and its periods.' },
};

export const SCOPE_NAMES = Object.keys(SCOPE_LABELS);

/** Custos products a school can share with by name (API clients are named by their id). */
export const PRODUCT_LABELS: Record<string, string> = {
  messaging: 'Messaging',
  cashless: 'Cashless catering',
  'looked-after': 'Looked-after children',
  'client-portal': 'Client portal',
};

export function granteeLabel(grant: { granteeKind: 'product' | 'api_client'; grantee: string }): string {
  return grant.granteeKind === 'product' ? `${PRODUCT_LABELS[grant.grantee] ?? grant.grantee} (Custos product)` : `API client ${grant.grantee}`;
}

export function scopeLabel(scope: string): string {
  return SCOPE_LABELS[scope]?.label ?? scope;
}

export function labelOr(labels: Record<string, string>, code: string | null | undefined): string {
  if (code === null || code === undefined || code === '') return 'Not recorded';
  const label = labels[code];
  return label ? `${label} (${code})` : code;
}

export function yesNo(value: boolean | null | undefined): string {
  if (value === null || value === undefined) return 'Not recorded';
  return value ? 'Yes' : 'No';
}

/** NC year code → 'Year 7', 'Reception', …; anything else as given. */
export function yearGroupName(code: string | null): string {
  if (!code) return 'Not recorded';
  if (code === 'R') return 'Reception';
  if (code === 'N1' || code === 'N2') return `Nursery ${code.slice(1)}`;
  if (code === 'E1' || code === 'E2') return `Early years ${code.slice(1)}`;
  if (code === 'X') return 'National Curriculum not followed';
  return /^\d+$/.test(code) ? `Year ${code}` : code;
}

export function pupilName(pupil: Pick<SyncPupil, 'legalForename' | 'legalSurname' | 'preferredForename' | 'preferredSurname'>): string {
  return `${pupil.preferredForename ?? pupil.legalForename} ${pupil.preferredSurname ?? pupil.legalSurname}`;
}

/** "Surname, Forename": how lists sorted by surname read best. */
export function pupilSortName(pupil: Pick<SyncPupil, 'legalForename' | 'legalSurname' | 'preferredForename' | 'preferredSurname'>): string {
  return `${pupil.preferredSurname ?? pupil.legalSurname}, ${pupil.preferredForename ?? pupil.legalForename}`;
}

export function personName(person: { title?: string | null; forename: string; surname: string }): string {
  return [person.title, person.forename, person.surname].filter(Boolean).join(' ');
}

export function addressText(address: SyncAddress | null): string | null {
  if (!address) return null;
  const parts = [...address.lines, address.town, address.county, address.postcode].filter((p): p is string => Boolean(p && p.trim()));
  return parts.length > 0 ? parts.join(', ') : null;
}

export function emailText(email: SyncEmail): string {
  return email.type ? `${email.address} (${email.type})` : email.address;
}

export function phoneText(phone: SyncPhone): string {
  return phone.type ? `${phone.number} (${phone.type})` : phone.number;
}

const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const dayMonth = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' });
const dayMonthYear = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const calendarDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const weekday = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });

/** "09:47, 24 Nov" (the year added when it is not this year): when something happened. */
export function stamp(iso: string): string {
  const when = new Date(iso);
  const day = when.getFullYear() === new Date().getFullYear() ? dayMonth.format(when) : dayMonthYear.format(when);
  return `${clock.format(when)}, ${day}`;
}

/** A calendar date (YYYY-MM-DD) as "17 Nov 2012", the same wherever the reader is. */
export function calendarDate(date: string | null): string {
  if (!date) return 'Not recorded';
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? date : calendarDay.format(parsed);
}

/** A UTC day (YYYY-MM-DD) as "Mon 24 Nov". */
export function dayLabel(day: string): string {
  const parsed = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? day : weekday.format(parsed);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
