import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import { inviteUser } from '../../platform/identity/users.ts';
import type { JobQueue } from '../../platform/jobs/queue.ts';
import { enqueueMail } from '../../platform/mail/mail.ts';
import { getOrganisation, invitationMail } from '../../platform/organisations/organisations.ts';
import { isUuid, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { actorLabel, getClient } from './clients.ts';
import { CLIENT_ROLE } from './permissions.ts';

/**
 * Client users and the client areas they belong to. A client user is a user of the practice with
 * the 'client' role; membership rows say which clients' areas they reach (a bookkeeper may act
 * for several companies). The database hides every other client's rows from them (0011).
 */
export interface ClientUser {
  userId: string;
  email: string;
  displayName: string | null;
  status: string;
  addedAt: string;
}

export const clientUserSchema = z.strictObject({
  email: z.string({ error: 'is required' }).trim().toLowerCase().pipe(z.email({ error: 'must be an email address' })).refine((v) => v.length <= 254, 'must be at most 254 characters'),
  displayName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
});
export type ClientUserInput = z.input<typeof clientUserSchema>;

export async function listClientUsers(scope: TenantScope, clientId: string): Promise<ClientUser[]> {
  await getClient(scope, clientId);
  const rows = await scope.trx
    .selectFrom('portal_client_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.email_enc', 'u.display_name_enc', 'u.status', 'm.added_at'])
    .where('m.client_id', '=', clientId)
    .orderBy('m.added_at')
    .execute();
  return rows.map((r) => ({
    userId: r.id,
    email: scope.cipher.open('users.email', r.email_enc),
    displayName: scope.cipher.openOptional('users.display_name', r.display_name_enc),
    status: r.status,
    addedAt: new Date(r.added_at).toISOString(),
  }));
}

/**
 * Gives someone access to a client's area. Someone new is invited as a client user (the email
 * is queued in this transaction); an existing client user of the practice is simply added. A
 * member of the practice's staff cannot be made a client user.
 */
export async function addClientUser(
  queue: JobQueue,
  scope: TenantScope,
  clientId: string,
  input: ClientUserInput,
  publicUrl: string,
): Promise<{ userId: string; invited: boolean }> {
  const data = parseOrThrow(clientUserSchema, input);
  await getClient(scope, clientId);
  const existing = await scope.trx
    .selectFrom('users')
    .select(['id', 'role', 'status'])
    .where('email_bidx', '=', scope.cipher.blindIndex('users.email', data.email))
    .executeTakeFirst();
  let userId: string;
  let invited = false;
  if (existing) {
    if (existing.role !== CLIENT_ROLE) throw new ConflictError('this email belongs to a member of the practice’s staff, not a client user');
    if (existing.status === 'disabled') throw new ConflictError('this client user is disabled; enable them first');
    userId = existing.id;
  } else {
    const invitation = await inviteUser(scope, { email: data.email, displayName: data.displayName, role: CLIENT_ROLE }, publicUrl);
    const organisation = await getOrganisation(scope);
    await enqueueMail(queue, scope, invitationMail(data.email, organisation.name, invitation.inviteUrl));
    userId = invitation.userId;
    invited = true;
  }
  const added = await scope.trx
    .insertInto('portal_client_members')
    .values({ tenant_id: scope.tenantId, client_id: clientId, user_id: userId, added_by: actorLabel(scope) })
    .onConflict((oc) => oc.columns(['tenant_id', 'client_id', 'user_id']).doNothing())
    .returning('user_id')
    .executeTakeFirst();
  if (!added) throw new ConflictError('this client user already has access to the client');
  await recordAudit(scope, {
    action: 'portal.client_user_added',
    target: { type: 'portal_client', id: clientId },
    changes: { user: { after: userId }, invited: { after: invited } },
  });
  return { userId, invited };
}

/** Takes a client user's access to one client away; their other clients are untouched. */
export async function removeClientUser(scope: TenantScope, clientId: string, userId: string): Promise<void> {
  if (!isUuid(userId)) throw new NotFoundError('client user');
  await getClient(scope, clientId);
  const removed = await scope.trx.deleteFrom('portal_client_members').where('client_id', '=', clientId).where('user_id', '=', userId).returning('user_id').executeTakeFirst();
  if (!removed) throw new NotFoundError('client user');
  await recordAudit(scope, { action: 'portal.client_user_removed', target: { type: 'portal_client', id: clientId }, changes: { user: { before: userId, after: null } } });
}

/** Whether the acting user is one of the practice's client users (who see only their own clients). */
export async function actingAsClientUser(scope: TenantScope): Promise<boolean> {
  if (scope.actor.type !== 'user' || !scope.actor.id) return false;
  const row = await scope.trx.selectFrom('users').select('role').where('id', '=', scope.actor.id).executeTakeFirst();
  return row?.role === CLIENT_ROLE;
}
