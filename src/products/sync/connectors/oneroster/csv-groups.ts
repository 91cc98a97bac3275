import type { GroupRecord, ImportBatch } from '../../model.ts';
import { at, type ProblemLog } from '../problems.ts';
import { strict, type OneRosterPackage } from './csv-package.ts';
import type { Is } from './csv-people.ts';
import { ENROLLMENT_MEMBER, type PersonEntity } from './tables.ts';

export interface Groups {
  groups: Map<string, GroupRecord>;
  /** Pupil → the homeroom (registration group) the pupil is first enrolled in. */
  homeroomOf: Map<string, string>;
  /** Whether both classes.csv and enrollments.csv were read. */
  groupsRead: boolean;
}

/**
 * Groups and memberships: classType homeroom → registration group, scheduled → class, members from
 * enrollments.csv. Sets `batch.groups` and lists the classes a delta removes.
 */
export function groupsOf(log: ProblemLog, pkg: OneRosterPackage, batch: ImportBatch, entities: ReadonlyMap<string, PersonEntity[]>, is: Is): Groups {
  const groups = new Map<string, GroupRecord>();
  for (const [id, cls] of pkg.classes) {
    if (cls.deleted) {
      if (pkg.modes.classes === 'delta') batch.removed.push({ entity: 'groups', misId: id });
      continue;
    }
    if (cls.kind === undefined) continue;
    groups.set(id, { misId: id, kind: cls.kind, name: cls.title, code: cls.classCode ?? null, pupilMisIds: [], staffMisIds: [] });
  }
  const homeroomOf = new Map<string, string>();
  let outsideClasses = 0;
  for (const e of pkg.enrollments) {
    const cls = pkg.classes.get(e.classId);
    if (cls?.deleted) continue;
    if (!cls) {
      if (strict(pkg, 'classes')) log.error('enrollments.csv', at('enrollments.csv', e.line, 'classSourcedId'), 'refers to a class not in classes.csv');
      else outsideClasses++;
      continue;
    }
    const user = pkg.users.get(e.userId);
    if (user?.deleted) continue;
    if (!user) {
      if (strict(pkg, 'users')) {
        log.error('enrollments.csv', at('enrollments.csv', e.line, 'userSourcedId'), 'refers to a user not in users.csv');
        continue;
      }
    }
    const group = groups.get(e.classId);
    if (!group) continue;
    let member: 'pupil' | 'staff' | undefined;
    if (user) {
      if (!entities.has(e.userId)) continue; // skipped user: already warned about
      member = is(e.userId, 'pupils') && e.role === 'student' ? 'pupil' : is(e.userId, 'staff') ? 'staff' : is(e.userId, 'pupils') ? 'pupil' : undefined;
      if (member === undefined) {
        log.warning('enrollments.csv', at('enrollments.csv', e.line, 'userSourcedId'), 'refers to a parent, guardian or relative; not a class member');
        continue;
      }
    } else member = ENROLLMENT_MEMBER[e.role];
    const ids = member === 'pupil' ? group.pupilMisIds : group.staffMisIds;
    if (!ids.includes(e.userId)) ids.push(e.userId);
    if (member === 'pupil' && group.kind === 'registration' && !homeroomOf.has(e.userId)) homeroomOf.set(e.userId, e.classId);
  }
  if (outsideClasses > 0) {
    log.warning(
      'enrollments.csv',
      'enrollments.csv',
      `${outsideClasses} rows are for classes not in this delta's classes.csv; a class's members change only with the class's row`,
    );
  }
  batch.groups = [...groups.values()];
  const groupsRead = pkg.modes.classes !== 'absent' && pkg.modes.enrollments !== 'absent';
  if (pkg.batchMode === 'full' && pkg.modes.classes === 'absent') {
    log.warning('manifest.csv', 'manifest.csv', 'file.classes is absent: this full import lists no registration groups or classes');
  } else if (pkg.batchMode === 'full' && pkg.modes.enrollments === 'absent') {
    log.warning('manifest.csv', 'manifest.csv', 'file.enrollments is absent: the classes of this full import have no members');
  }
  return { groups, homeroomOf, groupsRead };
}
