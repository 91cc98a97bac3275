import { isIsoDate } from '../../codes.ts';
import type { GroupKind } from '../../model.ts';
import { at, type ProblemLog } from '../problems.ts';
import type { Cells, FileKey, OneRosterPackage, UserRow } from './csv-package.ts';
import { ENROLLMENT_MEMBER, RACE_FIELDS } from './tables.ts';

/**
 * One row of `key`.csv (its sourcedId, status and dateLastModified already checked) → what the
 * package keeps of it: the school, a user, a role, demographics, a class or an enrollment.
 */
export function row(log: ProblemLog, pkg: OneRosterPackage, key: FileKey, id: string, deleted: boolean, c: Cells): void {
  const file = `${key}.csv`;
  const need = (column: string): string | undefined => {
    const v = c.get(column);
    if (v == null) log.error(file, at(file, c.line, column), 'is blank; a value is required');
    return v ?? undefined;
  };
  const date = (column: string): string | null | undefined => {
    const v = c.get(column);
    if (v != null && !isIsoDate(v)) {
      log.error(file, at(file, c.line, column), 'is not a date (YYYY-MM-DD)');
      return null;
    }
    return v;
  };
  switch (key) {
    case 'orgs': {
      if (deleted) return;
      const name = need('name');
      const type = need('type');
      if (type !== 'school' || name === undefined) return;
      pkg.schoolCount++;
      if (pkg.school) return;
      const identifier = c.get('identifier') ?? '';
      pkg.school = { name };
      if (/^\d{6}$/.test(identifier)) pkg.school.urn = identifier;
      else if (/^\d{7}$/.test(identifier)) pkg.school.laEstab = identifier;
      return;
    }
    case 'users': {
      const role = c.get('role');
      if (deleted) {
        pkg.users.set(id, { ...blankUser(c.line), deleted, role });
        return;
      }
      const givenName = need('givenName');
      const familyName = need('familyName');
      if (pkg.version === '1.1' && role == null) need('role');
      const agents = list(c.get('agentSourcedIds')) ?? [];
      pkg.users.set(id, {
        line: c.line,
        deleted,
        role,
        givenName: givenName ?? '',
        familyName: familyName ?? '',
        middleName: c.get('middleName'),
        identifier: c.get('identifier'),
        userMasterIdentifier: c.get('userMasterIdentifier'),
        preferredGivenName: either(c.get('preferredGivenName'), c.get('preferredFirstName')),
        preferredFamilyName: either(c.get('preferredFamilyName'), c.get('preferredLastName')),
        email: c.get('email'),
        sms: c.get('sms'),
        phone: c.get('phone'),
        agents,
        agentsLine: c.line,
        grades: list(c.get('grades')),
      });
      return;
    }
    case 'roles': {
      const userId = need('userSourcedId');
      const role = deleted ? c.get('role') : need('role');
      const roleType = deleted ? c.get('roleType') : need('roleType');
      if (!userId || !role) return;
      if (!deleted && roleType !== 'primary' && roleType !== 'secondary') {
        log.error(file, at(file, c.line, 'roleType'), 'must be primary or secondary');
      }
      date('beginDate');
      date('endDate');
      const rows = pkg.roles.get(userId) ?? [];
      rows.push({ line: c.line, deleted, role, primary: roleType === 'primary' });
      pkg.roles.set(userId, rows);
      return;
    }
    case 'demographics': {
      const birthDate = date('birthDate');
      const sex = c.get('sex');
      if (RACE_FIELDS.some((col) => c.get(col) != null)) pkg.raceSeen = true;
      pkg.demographics.set(id, { line: c.line, deleted, birthDate, sex });
      return;
    }
    case 'classes': {
      if (deleted) {
        pkg.classes.set(id, { line: c.line, deleted, kind: undefined, title: '', classCode: undefined, grades: undefined });
        return;
      }
      const title = need('title');
      const classType = need('classType');
      let kind: GroupKind | undefined;
      if (classType === 'homeroom') kind = 'registration';
      else if (classType === 'scheduled') kind = 'class';
      else if (classType !== undefined) log.warning(file, at(file, c.line, 'classType'), 'is neither homeroom nor scheduled; class skipped');
      pkg.classes.set(id, { line: c.line, deleted, kind, title: title ?? '', classCode: c.get('classCode'), grades: list(c.get('grades')) });
      return;
    }
    case 'enrollments': {
      if (deleted) return;
      const classId = need('classSourcedId');
      const userId = need('userSourcedId');
      const role = need('role');
      date('beginDate');
      date('endDate');
      if (!classId || !userId || !role) return;
      if (!Object.hasOwn(ENROLLMENT_MEMBER, role)) {
        log.warning(file, at(file, c.line, 'role'), 'is not an enrollment role this import reads (student, teacher, administrator, proctor, aide); row skipped');
        return;
      }
      pkg.enrollments.push({ line: c.line, classId, userId, role });
      return;
    }
  }
}

function list(value: string | null | undefined): string[] | null | undefined {
  if (value == null) return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function blankUser(line: number): UserRow {
  return {
    line,
    deleted: true,
    role: undefined,
    givenName: '',
    familyName: '',
    middleName: undefined,
    identifier: undefined,
    userMasterIdentifier: undefined,
    preferredGivenName: undefined,
    preferredFamilyName: undefined,
    email: undefined,
    sms: undefined,
    phone: undefined,
    agents: [],
    agentsLine: line,
    grades: undefined,
  };
}

function either(a: string | null | undefined, b: string | null | undefined): string | null | undefined {
  return a ?? b ?? (a === null || b === null ? null : undefined);
}
