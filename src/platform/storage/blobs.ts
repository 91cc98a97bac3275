import type { Readable } from 'node:stream';
import { NotFoundError } from '../errors.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import type { LocalBlobStore, StoredBlob } from './blob-store.ts';

/**
 * Blobs as the rest of the code uses them: the bytes in the store, a catalogue row under RLS.
 * A read first finds the row through the caller's tenant transaction, so another tenant's blob
 * id is simply not found; the bytes themselves would not open under the wrong tenant either.
 */
export async function saveBlob(
  store: LocalBlobStore,
  scope: TenantScope,
  purpose: string,
  source: Readable | AsyncIterable<Buffer | string>,
): Promise<StoredBlob> {
  const blob = await store.write(scope.cipher, source);
  try {
    await scope.trx
      .insertInto('blobs')
      .values({ id: blob.id, tenant_id: scope.tenantId, purpose, size_bytes: blob.sizeBytes, sha256: blob.sha256, key_version: blob.keyVersion })
      .execute();
  } catch (error) {
    store.remove(blob.tenantId, blob.id);
    throw error;
  }
  return blob;
}

export async function openBlob(store: LocalBlobStore, scope: TenantScope, blobId: string): Promise<{ blob: StoredBlob; purpose: string; content: Readable }> {
  const row = await scope.trx.selectFrom('blobs').selectAll().where('id', '=', blobId).executeTakeFirst();
  if (!row) throw new NotFoundError('blob');
  return {
    blob: { id: row.id, tenantId: row.tenant_id, sizeBytes: Number(row.size_bytes), sha256: row.sha256, keyVersion: row.key_version },
    purpose: row.purpose,
    content: store.read(scope.cipher, blobId),
  };
}

export async function deleteBlob(store: LocalBlobStore, scope: TenantScope, blobId: string): Promise<void> {
  const row = await scope.trx.deleteFrom('blobs').where('id', '=', blobId).returning('id').executeTakeFirst();
  if (!row) throw new NotFoundError('blob');
  store.remove(scope.tenantId, blobId);
}
