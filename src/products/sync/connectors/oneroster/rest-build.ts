import { isIsoDate, isValidUpn } from '../../codes.ts';
import type { ContactLink, ContactRecord, Email, GroupKind, GroupRecord, ImportBatch, Phone, PupilRecord, StaffRecord } from '../../model.ts';
import { compact } from '../compact.ts';
import { ContactLinks, upnFrom, yearGroupsOf } from './records.ts';
import type { Demographics, Enrollment, GoneUser, OneRosterClass, Read, User } from './rest-schemas.ts';
import { ENROLLMENT_MEMBER, entitiesOfRoles, RACE_FIELDS, relationshipFor, ROLE_ENTITY, SEX_TO_GENDER, yearGroupFromGrade, type PersonEntity } from './tables.ts';

/**
 * The records read from a OneRoster REST service → the batch, mapped as the OneRoster CSV connector
 * maps a package: roles → pupils / staff / contacts, agents → contact links, homeroom / scheduled
 * classes → registration / class groups with their members, demographics → date of birth and gender.
 */

export interface BuildContext {
  mode: ImportBatch['mode'];
  /** The service root's path, as problems name requests (`/ims/oneroster/v1p1`). */
  servicePath: string;
  version: '1.1' | '1.2';
  warning(location: string, message: string): void;
}

/** The entities a user is, from its roles (the primary first) or its role; undefined when it has none. */
export function entitiesOf(user: { role?: string | null; roles?: { role: string; roleType?: string | null }[] | null }): PersonEntity[] | undefined {
  const roles: string[] = [];
  if (user.roles && user.roles.length > 0) {
    const sorted = [...user.roles].sort((a, b) => Number(b.roleType === 'primary') - Number(a.roleType === 'primary'));
    for (const r of sorted) roles.push(r.role);
  } else if (typeof user.role === 'string') roles.push(user.role);
  if (roles.length === 0) return undefined;
  return entitiesOfRoles(roles);
}

/** The OneRoster role a contact is listed under (the primary first); 'parent' when none says. */
export function contactRole(user: User): string {
  if (user.roles && user.roles.length > 0) {
    const sorted = [...user.roles].sort((a, b) => Number(b.roleType === 'primary') - Number(a.roleType === 'primary'));
    return sorted.find((r) => ROLE_ENTITY[r.role] === 'contacts')?.role ?? 'parent';
  }
  return user.role ?? 'parent';
}

