import { isNcYearCode } from '../../codes.ts';
import type { Entity } from '../../model.ts';

/** The OneRoster tables both OneRoster connectors (CSV and REST) map with. */

export type PersonEntity = Extract<Entity, 'pupils' | 'staff' | 'contacts'>;

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

/** The demographics race and ethnicity flags: no CBDS equivalent, so only their presence is noticed. */
export const RACE_FIELDS = [
  'americanIndianOrAlaskaNative',
  'asian',
  'blackOrAfricanAmerican',
  'nativeHawaiianOrOtherPacificIslander',
  'white',
  'demographicRaceTwoOrMoreRaces',
  'hispanicOrLatinoEthnicity',
] as const;

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

/** The entities a user's roles make it, in the roles' order, each once; roles this import does not read are left out. */
export function entitiesOfRoles(roles: readonly string[]): PersonEntity[] {
  const out: PersonEntity[] = [];
  for (const role of roles) {
    const entity = ROLE_ENTITY[role];
    if (entity !== undefined && !out.includes(entity)) out.push(entity);
  }
  return out;
}
