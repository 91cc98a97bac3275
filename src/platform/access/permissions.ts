/**
 * Permissions are named strings owned by the module that checks them (`users.manage`,
 * `audit.read`, …). Each module declares its own with `definePermissions`; the registry is what
 * the permissions page and API list, so "who can do what" is generated from the code itself.
 */
export type Permission = `${string}.${string}`;

export interface PermissionInfo {
  name: Permission;
  module: string;
  description: string;
}

const registry = new Map<Permission, PermissionInfo>();

export function definePermissions<const N extends Permission>(module: string, permissions: Record<N, string>): N[] {
  const names = Object.keys(permissions) as N[];
  for (const name of names) {
    const existing = registry.get(name);
    if (existing && existing.module !== module) throw new Error(`permission ${name} is already owned by ${existing.module}`);
    registry.set(name, { name, module, description: permissions[name] });
  }
  return names;
}

export function allPermissions(): PermissionInfo[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function isPermission(name: string): name is Permission {
  return registry.has(name as Permission);
}

/** The platform core's own permissions. */
export const PLATFORM_PERMISSIONS = definePermissions('platform', {
  'organisation.read': "see the organisation's name, kind and status",
  'users.read': "see the organisation's users and their roles",
  'users.manage': 'invite users, change their roles and disable them',
  'api_tokens.manage': 'issue and revoke API tokens for integrations',
  'audit.read': 'read, verify and export the audit trail',
  'settings.manage': "change the organisation's settings",
});
