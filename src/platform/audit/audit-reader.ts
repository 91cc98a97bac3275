import { stringify } from 'csv-stringify/sync';
import type { TenantScope } from '../tenancy/tenant-scope.ts';

export interface AuditFilter {
  actorId?: string;
  action?: string;
  from?: Date;
  to?: Date;
  /** Entries with a sequence number below this one (for paging backwards from the newest). */
  beforeSeq?: number;
  limit?: number;
}

export interface AuditEntry {
  seq: number;
  id: string;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  operatorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  changes: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** Newest first. Reads only the scope's tenant (RLS) and opens the sealed IP and user agent. */
export async function listAudit(scope: TenantScope, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  let query = scope.trx.selectFrom('audit_events').selectAll().where('tenant_id', '=', scope.tenantId);
  if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.from) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to) query = query.where('occurred_at', '<', filter.to);
  if (filter.beforeSeq) query = query.where('seq', '<', filter.beforeSeq);
  const rows = await query.orderBy('seq', 'desc').limit(Math.min(filter.limit ?? 100, 10_000)).execute();
  return rows.map((row) => ({
    seq: row.seq,
    id: row.id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    actorType: row.actor_type,
    actorId: row.actor_id,
    operatorId: row.operator_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    changes: row.changes,
    ip: scope.cipher.openOptional('audit.ip', row.ip_enc),
    userAgent: scope.cipher.openOptional('audit.user_agent', row.user_agent_enc),
    requestId: row.request_id,
  }));
}

const CSV_COLUMNS = [
  'seq', 'id', 'occurredAt', 'actorType', 'actorId', 'operatorId', 'action',
  'targetType', 'targetId', 'changes', 'ip', 'userAgent', 'requestId',
] as const;

/**
 * CSV for admins to take away. Cells starting with =, +, - or @ are prefixed with a quote so a
 * spreadsheet never runs them as formulas.
 */
export function auditToCsv(entries: AuditEntry[]): string {
  const safe = (value: unknown) => {
    const text = value == null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  };
  return stringify(
    entries.map((e) => CSV_COLUMNS.map((c) => safe(e[c]))),
    { header: true, columns: [...CSV_COLUMNS] },
  );
}
