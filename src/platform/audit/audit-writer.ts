import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import { entryHash, genesisHash, type ChainedFields } from './chain.ts';

/**
 * One field's change. Personal values never enter the trail: a personal field records only that
 * it changed, so the audit log can be exported without becoming a second copy of personal data.
 */
export type FieldChange =
  | { before?: string | number | boolean | null; after?: string | number | boolean | null; personal?: false }
  | { personal: true };

/** Actions are `area.verb` names owned by the module that records them (e.g. 'user.invited'). */
export type AuditAction = `${string}.${string}`;

export interface AuditEvent {
  action: AuditAction;
  target?: { type: string; id: string };
  changes?: Record<string, FieldChange>;
}

function storedChanges(changes: Record<string, FieldChange> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, change] of Object.entries(changes)) {
    out[field] = change.personal
      ? { changed: true, personal: true }
      : { before: change.before ?? null, after: change.after ?? null };
  }
  return out;
}

/** Starts a tenant's chain; called once when the organisation is created. */
export async function startAuditChain(trx: Transaction<DB>, tenantId: string): Promise<void> {
  await trx.insertInto('audit_heads').values({ tenant_id: tenantId, seq: 0, hash: genesisHash(tenantId) }).execute();
}

/**
 * Appends one entry in the caller's transaction: if the change rolls back, so does its entry.
 * The head row lock serialises appends per tenant so the chain never forks.
 */
export async function recordAudit(scope: TenantScope, event: AuditEvent): Promise<{ seq: number; id: string }> {
  const { trx, tenantId, actor, meta, cipher } = scope;
  const head = await trx
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('tenant_id', '=', tenantId)
    .forUpdate()
    .executeTakeFirstOrThrow(() => new Error(`audit chain of tenant ${tenantId} was never started`));

  const fields: ChainedFields = {
    tenant_id: tenantId,
    seq: head.seq + 1,
    id: crypto.randomUUID(),
    occurred_at: new Date().toISOString(),
    actor_type: actor.type,
    actor_id: actor.id,
    operator_id: actor.operatorId ?? null,
    action: event.action,
    target_type: event.target?.type ?? null,
    target_id: event.target?.id ?? null,
    changes: storedChanges(event.changes),
    // IP and user agent identify people, so they are sealed like any other personal value.
    ip_enc: cipher.sealOptional('audit.ip', meta.ip),
    user_agent_enc: cipher.sealOptional('audit.user_agent', meta.userAgent),
    request_id: meta.requestId,
  };
  const hash = entryHash(head.hash, fields);
  await trx
    .insertInto('audit_events')
    .values({ ...fields, changes: JSON.stringify(fields.changes), prev_hash: head.hash, hash })
    .execute();
  await trx.updateTable('audit_heads').set({ seq: fields.seq, hash }).where('tenant_id', '=', tenantId).execute();
  return { seq: fields.seq, id: fields.id };
}
