import { sql } from 'kysely';
import { recordAudit, type FieldChange } from '../../platform/audit/audit-writer.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { Platform } from '../../platform/platform.ts';
import type { TenantContext, TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { applyBatch, zeroCounts, type ApplyResult, type ChangeRow, type Counts } from './engine/apply.ts';
import { CHUNK, chunked } from './engine/bulk.ts';
import { progressReporter } from './engine/progress.ts';
import { ENTITIES, type Entity, type ImportBatch, type ImportProblem } from './model.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';
import { prepareWebhookDeliveries, queueWebhookDeliveries, recordChangeEvents } from './webhooks.ts';

// Loading the engine registers the sync permissions.
void SYNC_PERMISSIONS;

export interface RunRequest {
  /** What the data was read from: 'ctf', 'oneroster-csv', 'csv', 'wonde', … (shown in the run list). */
  format: string;
  /** The source key records are held under (a connection, or 'upload:<format>'): re-importing updates them. */
  source: string;
  connectionId?: string | null;
  dryRun?: boolean;
  /** Who started the run, as shown in the run list ('cli', a user id, 'schedule:…'). */
  startedBy: string;
  onProgress?: (p: { entity: Entity; done: number; total: number }) => void;
}

export interface RunSummary {
  runId: string | null;
  status: 'succeeded' | 'failed';
  dryRun: boolean;
  created: Record<Entity, number>;
  updated: Record<Entity, number>;
  left: Record<Entity, number>;
  warnings: ImportProblem[];
  errors: ImportProblem[];
}

/** Another import of the same school holds its run lock: one run per school at a time. */
export class SyncRunInProgressError extends ConflictError {
  constructor() {
    super('another import is running for this school; try again when it has finished');
    this.name = 'SyncRunInProgressError';
  }
}

/** What a run left 'running' by a process that died is marked with by the next run. */
export const INTERRUPTED: ImportProblem = {
  location: 'run',
  message: 'interrupted: the process running this import stopped before it finished; nothing from it was kept',
};

/** Thrown out of a dry run's transaction to roll its writes back, carrying what it would have done. */
class DryRunRollback extends Error {
  constructor(readonly result: ApplyResult) {
    super('dry run');
  }
}

/** Thrown out of the data transaction when references do not resolve against what the school holds. */
class BatchRejected extends Error {
  constructor(readonly result: ApplyResult) {
    super('batch rejected');
  }
}

/**
 * Applies one ImportBatch for the school (context.tenantId). Returns a 'failed' summary (and
 * records the failed run) when the batch has errors or references records the school does not
 * hold: nothing is written to the data tables then. Throws SyncRunInProgressError (409) while
 * another run of the school holds its lock, ValidationError when the organisation is not a
 * school, and any unexpected error after recording the run as failed (every write rolled back).
 *
 * Three transactions: (1) refuse a concurrent run, mark runs left 'running' by a dead process
 * as interrupted, and record this run as 'running'; (2) all data writes, the run's result, its
 * change list, the freshness stamps and the audit entry, committed together or not at all;
 * (3) only when (2) did not commit: the run's failure, or a dry run's result.
 */
export async function runImport(platform: Platform, context: TenantContext, batch: ImportBatch, request: RunRequest): Promise<RunSummary> {
  const dryRun = request.dryRun ?? false;
  const started = await platform.inTenant(context, async (scope) => {
    await requireSchool(scope);
    if (batch.errors.length > 0) {
      // Nothing is applied, but the school sees the attempt and why it failed.
      const runId = await insertRun(scope, batch, request, 'failed');
      await recordFailure(scope, runId, request, batch.errors, batch.warnings);
      return { runId, rejected: true };
    }
    await lockSchool(scope);
    await sql`UPDATE sync_runs SET status = 'failed', finished_at = now(), errors = ${JSON.stringify([INTERRUPTED])}::jsonb
               WHERE tenant_id = ${scope.tenantId} AND status = 'running'`.execute(scope.trx);
    return { runId: await insertRun(scope, batch, request, 'running'), rejected: false };
  });
  const runId = started.runId;
  if (started.rejected) return failedSummary(runId, dryRun, batch.errors, batch.warnings);

  const blobsWritten: string[] = [];
  const progress = progressReporter(platform, context, runId, request.onProgress);
  try {
    await prepareWebhookDeliveries(platform, context);
    const applied = await platform.inTenant(context, async (scope) => {
      await lockSchool(scope);
      const result = await applyBatch(scope, batch, {
        source: request.source,
        dryRun,
        blobs: platform.blobs,
        onProgress: progress.report,
        blobsWritten,
      });
      // A figure written after this is skipped: its update only touches runs still 'running'.
      progress.stop();
      if (result.errors.length > 0) throw new BatchRejected(result);
      if (dryRun) throw new DryRunRollback(result);
      await finishRun(scope, runId, batch, request, result);
      // Change events and webhook deliveries exist exactly when the run committed.
      await recordChangeEvents(scope, runId, result.changes);
      await queueWebhookDeliveries(platform, scope, runId);
      return result;
    });
    await progress.finish();
    for (const blobId of applied.blobsReplaced) platform.blobs.remove(context.tenantId, blobId);
    return summary(runId, 'succeeded', false, applied, [...batch.warnings, ...applied.warnings], []);
  } catch (error) {
    await progress.finish();
    for (const blobId of blobsWritten) platform.blobs.remove(context.tenantId, blobId);
    if (error instanceof DryRunRollback) {
      const warnings = [...batch.warnings, ...error.result.warnings];
      await platform.inTenant(context, (scope) =>
        scope.trx
          .updateTable('sync_runs')
          .set({ status: 'succeeded', finished_at: new Date(), counts: JSON.stringify(countsOf(error.result)), warnings: JSON.stringify(warnings) })
          .where('id', '=', runId)
          .execute(),
      );
      return summary(runId, 'succeeded', true, error.result, warnings, []);
    }
    if (error instanceof BatchRejected) {
      const warnings = [...batch.warnings, ...error.result.warnings];
      await platform.inTenant(context, (scope) => recordFailure(scope, runId, request, error.result.errors, warnings));
      return failedSummary(runId, dryRun, error.result.errors, warnings);
    }
    const problem = error instanceof SyncRunInProgressError ? { location: 'run', message: 'another import was running for this school' } : describeFailure(error);
    try {
      await platform.inTenant(context, (scope) => recordFailure(scope, runId, request, [problem], batch.warnings));
    } catch {
      // The run stays 'running'; the next run marks it interrupted. The first error is the one to report.
    }
    throw error;
  }
}

/** Only an organisation of kind 'school' holds school data. */
async function requireSchool(scope: TenantScope): Promise<void> {
  const org = await scope.trx.selectFrom('organisations').select(['kind', 'status']).where('id', '=', scope.tenantId).executeTakeFirst();
  if (!org) throw new NotFoundError('organisation');
  if (org.kind !== 'school') throw new ValidationError([{ field: 'org', reason: `is a ${org.kind}: only a school holds school data` }]);
  if (org.status !== 'active') throw new ConflictError('the organisation is cancelled');
}

/** Prefix of the advisory-lock key one import of a school holds (hashtextextended of prefix + school id). */
export const SYNC_RUN_LOCK_PREFIX = 'custos.sync-run:';

/**
 * Takes the school's run lock for the rest of the transaction, or refuses at once when another run
 * holds it: a second import gets a 409 rather than waiting behind the first. It is an advisory lock,
 * not a lock on the school's sync_state row, so that "stop all sharing" (a write to that row) never
 * waits for an import to finish. The row itself is made here when missing (its freshness stamps).
 */
async function lockSchool(scope: TenantScope): Promise<void> {
  const taken = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(hashtextextended(${SYNC_RUN_LOCK_PREFIX + scope.tenantId}, 0)) AS locked`.execute(scope.trx);
  if (!taken.rows[0]?.locked) throw new SyncRunInProgressError();
  await sql`INSERT INTO sync_state (tenant_id) VALUES (${scope.tenantId}) ON CONFLICT (tenant_id) DO NOTHING`.execute(scope.trx);
}

async function insertRun(scope: TenantScope, batch: ImportBatch, request: RunRequest, status: 'running' | 'failed'): Promise<string> {
  const row = await scope.trx
    .insertInto('sync_runs')
    .values({
      tenant_id: scope.tenantId,
      connection_id: request.connectionId ?? null,
      source: request.source,
      format: request.format,
      mode: batch.mode,
      dry_run: request.dryRun ?? false,
      status,
      started_by: request.startedBy,
      counts: JSON.stringify(countsOf({ created: zeroCounts(), updated: zeroCounts(), left: zeroCounts() })),
      warnings: JSON.stringify(batch.warnings),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function recordFailure(scope: TenantScope, runId: string, request: RunRequest, errors: ImportProblem[], warnings: ImportProblem[]): Promise<void> {
  await scope.trx
    .updateTable('sync_runs')
    .set({ status: 'failed', finished_at: new Date(), errors: JSON.stringify(errors), warnings: JSON.stringify(warnings) })
    .where('id', '=', runId)
    .execute();
  await recordAudit(scope, {
    action: 'sync.run_failed',
    target: { type: 'sync_run', id: runId },
    changes: { source: { after: request.source }, format: { after: request.format }, errors: { after: errors.length } },
  });
}

/** Inside the data transaction: the run's result, its change list, freshness stamps, school profile and audit entry. */
async function finishRun(scope: TenantScope, runId: string, batch: ImportBatch, request: RunRequest, result: ApplyResult): Promise<void> {
  const { trx, tenantId } = scope;
  await trx
    .updateTable('sync_runs')
    .set({
      status: 'succeeded',
      finished_at: new Date(),
      counts: JSON.stringify(countsOf(result)),
      warnings: JSON.stringify([...batch.warnings, ...result.warnings]),
      errors: '[]',
    })
    .where('id', '=', runId)
    .execute();
  await insertChanges(scope, runId, result.changes);

  const now = new Date().toISOString();
  const fresh: Record<string, string> = {};
  for (const entity of ENTITIES) {
    const carried =
      (entity === 'attendance' ? batch.attendance.length > 0 : batch[entity].length > 0) ||
      batch.removed.some((r) => r.entity === entity) ||
      (batch.mode === 'full' && entity !== 'attendance' && (!batch.covers || batch.covers.includes(entity)));
    if (carried) fresh[entity] = now;
  }
  await sql`UPDATE sync_state SET fresh_as_of = fresh_as_of || ${JSON.stringify(fresh)}::jsonb, updated_at = now()
             WHERE tenant_id = ${tenantId}`.execute(trx);

  const school = batch.school;
  if (school?.name) {
    await sql`INSERT INTO school_profiles AS p (tenant_id, name, urn, la_estab, phase)
              VALUES (${tenantId}, ${school.name}, ${school.urn ?? null}, ${school.laEstab ?? null}, ${school.phase ?? null})
              ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, urn = excluded.urn, la_estab = excluded.la_estab,
                phase = excluded.phase, updated_at = now()
              WHERE (p.name, p.urn, p.la_estab, p.phase) IS DISTINCT FROM (excluded.name, excluded.urn, excluded.la_estab, excluded.phase)`.execute(trx);
  }

  // Counts only: the trail never carries a pupil's values.
  const changes: Record<string, FieldChange> = {
    source: { after: request.source },
    format: { after: request.format },
    mode: { after: batch.mode },
  };
  for (const kind of ['created', 'updated', 'left'] as const) {
    for (const entity of ENTITIES) changes[`${kind}.${entity}`] = { after: result[kind][entity] };
  }
  await recordAudit(scope, { action: 'sync.run_completed', target: { type: 'sync_run', id: runId }, changes });
}

async function insertChanges(scope: TenantScope, runId: string, changes: ChangeRow[]): Promise<void> {
  for (const part of chunked(changes, CHUNK.rows)) {
    await sql`INSERT INTO sync_run_changes (tenant_id, run_id, entity, record_id, change, fields)
              SELECT ${scope.tenantId}::uuid, ${runId}::uuid, u.entity, u.record_id, u.change, ARRAY(SELECT jsonb_array_elements_text(u.fields))
                FROM unnest(${part.map((c) => c.entity)}::text[], ${part.map((c) => c.recordId)}::uuid[],
                            ${part.map((c) => c.change)}::text[], ${part.map((c) => JSON.stringify(c.fields))}::jsonb[])
                     AS u(entity, record_id, change, fields)`.execute(scope.trx);
  }
}

function countsOf(result: { created: Counts; updated: Counts; left: Counts }) {
  return { created: result.created, updated: result.updated, left: result.left };
}

function summary(
  runId: string | null,
  status: RunSummary['status'],
  dryRun: boolean,
  result: { created: Counts; updated: Counts; left: Counts },
  warnings: ImportProblem[],
  errors: ImportProblem[],
): RunSummary {
  return { runId, status, dryRun, ...countsOf(result), warnings, errors };
}

function failedSummary(runId: string, dryRun: boolean, errors: ImportProblem[], warnings: ImportProblem[]): RunSummary {
  return summary(runId, 'failed', dryRun, { created: zeroCounts(), updated: zeroCounts(), left: zeroCounts() }, warnings, errors);
}

/**
 * What the run row says about an unexpected failure. Database messages can quote the offending
 * value, so only the SQLSTATE and the constraint or column name are kept.
 */
function describeFailure(error: unknown): ImportProblem {
  const e = error as { code?: unknown; constraint?: unknown; column?: unknown; name?: unknown };
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const where = typeof e.constraint === 'string' ? `, constraint ${e.constraint}` : typeof e.column === 'string' ? `, column ${e.column}` : '';
    return { location: 'run', message: `failed on a database error (SQLSTATE ${e.code}${where}); nothing from this run was kept` };
  }
  const kind = error instanceof AppError ? error.message : error instanceof Error ? error.name : 'error';
  return { location: 'run', message: `failed (${kind}); nothing from this run was kept` };
}
