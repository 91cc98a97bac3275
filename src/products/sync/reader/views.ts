import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { DATA_PURPOSE } from '../engine/documents.ts';
import type { Address, Email, FsmPeriod, GroupKind, Phone } from '../model.ts';

/** Records as the school sees them (every field), decoded from the sealed documents. */

export interface ContactLinkView {
  pupilId: string;
  relationship: string | null;
  parentalResponsibility: boolean | null;
  priority: number | null;
  livesWith: boolean | null;
  /** Court order or instruction: this person must not be contacted about this pupil. */
  noContact: boolean;
}

interface RecordMeta {
  id: string;
  source: string;
  misId: string;
  status: 'current' | 'left';
  leftAt: string | null;
  updatedAt: string;
}

export interface PupilView extends RecordMeta {
  legalForename: string;
  legalSurname: string;
  middleNames: string | null;
  preferredForename: string | null;
  preferredSurname: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  upn: string | null;
  admissionNumber: string | null;
  ethnicity: string | null;
  religion: string | null;
  firstLanguage: string | null;
  address: Address | null;
  emails: Email[];
  phones: Phone[];
  fsmEligible: boolean | null;
  fsmPeriods: FsmPeriod[];
  senStatus: string | null;
  yearGroup: string | null;
  registrationGroup: string | null;
  house: string | null;
  enrolmentDate: string | null;
  leavingDate: string | null;
  photoBlobId: string | null;
}

export interface ContactView extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  emails: Email[];
  phones: Phone[];
  address: Address | null;
  links: ContactLinkView[];
}

export interface StaffView extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  dateOfBirth: string | null;
  gender: string | null;
  jobTitle: string | null;
  emails: Email[];
  phones: Phone[];
  photoBlobId: string | null;
}

export interface GroupView {
  id: string;
  source: string;
  misId: string;
  kind: GroupKind;
  name: string;
  code: string | null;
  status: 'current' | 'left';
  pupilIds: string[];
  staffIds: string[];
}

export interface AttendanceMarkView {
  pupilId: string;
  date: string;
  session: 'AM' | 'PM';
  /** DfE attendance code. */
  code: string;
}

/** Per entity, when the school's data was last brought up to date (ISO timestamps). */
export type Freshness = Record<string, string>;

type Doc = Record<string, unknown>;

export const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
export const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
export const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
const iso = (value: Date | string): string => new Date(value).toISOString();

interface PersonRow {
  id: string;
  source: string;
  mis_id: string;
  status: 'current' | 'left';
  left_at: string | null;
  updated_at: Date;
  data_enc: string;
}

function meta(row: PersonRow): RecordMeta {
  return { id: row.id, source: row.source, misId: row.mis_id, status: row.status, leftAt: row.left_at, updatedAt: iso(row.updated_at) };
}

export function open(scope: TenantScope, purpose: string, sealed: string): Doc {
  return JSON.parse(scope.cipher.open(purpose, sealed)) as Doc;
}

export function toPupil(scope: TenantScope, row: PersonRow & { year_group: string | null; registration_group: string | null; photo_blob_id: string | null }): PupilView {
  const d = open(scope, DATA_PURPOSE.pupils, row.data_enc);
  return {
    ...meta(row),
    legalForename: str(d.legalForename) ?? '',
    legalSurname: str(d.legalSurname) ?? '',
    middleNames: str(d.middleNames),
    preferredForename: str(d.preferredForename),
    preferredSurname: str(d.preferredSurname),
    dateOfBirth: str(d.dateOfBirth),
    gender: str(d.gender),
    upn: str(d.upn),
    admissionNumber: str(d.admissionNumber),
    ethnicity: str(d.ethnicity),
    religion: str(d.religion),
    firstLanguage: str(d.firstLanguage),
    address: (d.address as Address | null | undefined) ?? null,
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    fsmEligible: bool(d.fsmEligible),
    fsmPeriods: list<FsmPeriod>(d.fsmPeriods),
    senStatus: str(d.senStatus),
    yearGroup: row.year_group ?? str(d.yearGroup),
    registrationGroup: row.registration_group ?? str(d.registrationGroup),
    house: str(d.house),
    enrolmentDate: str(d.enrolmentDate),
    leavingDate: str(d.leavingDate),
    photoBlobId: row.photo_blob_id,
  };
}

export function toContact(scope: TenantScope, row: PersonRow, links: ContactLinkView[]): ContactView {
  const d = open(scope, DATA_PURPOSE.contacts, row.data_enc);
  return {
    ...meta(row),
    title: str(d.title),
    forename: str(d.forename) ?? '',
    surname: str(d.surname) ?? '',
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    address: (d.address as Address | null | undefined) ?? null,
    links,
  };
}

export function toStaff(scope: TenantScope, row: PersonRow & { photo_blob_id: string | null }): StaffView {
  const d = open(scope, DATA_PURPOSE.staff, row.data_enc);
  return {
    ...meta(row),
    title: str(d.title),
    forename: str(d.forename) ?? '',
    surname: str(d.surname) ?? '',
    dateOfBirth: str(d.dateOfBirth),
    gender: str(d.gender),
    jobTitle: str(d.jobTitle),
    emails: list<Email>(d.emails),
    phones: list<Phone>(d.phones),
    photoBlobId: row.photo_blob_id,
  };
}

const byName = <T extends { id: string }>(surname: (r: T) => string, forename: (r: T) => string) => (a: T, b: T) =>
  surname(a).localeCompare(surname(b), 'en', { sensitivity: 'base' }) ||
  forename(a).localeCompare(forename(b), 'en', { sensitivity: 'base' }) ||
  a.id.localeCompare(b.id);

export const pupilOrder = byName<PupilView>((p) => p.preferredSurname ?? p.legalSurname, (p) => p.preferredForename ?? p.legalForename);
export const personOrder = byName<ContactView | StaffView>((p) => p.surname, (p) => p.forename);
