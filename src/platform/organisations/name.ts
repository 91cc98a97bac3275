import type { TenantScope } from '../tenancy/tenant-scope.ts';

/** The name of the scope's own organisation (how emails, receipts and PDFs address it). */
export async function organisationName(scope: TenantScope): Promise<string> {
  const row = await scope.trx.selectFrom('organisations').select('name').where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
  return row.name;
}
