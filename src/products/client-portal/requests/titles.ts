import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';

/**
 * A request's title is sealed (a practice may name a request after its client). Rows written
 * before migration 0017 still hold a clear title until `sealClearTitles` gets to them.
 */
const PURPOSE = 'portal.request.title';

/** The columns a new or renamed request is written with. */
export function sealedTitle(scope: TenantScope, title: string): { title: null; title_enc: string } {
  return { title: null, title_enc: scope.cipher.seal(PURPOSE, title) };
}

export function requestTitle(scope: TenantScope, row: { title: string | null; title_enc: string | null }): string {
  return row.title_enc !== null ? scope.cipher.open(PURPOSE, row.title_enc) : (row.title ?? '');
}

/** Seals up to `limit` clear titles of the practice; returns how many it sealed. */
export async function sealClearTitles(scope: TenantScope, limit: number): Promise<number> {
  const rows = await scope.trx
    .selectFrom('portal_requests')
    .select(['id', 'title'])
    .where('tenant_id', '=', scope.tenantId)
    .where('title', 'is not', null)
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
  for (const row of rows) {
    await scope.trx.updateTable('portal_requests').set(sealedTitle(scope, row.title!)).where('id', '=', row.id).execute();
  }
  return rows.length;
}
