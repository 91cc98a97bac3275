import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import type { JobDefinition } from '../../platform/jobs/queue.ts';
import type { Platform } from '../../platform/platform.ts';
import { removeBlobsOnCommit } from '../../platform/storage/blob-removal.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../platform/tenancy/tenant-scope.ts';

/**
 * Retention for closed practices: 90 days after a practice is cancelled (time to change its mind
 * or take its data away), every client, document, flow, request, invoice and purchase it held is
 * deleted, with the encrypted files. The audit trail stays (append-only; it holds no document
 * contents or personal values). A daily job; running it again finds nothing left to purge.
 */
export const CLOSED_PRACTICE_RETENTION_DAYS = 90;
export const PORTAL_RETENTION_JOB = 'portal.retention';
const DAILY_CRON = '30 3 * * *';

/** Tables of a practice's portal data that do not cascade from portal_clients. */
const PRACTICE_TABLES = ['portal_request_templates', 'portal_purchases', 'portal_practice'] as const;

export interface PurgeReport {
  practiceId: string;
  clients: number;
  files: number;
}

export async function purgeClosedPractices(platform: Platform, now: Date = new Date()): Promise<PurgeReport[]> {
  const cutoff = new Date(now.getTime() - CLOSED_PRACTICE_RETENTION_DAYS * 86_400_000);
  // Across tenants: only the owner may list them. Each purge then runs inside its own tenant.
  const closed = await platform.db.owner
    .selectFrom('organisations')
    .select('id')
    .where('kind', '=', 'practice')
    .where('status', '=', 'cancelled')
    .where('cancelled_at', '<=', cutoff)
    .execute();
  const reports: PurgeReport[] = [];
  for (const { id } of closed) {
    const report = await platform.inTenant({ tenantId: id, actor: SYSTEM_ACTOR, meta: systemMeta('portal-retention') }, async (scope) => {
      const blobs = await scope.trx.selectFrom('blobs').select('id').where(sql<boolean>`purpose LIKE 'portal.%'`).execute();
      const clients = await scope.trx.deleteFrom('portal_clients').returning('id').execute();
      let practiceRows = 0;
      for (const table of PRACTICE_TABLES) practiceRows += (await scope.trx.deleteFrom(table).returning('tenant_id').execute()).length;
      if (clients.length === 0 && blobs.length === 0 && practiceRows === 0) return undefined;
      await removeBlobsOnCommit(platform.queue, scope, blobs.map((b) => b.id));
      await recordAudit(scope, {
        action: 'portal.practice_purged',
        target: { type: 'organisation', id },
        changes: { clients: { before: clients.length, after: 0 }, files: { before: blobs.length, after: 0 }, retentionDays: { after: CLOSED_PRACTICE_RETENTION_DAYS } },
      });
      return { practiceId: id, clients: clients.length, files: blobs.length };
    });
    if (report) reports.push(report);
  }
  return reports;
}

function retentionJob(platform: Platform): JobDefinition<z.ZodObject> {
  return {
    name: PORTAL_RETENTION_JOB,
    schema: z.object({}),
    retryLimit: 2,
    retryDelaySeconds: 300,
    async handle(_data, job) {
      const purged = await purgeClosedPractices(platform);
      platform.logger.info({ job: job.id, practices: purged.length }, 'closed practices purged');
    },
  };
}

const registered = new WeakSet<object>();

/** Defines the retention job once per platform; a process running workers keeps its daily schedule. */
export async function registerRetentionJobs(platform: Platform): Promise<void> {
  if (registered.has(platform.queue)) return;
  registered.add(platform.queue);
  await platform.defineJob(retentionJob(platform));
  if (platform.runsWorkers) await platform.queue.schedule(PORTAL_RETENTION_JOB, DAILY_CRON, {}, { tz: 'Europe/London' });
}
