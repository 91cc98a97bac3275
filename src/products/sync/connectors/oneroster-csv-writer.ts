import fs from 'node:fs';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import type { ContactRecord, GroupRecord, ImportBatch, Phone, PupilRecord, StaffRecord } from '../model.ts';
import { RACE_FIELDS } from './oneroster/tables.ts';

/**
 * Writes an ImportBatch as a OneRoster 1.1 or 1.2 CSV zip, shaped as the binding says (manifest.csv,
 * orgs, academicSessions, courses, classes, users, enrollments, demographics, and roles in 1.2), for
 * tests and benchmarks. Each CSV is generated row by row while yazl compresses it, so a large school
 * never sits in memory as text.
 *
 * What OneRoster cannot carry is left out: addresses, photos, ethnicity, religion, language, FSM,
 * SEN, house, dates of enrolment/leaving, titles, job titles, contact priority and parental
 * responsibility, attendance, year and house groups. A pupil's UPN goes in `identifier` (1.1) or
 * `userMasterIdentifier` (1.2, where `identifier` carries the admission number). One email, one
 * phone and one SMS number (the first mobile) per person. Staff are written as teachers; contacts as
 * parent (mother/father/step-parent relationships, with the parent's sex in demographics), relative
 * (grandparents, other family) or guardian (everyone else).
 */
export interface WriteOneRosterOptions {
  version: '1.1' | '1.2';
  mode: 'bulk' | 'delta';
}

const COLUMNS = {
  manifest: ['propertyName', 'value'],
  orgs: ['sourcedId', 'status', 'dateLastModified', 'name', 'type', 'identifier', 'parentSourcedId'],
  academicSessions: ['sourcedId', 'status', 'dateLastModified', 'title', 'type', 'startDate', 'endDate', 'parentSourcedId', 'schoolYear'],
  courses: ['sourcedId', 'status', 'dateLastModified', 'schoolYearSourcedId', 'title', 'courseCode', 'grades', 'orgSourcedId', 'subjects', 'subjectCodes'],
  classes: [
    'sourcedId',
    'status',
    'dateLastModified',
    'title',
    'grades',
    'courseSourcedId',
    'classCode',
    'classType',
    'location',
    'schoolSourcedId',
    'termSourcedIds',
    'subjects',
    'subjectCodes',
    'periods',
  ],
  users11: [
    'sourcedId',
    'status',
    'dateLastModified',
    'enabledUser',
    'orgSourcedIds',
    'role',
    'username',
    'userIds',
    'givenName',
    'familyName',
    'middleName',
    'identifier',
    'email',
    'sms',
    'phone',
    'agentSourcedIds',
    'grades',
    'password',
  ],
  users12: [
    'sourcedId',
    'status',
    'dateLastModified',
    'enabledUser',
    'username',
    'userIds',
    'givenName',
    'familyName',
    'middleName',
    'identifier',
    'email',
    'sms',
    'phone',
    'agentSourcedIds',
    'grades',
    'password',
    'userMasterIdentifier',
    'preferredGivenName',
    'preferredMiddleName',
    'preferredFamilyName',
    'primaryOrgSourcedId',
    'pronouns',
  ],
  roles: ['sourcedId', 'status', 'dateLastModified', 'userSourcedId', 'roleType', 'role', 'beginDate', 'endDate', 'orgSourcedId', 'userProfileSourcedId'],
  enrollments: ['sourcedId', 'status', 'dateLastModified', 'classSourcedId', 'schoolSourcedId', 'userSourcedId', 'role', 'primary', 'beginDate', 'endDate'],
  demographics: [
    'sourcedId',
    'status',
    'dateLastModified',
    'birthDate',
    'sex',
    ...RACE_FIELDS,
    'countryOfBirthCode',
    'stateOfBirthAbbreviation',
    'cityOfBirth',
    'publicSchoolResidenceStatus',
  ],
} as const;

const MANIFEST_FILES = {
  '1.1': [
    'academicSessions',
    'categories',
    'classes',
    'classResources',
    'courses',
    'courseResources',
    'demographics',
    'enrollments',
    'lineItems',
    'orgs',
    'resources',
    'results',
    'users',
  ],
  '1.2': [
    'academicSessions',
    'categories',
    'classes',
    'classResources',
    'courses',
    'courseResources',
    'demographics',
    'enrollments',
    'lineItemLearningObjectiveIds',
    'lineItems',
    'lineItemScoreScales',
    'orgs',
    'resources',
    'resultLearningObjectiveIds',
    'results',
    'resultScoreScales',
    'roles',
    'scoreScales',
    'userProfiles',
    'userResources',
    'users',
  ],
} as const;

