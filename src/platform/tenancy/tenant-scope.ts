import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { TenantCipher, TenantKeyService } from '../crypto/tenant-keys.ts';

/** Who is acting. `operatorId` is set when operator support staff act for the customer. */
export interface Actor {
  type: 'user' | 'api_token' | 'operator' | 'system';
  id: string | null;
  operatorId?: string | null;
}

/** Where the action came from; copied into every audit entry. */
export interface RequestMeta {
  requestId: string;
  ip?: string | null;
  userAgent?: string | null;
}

export interface TenantContext {
  tenantId: string;
  actor: Actor;
  meta: RequestMeta;
}

/**
 * Everything tenant-scoped work needs, built once per transaction: the transaction itself (with
 * the tenant set for row-level security), the tenant's field cipher, and who is acting.
 * Functions that take a TenantScope cannot run outside a tenant transaction.
 */
export interface TenantScope extends TenantContext {
  trx: Transaction<DB>;
  cipher: TenantCipher;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

export function systemMeta(label = 'system'): RequestMeta {
  return { requestId: `${label}-${crypto.randomUUID()}` };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Runs `work` in one transaction of the application role with the tenant, acting user and request
 * id set for this transaction only (`set_config(..., true)`): when it ends the pooled connection
 * carries no tenant, so the next user of that connection sees nothing until it sets its own.
 */
export async function withTenant<T>(
  app: Kysely<DB>,
  keys: TenantKeyService,
  context: TenantContext,
  work: (scope: TenantScope) => Promise<T>,
  options: TenantTransactionOptions = {},
): Promise<T> {
  if (!isUuid(context.tenantId)) throw new Error('tenant id must be a UUID');
  return app.transaction().execute(async (trx) => {
    await (options.setTenant ?? setTransactionTenant)(trx, context);
    const cipher = await keys.forTenant(trx, context.tenantId);
    return work({ ...context, trx, cipher });
  });
}

export interface TenantTransactionOptions {
  /**
   * Replaces the plain set_config step, e.g. to check the caller's credential and set the tenant
   * in one statement. It must set the same three settings, for this transaction only.
   */
  setTenant?: (trx: Transaction<DB>, context: TenantContext) => Promise<void>;
}

/** Sets tenant, acting user and request id for the rest of this transaction only. */
export async function setTransactionTenant(trx: Transaction<DB>, context: TenantContext): Promise<void> {
  const inline = tenantSettingsSql(context);
  if (inline) {
    await sql.raw(`select ${inline}`).execute(trx);
    return;
  }
  await sql`select set_config('app.tenant_id', ${context.tenantId}, true),
                   set_config('app.user_id', ${context.actor.id ?? ''}, true),
                   set_config('app.request_id', ${context.meta.requestId}, true)`.execute(trx);
}

/** Only ids, hashes and request ids of these characters are ever written into SQL text. */
const SQL_SAFE = /^[A-Za-z0-9._:-]{0,200}$/;

/** `'value'` when the value can only be an id (see SQL_SAFE); undefined otherwise. */
export function sqlSafeLiteral(value: string): string | undefined {
  return SQL_SAFE.test(value) ? `'${value}'` : undefined;
}

/**
 * The three set_config calls with their values written in, or undefined when a value has any
 * other character. Written-in values make a parameterless statement, which the database layer
 * can send together with BEGIN (see deferred-begin.ts): one round trip fewer per transaction.
 */
export function tenantSettingsSql(context: TenantContext): string | undefined {
  const tenant = sqlSafeLiteral(context.tenantId);
  const user = sqlSafeLiteral(context.actor.id ?? '');
  const request = sqlSafeLiteral(context.meta.requestId);
  if (!isUuid(context.tenantId) || !tenant || !user || !request) return undefined;
  return `set_config('app.tenant_id', ${tenant}, true), set_config('app.user_id', ${user}, true), set_config('app.request_id', ${request}, true)`;
}
