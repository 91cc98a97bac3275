import type { GroupKind, SchoolInfo } from '../../model.ts';
import { entitiesOfRoles, RACE_FIELDS, type PersonEntity } from './tables.ts';

/** A OneRoster CSV package as read: its manifest, the columns of each file, and the rows kept from them. */

export type FileKey = 'orgs' | 'users' | 'roles' | 'demographics' | 'classes' | 'enrollments';
export type FileMode = 'bulk' | 'delta' | 'absent';

/** The order files are read in: each refers only to files read before it. */
export const FILES: readonly FileKey[] = ['orgs', 'users', 'roles', 'demographics', 'classes', 'enrollments'];

export const REQUIRED_COLUMNS: Record<FileKey, readonly string[]> = {
  orgs: ['sourcedId', 'name', 'type'],
  users: ['sourcedId', 'givenName', 'familyName'],
  roles: ['sourcedId', 'userSourcedId', 'roleType', 'role'],
  demographics: ['sourcedId'],
  classes: ['sourcedId', 'title', 'classType'],
  enrollments: ['sourcedId', 'classSourcedId', 'userSourcedId', 'role'],
};

export const OPTIONAL_COLUMNS: Record<FileKey, readonly string[]> = {
  orgs: ['identifier'],
  users: [
    'role',
    'middleName',
    'identifier',
    'userMasterIdentifier',
    'preferredGivenName',
    'preferredFirstName',
    'preferredFamilyName',
    'preferredLastName',
    'email',
    'sms',
    'phone',
    'agentSourcedIds',
    'grades',
  ],
  roles: [],
  demographics: ['birthDate', 'sex', ...RACE_FIELDS],
  classes: ['classCode', 'grades'],
  enrollments: ['beginDate', 'endDate'],
};

export interface Cells {
  line: number;
  /** undefined: no such column; null: blank. */
  get(column: string): string | null | undefined;
}

export interface UserRow {
  line: number;
  deleted: boolean;
  role: string | null | undefined;
  givenName: string;
  familyName: string;
  middleName: string | null | undefined;
  identifier: string | null | undefined;
  userMasterIdentifier: string | null | undefined;
  preferredGivenName: string | null | undefined;
  preferredFamilyName: string | null | undefined;
  email: string | null | undefined;
  sms: string | null | undefined;
  phone: string | null | undefined;
  agents: string[];
  agentsLine: number;
  grades: string[] | null | undefined;
}

export interface RoleRow {
  line: number;
  deleted: boolean;
  role: string;
  primary: boolean;
}

export interface DemographicRow {
  line: number;
  deleted: boolean;
  birthDate: string | null | undefined;
  sex: string | null | undefined;
}

export interface ClassRow {
  line: number;
  deleted: boolean;
  kind: GroupKind | undefined;
  title: string;
  classCode: string | null | undefined;
  grades: string[] | null | undefined;
}

export interface EnrollmentRow {
  line: number;
  classId: string;
  userId: string;
  role: string;
}

/** The package as read so far: what the manifest declared, and the rows kept from each file. */
export interface OneRosterPackage {
  version: '1.1' | '1.2';
  modes: Record<FileKey, FileMode>;
  batchMode: 'full' | 'delta';
  /** Files that could not be read whole: references into them are not checked. */
  incomplete: Set<FileKey>;
  school: SchoolInfo | undefined;
  schoolCount: number;
  users: Map<string, UserRow>;
  roles: Map<string, RoleRow[]>;
  demographics: Map<string, DemographicRow>;
  classes: Map<string, ClassRow>;
  enrollments: EnrollmentRow[];
  raceSeen: boolean;
  blankModified: Set<FileKey>;
}

/** Before the manifest is read: version 1.1, every file absent. */
export function emptyPackage(): OneRosterPackage {
  return {
    version: '1.1',
    modes: {
      orgs: 'absent',
      users: 'absent',
      roles: 'absent',
      demographics: 'absent',
      classes: 'absent',
      enrollments: 'absent',
    },
    batchMode: 'full',
    incomplete: new Set(),
    school: undefined,
    schoolCount: 0,
    users: new Map(),
    roles: new Map(),
    demographics: new Map(),
    classes: new Map(),
    enrollments: [],
    raceSeen: false,
    blankModified: new Set(),
  };
}

/** Whether a reference into `key` must resolve inside the package. */
export function strict(pkg: OneRosterPackage, key: FileKey): boolean {
  if (pkg.incomplete.has(key)) return false;
  return pkg.modes[key] === 'bulk' || (pkg.modes[key] === 'absent' && pkg.batchMode === 'full');
}

/** The entities a user is, from its roles (1.2 roles.csv) or its role column; undefined when it has none. */
export function entitiesOf(pkg: OneRosterPackage, id: string, user: UserRow | undefined, includeDeleted: boolean): PersonEntity[] | undefined {
  let roles: string[];
  if (pkg.version === '1.2' && pkg.modes.roles !== 'absent') {
    const rows = pkg.roles.get(id);
    if (!rows) return undefined;
    roles = rows
      .filter((r) => includeDeleted || !r.deleted)
      .sort((a, b) => Number(b.primary) - Number(a.primary))
      .map((r) => r.role);
  } else {
    if (user?.role == null) return undefined;
    roles = [user.role];
  }
  return entitiesOfRoles(roles);
}
