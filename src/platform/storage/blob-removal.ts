import { z } from 'zod';
import type { JobDefinition, JobQueue } from '../jobs/queue.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import type { LocalBlobStore } from './blob-store.ts';

/**
 * Removing blobs as part of a transaction. The catalogue rows go in the caller's transaction and a
 * job to remove the files is queued in the same transaction, so the files disappear exactly when
 * the deletion committed: a rollback keeps both, a commit never leaves a row without its file.
 */
export const BLOB_REMOVE_JOB = 'blobs.remove';
const PER_JOB = 500;

const removeSchema = z.strictObject({ tenantId: z.uuid(), blobIds: z.array(z.uuid()).min(1).max(PER_JOB) });

export function blobRemovalJob(store: LocalBlobStore): JobDefinition<typeof removeSchema> {
  return {
    name: BLOB_REMOVE_JOB,
    schema: removeSchema,
    async handle(data) {
      for (const blobId of data.blobIds) store.remove(data.tenantId, blobId);
    },
  };
}

/** Deletes the blobs' catalogue rows now and their files once this transaction has committed. */
export async function removeBlobsOnCommit(queue: JobQueue, scope: TenantScope, blobIds: readonly string[]): Promise<void> {
  const unique = [...new Set(blobIds)];
  for (let start = 0; start < unique.length; start += PER_JOB) {
    const part = unique.slice(start, start + PER_JOB);
    await scope.trx.deleteFrom('blobs').where('id', 'in', part).execute();
    await queue.send(scope, BLOB_REMOVE_JOB, { tenantId: scope.tenantId, blobIds: part });
  }
}
