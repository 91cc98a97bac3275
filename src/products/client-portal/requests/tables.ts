import type { ColumnType, Transaction } from 'kysely';
import type { DB } from '../../../platform/db/schema.ts';
import type { PortalRequestsTable } from '../../../platform/db/schema-portal.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';

/**
 * Row types of what migration 0014 added to the requests (kept beside the code that uses them;
 * they may move into platform/db/schema-portal.ts with the rest of the portal's tables).
 */
/** Nullable columns an insert may leave out. */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface RequestColumns0014 {
  message_enc: Optional<string>;
  review_comment_enc: Optional<string>;
  decision: Optional<'approved' | 'rejected'>;
  summary_revision: Optional<number>;
}

export interface PortalMtdSummariesTable {
  tenant_id: string;
  client_id: string;
  mtd_period: string;
  summary_enc: string;
  revision: number;
  updated_by: string;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type RequestsDB = Omit<DB, 'portal_requests'> & {
  portal_requests: PortalRequestsTable & RequestColumns0014;
  portal_mtd_summaries: PortalMtdSummariesTable;
};

/** The caller's tenant transaction, typed with the columns above. */
export function requestsTrx(scope: TenantScope): Transaction<RequestsDB> {
  return scope.trx as unknown as Transaction<RequestsDB>;
}
