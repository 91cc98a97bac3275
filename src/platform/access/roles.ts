import type { OrganisationKind } from '../db/schema.ts';
import { allPermissions, type Permission } from './permissions.ts';

/**
 * Built-in roles per kind of organisation. An organisation's admins grant these roles to its
 * users; products add their own roles with `defineRole` as they land (e.g. a practice's client
 * user). Every organisation kind has `admin`, who may do everything defined for that kind.
 */
export interface RoleDefinition {
  name: string;
  label: string;
  description: string;
  /** `'*'`: every permission in the registry. */
  permissions: Permission[] | '*';
}

const ALL_KINDS: OrganisationKind[] = ['operator', 'school', 'trust', 'local_authority', 'practice'];
const roles = new Map<OrganisationKind, Map<string, RoleDefinition>>(ALL_KINDS.map((kind) => [kind, new Map()]));

export function defineRole(kinds: OrganisationKind[], role: RoleDefinition): void {
  for (const kind of kinds) {
    const known = roles.get(kind)!;
    if (known.has(role.name)) throw new Error(`role ${role.name} is already defined for ${kind}`);
    known.set(role.name, role);
  }
}

export const ADMIN_ROLE = 'admin';

defineRole(ALL_KINDS, {
  name: ADMIN_ROLE,
  label: 'Administrator',
  description: 'Manages users, roles, settings and integrations, and reads the audit trail.',
  permissions: '*',
});
defineRole(ALL_KINDS, {
  name: 'member',
  label: 'Member',
  description: 'Uses the products the organisation has; sees who else belongs to it.',
  permissions: ['organisation.read', 'users.read'],
});

export function rolesFor(kind: OrganisationKind): RoleDefinition[] {
  return [...roles.get(kind)!.values()];
}

export function isRoleOf(kind: OrganisationKind, role: string): boolean {
  return roles.get(kind)!.has(role);
}

/** The permissions a role holds in an organisation of this kind; empty for an unknown role. */
export function permissionsOf(kind: OrganisationKind, role: string): Permission[] {
  const definition = roles.get(kind)!.get(role);
  if (!definition) return [];
  return definition.permissions === '*' ? allPermissions().map((p) => p.name) : [...definition.permissions];
}

export function roleCan(kind: OrganisationKind, role: string, permission: Permission): boolean {
  return permissionsOf(kind, role).includes(permission);
}
