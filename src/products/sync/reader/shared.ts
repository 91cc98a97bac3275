import type { SyncGrantScope } from '../../../platform/db/schema.ts';
import type { Address, Email, FsmPeriod, GroupKind, Phone } from '../model.ts';
import type { ContactLinkView, ContactView, GroupView, PupilView, StaffView } from './views.ts';

/**
 * What a grantee sees: the school's records projected onto the granted scopes, without the pupils
 * and staff the school excluded from the grant (reader.ts lists the fields of each scope).
 */

/** A pupil as a grantee sees it: `id` always, the rest by scope (see the top of reader.ts). */
export interface SharedPupil {
  id: string;
  // pupils.basic
  forename?: string;
  surname?: string;
  legalForename?: string;
  legalSurname?: string;
  middleNames?: string | null;
  yearGroup?: string | null;
  registrationGroup?: string | null;
  house?: string | null;
  // pupils.contact
  address?: Address | null;
  emails?: Email[];
  phones?: Phone[];
  // pupils.sensitive
  dateOfBirth?: string | null;
  gender?: string | null;
  upn?: string | null;
  ethnicity?: string | null;
  religion?: string | null;
  firstLanguage?: string | null;
  senStatus?: string | null;
  // pupils.photo
  photoBlobId?: string | null;
  // fsm
  fsmEligible?: boolean | null;
  fsmPeriods?: FsmPeriod[];
}

/** A contact as the school sees it, without the record's bookkeeping (source, MIS id, status). */
export interface SharedContact extends Pick<ContactView, 'id' | 'title' | 'forename' | 'surname' | 'emails' | 'phones' | 'address'> {
  /** Only links to pupils the grant shows. Honour `noContact`. */
  links: ContactLinkView[];
}

export interface SharedStaff {
  id: string;
  title: string | null;
  forename: string;
  surname: string;
  jobTitle: string | null;
  emails: Email[];
  phones: Phone[];
  photoBlobId: string | null;
}

export interface SharedGroup {
  id: string;
  kind: GroupKind;
  name: string;
  code: string | null;
  pupilIds: string[];
  staffIds: string[];
}

export const PUPIL_SCOPES: SyncGrantScope[] = ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'pupils.photo', 'fsm'];

/** A live grant as one call admitted it. */
export interface Admitted {
  scopes: Set<SyncGrantScope>;
  excludedPupils: Set<string>;
  excludedStaff: Set<string>;
}

/** Projects a pupil onto the granted scopes; nothing outside them is even copied. */
export function sharedPupil(pupil: PupilView, scopes: ReadonlySet<SyncGrantScope>): SharedPupil {
  const out: SharedPupil = { id: pupil.id };
  if (scopes.has('pupils.basic')) {
    Object.assign(out, {
      forename: pupil.preferredForename ?? pupil.legalForename,
      surname: pupil.preferredSurname ?? pupil.legalSurname,
      legalForename: pupil.legalForename,
      legalSurname: pupil.legalSurname,
      middleNames: pupil.middleNames,
      yearGroup: pupil.yearGroup,
      registrationGroup: pupil.registrationGroup,
      house: pupil.house,
    });
  }
  if (scopes.has('pupils.contact')) Object.assign(out, { address: pupil.address, emails: pupil.emails, phones: pupil.phones });
  if (scopes.has('pupils.sensitive')) {
    Object.assign(out, {
      dateOfBirth: pupil.dateOfBirth,
      gender: pupil.gender,
      upn: pupil.upn,
      ethnicity: pupil.ethnicity,
      religion: pupil.religion,
      firstLanguage: pupil.firstLanguage,
      senStatus: pupil.senStatus,
    });
  }
  if (scopes.has('pupils.photo')) out.photoBlobId = pupil.photoBlobId;
  if (scopes.has('fsm')) Object.assign(out, { fsmEligible: pupil.fsmEligible, fsmPeriods: pupil.fsmPeriods });
  return out;
}

/** A contact with only its links to pupils the grant shows. */
export function sharedContact(contact: ContactView, links: ContactLinkView[]): SharedContact {
  return {
    id: contact.id,
    title: contact.title,
    forename: contact.forename,
    surname: contact.surname,
    emails: contact.emails,
    phones: contact.phones,
    address: contact.address,
    links,
  };
}

/** A member of staff: no date of birth or gender. */
export function sharedStaff(s: StaffView): SharedStaff {
  return { id: s.id, title: s.title, forename: s.forename, surname: s.surname, jobTitle: s.jobTitle, emails: s.emails, phones: s.phones, photoBlobId: s.photoBlobId };
}

/** A group with only the members the grant shows. */
export function sharedGroup(g: GroupView, access: Admitted): SharedGroup {
  return {
    id: g.id,
    kind: g.kind,
    name: g.name,
    code: g.code,
    pupilIds: g.pupilIds.filter((id) => !access.excludedPupils.has(id)),
    staffIds: g.staffIds.filter((id) => !access.excludedStaff.has(id)),
  };
}
