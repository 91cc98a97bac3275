import crypto from 'node:crypto';
import { z } from 'zod';
import { recordAudit, startAuditChain } from '../audit/audit-writer.ts';
import type { OrganisationKind } from '../db/schema.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { inviteUser } from '../identity/users.ts';
import { parseOrThrow } from '../validation.ts';
import { enqueueMail } from '../mail/mail.ts';
import type { Platform } from '../platform.ts';
import { setTransactionTenant, type Actor, type RequestMeta, type TenantScope } from '../tenancy/tenant-scope.ts';

export const ORGANISATION_KINDS = ['operator', 'school', 'trust', 'local_authority', 'practice'] as const satisfies readonly OrganisationKind[];

export const createOrganisationSchema = z.object({
  kind: z.enum(ORGANISATION_KINDS, { error: `must be one of ${ORGANISATION_KINDS.join(', ')}` }),
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  parentId: z.uuid({ error: 'must be an organisation id' }).optional(),
  adminEmail: z.string().trim().toLowerCase().pipe(z.email({ error: 'must be an email address' })),
  adminName: z.string().trim().min(1).max(200).optional(),
});

export interface Organisation {
  id: string;
  kind: OrganisationKind;
  name: string;
  parentId: string | null;
  status: 'active' | 'cancelled';
  createdAt: string;
}

export interface CreatedOrganisation {
  id: string;
  adminUserId: string;
  inviteUrl: string;
}

/**
 * Creates an organisation with its own encryption keys, its audit chain and its first admin's
 * invitation, all in one transaction of the new tenant: a failure anywhere leaves nothing behind.
 * The invitation email is queued in that same transaction.
 */
export async function createOrganisation(
  platform: Platform,
  input: z.input<typeof createOrganisationSchema>,
  by: { actor: Actor; meta: RequestMeta },
): Promise<CreatedOrganisation> {
  const data = parseOrThrow(createOrganisationSchema, input);
  if (data.parentId) {
    // The parent belongs to another tenant, so only the owner handle may look at it.
    const parent = await platform.db.owner
      .selectFrom('organisations')
      .select(['kind'])
      .where('id', '=', data.parentId)
      .executeTakeFirst();
    if (!parent) throw new ValidationError([{ field: 'parentId', reason: 'no such organisation' }]);
    if (parent.kind !== 'trust' || data.kind !== 'school') {
      throw new ValidationError([{ field: 'parentId', reason: 'only a school may belong to a trust' }]);
    }
  }
  const id = crypto.randomUUID();
  return platform.db.app.transaction().execute(async (trx) => {
    const context = { tenantId: id, actor: by.actor, meta: by.meta };
    await setTransactionTenant(trx, context);
    await trx
      .insertInto('organisations')
      // Children's data (and the operator's own staff): MFA required from the start; practices choose.
      .values({ id, kind: data.kind, name: data.name, parent_id: data.parentId ?? null, cancelled_at: null, require_mfa: data.kind !== 'practice' })
      .execute();
    await platform.keys.createKeys(trx, id);
    await startAuditChain(trx, id);
    const scope: TenantScope = { ...context, trx, cipher: await platform.keys.forTenant(trx, id) };
    await recordAudit(scope, {
      action: 'organisation.created',
      target: { type: 'organisation', id },
      changes: { kind: { after: data.kind }, name: { after: data.name }, parentId: { after: data.parentId ?? null } },
    });
    const invitation = await inviteUser(scope, { email: data.adminEmail, displayName: data.adminName, role: 'admin' }, platform.config.publicUrl);
    await enqueueMail(platform.queue, scope, invitationMail(data.adminEmail, data.name, invitation.inviteUrl));
    return { id, adminUserId: invitation.userId, inviteUrl: invitation.inviteUrl };
  });
}

export function invitationMail(to: string, organisationName: string, inviteUrl: string) {
  return {
    to,
    subject: `You are invited to ${organisationName} on Custos`,
    text:
      `You have been invited to join ${organisationName} on Custos.\n\n` +
      `Set your password here (the link works once and expires in 72 hours):\n${inviteUrl}\n\n` +
      'If you were not expecting this, ignore this email.',
  };
}

export async function getOrganisation(scope: TenantScope): Promise<Organisation> {
  const row = await scope.trx.selectFrom('organisations').selectAll().where('id', '=', scope.tenantId).executeTakeFirst();
  if (!row) throw new NotFoundError('organisation');
  return toOrganisation(row);
}

/** Every organisation, for the operator's own tools (CLI). Runs as the owner: no tenant applies. */
export async function listAllOrganisations(platform: Platform): Promise<Organisation[]> {
  const rows = await platform.db.owner.selectFrom('organisations').selectAll().orderBy('created_at').execute();
  return rows.map(toOrganisation);
}

function toOrganisation(row: { id: string; kind: OrganisationKind; name: string; parent_id: string | null; status: 'active' | 'cancelled'; created_at: Date }): Organisation {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    parentId: row.parent_id,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