/** Fills `batch` from the records read; problems that do not stop the import are warnings. */
export function buildBatch(
  ctx: BuildContext,
  batch: ImportBatch,
  users: Map<string, Read<User>>,
  goneUsers: Map<string, Read<GoneUser>>,
  demographics: Map<string, Read<Demographics>>,
  demographicsRead: boolean,
  classes: Map<string, Read<OneRosterClass>>,
  enrollments: Read<Enrollment>[],
): void {
  const delta = ctx.mode === 'delta';
  const entities = new Map<string, PersonEntity[]>();
  for (const [id, u] of users) {
    const found = entitiesOf(u.data);
    if (!found || found.length === 0) {
      ctx.warning(`${u.location}.role`, 'is not a role this import reads; user skipped');
      continue;
    }
    entities.set(id, found);
  }
  const is = (id: string, entity: PersonEntity) => entities.get(id)?.includes(entity) ?? false;

  // Demographics.
  let raceSeen = false;
  for (const d of demographics.values()) if (RACE_FIELDS.some((f) => d.data[f] != null && d.data[f] !== '')) raceSeen = true;
  if (raceSeen) {
    ctx.warning(`GET ${ctx.servicePath}/demographics`,
      'the OneRoster race and ethnicity flags do not map to CBDS ethnicity codes: ethnicity is left unset',
    );
  }
  const gender = (id: string): string | null | undefined => {
    const d = demographics.get(id);
    if (!d) return demographicsRead && !delta ? null : undefined;
    if (d.gone || d.data.sex == null || d.data.sex === '') return null;
    const g = SEX_TO_GENDER[d.data.sex];
    if (g === undefined) {
      ctx.warning(`${d.location}.sex`, 'is not male, female, other or unspecified; gender left unset');
      return undefined;
    }
    return g;
  };
  const birthDate = (id: string): string | null | undefined => {
    const d = demographics.get(id);
    if (!d) return demographicsRead && !delta ? null : undefined;
    if (d.gone || d.data.birthDate == null || d.data.birthDate === '') return null;
    if (!isIsoDate(d.data.birthDate)) {
      ctx.warning(`${d.location}.birthDate`, 'is not a date (YYYY-MM-DD); date of birth left unset');
      return undefined;
    }
    return d.data.birthDate;
  };

  // Groups and their members.
  const groups = new Map<string, GroupRecord>();
  const listed = new Set<string>();
  for (const [id, c] of classes) {
    if (c.gone) {
      if (delta && c.changed) batch.removed.push({ entity: 'groups', misId: id });
      continue;
    }
    const kind: GroupKind = c.data.classType === 'homeroom' ? 'registration' : 'class';
    if (c.data.classType !== 'homeroom' && c.data.classType !== 'scheduled') {
      ctx.warning(`${c.location}.classType`, 'is neither homeroom nor scheduled; read as a class');
    }
    groups.set(id, { misId: id, kind, name: c.data.title, code: c.data.classCode || null, pupilMisIds: [], staffMisIds: [] });
    if (c.changed) listed.add(id);
  }
  const homeroomOf = new Map<string, string>();
  let unknownClass = 0;
  let unknownRole = 0;
  for (const e of enrollments) {
    // A tobedeleted enrollment may carry no references (see goneEnrollmentSchema).
    const classId = (e.data.class as { sourcedId: string } | null | undefined)?.sourcedId;
    if (delta && e.changed && classId !== undefined) listed.add(classId);
    if (e.gone || classId === undefined) continue;
    const group = groups.get(classId);
    if (!group) {
      if (!classes.get(classId)?.gone) unknownClass++;
      continue;
    }
    const userId = e.data.user.sourcedId;
    if (goneUsers.has(userId)) continue;
    if (!delta && !users.has(userId)) continue; // skipped user: already warned about
    let member = ENROLLMENT_MEMBER[e.data.role];
    if (users.has(userId)) {
      if (!entities.has(userId)) continue;
      member = is(userId, 'pupils') && e.data.role === 'student' ? 'pupil' : is(userId, 'staff') ? 'staff' : is(userId, 'pupils') ? 'pupil' : undefined;
    }
    if (member === undefined) {
      unknownRole++;
      continue;
    }
    const ids = member === 'pupil' ? group.pupilMisIds : group.staffMisIds;
    if (!ids.includes(userId)) ids.push(userId);
    if (member === 'pupil' && group.kind === 'registration' && !homeroomOf.has(userId)) homeroomOf.set(userId, classId);
  }
  const enrollmentsAt = `GET ${ctx.servicePath}/enrollments`;
  if (unknownClass > 0) ctx.warning(enrollmentsAt, `${unknownClass} enrollments are for classes the service did not list; ignored`);
  if (unknownRole > 0) ctx.warning(enrollmentsAt, `${unknownRole} enrollments are for people who are not pupils or staff; ignored`);
  batch.groups = [...groups.values()].filter((g) => !delta || listed.has(g.misId));

  // Contacts' links: a contact's own agents and every pupil that lists the contact.
  const links = new ContactLinks();
  for (const [id, u] of users) {
    if (!entities.has(id)) continue;
    for (const agent of u.data.agents ?? []) {
      const other = agent.sourcedId;
      if (is(id, 'pupils') && is(other, 'contacts')) links.add(other, id);
      else if (is(id, 'contacts') && (is(other, 'pupils') || (delta && !users.has(other) && !goneUsers.has(other)))) links.add(id, other);
    }
  }

  // Records.
  let parentsWithoutSex = 0;
  for (const [id, u] of users) {
    const roles = entities.get(id);
    if (!roles) continue;
    const user = u.data;
    const emails: Email[] = user.email ? [{ address: user.email }] : [];
    const phones: Phone[] = [];
    if (user.phone) phones.push({ number: user.phone });
    if (user.sms) phones.push({ number: user.sms, type: 'mobile' });
    for (const entity of roles) {
      if (entity === 'pupils') batch.pupils.push(pupilRecord(ctx, u, emails, phones, birthDate(id), gender(id), homeroomOf.get(id), groups, classes));
      else if (entity === 'staff') {
        batch.staff.push(compact<StaffRecord>({ misId: id, forename: user.givenName, surname: user.familyName, dateOfBirth: birthDate(id), gender: gender(id), emails, phones }));
      } else {
        const relationship = relationshipFor(contactRole(user), demographics.get(id)?.data.sex);
        if (relationship === 'parent' || relationship === 'guardian') parentsWithoutSex++;
        const pupilLinks: ContactLink[] = links.of(id).map((pupilMisId) => ({ pupilMisId, relationship }));
        batch.contacts.push(compact<ContactRecord>({ misId: id, forename: user.givenName, surname: user.familyName, emails, phones, links: pupilLinks }));
      }
    }
  }

  if (parentsWithoutSex > 0) {
    ctx.warning(`GET ${ctx.servicePath}/users`,
      `${parentsWithoutSex} contacts are a OneRoster parent or guardian without a sex in demographics, which has no CBDS relationship code: kept as given`,
    );
  }

  // Year groups, as the CTF and OneRoster CSV connectors make them: only a full import lists every member.
  if (!delta) batch.groups.push(...yearGroupsOf(batch.pupils));

  // Removals (a delta only: in a full read a tobedeleted record is just left out).
  if (delta) {
    for (const [id, g] of goneUsers) {
      if (!g.changed) continue;
      const found = entitiesOf(g.data);
      if (!found || found.length === 0) {
        ctx.warning(`${g.location}.role`, 'a user to be deleted has no role this import reads; not removed');
        continue;
      }
      for (const entity of found) batch.removed.push({ entity, misId: id });
    }
  }
}

