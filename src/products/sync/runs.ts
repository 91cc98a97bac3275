import { sql } from 'kysely';
import { NotFoundError } from '../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { liveProgress, type RunProgress } from './engine/progress.ts';
import { ENTITIES, type Entity, type ImportProblem } from './model.ts';

/** One import run as the school sees it: what, when, by whom, how it ended and what it changed (counts). */
export interface RunInfo {
  id: string;
  connectionId: string | null;
  source: string;
  format: string;
  mode: 'full' | 'delta';
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed';
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  created: Record<Entity, number>;
  updated: Record<Entity, number>;
  left: Record<Entity, number>;
  warnings: ImportProblem[];
  errors: ImportProblem[];
  /** While running: the entity being written and how far it has got, when known. */
  progress: RunProgress | null;
}

/** One line of a run's change list: which record, what happened, which fields changed (names, never values). */
export interface RunChange {
  entity: string;
  recordId: string;
  misId?: string;
  change: string;
  fields: string[];
}

type RunRow = {
  id: string;
  connection_id: string | null;
  source: string;
  format: string;
  mode: 'full' | 'delta';
  dry_run: boolean;
  status: 'running' | 'succeeded' | 'failed';
  started_by: string;
  started_at: Date;
  finished_at: Date | null;
  counts: unknown;
  warnings: unknown;
  errors: unknown;
  progress: unknown;
};

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** The school's runs, newest first. */
export async function listRuns(scope: TenantScope, options: { limit?: number } = {}): Promise<RunInfo[]> {
  const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(options.limit ?? DEFAULT_LIMIT)));
  const rows = await scope.trx
    .selectFrom('sync_runs')
    .selectAll()
    .where('tenant_id', '=', scope.tenantId)
    .orderBy('started_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((row) => toRunInfo(row as RunRow));
}

/** One run with its change list (records of an entity table it created, updated or marked left). */
export async function getRun(scope: TenantScope, runId: string): Promise<RunInfo & { changes: RunChange[] }> {
  if (!isUuid(runId)) throw new NotFoundError('sync run');
  const row = await scope.trx.selectFrom('sync_runs').selectAll().where('tenant_id', '=', scope.tenantId).where('id', '=', runId).executeTakeFirst();
  if (!row) throw new NotFoundError('sync run');
  // The MIS id lives on the record itself; a change list row keeps only the record id.
  const changes = await sql<{ entity: string; record_id: string; mis_id: string | null; change: string; fields: string[] }>`
    SELECT c.entity, c.record_id, coalesce(p.mis_id, ct.mis_id, s.mis_id, g.mis_id) AS mis_id, c.change, c.fields
      FROM sync_run_changes c
      LEFT JOIN pupils p ON c.entity = 'pupils' AND p.id = c.record_id
      LEFT JOIN contacts ct ON c.entity = 'contacts' AND ct.id = c.record_id
      LEFT JOIN staff s ON c.entity = 'staff' AND s.id = c.record_id
      LEFT JOIN school_groups g ON c.entity = 'groups' AND g.id = c.record_id
     WHERE c.tenant_id = ${scope.tenantId} AND c.run_id = ${runId}
     ORDER BY array_position(${[...ENTITIES]}::text[], c.entity), c.change, mis_id`.execute(scope.trx);
  return {
    ...toRunInfo(row as RunRow),
    changes: changes.rows.map((c) => ({
      entity: c.entity,
      recordId: c.record_id,
      ...(c.mis_id != null ? { misId: c.mis_id } : {}),
      change: c.change,
      fields: c.fields,
    })),
  };
}

function toRunInfo(row: RunRow): RunInfo {
  const counts = (parse(row.counts) ?? {}) as Partial<Record<'created' | 'updated' | 'left', Partial<Record<Entity, number>>>>;
  const full = (part: Partial<Record<Entity, number>> | undefined) =>
    Object.fromEntries(ENTITIES.map((e) => [e, Number(part?.[e] ?? 0)])) as Record<Entity, number>;
  return {
    id: row.id,
    connectionId: row.connection_id,
    source: row.source,
    format: row.format,
    mode: row.mode,
    dryRun: row.dry_run,
    status: row.status,
    startedBy: row.started_by,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
    created: full(counts.created),
    updated: full(counts.updated),
    left: full(counts.left),
    warnings: (parse(row.warnings) ?? []) as ImportProblem[],
    errors: (parse(row.errors) ?? []) as ImportProblem[],
    // This process's own figure is fresher than the one stored about once a second.
    progress: row.status === 'running' ? (liveProgress(row.id) ?? ((parse(row.progress) ?? null) as RunProgress | null)) : null,
  };
}

/** jsonb arrives parsed from pg and PGlite alike; a string is parsed, to be safe. */
function parse(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