type Row = Record<string, string>;

function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvLine(columns: readonly string[], row: Row): string {
  return columns.map((c) => csvField(row[c] ?? '')).join(',') + '\r\n';
}

/** Rows → CSV bytes, produced only as fast as the zip consumes them. */
function csvStream(columns: readonly string[], rows: () => Iterable<Row>): Readable {
  return Readable.from(
    (function* () {
      let chunk = columns.join(',') + '\r\n';
      for (const row of rows()) {
        chunk += csvLine(columns, row);
        if (chunk.length >= 64 * 1024) {
          yield Buffer.from(chunk, 'utf8');
          chunk = '';
        }
      }
      if (chunk) yield Buffer.from(chunk, 'utf8');
    })(),
    { objectMode: false },
  );
}

/** The model's NC year code → a CEDS grade level: '7' → '07', 'R' → 'KG', 'N2' → 'PK', 'N1' → 'PR'; other NC codes as they are. */
export function gradeFromYearGroup(yearGroup: string | null | undefined): string {
  if (!yearGroup) return '';
  const year = /^(?:Year )?(\d{1,2})$/.exec(yearGroup);
  if (year) return Number(year[1]) <= 13 ? year[1]!.padStart(2, '0') : year[1]!;
  const named: Record<string, string> = { R: 'KG', Reception: 'KG', N1: 'PR', 'Nursery 1': 'PR', N2: 'PK', 'Nursery 2': 'PK' };
  return named[yearGroup] ?? yearGroup;
}

const MOTHERS = new Set(['PAM', 'STM', 'FOM', 'GRM']);
const FATHERS = new Set(['PAF', 'STF', 'FOF', 'GRF']);

/** The OneRoster role a contact is written with, from the relationship of its first link. */
export function contactRole(relationship: string | null | undefined): 'parent' | 'guardian' | 'relative' {
  switch (relationship) {
    case 'PAM':
    case 'PAF':
    case 'STM':
    case 'STF':
    case 'parent':
      return 'parent';
    case 'GRM':
    case 'GRF':
    case 'FAM':
    case 'REL':
    case 'relative':
      return 'relative';
    default:
      return 'guardian';
  }
}

function sexOf(gender: string | null | undefined, version: '1.1' | '1.2'): string {
  if (gender === 'M') return 'male';
  if (gender === 'F') return 'female';
  if (version === '1.2' && gender === 'X') return 'other';
  if (version === '1.2' && gender === 'U') return 'unspecified';
  return '';
}

/** The phone and the SMS number OneRoster has room for: the first mobile is the SMS number. */
function phoneAndSms(phones: Phone[] | undefined): { phone: string; sms: string } {
  const list = phones ?? [];
  const mobile = list.find((p) => p.type === 'mobile');
  const other = list.find((p) => p !== mobile);
  return { phone: other?.number ?? '', sms: mobile?.number ?? '' };
}

function schoolYear(now: Date): { start: number } {
  // An English school year starts in September.
  return { start: now.getUTCMonth() >= 8 ? now.getUTCFullYear() : now.getUTCFullYear() - 1 };
}

