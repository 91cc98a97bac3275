import { isValidUpn } from '../../codes.ts';
import type { Email, GroupRecord, Phone, PupilRecord } from '../../model.ts';
import { compact } from '../compact.ts';
import { at, type ProblemLog } from '../problems.ts';
import { strict, type OneRosterPackage, type UserRow } from './csv-package.ts';
import { ContactLinks, upnFrom } from './records.ts';
import { ROLE_ENTITY, SEX_TO_GENDER, yearGroupFromGrade, type PersonEntity } from './tables.ts';

/** The people of a OneRoster CSV package: demographics, contact links, a contact's role and a pupil's record. */

/** Whether a user is (among others) an entity. */
export type Is = (id: string, entity: PersonEntity) => boolean;

export interface Demographics {
  gender(id: string): string | null | undefined;
  birthDate(id: string): string | null | undefined;
}

/**
 * Dates of birth and genders from demographics.csv, looked up per user (a bad sex is warned about
 * when it is looked up). Rows for users the package does not have are reported first.
 */
export function demographicsOf(log: ProblemLog, pkg: OneRosterPackage): Demographics {
  const demographicsRead = pkg.modes.demographics !== 'absent';
  let demographicsOutside = 0;
  for (const [id, d] of pkg.demographics) {
    if (pkg.users.has(id)) continue;
    if (strict(pkg, 'users')) log.error('demographics.csv', at('demographics.csv', d.line, 'sourcedId'), 'refers to a user not in users.csv');
    else demographicsOutside++;
  }
  if (demographicsOutside > 0) {
    log.warning(
      'demographics.csv',
      'demographics.csv',
      `${demographicsOutside} rows are for users not in this delta's users.csv; a date of birth or sex changes only with the user's row`,
    );
  }
  if (pkg.raceSeen) {
    log.warning(
      'demographics.csv',
      'demographics.csv',
      'the OneRoster race and ethnicity flags (americanIndianOrAlaskaNative, asian, blackOrAfricanAmerican, nativeHawaiianOrOtherPacificIslander, white, demographicRaceTwoOrMoreRaces, hispanicOrLatinoEthnicity) do not map to CBDS ethnicity codes: ethnicity is left unset',
    );
  }
  const gender = (id: string): string | null | undefined => {
    const d = pkg.demographics.get(id);
    if (!d || (d.deleted && pkg.modes.demographics === 'bulk')) return demographicsRead && pkg.modes.demographics === 'bulk' ? null : undefined;
    if (d.deleted || d.sex == null) return d.deleted || d.sex === null ? null : undefined;
    const g = SEX_TO_GENDER[d.sex];
    if (g === undefined) {
      log.warning('demographics.csv', at('demographics.csv', d.line, 'sex'), 'is not male, female, other or unspecified; gender left unset');
      return undefined;
    }
    return g;
  };
  const birthDate = (id: string): string | null | undefined => {
    const d = pkg.demographics.get(id);
    if (!d || (d.deleted && pkg.modes.demographics === 'bulk')) return demographicsRead && pkg.modes.demographics === 'bulk' ? null : undefined;
    return d.deleted ? null : d.birthDate;
  };
  return { gender, birthDate };
}

/** Contacts' links: a contact's own agents, and every pupil that lists the contact. */
export function contactLinks(log: ProblemLog, pkg: OneRosterPackage, entities: ReadonlyMap<string, PersonEntity[]>, is: Is): ContactLinks {
  const links = new ContactLinks();
  for (const [id, user] of pkg.users) {
    if (user.deleted || !entities.has(id)) continue;
    for (const agentId of user.agents) {
      const agent = pkg.users.get(agentId);
      if (agent?.deleted) continue;
      if (!agent) {
        if (strict(pkg, 'users')) {
          log.error('users.csv', at('users.csv', user.agentsLine, 'agentSourcedIds'), 'refers to a user not in users.csv');
        } else if (is(id, 'contacts') && !is(id, 'pupils')) links.add(id, agentId); // a parent's agents are its students
        continue;
      }
      if (!entities.has(agentId)) continue;
      if (is(id, 'pupils') && is(agentId, 'contacts')) links.add(agentId, id);
      else if (is(id, 'contacts') && is(agentId, 'pupils')) links.add(id, agentId);
      else {
        log.warning('users.csv', at('users.csv', user.agentsLine, 'agentSourcedIds'), 'links people who are not a pupil and a parent, guardian or relative; ignored');
      }
    }
  }
  return links;
}

