import { isIsoDate, yearGroupName } from '../../codes.ts';
import type { GroupRecord, SchoolInfo } from '../../model.ts';

/** The school: the header's source school and date, and the year and registration groups of its pupils. */

export interface CtfHeader {
  lea?: string;
  estab?: string;
  urn?: string;
  name?: string;
  date?: string;
}

/** Keeps a closed header element the import uses; false when `path` is not one of them. */
export function headerField(header: CtfHeader, path: string, value: string): boolean {
  if (path === 'CTfile/Header/DateTime') {
    if (isIsoDate(value.slice(0, 10))) header.date = value.slice(0, 10);
    return true;
  }
  if (path.startsWith('CTfile/Header/SourceSchool/')) {
    const field = path.slice('CTfile/Header/SourceSchool/'.length);
    if (field === 'LEA') header.lea = value || undefined;
    else if (field === 'Estab') header.estab = value || undefined;
    else if (field === 'URN') header.urn = value || undefined;
    else if (field === 'SchoolName') header.name = value || undefined;
    return true;
  }
  return false;
}

/** The source school's details; undefined when the header gives none. */
export function schoolInfo(header: CtfHeader): SchoolInfo | undefined {
  const school: SchoolInfo = {};
  if (header.name) school.name = header.name;
  if (header.urn) school.urn = header.urn;
  if (header.lea && header.estab) school.laEstab = header.lea + header.estab;
  return Object.keys(school).length > 0 ? school : undefined;
}

/** Year groups (NCyearActual) and registration groups, with their pupils in the order read. */
export class SchoolGroups {
  private readonly yearGroups = new Map<string, string[]>();
  private readonly regGroups = new Map<string, string[]>();

  /** A pupil's year group (NC year code) and registration group, where it has them. */
  add(pupilMisId: string, yearGroup: string | undefined, registrationGroup: string | undefined): void {
    if (yearGroup) memberOf(this.yearGroups, yearGroup).push(pupilMisId);
    if (registrationGroup) memberOf(this.regGroups, registrationGroup).push(pupilMisId);
  }

  build(): GroupRecord[] {
    const groups: GroupRecord[] = [];
    for (const [code, pupilMisIds] of this.yearGroups) {
      groups.push({ misId: `year:${code}`, kind: 'year', name: yearGroupName(code), code, pupilMisIds, staffMisIds: [] });
    }
    for (const [name, pupilMisIds] of this.regGroups) {
      groups.push({ misId: `registration:${name}`, kind: 'registration', name, code: name, pupilMisIds, staffMisIds: [] });
    }
    return groups;
  }
}

function memberOf(groups: Map<string, string[]>, key: string): string[] {
  let list = groups.get(key);
  if (!list) groups.set(key, (list = []));
  return list;
}
