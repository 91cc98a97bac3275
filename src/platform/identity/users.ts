import { z } from 'zod';
import { recordAudit } from '../audit/audit-writer.ts';
import { ADMIN_ROLE, isRoleOf } from '../access/roles.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { parseOrThrow } from '../validation.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import { newSecret } from './tokens.ts';

export const INVITATION_TTL_HOURS = 72;

export const inviteUserSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email({ error: 'must be an email address' })).refine((v) => v.length <= 254, 'must be at most 254 characters'),
  displayName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  // Which roles exist depends on the organisation's kind (a practice has staff and client users): checked in inviteUser.
  role: z.string().trim().min(1, 'must not be empty').max(50, 'must be at most 50 characters').default('member'),
});
export type InviteUserInput = z.input<typeof inviteUserSchema>;

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  role: string;
  status: string;
  createdAt: string;
}

export interface Invitation {
  userId: string;
  /** The one-time link; shown once, only its hash is stored. */
  inviteUrl: string;
  expiresAt: string;
}

/**
 * Invites someone into the scope's organisation: the user row (email sealed, blind-indexed for
 * sign-in), a single-use invitation that expires in 72 hours, and the audit entry — all in the
 * caller's transaction. Sending the email is the caller's choice (see mail).
 */
export async function inviteUser(scope: TenantScope, input: InviteUserInput, publicUrl: string): Promise<Invitation> {
  const { email, displayName, role } = parseOrThrow(inviteUserSchema, input);
  const { trx, cipher, tenantId } = scope;
  const org = await trx.selectFrom('organisations').select('kind').where('id', '=', tenantId).executeTakeFirstOrThrow();
  if (!isRoleOf(org.kind, role)) throw new ValidationError([{ field: 'role', reason: `is not a role of a ${org.kind.replace('_', ' ')} organisation` }]);
  const emailIndex = cipher.blindIndex('users.email', email);
  const existing = await trx.selectFrom('users').select('id').where('email_bidx', '=', emailIndex).executeTakeFirst();
  if (existing) throw new ConflictError('a user with this email already belongs to the organisation');

  const user = await trx
    .insertInto('users')
    .values({
      tenant_id: tenantId,
      email_enc: cipher.seal('users.email', email),
      email_bidx: emailIndex,
      email_lookup: cipher.platformLookup('users.email', email),
      display_name_enc: cipher.sealOptional('users.display_name', displayName),
      role,
      status: 'invited',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const { secret, hash } = newSecret();
  const expiresAt = new Date(Date.now() + INVITATION_TTL_HOURS * 3600_000);
  await trx
    .insertInto('invitations')
    .values({ tenant_id: tenantId, user_id: user.id, token_hash: hash, expires_at: expiresAt })
    .execute();
  await recordAudit(scope, {
    action: 'user.invited',
    target: { type: 'user', id: user.id },
    changes: { email: { personal: true }, ...(displayName ? { displayName: { personal: true } } : {}), role: { after: role }, status: { after: 'invited' } },
  });
  return { userId: user.id, inviteUrl: `${publicUrl}/invite/${secret}`, expiresAt: expiresAt.toISOString() };
}

function toUser(scope: TenantScope, row: { id: string; email_enc: string; display_name_enc: string | null; role: string; status: string; created_at: Date }): User {
  return {
    id: row.id,
    email: scope.cipher.open('users.email', row.email_enc),
    displayName: scope.cipher.openOptional('users.display_name', row.display_name_enc),
    role: row.role,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const USER_COLUMNS = ['id', 'email_enc', 'display_name_enc', 'role', 'status', 'created_at'] as const;

export async function listUsers(scope: TenantScope): Promise<User[]> {
  const rows = await scope.trx.selectFrom('users').select(USER_COLUMNS).orderBy('created_at').execute();
  return rows.map((row) => toUser(scope, row));
}

export async function getUser(scope: TenantScope, id: string): Promise<User> {
  const row = await scope.trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('user');
  return toUser(scope, row);
}

/** Exact-match lookup through the blind index; the email itself is never compared in SQL. */
export async function findUserByEmail(scope: TenantScope, email: string): Promise<User | undefined> {
  const row = await scope.trx
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('email_bidx', '=', scope.cipher.blindIndex('users.email', email))
    .executeTakeFirst();
  return row ? toUser(scope, row) : undefined;
}

/** The email addresses of the organisation's active administrators (receipts, notices), oldest first. */
export async function activeAdminAddresses(scope: TenantScope): Promise<string[]> {
  const rows = await scope.trx
    .selectFrom('users')
    .select('email_enc')
    .where('tenant_id', '=', scope.tenantId)
    .where('role', '=', ADMIN_ROLE)
    .where('status', '=', 'active')
    .orderBy('created_at')
    .execute();
  return rows.map((row) => scope.cipher.open('users.email', row.email_enc));
}
