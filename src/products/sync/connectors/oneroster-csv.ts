import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { isIsoDate, isNcYearCode, isUpnFormat, isValidUpn, yearGroupName } from '../codes.ts';
import {
  emptyBatch,
  type ContactLink,
  type ContactRecord,
  type Email,
  type Entity,
  type GroupKind,
  type GroupRecord,
  type ImportBatch,
  type Phone,
  type PupilRecord,
  type SchoolInfo,
  type StaffRecord,
} from '../model.ts';
import { at, locateHeaders, ProblemLog, readCsvStream } from './mapped-csv.ts';

/**
 * OneRoster v1.1 and v1.2 CSV binding (a zip of CSV files described by manifest.csv) → ImportBatch.
 *
 * Sources: 1EdTech OneRoster CSV Tables v1.1 and CSV Binding v1.2.1 (imsglobal.org/spec/oneroster/
 * v1p2/bind/csv); column orders cross-checked with open implementations of both versions.
 *
 * - manifest.csv (`propertyName,value`) is read first; only files it declares `bulk` or `delta` are
 *   read. A package whose files are all bulk gives mode 'full'; any delta file makes it 'delta', where
 *   `status=tobedeleted` rows become `removed` and `active` rows are upserts.
 * - users.csv: role student → pupil, teacher / aide / administrator (and the 1.2 administrator
 *   roles, counselor, proctor) → staff, parent / guardian / relative → contact. In 1.1 the role is a
 *   users.csv column; in 1.2 it comes from roles.csv (a users.csv `role` column is used when there is
 *   no roles.csv). Contacts link to pupils through `agentSourcedIds`, which 1.1 and 1.2 both keep on
 *   users.csv (a student lists its agents, a parent its students; both directions are read).
 * - demographics.csv (keyed by the user's sourcedId): birthDate → dateOfBirth, sex → gender
 *   (male M, female F, other X, unspecified U). Its race flags have no CBDS equivalent: ethnicity is
 *   left unset and one warning says so.
 * - classes.csv: classType homeroom → registration group, scheduled → class; enrollments.csv gives
 *   the members. In a delta, a class's members are those the package lists for it.
 * - grades (users, else the pupil's homeroom class): CEDS grade level → the pupil's NC year code, as
 *   the CTF connector gives it ('07' → '7', 'KG' → 'R', 'PK' → 'N2', 'PR' → 'N1'; an NC year code is
 *   accepted as it is). In a full import each year becomes a year group (`year:<code>`, named
 *   'Year 7', …) as in the CTF connector. A pupil's registrationGroup is its homeroom's classCode
 *   (else title).
 *
 * Every CSV is streamed out of the zip through csv-parse; nothing reads a whole file into memory.
 * Problems name the file, line and column, never a value.
 */

type FileKey = 'orgs' | 'users' | 'roles' | 'demographics' | 'classes' | 'enrollments';
type FileMode = 'bulk' | 'delta' | 'absent';
export type PersonEntity = Extract<Entity, 'pupils' | 'staff' | 'contacts'>;

/** The order files are read in: each refers only to files read before it. */
const FILES: readonly FileKey[] = ['orgs', 'users', 'roles', 'demographics', 'classes', 'enrollments'];

const REQUIRED_COLUMNS: Record<FileKey, readonly string[]> = {
  orgs: ['sourcedId', 'name', 'type'],
  users: ['sourcedId', 'givenName', 'familyName'],
  roles: ['sourcedId', 'userSourcedId', 'roleType', 'role'],
  demographics: ['sourcedId'],
  classes: ['sourcedId', 'title', 'classType'],
  enrollments: ['sourcedId', 'classSourcedId', 'userSourcedId', 'role'],
};

const OPTIONAL_COLUMNS: Record<FileKey, readonly string[]> = {
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
  demographics: [
    'birthDate',
    'sex',
    'americanIndianOrAlaskaNative',
    'asian',
    'blackOrAfricanAmerican',
    'nativeHawaiianOrOtherPacificIslander',
    'white',
    'demographicRaceTwoOrMoreRaces',
    'hispanicOrLatinoEthnicity',
  ],
  classes: ['classCode', 'grades'],
  enrollments: ['beginDate', 'endDate'],
};

const RACE_COLUMNS = OPTIONAL_COLUMNS.demographics.slice(2);

