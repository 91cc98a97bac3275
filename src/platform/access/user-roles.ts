import { z } from 'zod';
import { recordAudit } from '../audit/audit-writer.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { revokeSessions } from '../identity/sessions.ts';
import { parseOrThrow } from '../validation.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import { ADMIN_ROLE, isRoleOf } from './roles.ts';

export const changeRoleSchema = z.object({ role: z.string().trim().min(1, 'must name a role').max(50) });

/**
 * Admins of an organisation who can still act: invited or active, not disabled. Locked with the
 * rows so two concurrent demotions cannot both see "another admin remains".
 */
async function lockedAdminIds(scope: TenantScope): Promise<string[]> {
  const rows = await scope.trx
    .selectFrom('users')
    .select('id')
    .where('role', '=', ADMIN_ROLE)
    .where('status', '!=', 'disabled')
    .forUpdate()
    .execute();
  return rows.map((r) => r.id);
}

async function organisationKind(scope: TenantScope) {
  const org = await scope.trx.selectFrom('organisations').select('kind').where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
  return org.kind;
}

/** Grants a role. The last admin of an organisation cannot be demoted: someone must hold the keys. */
export async function changeUserRole(scope: TenantScope, userId: string, input: z.input<typeof changeRoleSchema>): Promise<void> {
  const { role } = parseOrThrow(changeRoleSchema, input);
  const kind = await organisationKind(scope);
  if (!isRoleOf(kind, role)) throw new ValidationError([{ field: 'role', reason: `is not a role of a ${kind} organisation` }]);
  const admins = await lockedAdminIds(scope);
  const user = await scope.trx.selectFrom('users').select(['role', 'status']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new NotFoundError('user');
  if (user.role === role) return;
  if (user.role === ADMIN_ROLE && user.status !== 'disabled' && admins.length <= 1) {
    throw new ConflictError('the last admin of the organisation cannot be demoted');
  }
  await scope.trx.updateTable('users').set({ role, updated_at: new Date() }).where('id', '=', userId).execute();
  await recordAudit(scope, { action: 'user.role_changed', target: { type: 'user', id: userId }, changes: { role: { before: user.role, after: role } } });
}

/**
 * Disables a user (they keep their history, lose all access): every session of theirs ends in the
 * same transaction, so a browser signed in a moment ago is signed out too. Never the last admin.
 */
export async function disableUser(scope: TenantScope, userId: string): Promise<void> {
  const admins = await lockedAdminIds(scope);
  const user = await scope.trx.selectFrom('users').select(['role', 'status']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new NotFoundError('user');
  if (user.status === 'disabled') return;
  if (user.role === ADMIN_ROLE && admins.length <= 1) throw new ConflictError('the last admin of the organisation cannot be disabled');
  await scope.trx.updateTable('users').set({ status: 'disabled', updated_at: new Date() }).where('id', '=', userId).execute();
  await recordAudit(scope, { action: 'user.disabled', target: { type: 'user', id: userId }, changes: { status: { before: user.status, after: 'disabled' } } });
  await revokeSessions(scope, 'user disabled', userId);
}
