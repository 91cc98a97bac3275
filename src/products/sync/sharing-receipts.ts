import { recordAudit, type AuditEvent } from '../../platform/audit/audit-writer.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { activeAdminAddresses } from '../../platform/identity/users.ts';
import type { JobQueue } from '../../platform/jobs/queue.ts';
import { enqueueMail } from '../../platform/mail/mail.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import type { CopyHolder, DeletedCopies } from './copy-holders.ts';

/**
 * Receipts for sharing changes: an audit entry plus one time-stamped email per active admin, both
 * in the caller's transaction, so if the change rolls back there is neither entry nor email.
 */

export async function organisationOf(scope: TenantScope): Promise<{ kind: string; name: string }> {
  const row = await scope.trx.selectFrom('organisations').select(['kind', 'name']).where('id', '=', scope.tenantId).executeTakeFirst();
  if (!row) throw new NotFoundError('organisation');
  return row;
}

/** Who made a change, in words for the receipt. The admins reading it can see this anyway. */
async function describeActor(scope: TenantScope): Promise<string> {
  const { actor } = scope;
  if (actor.type === 'user' && actor.id) {
    const user = await scope.trx.selectFrom('users').select('email_enc').where('id', '=', actor.id).executeTakeFirst();
    return user ? scope.cipher.open('users.email', user.email_enc) : `user ${actor.id}`;
  }
  if (actor.type === 'api_token' && actor.id) {
    const token = await scope.trx.selectFrom('api_tokens').select('name').where('id', '=', actor.id).executeTakeFirst();
    return token ? `the API token "${token.name}"` : `API token ${actor.id}`;
  }
  if (actor.type === 'operator') return 'Custos support staff acting for the school';
  return 'Custos (system)';
}

export interface Receipt {
  /** Goes after "Custos <kind> receipt: " in the subject. */
  kind: 'sharing' | 'deletion';
  summary: string;
  /** The first paragraph, given the school's name. */
  opening: (school: string) => string;
  /** The "Change:" or "Deleted:" block: a label and lines under it. */
  label: string;
  details: string[];
  /** Lines after the receipt number. */
  closing: string[];
}

export async function auditWithReceipt(queue: JobQueue, scope: TenantScope, event: AuditEvent, receipt: Receipt): Promise<{ id: string; seq: number }> {
  const entry = await recordAudit(scope, event);
  const organisation = await organisationOf(scope);
  const by = await describeActor(scope);
  const at = new Date().toISOString();
  const admins = await activeAdminAddresses(scope);
  const label = `${receipt.label}:`.padEnd(9);
  const text = [
    receipt.opening(organisation.name),
    '',
    `${label}${receipt.summary}`,
    ...receipt.details.map((line) => `         ${line}`),
    `When:    ${at} (UTC)`,
    `Made by: ${by}`,
    `Receipt: audit entry ${entry.id} (number ${entry.seq} in the audit trail)`,
    '',
    ...receipt.closing,
  ].join('\n');
  for (const admin of admins) {
    await enqueueMail(queue, scope, {
      to: admin,
      subject: `Custos ${receipt.kind} receipt: ${receipt.summary}`,
      text,
    });
  }
  return entry;
}

/**
 * The audit entry and the deletion receipt for the copies a grantee deleted when its grant was
 * revoked: counts per entity, never a value.
 */
export async function receiptForDeletedCopies(
  queue: JobQueue,
  scope: TenantScope,
  row: { id: string; grantee: string },
  { holder, deleted }: { holder: CopyHolder; deleted: DeletedCopies[] },
): Promise<void> {
  const total = deleted.reduce((sum, d) => sum + d.deleted, 0);
  await auditWithReceipt(
    queue,
    scope,
    {
      action: 'sync.copies_deleted',
      target: { type: 'sync_grant', id: row.id },
      changes: {
        grantee: { before: row.grantee, after: row.grantee },
        total: { before: null, after: total },
        ...Object.fromEntries(deleted.map((d) => [`deleted.${d.entity}`, { before: null, after: d.deleted }])),
      },
    },
    {
      kind: 'deletion',
      summary: `${row.grantee} deleted its copies of school data`,
      opening: (school) => `This is a receipt for the deletion of the copies of ${school}'s data that ${row.grantee} kept in Custos.`,
      label: 'Deleted',
      details: [
        `${holder.describe}:`,
        ...(deleted.length === 0 ? ['nothing was held for this school'] : deleted.map((d) => `  ${d.entity}: ${d.deleted} record${d.deleted === 1 ? '' : 's'}`)),
        `${total} record${total === 1 ? '' : 's'} in all, deleted when the school revoked ${row.grantee}'s grant (${row.id}).`,
      ],
      closing: [
        'The copies were deleted in the same database transaction that ended the grant: had the deletion',
        'failed, the grant would still stand. Keep this receipt as the record that the copies are gone.',
      ],
    },
  );
}