/** OneRoster user roles (1.1 users.role, 1.2 roles.role) → the model entity. */
export const ROLE_ENTITY: Readonly<Record<string, PersonEntity>> = {
  student: 'pupils',
  teacher: 'staff',
  aide: 'staff',
  administrator: 'staff',
  proctor: 'staff',
  counselor: 'staff',
  principal: 'staff',
  siteAdministrator: 'staff',
  districtAdministrator: 'staff',
  systemAdministrator: 'staff',
  parent: 'contacts',
  guardian: 'contacts',
  relative: 'contacts',
};

/** Enrollment roles → which member list. */
export const ENROLLMENT_MEMBER: Readonly<Record<string, 'pupil' | 'staff'>> = {
  student: 'pupil',
  teacher: 'staff',
  administrator: 'staff',
  proctor: 'staff',
  aide: 'staff',
};

/** CEDS entry grade levels with a National Curriculum year (others are kept as given, with a warning). */
export const CEDS_GRADE_TO_NC_YEAR: Readonly<Record<string, string>> = {
  PR: 'N1',
  PK: 'N2',
  KG: 'R',
  ...Object.fromEntries(Array.from({ length: 13 }, (_, i) => [String(i + 1).padStart(2, '0'), String(i + 1)])),
};

/** A OneRoster grade → the NC year code the model keeps in yearGroup; undefined when there is none. */
export function yearGroupFromGrade(grade: string): string | undefined {
  return CEDS_GRADE_TO_NC_YEAR[grade] ?? (isNcYearCode(grade) ? grade : undefined);
}

export const SEX_TO_GENDER: Readonly<Record<string, string>> = { male: 'M', female: 'F', other: 'X', unspecified: 'U' };

interface Cells {
  line: number;
  /** undefined: no such column; null: blank. */
  get(column: string): string | null | undefined;
}

