import { emptyBatch, type ContactLink, type ContactRecord, type Email, type ImportBatch, type StaffRecord } from '../../model.ts';
import { compact } from '../compact.ts';
import { at, type ProblemLog } from '../problems.ts';
import { entitiesOf, strict, type OneRosterPackage } from './csv-package.ts';
import { groupsOf } from './csv-groups.ts';
import { contactLinks, contactRole, demographicsOf, phonesOf, pupilRecord } from './csv-people.ts';
import { yearGroupsOf } from './records.ts';
import { relationshipFor, ROLE_ENTITY, type PersonEntity } from './tables.ts';

/**
 * The package as read → the batch: who is what, their records, groups with their members, and (in
 * a delta) what is removed. Problems go to `log`; the caller finishes the batch.
 */
export function buildBatch(log: ProblemLog, pkg: OneRosterPackage): ImportBatch {
  const batch = emptyBatch(pkg.batchMode);
  if (pkg.school) batch.school = pkg.school;
  if (pkg.schoolCount > 1) log.warning('orgs.csv', 'orgs.csv', 'lists more than one school; the first is used for the school details');

  // Unknown roles: once per role row.
  if (pkg.version === '1.2' && pkg.modes.roles !== 'absent') {
    for (const [userId, rows] of pkg.roles) {
      for (const r of rows) if (!r.deleted && !Object.hasOwn(ROLE_ENTITY, r.role)) log.warning('roles.csv', at('roles.csv', r.line, 'role'), 'is not a role this import reads; role ignored');
      if (!pkg.users.has(userId) && strict(pkg, 'users')) {
        for (const r of rows) log.error('roles.csv', at('roles.csv', r.line, 'userSourcedId'), 'refers to a user not in users.csv');
      }
    }
  }

  // Who is what.
  const entities = new Map<string, PersonEntity[]>();
  for (const [id, user] of pkg.users) {
    if (user.deleted) continue;
    const found = entitiesOf(pkg, id, user, false);
    if (found === undefined) {
      if (pkg.version === '1.2' && pkg.modes.roles !== 'absent') {
        log.warning('users.csv', at('users.csv', user.line), 'this user has no role in roles.csv; row skipped');
      }
      continue;
    }
    if (found.length === 0) {
      if (!(pkg.version === '1.2' && pkg.modes.roles !== 'absent')) {
        log.warning('users.csv', at('users.csv', user.line, 'role'), 'is not a role this import reads; row skipped');
      }
      continue;
    }
    entities.set(id, found);
  }
  const is = (id: string, entity: PersonEntity) => entities.get(id)?.includes(entity) ?? false;

  const { gender, birthDate } = demographicsOf(log, pkg);
  const { groups, homeroomOf, groupsRead } = groupsOf(log, pkg, batch, entities, is);
  const links = contactLinks(log, pkg, entities, is);

  let parentsWithoutSex = 0;
  for (const [id, user] of pkg.users) {
    if (user.deleted) continue;
    const roles = entities.get(id);
    if (!roles) continue;
    const emails: Email[] | undefined = user.email === undefined ? undefined : user.email === null ? [] : [{ address: user.email }];
    const phones = phonesOf(user);
    for (const entity of roles) {
      if (entity === 'pupils') {
        batch.pupils.push(pupilRecord(log, pkg, id, user, emails, phones, birthDate(id), gender(id), groupsRead, homeroomOf.get(id), groups));
      } else if (entity === 'staff') {
        batch.staff.push(
          compact<StaffRecord>({
            misId: id,
            forename: user.givenName,
            surname: user.familyName,
            dateOfBirth: birthDate(id),
            gender: gender(id),
            emails,
            phones,
          }),
        );
      } else {
        const role = contactRole(pkg, id, user);
        const relationship = relationshipFor(role, pkg.demographics.get(id)?.sex);
        if (relationship === 'parent' || relationship === 'guardian') parentsWithoutSex++;
        const pupilLinks: ContactLink[] = links.of(id).map((pupilMisId) => (relationship ? { pupilMisId, relationship } : { pupilMisId }));
        batch.contacts.push(compact<ContactRecord>({ misId: id, forename: user.givenName, surname: user.familyName, emails, phones, links: pupilLinks }));
      }
    }
  }
  // Year groups, as the CTF connector makes them: only a full import lists every member.
  if (pkg.batchMode === 'full') batch.groups.push(...yearGroupsOf(batch.pupils));

  if (parentsWithoutSex > 0) {
    log.warning(
      pkg.version === '1.2' && pkg.modes.roles !== 'absent' ? 'roles.csv' : 'users.csv',
      pkg.version === '1.2' && pkg.modes.roles !== 'absent' ? 'roles.csv' : 'users.csv',
      `${parentsWithoutSex} contacts are a OneRoster parent or guardian without a sex in demographics.csv, which has no CBDS relationship code: kept as given`,
    );
  }

  // Removals (delta files only: in a bulk file a tobedeleted row is just left out).
  const removed = new Set<string>();
  const remove = (entity: PersonEntity, misId: string) => {
    const key = `${entity}\u0000${misId}`;
    if (removed.has(key)) return;
    removed.add(key);
    batch.removed.push({ entity, misId });
  };
  let roleless = 0;
  for (const [id, user] of pkg.users) {
    if (!user.deleted || pkg.modes.users !== 'delta') continue;
    const found = entitiesOf(pkg, id, user, true);
    if (!found || found.length === 0) {
      // The user is gone whatever they were: remove them as each kind of person.
      roleless++;
      for (const entity of ['pupils', 'staff', 'contacts'] as const) remove(entity, id);
      continue;
    }
    for (const entity of found) remove(entity, id);
  }
  if (roleless > 0) {
    log.warning('users.csv', 'users.csv', `${roleless} users to be deleted have no role this import reads; each is removed as a pupil, staff member and contact`);
  }
  if (pkg.version === '1.2' && pkg.modes.roles === 'delta') {
    for (const [userId, rows] of pkg.roles) {
      const user = pkg.users.get(userId);
      if (user?.deleted) continue;
      const active = entitiesOf(pkg, userId, user, false) ?? [];
      for (const r of rows) {
        const entity = ROLE_ENTITY[r.role];
        if (r.deleted && entity && !active.includes(entity)) remove(entity, userId);
      }
    }
  }

  for (const key of pkg.blankModified) {
    log.warning(`${key}.csv`, `${key}.csv`, 'some delta rows have a blank dateLastModified (the binding requires one)');
  }
  return batch;
}
