import { sql } from 'kysely';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';

/** What every practice starts with: 5 GiB of storage and no signing credits. */
export const DEFAULT_STORAGE_QUOTA_BYTES = 5 * 1024 ** 3;

/** Only an organisation of kind 'practice' has clients; its portal row is made on first use. */
export async function requirePractice(scope: TenantScope): Promise<void> {
  const org = await scope.trx.selectFrom('organisations').select(['kind', 'status']).where('id', '=', scope.tenantId).executeTakeFirst();
  if (!org) throw new NotFoundError('organisation');
  if (org.kind !== 'practice') throw new ConflictError(`only an accountancy practice has a client portal; this organisation is a ${org.kind.replace('_', ' ')}`);
  if (org.status !== 'active') throw new ConflictError('the organisation is cancelled');
  await sql`INSERT INTO portal_practice (tenant_id, storage_quota_bytes) VALUES (${scope.tenantId}, ${DEFAULT_STORAGE_QUOTA_BYTES})
            ON CONFLICT (tenant_id) DO NOTHING`.execute(scope.trx);
}

export interface StorageTerm {
  bytes: number;
  /** When this storage stops counting towards the quota (a year after it was paid for). */
  expiresAt: string;
}

export interface PracticeBalance {
  signingCredits: number;
  /** What the practice may hold now: the lasting allowance plus storage bought whose year runs. */
  storageQuotaBytes: number;
  storageUsedBytes: number;
  /** Storage bought and still running, soonest to end first. */
  storageTerms: StorageTerm[];
}

export async function practiceBalance(scope: TenantScope): Promise<PracticeBalance> {
  await requirePractice(scope);
  const row = await scope.trx.selectFrom('portal_practice').select(['signing_credits', 'storage_quota_bytes']).where('tenant_id', '=', scope.tenantId).executeTakeFirstOrThrow();
  const terms = await storageTerms(scope);
  return {
    signingCredits: row.signing_credits,
    storageQuotaBytes: Number(row.storage_quota_bytes) + terms.reduce((sum, t) => sum + t.bytes, 0),
    storageUsedBytes: await storageUsed(scope),
    storageTerms: terms,
  };
}

/** Storage bought whose year has not ended. */
async function storageTerms(scope: TenantScope): Promise<StorageTerm[]> {
  const rows = await scope.trx
    .selectFrom('portal_purchases')
    .select(['quantity', 'expires_at'])
    .where('tenant_id', '=', scope.tenantId)
    .where('kind', '=', 'storage')
    .where('status', '=', 'paid')
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('expires_at')
    .execute();
  return rows.map((r) => ({ bytes: Number(r.quantity) * 1024 ** 3, expiresAt: new Date(r.expires_at!).toISOString() }));
}

/** Bytes of every document version the practice holds (signed copies included). */
export async function storageUsed(scope: TenantScope): Promise<number> {
  // The quota is the practice's, so the sum reads the blob catalogue (tenant policy only) rather than
  // the document versions, which a client user would see only for their own clients.
  const row = await sql<{ used: string | null }>`SELECT sum(size_bytes)::text AS used FROM blobs WHERE tenant_id = ${scope.tenantId} AND purpose LIKE 'portal.%'`.execute(scope.trx);
  return Number(row.rows[0]?.used ?? 0);
}

/**
 * Takes `bytes` from the quota or refuses: the practice row is locked so two uploads cannot both
 * squeeze into the last free space.
 */
export async function reserveStorage(scope: TenantScope, bytes: number): Promise<void> {
  await requirePractice(scope);
  const row = await scope.trx.selectFrom('portal_practice').select('storage_quota_bytes').where('tenant_id', '=', scope.tenantId).forUpdate().executeTakeFirstOrThrow();
  const quota = Number(row.storage_quota_bytes) + (await storageTerms(scope)).reduce((sum, t) => sum + t.bytes, 0);
  const used = await storageUsed(scope);
  if (used + bytes > quota) throw new StorageQuotaExceededError(quota, used);
}

export class StorageQuotaExceededError extends ConflictError {
  constructor(quota: number, used: number) {
    super(`the practice's storage is full (${formatBytes(used)} of ${formatBytes(quota)} used); buy more storage or remove documents`);
    this.name = 'StorageQuotaExceededError';
  }
}

export class NoSigningCreditsError extends ConflictError {
  constructor() {
    super('the practice has no signing credits left; buy more before sending documents for signature');
    this.name = 'NoSigningCreditsError';
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1024)} KB`;
}

/** Signing credits not yet promised to a pending signature flow. */
export async function freeSigningCredits(scope: TenantScope): Promise<number> {
  await requirePractice(scope);
  const row = await sql<{ credits: number; pending: number }>`
    SELECT p.signing_credits AS credits,
           (SELECT count(*)::int FROM portal_flows f WHERE f.tenant_id = p.tenant_id AND f.kind = 'signature' AND f.status = 'pending') AS pending
      FROM portal_practice p WHERE p.tenant_id = ${scope.tenantId} FOR UPDATE OF p`.execute(scope.trx);
  const { credits, pending } = row.rows[0]!;
  return credits - pending;
}

/**
 * Uses one signing credit for a completed signature (a credit is spent when the signature
 * completes, not when it is sent). The ledger row and the balance change together.
 */
export async function spendSigningCredit(scope: TenantScope, flowId: string): Promise<void> {
  const updated = await sql`UPDATE portal_practice SET signing_credits = signing_credits - 1, updated_at = now()
                             WHERE tenant_id = ${scope.tenantId} AND signing_credits > 0`.execute(scope.trx);
  if (Number(updated.numAffectedRows ?? 0) !== 1) throw new NoSigningCreditsError();
  await scope.trx
    .insertInto('portal_credit_entries')
    .values({ tenant_id: scope.tenantId, kind: 'signing', delta: -1, reason: 'signature completed', flow_id: flowId, purchase_id: null, created_by: 'system' })
    .execute();
}

/** Adds bought (or granted) credits or storage to the ledger and the balance; audited. */
export async function addToBalance(
  scope: TenantScope,
  entry: { kind: 'signing' | 'storage'; amount: number; reason: string; purchaseId?: string | null; by: string },
): Promise<void> {
  await requirePractice(scope);
  if (entry.kind === 'signing') {
    await sql`UPDATE portal_practice SET signing_credits = signing_credits + ${entry.amount}, updated_at = now() WHERE tenant_id = ${scope.tenantId}`.execute(scope.trx);
  } else if (!entry.purchaseId) {
    // Storage granted by hand lasts. Storage bought is not added here: it counts while its
    // year runs (portal_purchases.expires_at, see storageTerms).
    await sql`UPDATE portal_practice SET storage_quota_bytes = storage_quota_bytes + ${entry.amount}, updated_at = now() WHERE tenant_id = ${scope.tenantId}`.execute(scope.trx);
  }
  await scope.trx
    .insertInto('portal_credit_entries')
    .values({ tenant_id: scope.tenantId, kind: entry.kind, delta: entry.amount, reason: entry.reason, flow_id: null, purchase_id: entry.purchaseId ?? null, created_by: entry.by })
    .execute();
  await recordAudit(scope, {
    action: entry.kind === 'signing' ? 'portal.signing_credits_added' : 'portal.storage_added',
    target: { type: 'organisation', id: scope.tenantId },
    changes: { amount: { after: entry.amount }, reason: { after: entry.reason } },
  });
}