export async function writeOneRosterCsv(batch: ImportBatch, zipPath: string, options: WriteOneRosterOptions): Promise<void> {
  const { version, mode } = options;
  const delta = mode === 'delta';
  const now = new Date();
  const stamp = delta ? now.toISOString() : '';
  const status = delta ? 'active' : '';
  const meta = { status, dateLastModified: stamp };
  const deleted = { status: 'tobedeleted', dateLastModified: now.toISOString() };

  // sourcedIds are unique across all users in OneRoster; the model keeps pupils, staff and contacts apart.
  const owner = new Map<string, string>();
  for (const [entity, records] of [
    ['pupils', batch.pupils],
    ['staff', batch.staff],
    ['contacts', batch.contacts],
  ] as const) {
    for (const r of records) {
      const seen = owner.get(r.misId);
      if (seen !== undefined) throw new Error(`MIS id used by more than one person (${seen} and ${entity}): OneRoster users need one sourcedId each`);
      owner.set(r.misId, entity);
    }
  }

  const school = batch.school ?? {};
  const orgId = `org-${school.urn ?? school.laEstab ?? 'school'}`;
  const year = schoolYear(now);
  const sessionId = `sy-${year.start}`;
  const registrationCourse = 'course-registration';
  // OneRoster classes are homerooms or scheduled classes; year groups travel as each pupil's grade.
  const groups = batch.groups.filter((g) => g.kind === 'registration' || g.kind === 'class');
  const courseOf = (g: GroupRecord) => (g.kind === 'registration' ? registrationCourse : `course-${g.misId}`);

  const pupilsById = new Map(batch.pupils.map((p) => [p.misId, p] as const));
  // A pupil's agents: the contacts linked to them, first to call first.
  const agentsOf = new Map<string, { id: string; priority: number }[]>();
  for (const c of batch.contacts) {
    for (const link of c.links) {
      const list = agentsOf.get(link.pupilMisId) ?? [];
      list.push({ id: c.misId, priority: link.priority ?? Number.MAX_SAFE_INTEGER });
      agentsOf.set(link.pupilMisId, list);
    }
  }
  const gradesOfGroup = (g: GroupRecord) => [
    ...new Set(g.pupilMisIds.map((id) => gradeFromYearGroup(pupilsById.get(id)?.yearGroup)).filter((x) => x !== '')),
  ];

  const usersColumns = version === '1.1' ? COLUMNS.users11 : COLUMNS.users12;
  const base = (id: string, role: string, givenName: string, familyName: string): Row => ({
    sourcedId: id,
    ...meta,
    enabledUser: 'true',
    orgSourcedIds: orgId,
    primaryOrgSourcedId: orgId,
    role: version === '1.1' ? role : '',
    username: id,
    givenName,
    familyName,
  });
  const pupilRow = (p: PupilRecord): Row => {
    const { phone, sms } = phoneAndSms(p.phones);
    const agents = (agentsOf.get(p.misId) ?? []).sort((a, b) => a.priority - b.priority).map((a) => a.id);
    return {
      ...base(p.misId, 'student', p.legalForename, p.legalSurname),
      middleName: p.middleNames ?? '',
      identifier: version === '1.1' ? (p.upn ?? p.admissionNumber ?? '') : (p.admissionNumber ?? ''),
      userMasterIdentifier: p.upn ?? '',
      preferredGivenName: p.preferredForename ?? '',
      preferredFamilyName: p.preferredSurname ?? '',
      email: p.emails?.[0]?.address ?? '',
      phone,
      sms,
      agentSourcedIds: agents.join(','),
      grades: gradeFromYearGroup(p.yearGroup),
    };
  };
  const staffRow = (s: StaffRecord): Row => ({
    ...base(s.misId, 'teacher', s.forename, s.surname),
    email: s.emails?.[0]?.address ?? '',
    ...phoneAndSms(s.phones),
  });
  const contactRow = (c: ContactRecord): Row => ({
    ...base(c.misId, contactRole(c.links[0]?.relationship), c.forename, c.surname),
    email: c.emails?.[0]?.address ?? '',
    ...phoneAndSms(c.phones),
    agentSourcedIds: [...new Set(c.links.map((l) => l.pupilMisId))].join(','),
  });
  const removedPeople = batch.removed.filter((r) => r.entity !== 'groups');
  const roleOfEntity = { pupils: 'student', staff: 'teacher', contacts: 'parent' } as Record<string, string>;

  const zip = new yazl.ZipFile();
  const add = (name: string, columns: readonly string[], rows: () => Iterable<Row>) => {
    zip.addReadStreamLazy(`${name}.csv`, { mtime: now }, (cb) => cb(null, csvStream(columns, rows)));
  };

  const written = new Set(['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics', ...(version === '1.2' ? ['roles'] : [])]);
  add('manifest', COLUMNS.manifest, function* () {
    yield { propertyName: 'manifest.version', value: '1.0' };
    yield { propertyName: 'oneroster.version', value: version };
    for (const f of MANIFEST_FILES[version]) yield { propertyName: `file.${f}`, value: written.has(f) ? mode : 'absent' };
    yield { propertyName: 'source.systemName', value: 'Custos' };
    yield { propertyName: 'source.systemCode', value: 'custos' };
  });
  add('orgs', COLUMNS.orgs, function* () {
    yield { sourcedId: orgId, ...meta, name: school.name ?? 'School', type: 'school', identifier: school.urn ?? school.laEstab ?? '' };
  });
  add('academicSessions', COLUMNS.academicSessions, function* () {
    yield {
      sourcedId: sessionId,
      ...meta,
      title: `${year.start}/${String(year.start + 1).slice(2)}`,
      type: 'schoolYear',
      startDate: `${year.start}-09-01`,
      endDate: `${year.start + 1}-08-31`,
      schoolYear: String(year.start + 1),
    };
  });
  add('courses', COLUMNS.courses, function* () {
    if (groups.some((g) => g.kind === 'registration')) {
      yield { sourcedId: registrationCourse, ...meta, schoolYearSourcedId: sessionId, title: 'Registration', courseCode: 'REG', orgSourcedId: orgId };
    }
    for (const g of groups) {
      if (g.kind !== 'class') continue;
      yield { sourcedId: courseOf(g), ...meta, schoolYearSourcedId: sessionId, title: g.name, courseCode: g.code ?? '', grades: gradesOfGroup(g).join(','), orgSourcedId: orgId };
    }
  });
  add('classes', COLUMNS.classes, function* () {
    for (const g of groups) {
      yield {
        sourcedId: g.misId,
        ...meta,
        title: g.name,
        grades: gradesOfGroup(g).join(','),
        courseSourcedId: courseOf(g),
        classCode: g.code ?? '',
        classType: g.kind === 'registration' ? 'homeroom' : 'scheduled',
        schoolSourcedId: orgId,
        termSourcedIds: sessionId,
      };
    }
    if (delta) for (const r of batch.removed) if (r.entity === 'groups') yield { sourcedId: r.misId, ...deleted };
  });
  add('users', usersColumns, function* () {
    for (const p of batch.pupils) yield pupilRow(p);
    for (const s of batch.staff) yield staffRow(s);
    for (const c of batch.contacts) yield contactRow(c);
    if (delta) for (const r of removedPeople) yield { sourcedId: r.misId, ...deleted, role: version === '1.1' ? roleOfEntity[r.entity]! : '' };
  });
  if (version === '1.2') {
    add('roles', COLUMNS.roles, function* () {
      const role = (userSourcedId: string, r: string, m: Row = meta): Row => ({
        sourcedId: `${userSourcedId}-role`,
        ...m,
        userSourcedId,
        roleType: 'primary',
        role: r,
        orgSourcedId: orgId,
      });
      for (const p of batch.pupils) yield role(p.misId, 'student');
      for (const s of batch.staff) yield role(s.misId, 'teacher');
      for (const c of batch.contacts) yield role(c.misId, contactRole(c.links[0]?.relationship));
      if (delta) for (const r of removedPeople) yield role(r.misId, roleOfEntity[r.entity]!, deleted);
    });
  }
  add('enrollments', COLUMNS.enrollments, function* () {
    for (const g of groups) {
      for (const id of g.pupilMisIds) {
        yield { sourcedId: `${g.misId}:${id}`, ...meta, classSourcedId: g.misId, schoolSourcedId: orgId, userSourcedId: id, role: 'student' };
      }
      let first = true;
      for (const id of g.staffMisIds) {
        yield {
          sourcedId: `${g.misId}:${id}`,
          ...meta,
          classSourcedId: g.misId,
          schoolSourcedId: orgId,
          userSourcedId: id,
          role: 'teacher',
          primary: first ? 'true' : 'false',
        };
        first = false;
      }
    }
  });
  add('demographics', COLUMNS.demographics, function* () {
    for (const person of [...batch.pupils, ...batch.staff]) {
      const sex = sexOf(person.gender, version);
      if (!person.dateOfBirth && !sex) continue;
      yield { sourcedId: person.misId, ...meta, birthDate: person.dateOfBirth ?? '', sex };
    }
    for (const c of batch.contacts) {
      const rel = c.links[0]?.relationship ?? '';
      const sex = MOTHERS.has(rel) ? 'female' : FATHERS.has(rel) ? 'male' : '';
      if (sex) yield { sourcedId: c.misId, ...meta, sex };
    }
  });
  zip.end();

  const out = fs.createWriteStream(zipPath);
  const done = finished(out);
  zip.outputStream.on('error', (err) => out.destroy(err));
  zip.outputStream.pipe(out);
  await done;
}
