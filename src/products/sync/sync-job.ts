import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import { AppError } from '../../platform/errors.ts';
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import type { Platform } from '../../platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { getConnection, listNightlyConnections, runConnection } from './connections.ts';
import { SyncRunInProgressError } from './engine.ts';

/**
 * Background runs of saved connections:
 *   - 'sync.connection.run' runs one connection of one school (a delta since its last succeeded
 *     run, a full read the first time). The payload is the school and the connection's id only:
 *     the credentials stay sealed in the school's own row.
 *   - 'sync.nightly' (pg-boss cron, 02:00 Europe/London) queues one run per nightly connection
 *     of every active school.
 * Registered by the assembly (HTTP server) through platform.defineJob: the platform never imports
 * a product.
 */

export const SYNC_RUN_JOB = 'sync.connection.run';
export const SYNC_NIGHTLY_JOB = 'sync.nightly';
export const NIGHTLY_CRON = '0 2 * * *';
export const NIGHTLY_TZ = 'Europe/London';

const runSchema = z.strictObject({ tenantId: z.uuid(), connectionId: z.uuid() });
const nightlySchema = z.object({});

/** Queues a run of the connection in the caller's transaction ("sync now"); 404 for an unknown connection. */
export async function enqueueConnectionRun(platform: Pick<Platform, 'queue'>, scope: TenantScope, connectionId: string): Promise<{ jobId: string; connectionId: string }> {
  const connection = await getConnection(scope, connectionId);
  const jobId = await platform.queue.send(scope, SYNC_RUN_JOB, { tenantId: scope.tenantId, connectionId: connection.id });
  if (!jobId) throw new Error('the run was not queued');
  await recordAudit(scope, { action: 'sync.connection_run_queued', target: { type: 'sync_connection', id: connection.id }, changes: { job: { after: jobId } } });
  return { jobId, connectionId: connection.id };
}

export function connectionRunJob(platform: Platform): JobDefinition<typeof runSchema> {
  return {
    name: SYNC_RUN_JOB,
    schema: runSchema,
    retryLimit: 3,
    retryDelaySeconds: 30,
    async handle(data, job) {
      const context = { tenantId: data.tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('sync') };
      try {
        const summary = await runConnection(platform, context, data.connectionId, { delta: true, startedBy: `job:${job.id}` });
        platform.logger.info({ job: job.id, run: summary.runId, status: summary.status }, 'sync connection run finished');
      } catch (error) {
        // Another run of the school holds its lock: let the queue try again later.
        if (error instanceof SyncRunInProgressError) throw error;
        // A connection removed since, or a school no longer active: nothing to retry.
        if (error instanceof AppError && error.status < 500) {
          platform.logger.warn({ job: job.id, status: error.status }, 'sync connection run skipped');
          return;
        }
        throw error;
      }
    },
  };
}

/**
 * Schools are found through the owner handle (ids of active schools only, as operator tasks list
 * organisations); each school's nightly connections are read and its runs queued inside that
 * school's own transaction, under row-level security.
 */
export async function queueNightlyRuns(platform: Platform): Promise<number> {
  const schools = await platform.db.owner
    .selectFrom('organisations')
    .select('id')
    .where('kind', '=', 'school')
    .where('status', '=', 'active')
    .orderBy('created_at')
    .execute();
  let queued = 0;
  for (const { id } of schools) {
    try {
      queued += await platform.inTenant({ tenantId: id, actor: SYSTEM_ACTOR, meta: systemMeta('sync-nightly') }, async (scope) => {
        const connections = await listNightlyConnections(scope);
        for (const connectionId of connections) await platform.queue.send(scope, SYNC_RUN_JOB, { tenantId: id, connectionId });
        return connections.length;
      });
    } catch (error) {
      // One school's failure must not stop the others' runs.
      platform.logger.error({ err: error, tenantId: id }, 'nightly sync: could not queue runs for a school');
    }
  }
  return queued;
}

export function nightlyJob(platform: Platform): JobDefinition<typeof nightlySchema> {
  return {
    name: SYNC_NIGHTLY_JOB,
    schema: nightlySchema,
    retryLimit: 2,
    retryDelaySeconds: 60,
    async handle(_data, job) {
      const queued = await queueNightlyRuns(platform);
      platform.logger.info({ job: job.id, queued }, 'nightly sync runs queued');
    },
  };
}

const registered = new WeakSet<object>();

/**
 * Defines the sync jobs on this platform (once), and in a process that runs workers keeps the
 * nightly schedule (pg-boss stores one schedule per name, so every server may do this).
 */
export async function registerSyncJobs(platform: Platform): Promise<void> {
  if (registered.has(platform.queue)) return;
  registered.add(platform.queue);
  await platform.defineJob(connectionRunJob(platform));
  await platform.defineJob(nightlyJob(platform));
  if (platform.runsWorkers) await platform.queue.schedule(SYNC_NIGHTLY_JOB, NIGHTLY_CRON, {}, { tz: NIGHTLY_TZ });
}