interface UserRow {
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

interface RoleRow {
  line: number;
  deleted: boolean;
  role: string;
  primary: boolean;
}

interface DemographicRow {
  line: number;
  deleted: boolean;
  birthDate: string | null | undefined;
  sex: string | null | undefined;
}

interface ClassRow {
  line: number;
  deleted: boolean;
  kind: GroupKind | undefined;
  title: string;
  classCode: string | null | undefined;
  grades: string[] | null | undefined;
}

interface EnrollmentRow {
  line: number;
  classId: string;
  userId: string;
  role: string;
}

function list(value: string | null | undefined): string[] | null | undefined {
  if (value == null) return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** ISO 8601 date or date-time (dateLastModified). */
function isIsoDateTime(value: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (!m || !isIsoDate(m[1]!)) return false;
  return m[2] === undefined || (Number(m[2]) < 24 && Number(m[3]) < 60 && Number(m[4] ?? 0) < 61);
}

class OneRosterReader {
  readonly log = new ProblemLog();
  private readonly zipName: string;
  private zip: yauzl.ZipFile | undefined;
  private readonly entries = new Map<string, yauzl.Entry>();
  private base = '';
  private version: '1.1' | '1.2' = '1.1';
  private readonly modes: Record<FileKey, FileMode> = {
    orgs: 'absent',
    users: 'absent',
    roles: 'absent',
    demographics: 'absent',
    classes: 'absent',
    enrollments: 'absent',
  };
  private batchMode: 'full' | 'delta' = 'full';
  /** Files that could not be read whole: references into them are not checked. */
  private readonly incomplete = new Set<FileKey>();

  private school: SchoolInfo | undefined;
  private schoolCount = 0;
  private readonly users = new Map<string, UserRow>();
  private readonly roles = new Map<string, RoleRow[]>();
  private readonly demographics = new Map<string, DemographicRow>();
  private readonly classes = new Map<string, ClassRow>();
  private readonly enrollments: EnrollmentRow[] = [];
  private raceSeen = false;
  private readonly blankModified = new Set<FileKey>();

  constructor(private readonly zipPath: string) {
    this.zipName = path.basename(zipPath);
  }

  async run(): Promise<ImportBatch> {
    try {
      if (await this.open()) {
        if (await this.readManifest()) {
          for (const key of FILES) if (this.modes[key] !== 'absent') await this.readFile(key);
          return this.build();
        }
      }
    } catch {
      this.log.error(this.zipName, this.zipName, 'could not be read');
    } finally {
      this.zip?.close();
    }
    return this.finish(emptyBatch(this.batchMode));
  }

  private finish(batch: ImportBatch): ImportBatch {
    this.log.finish();
    // A full package speaks only for what its manifest includes: without classes.csv, groups
    // held from an earlier run have not left.
    const covers: ImportBatch['covers'] = [];
    if (this.modes.users && this.modes.users !== 'absent') covers.push('pupils', 'contacts', 'staff');
    if (this.modes.classes && this.modes.classes !== 'absent') covers.push('groups');
    batch.covers = covers;
    batch.errors = this.log.errors;
    batch.warnings = this.log.warnings;
    return batch;
  }

  // -------------------------------------------------------------- zip and manifest

  private async open(): Promise<boolean> {
    try {
      this.zip = await yauzl.openPromise(this.zipPath, { lazyEntries: true, autoClose: false, strictFileNames: false });
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ENOENT';
      this.log.error(this.zipName, this.zipName, missing ? 'was not found' : 'is not a zip file (or the zip is damaged)');
      return false;
    }
    // Zip read errors after opening surface through the calls below; never as an unhandled event.
    this.zip.on('error', () => {});
    try {
      for await (const entry of this.zip.eachEntry()) {
        if (entry.fileName.endsWith('/')) continue;
        const key = entry.fileName.toLowerCase();
        if (!this.entries.has(key)) this.entries.set(key, entry);
      }
    } catch {
      this.log.error(this.zipName, this.zipName, 'is not a zip file (or the zip is damaged)');
      return false;
    }
    const manifests = [...this.entries.keys()].filter((n) => n === 'manifest.csv' || n.endsWith('/manifest.csv'));
    manifests.sort((a, b) => a.split('/').length - b.split('/').length);
    if (manifests.length === 0) {
      this.log.error(this.zipName, this.zipName, 'has no manifest.csv: it is not a OneRoster CSV package');
      return false;
    }
    this.base = manifests[0]!.slice(0, -'manifest.csv'.length);
    return true;
  }

  private async openEntry(name: string): Promise<Readable | undefined> {
    const entry = this.entries.get(this.base + name.toLowerCase());
    if (!entry) return undefined;
    return this.zip!.openReadStreamPromise(entry);
  }

  private async readManifest(): Promise<boolean> {
    const file = 'manifest.csv';
    const props = new Map<string, { value: string; line: number }>();
    let stream;
    try {
      stream = await this.openEntry(file);
    } catch {
      this.log.error(file, file, 'could not be read from the zip');
      return false;
    }
    if (!stream) return false;
    let ok = true;
    let nameAt = 0;
    let valueAt = 1;
    const problem = await readCsvStream(
      stream,
      { fileName: file },
      {
        header: (names, line) => {
          const { index, missing } = locateHeaders(names, ['propertyName', 'value']);
          for (const column of missing) this.log.error(file, at(file, line, column), 'required column is missing from the header row');
          nameAt = index.get('propertyName') ?? 0;
          valueAt = index.get('value') ?? 1;
          ok = missing.length === 0;
          return ok;
        },
        row: (values, line) => {
          const name = (values[nameAt] ?? '').trim();
          const value = (values[valueAt] ?? '').trim();
          if (name === '') return;
          if (props.has(name)) this.log.error(file, at(file, line, 'propertyName'), `repeats a property given on line ${props.get(name)!.line}`);
          else props.set(name, { value, line });
        },
      },
    );
    if (problem) {
      this.log.error(file, problem.location, problem.message);
      return false;
    }
    if (!ok) return false;

    const version = props.get('oneroster.version');
    if (!version) {
      this.log.error(file, file, 'has no oneroster.version property');
      return false;
    }
    if (version.value !== '1.1' && version.value !== '1.2') {
      this.log.error(file, at(file, version.line, 'value'), 'oneroster.version must be 1.1 or 1.2');
      return false;
    }
    this.version = version.value;
    const manifestVersion = props.get('manifest.version');
    if (manifestVersion && manifestVersion.value !== '1.0') {
      this.log.warning(file, at(file, manifestVersion.line, 'value'), 'manifest.version is not 1.0; read as 1.0');
    }

    let valid = true;
    for (const [name, { value, line }] of props) {
      if (!name.startsWith('file.')) continue;
      if (value !== 'bulk' && value !== 'delta' && value !== 'absent') {
        this.log.error(file, at(file, line, 'value'), `${name} must be bulk, delta or absent`);
        valid = false;
      }
    }
    if (!valid) return false;
    for (const key of FILES) {
      if (key === 'roles' && this.version === '1.1') continue;
      this.modes[key] = (props.get(`file.${key}`)?.value as FileMode | undefined) ?? 'absent';
    }
    for (const key of FILES) {
      if (this.modes[key] === 'absent' && this.entries.has(this.base + `${key}.csv`.toLowerCase()) && !(key === 'roles' && this.version === '1.1')) {
        this.log.warning(file, `${key}.csv`, 'is in the zip but manifest.csv declares it absent: not read');
      }
    }
    const read = FILES.filter((k) => this.modes[k] !== 'absent');
    this.batchMode = read.some((k) => this.modes[k] === 'delta') ? 'delta' : 'full';
    if (read.length === 0) {
      this.log.error(file, file, 'declares none of orgs, users, roles, demographics, classes or enrollments: nothing to import');
      return false;
    }
    if (this.batchMode === 'full' && this.modes.users === 'absent') {
      this.log.error(file, file, 'file.users is absent: a bulk (full) import needs users.csv');
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------- one CSV

  private async readFile(key: FileKey): Promise<void> {
    const file = `${key}.csv`;
    const mode = this.modes[key];
    let stream;
    try {
      stream = await this.openEntry(file);
    } catch {
      this.log.error(file, file, 'could not be read from the zip');
      this.incomplete.add(key);
      return;
    }
    if (!stream) {
      this.log.error(file, file, `manifest.csv declares it ${mode} but it is not in the zip`);
      this.incomplete.add(key);
      return;
    }
    const required = [...REQUIRED_COLUMNS[key]];
    if (key === 'users' && this.version === '1.1') required.push('role');
    if (mode === 'delta') required.push('status', 'dateLastModified');
    const optional = [...OPTIONAL_COLUMNS[key], 'status', 'dateLastModified'];
    let index = new Map<string, number>();
    let width = 0;
    const ids = new Map<string, number>();
    let headerOk = true;

    const problem = await readCsvStream(
      stream,
      { fileName: file },
      {
        header: (names, line) => {
          width = names.length;
          const found = locateHeaders(names, [...required, ...optional]);
          index = found.index;
          for (const column of found.missing) {
            if (required.includes(column)) {
              this.log.error(file, at(file, line, column), 'required column is missing from the header row');
              headerOk = false;
            }
          }
          for (const column of found.ambiguous) {
            this.log.error(file, at(file, line, column), 'appears more than once in the header row');
            headerOk = false;
          }
          if (key === 'users' && this.version === '1.2' && this.modes.roles === 'absent' && !index.has('role')) {
            this.log.error(file, at(file, line, 'role'), 'roles.csv is absent and users.csv has no role column: pupils cannot be told from staff');
            headerOk = false;
          }
          return headerOk;
        },
        row: (values, line) => {
          if (values.length !== width) {
            this.log.error(file, at(file, line), `has ${values.length} fields; the header row has ${width}`);
            return;
          }
          const cells: Cells = {
            line,
            get: (column) => {
              const i = index.get(column);
              if (i === undefined) return undefined;
              const v = values[i]!.trim();
              return v === '' ? null : v;
            },
          };
          const sourcedId = cells.get('sourcedId');
          if (!sourcedId) {
            this.log.error(file, at(file, line, 'sourcedId'), 'is blank; every row needs a sourcedId');
            return;
          }
          const first = ids.get(sourcedId);
          if (first !== undefined) {
            this.log.error(file, at(file, line, 'sourcedId'), `repeats the sourcedId of line ${first}`);
            return;
          }
          ids.set(sourcedId, line);
          const status = cells.get('status');
          let deleted = false;
          if (status == null) {
            if (mode === 'delta') {
              this.log.error(file, at(file, line, 'status'), 'is blank; a delta file needs active or tobedeleted');
              return;
            }
          } else if (status === 'tobedeleted') {
            // In a bulk file a record to be deleted is simply not part of the whole (references to
            // it are not errors); only a delta file turns it into a removal.
            deleted = true;
          } else if (status !== 'active') {
            this.log.error(file, at(file, line, 'status'), 'must be active or tobedeleted');
            return;
          }
          const modified = cells.get('dateLastModified');
          if (modified != null && !isIsoDateTime(modified)) {
            this.log.error(file, at(file, line, 'dateLastModified'), 'is not an ISO 8601 date-time');
          } else if (modified == null && mode === 'delta') this.blankModified.add(key);
          this.row(key, sourcedId, deleted, cells);
        },
      },
    );
    if (problem) {
      this.log.error(file, problem.location, problem.message);
      this.incomplete.add(key);
    }
    if (!headerOk) this.incomplete.add(key);
  }

  private row(key: FileKey, id: string, deleted: boolean, c: Cells): void {
    const file = `${key}.csv`;
    const need = (column: string): string | undefined => {
      const v = c.get(column);
      if (v == null) this.log.error(file, at(file, c.line, column), 'is blank; a value is required');
      return v ?? undefined;
    };
    const date = (column: string): string | null | undefined => {
      const v = c.get(column);
      if (v != null && !isIsoDate(v)) {
        this.log.error(file, at(file, c.line, column), 'is not a date (YYYY-MM-DD)');
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
        this.schoolCount++;
        if (this.school) return;
        const identifier = c.get('identifier') ?? '';
        this.school = { name };
        if (/^\d{6}$/.test(identifier)) this.school.urn = identifier;
        else if (/^\d{7}$/.test(identifier)) this.school.laEstab = identifier;
        return;
      }
      case 'users': {
        const role = c.get('role');
        if (deleted) {
          this.users.set(id, { ...blankUser(c.line), deleted, role });
          return;
        }
        const givenName = need('givenName');
        const familyName = need('familyName');
        if (this.version === '1.1' && role == null) need('role');
        const agents = list(c.get('agentSourcedIds')) ?? [];
        this.users.set(id, {
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
          this.log.error(file, at(file, c.line, 'roleType'), 'must be primary or secondary');
        }
        date('beginDate');
        date('endDate');
        const rows = this.roles.get(userId) ?? [];
        rows.push({ line: c.line, deleted, role, primary: roleType === 'primary' });
        this.roles.set(userId, rows);
        return;
      }
      case 'demographics': {
        const birthDate = date('birthDate');
        const sex = c.get('sex');
        if (RACE_COLUMNS.some((col) => c.get(col) != null)) this.raceSeen = true;
        this.demographics.set(id, { line: c.line, deleted, birthDate, sex });
        return;
      }
      case 'classes': {
        if (deleted) {
          this.classes.set(id, { line: c.line, deleted, kind: undefined, title: '', classCode: undefined, grades: undefined });
          return;
        }
        const title = need('title');
        const classType = need('classType');
        let kind: GroupKind | undefined;
        if (classType === 'homeroom') kind = 'registration';
        else if (classType === 'scheduled') kind = 'class';
        else if (classType !== undefined) this.log.warning(file, at(file, c.line, 'classType'), 'is neither homeroom nor scheduled; class skipped');
        this.classes.set(id, { line: c.line, deleted, kind, title: title ?? '', classCode: c.get('classCode'), grades: list(c.get('grades')) });
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
          this.log.warning(file, at(file, c.line, 'role'), 'is not an enrollment role this import reads (student, teacher, administrator, proctor, aide); row skipped');
          return;
        }
        this.enrollments.push({ line: c.line, classId, userId, role });
        return;
      }
    }
  }

  // -------------------------------------------------------------- the batch

  /** Whether a reference into `key` must resolve inside the package. */
  private strict(key: FileKey): boolean {
    if (this.incomplete.has(key)) return false;
    return this.modes[key] === 'bulk' || (this.modes[key] === 'absent' && this.batchMode === 'full');
  }

  /** The entities a user is, from its roles (1.2 roles.csv) or its role column; undefined when it has none. */
  private entitiesOf(id: string, user: UserRow | undefined, includeDeleted: boolean): PersonEntity[] | undefined {
    let roles: string[];
    if (this.version === '1.2' && this.modes.roles !== 'absent') {
      const rows = this.roles.get(id);
      if (!rows) return undefined;
      roles = rows
        .filter((r) => includeDeleted || !r.deleted)
        .sort((a, b) => Number(b.primary) - Number(a.primary))
        .map((r) => r.role);
    } else {
      if (user?.role == null) return undefined;
      roles = [user.role];
    }
    const out: PersonEntity[] = [];
    for (const role of roles) {
      const entity = ROLE_ENTITY[role];
      if (entity !== undefined && !out.includes(entity)) out.push(entity);
    }
    return out;
  }

  private build(): ImportBatch {
    const batch = emptyBatch(this.batchMode);
    if (this.school) batch.school = this.school;
    if (this.schoolCount > 1) this.log.warning('orgs.csv', 'orgs.csv', 'lists more than one school; the first is used for the school details');

    // Unknown roles: once per role row.
    if (this.version === '1.2' && this.modes.roles !== 'absent') {
      for (const [userId, rows] of this.roles) {
        for (const r of rows) if (!r.deleted && !Object.hasOwn(ROLE_ENTITY, r.role)) this.log.warning('roles.csv', at('roles.csv', r.line, 'role'), 'is not a role this import reads; role ignored');
        if (!this.users.has(userId) && this.strict('users')) {
          for (const r of rows) this.log.error('roles.csv', at('roles.csv', r.line, 'userSourcedId'), 'refers to a user not in users.csv');
        }
      }
    }

    // Who is what.
    const entities = new Map<string, PersonEntity[]>();
    for (const [id, user] of this.users) {
      if (user.deleted) continue;
      const found = this.entitiesOf(id, user, false);
      if (found === undefined) {
        if (this.version === '1.2' && this.modes.roles !== 'absent') {
          this.log.warning('users.csv', at('users.csv', user.line), 'this user has no role in roles.csv; row skipped');
        }
        continue;
      }
      if (found.length === 0) {
        if (!(this.version === '1.2' && this.modes.roles !== 'absent')) {
          this.log.warning('users.csv', at('users.csv', user.line, 'role'), 'is not a role this import reads; row skipped');
        }
        continue;
      }
      entities.set(id, found);
    }
    const is = (id: string, entity: PersonEntity) => entities.get(id)?.includes(entity) ?? false;

    // Demographics.
    const demographicsRead = this.modes.demographics !== 'absent';
    let demographicsOutside = 0;
    for (const [id, d] of this.demographics) {
      if (this.users.has(id)) continue;
      if (this.strict('users')) this.log.error('demographics.csv', at('demographics.csv', d.line, 'sourcedId'), 'refers to a user not in users.csv');
      else demographicsOutside++;
    }
    if (demographicsOutside > 0) {
      this.log.warning(
        'demographics.csv',
        'demographics.csv',
        `${demographicsOutside} rows are for users not in this delta's users.csv; a date of birth or sex changes only with the user's row`,
      );
    }
    if (this.raceSeen) {
      this.log.warning(
        'demographics.csv',
        'demographics.csv',
        'the OneRoster race and ethnicity flags (americanIndianOrAlaskaNative, asian, blackOrAfricanAmerican, nativeHawaiianOrOtherPacificIslander, white, demographicRaceTwoOrMoreRaces, hispanicOrLatinoEthnicity) do not map to CBDS ethnicity codes: ethnicity is left unset',
      );
    }
    const gender = (id: string): string | null | undefined => {
      const d = this.demographics.get(id);
      if (!d || (d.deleted && this.modes.demographics === 'bulk')) return demographicsRead && this.modes.demographics === 'bulk' ? null : undefined;
      if (d.deleted || d.sex == null) return d.deleted || d.sex === null ? null : undefined;
      const g = SEX_TO_GENDER[d.sex];
      if (g === undefined) {
        this.log.warning('demographics.csv', at('demographics.csv', d.line, 'sex'), 'is not male, female, other or unspecified; gender left unset');
        return undefined;
      }
      return g;
    };
    const birthDate = (id: string): string | null | undefined => {
      const d = this.demographics.get(id);
      if (!d || (d.deleted && this.modes.demographics === 'bulk')) return demographicsRead && this.modes.demographics === 'bulk' ? null : undefined;
      return d.deleted ? null : d.birthDate;
    };

    // Groups and memberships.
    const groups = new Map<string, GroupRecord>();
    for (const [id, cls] of this.classes) {
      if (cls.deleted) {
        if (this.modes.classes === 'delta') batch.removed.push({ entity: 'groups', misId: id });
        continue;
      }
      if (cls.kind === undefined) continue;
      groups.set(id, { misId: id, kind: cls.kind, name: cls.title, code: cls.classCode ?? null, pupilMisIds: [], staffMisIds: [] });
    }
    const homeroomOf = new Map<string, string>();
    let outsideClasses = 0;
    for (const e of this.enrollments) {
      const cls = this.classes.get(e.classId);
      if (cls?.deleted) continue;
      if (!cls) {
        if (this.strict('classes')) this.log.error('enrollments.csv', at('enrollments.csv', e.line, 'classSourcedId'), 'refers to a class not in classes.csv');
        else outsideClasses++;
        continue;
      }
      const user = this.users.get(e.userId);
      if (user?.deleted) continue;
      if (!user) {
        if (this.strict('users')) {
          this.log.error('enrollments.csv', at('enrollments.csv', e.line, 'userSourcedId'), 'refers to a user not in users.csv');
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
          this.log.warning('enrollments.csv', at('enrollments.csv', e.line, 'userSourcedId'), 'refers to a parent, guardian or relative; not a class member');
          continue;
        }
      } else member = ENROLLMENT_MEMBER[e.role];
      const ids = member === 'pupil' ? group.pupilMisIds : group.staffMisIds;
      if (!ids.includes(e.userId)) ids.push(e.userId);
      if (member === 'pupil' && group.kind === 'registration' && !homeroomOf.has(e.userId)) homeroomOf.set(e.userId, e.classId);
    }
    if (outsideClasses > 0) {
      this.log.warning(
        'enrollments.csv',
        'enrollments.csv',
        `${outsideClasses} rows are for classes not in this delta's classes.csv; a class's members change only with the class's row`,
      );
    }
    batch.groups = [...groups.values()];
    const groupsRead = this.modes.classes !== 'absent' && this.modes.enrollments !== 'absent';
    if (this.batchMode === 'full' && this.modes.classes === 'absent') {
      this.log.warning('manifest.csv', 'manifest.csv', 'file.classes is absent: this full import lists no registration groups or classes');
    } else if (this.batchMode === 'full' && this.modes.enrollments === 'absent') {
      this.log.warning('manifest.csv', 'manifest.csv', 'file.enrollments is absent: the classes of this full import have no members');
    }

    // Contacts' links: a contact's own agents, and every pupil that lists the contact.
    const linksOf = new Map<string, string[]>();
    const addLink = (contactId: string, pupilId: string) => {
      const pupils = linksOf.get(contactId) ?? [];
      if (!pupils.includes(pupilId)) pupils.push(pupilId);
      linksOf.set(contactId, pupils);
    };
    for (const [id, user] of this.users) {
      if (user.deleted || !entities.has(id)) continue;
      for (const agentId of user.agents) {
        const agent = this.users.get(agentId);
        if (agent?.deleted) continue;
        if (!agent) {
          if (this.strict('users')) {
            this.log.error('users.csv', at('users.csv', user.agentsLine, 'agentSourcedIds'), 'refers to a user not in users.csv');
          } else if (is(id, 'contacts') && !is(id, 'pupils')) addLink(id, agentId); // a parent's agents are its students
          continue;
        }
        if (!entities.has(agentId)) continue;
        if (is(id, 'pupils') && is(agentId, 'contacts')) addLink(agentId, id);
        else if (is(id, 'contacts') && is(agentId, 'pupils')) addLink(id, agentId);
        else {
          this.log.warning('users.csv', at('users.csv', user.agentsLine, 'agentSourcedIds'), 'links people who are not a pupil and a parent, guardian or relative; ignored');
        }
      }
    }

    let parentsWithoutSex = 0;
    for (const [id, user] of this.users) {
      if (user.deleted) continue;
      const roles = entities.get(id);
      if (!roles) continue;
      const emails: Email[] | undefined = user.email === undefined ? undefined : user.email === null ? [] : [{ address: user.email }];
      const phones = phonesOf(user);
      for (const entity of roles) {
        if (entity === 'pupils') {
          batch.pupils.push(this.pupil(id, user, emails, phones, birthDate(id), gender(id), groupsRead, homeroomOf.get(id), groups));
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
          const role = this.contactRole(id, user);
          const relationship = relationshipFor(role, this.demographics.get(id)?.sex);
          if (relationship === 'parent' || relationship === 'guardian') parentsWithoutSex++;
          const links: ContactLink[] = (linksOf.get(id) ?? []).map((pupilMisId) => (relationship ? { pupilMisId, relationship } : { pupilMisId }));
          batch.contacts.push(compact<ContactRecord>({ misId: id, forename: user.givenName, surname: user.familyName, emails, phones, links }));
        }
      }
    }
    // Year groups, as the CTF connector makes them: only a full import lists every member.
    if (this.batchMode === 'full') {
      const years = new Map<string, string[]>();
      for (const p of batch.pupils) {
        if (!p.yearGroup) continue;
        const list = years.get(p.yearGroup) ?? [];
        list.push(p.misId);
        years.set(p.yearGroup, list);
      }
      for (const [code, pupilMisIds] of years) {
        batch.groups.push({ misId: `year:${code}`, kind: 'year', name: isNcYearCode(code) ? yearGroupName(code) : code, code, pupilMisIds, staffMisIds: [] });
      }
    }

    if (parentsWithoutSex > 0) {
      this.log.warning(
        this.version === '1.2' && this.modes.roles !== 'absent' ? 'roles.csv' : 'users.csv',
        this.version === '1.2' && this.modes.roles !== 'absent' ? 'roles.csv' : 'users.csv',
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
    for (const [id, user] of this.users) {
      if (!user.deleted || this.modes.users !== 'delta') continue;
      const found = this.entitiesOf(id, user, true);
      if (!found || found.length === 0) {
        // The user is gone whatever they were: remove them as each kind of person.
        roleless++;
        for (const entity of ['pupils', 'staff', 'contacts'] as const) remove(entity, id);
        continue;
      }
      for (const entity of found) remove(entity, id);
    }
    if (roleless > 0) {
      this.log.warning('users.csv', 'users.csv', `${roleless} users to be deleted have no role this import reads; each is removed as a pupil, staff member and contact`);
    }
    if (this.version === '1.2' && this.modes.roles === 'delta') {
      for (const [userId, rows] of this.roles) {
        const user = this.users.get(userId);
        if (user?.deleted) continue;
        const active = this.entitiesOf(userId, user, false) ?? [];
        for (const r of rows) {
          const entity = ROLE_ENTITY[r.role];
          if (r.deleted && entity && !active.includes(entity)) remove(entity, userId);
        }
      }
    }

    for (const key of this.blankModified) {
      this.log.warning(`${key}.csv`, `${key}.csv`, 'some delta rows have a blank dateLastModified (the binding requires one)');
    }
    return this.finish(batch);
  }

  private contactRole(id: string, user: UserRow): string {
    if (this.version === '1.2' && this.modes.roles !== 'absent') {
      const rows = [...(this.roles.get(id) ?? [])].filter((r) => !r.deleted).sort((a, b) => Number(b.primary) - Number(a.primary));
      return rows.find((r) => ROLE_ENTITY[r.role] === 'contacts')?.role ?? 'parent';
    }
    return user.role ?? 'parent';
  }

  private pupil(
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
    const upnFrom = (v: string | null | undefined) => (v != null && isUpnFormat(v.toUpperCase()) ? v.toUpperCase() : undefined);
    const upn = upnFrom(user.userMasterIdentifier) ?? upnFrom(user.identifier);
    if (upn !== undefined && !isValidUpn(upn)) {
      const column = upnFrom(user.userMasterIdentifier) ? 'userMasterIdentifier' : 'identifier';
      this.log.warning('users.csv', at('users.csv', user.line, column), 'is a UPN whose check letter does not match; kept as given');
    }
    const carriesUpn = user.identifier !== undefined || user.userMasterIdentifier !== undefined;
    let admissionNumber: string | null | undefined;
    if (user.identifier === null) admissionNumber = null;
    else if (user.identifier !== undefined && upnFrom(user.identifier) === undefined) admissionNumber = user.identifier;

    let yearGroup: string | null | undefined;
    const grade = user.grades?.[0] ?? (homeroom ? this.classes.get(homeroom)?.grades?.[0] : undefined);
    if (grade !== undefined) {
      yearGroup = yearGroupFromGrade(grade);
      if (yearGroup === undefined) {
        const fromUser = user.grades?.[0] !== undefined;
        this.log.warning(
          fromUser ? 'users.csv' : 'classes.csv',
          fromUser ? at('users.csv', user.line, 'grades') : at('classes.csv', this.classes.get(homeroom!)!.line, 'grades'),
          'is not a CEDS grade level with a National Curriculum year; kept as given',
        );
        yearGroup = grade;
      }
    } else if (user.grades !== undefined) yearGroup = null;

    let registrationGroup: string | null | undefined;
    if (homeroom) registrationGroup = groups.get(homeroom)?.code ?? groups.get(homeroom)?.name;
    else if (groupsRead && this.batchMode === 'full') registrationGroup = null;

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

function phonesOf(user: UserRow): Phone[] | undefined {
  if (user.phone === undefined && user.sms === undefined) return undefined;
  const out: Phone[] = [];
  if (user.phone) out.push({ number: user.phone });
  if (user.sms) out.push({ number: user.sms, type: 'mobile' });
  return out;
}

/**
 * A OneRoster contact role → the link's relationship: relative is CBDS 'REL'; a parent whose
 * demographics give a sex is 'PAM' / 'PAF'; otherwise there is no CBDS code and the OneRoster
 * role is kept as given ('parent', 'guardian').
 */
export function relationshipFor(role: string, sex: string | null | undefined): string {
  if (role === 'relative') return 'REL';
  if (role === 'parent' && sex === 'female') return 'PAM';
  if (role === 'parent' && sex === 'male') return 'PAF';
  return role;
}

function compact<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) if (record[key] === undefined) delete record[key];
  return record;
}

/**
 * Reads a OneRoster 1.1 / 1.2 CSV zip. Never rejects: a file that is not a zip, has no manifest
 * or breaks the binding comes back with `errors` (location and reason, never a personal value).
 */
export async function readOneRosterCsv(zipPath: string): Promise<ImportBatch> {
  return new OneRosterReader(zipPath).run();
}