/** The role a contact is listed under (1.2 roles.csv, the primary first, else the users.csv role); 'parent' when none says. */
export function contactRole(pkg: OneRosterPackage, id: string, user: UserRow): string {
  if (pkg.version === '1.2' && pkg.modes.roles !== 'absent') {
    const rows = [...(pkg.roles.get(id) ?? [])].filter((r) => !r.deleted).sort((a, b) => Number(b.primary) - Number(a.primary));
    return rows.find((r) => ROLE_ENTITY[r.role] === 'contacts')?.role ?? 'parent';
  }
  return user.role ?? 'parent';
}

/** A user who is a pupil → the pupil's record (UPN, admission number, year and registration group). */
export function pupilRecord(
  log: ProblemLog,
  pkg: OneRosterPackage,
  id: string,
  user: UserRow,
  emails: Email[] | undefined,
  phones: Phone[] | undefined,
  dateOfBirth: string | null | undefined,
  gender: string | null | undefined,
  groupsRead: boolean,
  homeroom: string | undefined,
  groups: Map<string, GroupRecord>,
): PupilRecord {
  const upn = upnFrom(user.userMasterIdentifier) ?? upnFrom(user.identifier);
  if (upn !== undefined && !isValidUpn(upn)) {
    const column = upnFrom(user.userMasterIdentifier) ? 'userMasterIdentifier' : 'identifier';
    log.warning('users.csv', at('users.csv', user.line, column), 'is a UPN whose check letter does not match; kept as given');
  }
  const carriesUpn = user.identifier !== undefined || user.userMasterIdentifier !== undefined;
  let admissionNumber: string | null | undefined;
  if (user.identifier === null) admissionNumber = null;
  else if (user.identifier !== undefined && upnFrom(user.identifier) === undefined) admissionNumber = user.identifier;

  let yearGroup: string | null | undefined;
  const grade = user.grades?.[0] ?? (homeroom ? pkg.classes.get(homeroom)?.grades?.[0] : undefined);
  if (grade !== undefined) {
    yearGroup = yearGroupFromGrade(grade);
    if (yearGroup === undefined) {
      const fromUser = user.grades?.[0] !== undefined;
      log.warning(
        fromUser ? 'users.csv' : 'classes.csv',
        fromUser ? at('users.csv', user.line, 'grades') : at('classes.csv', pkg.classes.get(homeroom!)!.line, 'grades'),
        'is not a CEDS grade level with a National Curriculum year; kept as given',
      );
      yearGroup = grade;
    }
  } else if (user.grades !== undefined) yearGroup = null;

  let registrationGroup: string | null | undefined;
  if (homeroom) registrationGroup = groups.get(homeroom)?.code ?? groups.get(homeroom)?.name;
  else if (groupsRead && pkg.batchMode === 'full') registrationGroup = null;

  return compact<PupilRecord>({
    misId: id,
    upn: upn ?? (carriesUpn ? null : undefined),
    admissionNumber,
    legalForename: user.givenName,
    legalSurname: user.familyName,
    middleNames: user.middleName,
    preferredForename: user.preferredGivenName,
    preferredSurname: user.preferredFamilyName,
    dateOfBirth,
    gender,
    emails,
    phones,
    yearGroup,
    registrationGroup,
  });
}

/** The user's phone and SMS number (as a mobile); undefined when users.csv has neither column. */
export function phonesOf(user: UserRow): Phone[] | undefined {
  if (user.phone === undefined && user.sms === undefined) return undefined;
  const out: Phone[] = [];
  if (user.phone) out.push({ number: user.phone });
  if (user.sms) out.push({ number: user.sms, type: 'mobile' });
  return out;
}