function pupilRecord(
  ctx: BuildContext,
  u: Read<User>,
  emails: Email[],
  phones: Phone[],
  dateOfBirth: string | null | undefined,
  gender: string | null | undefined,
  homeroom: string | undefined,
  groups: Map<string, GroupRecord>,
  classes: Map<string, Read<OneRosterClass>>,
): PupilRecord {
  const user = u.data;
  const fromIds = user.userIds?.find((x) => x.type.toUpperCase() === 'UPN')?.identifier;
  const upn = upnFrom(user.userMasterIdentifier) ?? upnFrom(fromIds) ?? upnFrom(user.identifier);
  if (upn !== undefined && !isValidUpn(upn)) ctx.warning(`${u.location}.identifier`, 'is a UPN whose check letter does not match; kept as given');
  const admissionNumber = user.identifier && upnFrom(user.identifier) === undefined ? user.identifier : null;

  // The pupil's grade, else the grade of the pupil's homeroom (as the CSV connector does).
  let yearGroup: string | null = null;
  const homeroomClass = homeroom ? classes.get(homeroom) : undefined;
  const grade = user.grades?.[0] ?? homeroomClass?.data.grades?.[0];
  if (grade !== undefined) {
    const year = yearGroupFromGrade(grade);
    if (year === undefined) {
      const where = user.grades?.[0] !== undefined ? `${u.location}.grades[0]` : `${homeroomClass!.location}.grades[0]`;
      ctx.warning(where, 'is not a CEDS grade level with a National Curriculum year; kept as given');
    }
    yearGroup = year ?? grade;
  }
  const registrationGroup = homeroom ? (groups.get(homeroom)?.code ?? groups.get(homeroom)?.name ?? null) : null;

  return compact<PupilRecord>({
    misId: user.sourcedId,
    upn: upn ?? null,
    admissionNumber,
    legalForename: user.givenName,
    legalSurname: user.familyName,
    middleNames: user.middleName || null,
    ...(ctx.version === '1.2'
      ? {
          preferredForename: user.preferredFirstName || user.preferredGivenName || null,
          preferredSurname: user.preferredLastName || user.preferredFamilyName || null,
        }
      : {}),
    dateOfBirth,
    gender,
    emails,
    phones,
    yearGroup,
    registrationGroup,
  });
}
