import type { Readable } from 'node:stream';
import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ForbiddenError, NotFoundError } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import { removeBlobsOnCommit } from '../../../platform/storage/blob-removal.ts';
import type { LocalBlobStore } from '../../../platform/storage/blob-store.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actingAsClientUser } from '../client-users.ts';
import { actorLabel, getClient } from '../clients.ts';
import { reserveStorage } from '../practice.ts';
import { getFolder } from './folders.ts';
import type { StoredUpload } from './upload.ts';

/** A document in a client's area: a title, an optional folder and numbered versions. */
export interface PortalDocument {
  id: string;
  clientId: string;
  folderId: string | null;
  title: string;
  latestVersion: number;
  createdBy: string;
  /** Who put it in the area: the practice's own documents take new versions from the practice only. */
  addedBy: 'practice' | 'client';
  createdAt: string;
  updatedAt: string;
}

export interface DocumentVersion {
  version: number;
  filename: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  scan: 'clean' | 'not_scanned';
  origin: 'upload' | 'signed';
  uploadedBy: string;
  uploadedAt: string;
}

const title = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const newDocumentSchema = z.strictObject({
  clientId: z.uuid({ error: 'must be a client id' }),
  folderId: z.uuid({ error: 'must be a folder id' }).nullable().optional(),
  title: title.optional(),
});
export type NewDocumentInput = z.input<typeof newDocumentSchema>;

type DocumentRow = { id: string; client_id: string; folder_id: string | null; title_enc: string; latest_version: number; created_by: string; added_by_client: boolean; created_at: Date; updated_at: Date };
const DOCUMENT_COLUMNS = ['id', 'client_id', 'folder_id', 'title_enc', 'latest_version', 'created_by', 'added_by_client', 'created_at', 'updated_at'] as const;

function toDocument(scope: TenantScope, row: DocumentRow): PortalDocument {
  return {
    id: row.id,
    clientId: row.client_id,
    folderId: row.folder_id,
    title: scope.cipher.open('portal.document.title', row.title_enc),
    latestVersion: row.latest_version,
    createdBy: row.created_by,
    addedBy: row.added_by_client ? 'client' : 'practice',
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/**
 * Checks, before a byte is read, that the caller may put a document where they ask: the client
 * (or the document, for a new version) exists and is theirs to reach. For a client user the
 * database hides other clients, so someone else's id is simply not found.
 */
export async function checkUploadTarget(
  scope: TenantScope,
  target: { clientId?: string; documentId?: string; folderId?: string | null; origin?: 'upload' | 'signed' },
): Promise<{ clientId: string; byClientUser: boolean }> {
  const byClientUser = await actingAsClientUser(scope);
  if (target.documentId) {
    const document = await getDocument(scope, target.documentId);
    // A signed copy is the portal's own work, recorded while the client signs.
    if (byClientUser && document.addedBy === 'practice' && target.origin !== 'signed') {
      throw new ForbiddenError('this document was put in your area by the practice, which alone adds its versions; upload your file as a new document');
    }
    return { clientId: document.clientId, byClientUser };
  }
  const data = parseOrThrow(newDocumentSchema, { clientId: target.clientId, folderId: target.folderId ?? null });
  await getClient(scope, data.clientId);
  if (data.folderId) {
    const folder = await getFolder(scope, data.folderId);
    if (folder.clientId !== data.clientId) throw new NotFoundError('folder');
  }
  return { clientId: data.clientId, byClientUser };
}

/**
 * Records a stored upload as a new document, or as the next version of `documentId`: the blob's
 * catalogue row, the document and version rows and the audit entry in the caller's transaction.
 * The quota is checked here again, under the practice's lock, with the real size.
 */
export async function recordUpload(
  scope: TenantScope,
  stored: StoredUpload,
  target: { clientId?: string; documentId?: string; folderId?: string | null; title?: string; origin?: 'upload' | 'signed' },
): Promise<{ document: PortalDocument; version: DocumentVersion }> {
  const { clientId, byClientUser } = await checkUploadTarget(scope, target);
  const documentTitle = target.title === undefined ? undefined : parseOrThrow(title, target.title);
  await reserveStorage(scope, stored.blob.sizeBytes);
  await scope.trx
    .insertInto('blobs')
    .values({ id: stored.blob.id, tenant_id: scope.tenantId, purpose: 'portal.document', size_bytes: stored.blob.sizeBytes, sha256: stored.blob.sha256, key_version: stored.blob.keyVersion })
    .execute();
  let documentId = target.documentId;
  if (!documentId) {
    const created = await scope.trx
      .insertInto('portal_documents')
      .values({
        tenant_id: scope.tenantId,
        client_id: clientId,
        folder_id: target.folderId ?? null,
        title_enc: scope.cipher.seal('portal.document.title', documentTitle ?? stored.verdict.displayName),
        created_by: actorLabel(scope),
        added_by_client: byClientUser,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    documentId = created.id;
  }
  // The row lock on the document orders concurrent new versions.
  const next = await scope.trx
    .updateTable('portal_documents')
    .set({ latest_version: sql`latest_version + 1`, updated_at: new Date() })
    .where('id', '=', documentId)
    .returning('latest_version')
    .executeTakeFirstOrThrow();
  await scope.trx
    .insertInto('portal_document_versions')
    .values({
      tenant_id: scope.tenantId,
      client_id: clientId,
      document_id: documentId,
      version: next.latest_version,
      blob_id: stored.blob.id,
      filename_enc: scope.cipher.seal('portal.document.filename', stored.verdict.displayName),
      content_type: stored.verdict.mediaType,
      size_bytes: stored.blob.sizeBytes,
      sha256: stored.blob.sha256,
      scan: stored.scanned ? 'clean' : 'not_scanned',
      origin: target.origin ?? 'upload',
      uploaded_by: actorLabel(scope),
    })
    .execute();
  await recordAudit(scope, {
    action: target.documentId ? 'portal.document_version_added' : 'portal.document_uploaded',
    target: { type: 'portal_document', id: documentId },
    changes: { version: { after: next.latest_version }, kind: { after: stored.verdict.kind }, sizeBytes: { after: stored.blob.sizeBytes }, scanned: { after: stored.scanned } },
  });
  const document = await getDocument(scope, documentId);
  return { document, version: document.versions.find((v) => v.version === next.latest_version)! };
}

export async function getDocument(scope: TenantScope, documentId: string): Promise<PortalDocument & { versions: DocumentVersion[] }> {
  if (!isUuid(documentId)) throw new NotFoundError('document');
  const row = await scope.trx.selectFrom('portal_documents').select(DOCUMENT_COLUMNS).where('id', '=', documentId).executeTakeFirst();
  if (!row) throw new NotFoundError('document');
  const versions = await scope.trx
    .selectFrom('portal_document_versions')
    .select(['version', 'filename_enc', 'content_type', 'size_bytes', 'sha256', 'scan', 'origin', 'uploaded_by', 'uploaded_at'])
    .where('document_id', '=', documentId)
    .orderBy('version', 'desc')
    .execute();
  return {
    ...toDocument(scope, row as DocumentRow),
    versions: versions.map((v) => ({
      version: v.version,
      filename: scope.cipher.open('portal.document.filename', v.filename_enc),
      contentType: v.content_type,
      sizeBytes: Number(v.size_bytes),
      sha256: v.sha256,
      scan: v.scan,
      origin: v.origin,
      uploadedBy: v.uploaded_by,
      uploadedAt: new Date(v.uploaded_at).toISOString(),
    })),
  };
}

/** What a list shows of a document's latest version: enough to know whether it can be previewed or signed. */
export interface LatestVersion {
  contentType: string;
  sizeBytes: number;
  origin: 'upload' | 'signed';
  scan: 'clean' | 'not_scanned';
}

/** A client's documents, newest first, optionally in one folder, each with its latest version's type and size. */
export async function listDocuments(scope: TenantScope, clientId: string, options: { folderId?: string } = {}): Promise<(PortalDocument & { latest: LatestVersion })[]> {
  await getClient(scope, clientId);
  let query = scope.trx
    .selectFrom('portal_documents as d')
    .innerJoin('portal_document_versions as v', (join) => join.onRef('v.document_id', '=', 'd.id').onRef('v.version', '=', 'd.latest_version'))
    .select(['d.id', 'd.client_id', 'd.folder_id', 'd.title_enc', 'd.latest_version', 'd.created_by', 'd.added_by_client', 'd.created_at', 'd.updated_at', 'v.content_type', 'v.size_bytes', 'v.origin', 'v.scan'])
    .where('d.client_id', '=', clientId);
  if (options.folderId) query = query.where('d.folder_id', '=', options.folderId);
  const rows = await query.orderBy('d.updated_at', 'desc').orderBy('d.id').limit(1000).execute();
  return rows.map((r) => ({
    ...toDocument(scope, r as DocumentRow),
    latest: { contentType: r.content_type, sizeBytes: Number(r.size_bytes), origin: r.origin, scan: r.scan },
  }));
}

/**
 * Opens one version (the latest by default) for download: the row is found through the caller's
 * transaction (so another practice's or another client's document is not found), and the bytes
 * stream and decrypt as they are sent.
 */
export async function openDocumentVersion(
  blobs: LocalBlobStore,
  scope: TenantScope,
  documentId: string,
  version?: number,
): Promise<{ document: PortalDocument; version: DocumentVersion; content: Readable }> {
  const document = await getDocument(scope, documentId);
  const chosen = version === undefined ? document.versions[0] : document.versions.find((v) => v.version === version);
  if (!chosen) throw new NotFoundError('document version');
  const row = await scope.trx.selectFrom('portal_document_versions').select('blob_id').where('document_id', '=', documentId).where('version', '=', chosen.version).executeTakeFirstOrThrow();
  await recordAudit(scope, { action: 'portal.document_downloaded', target: { type: 'portal_document', id: documentId }, changes: { version: { after: chosen.version } } });
  return { document, version: chosen, content: blobs.read(scope.cipher, row.blob_id) };
}

export async function moveDocument(scope: TenantScope, documentId: string, folderId: string | null): Promise<PortalDocument & { versions: DocumentVersion[] }> {
  const document = await getDocument(scope, documentId);
  if (folderId !== null) {
    const folder = await getFolder(scope, folderId);
    if (folder.clientId !== document.clientId) throw new NotFoundError('folder');
  }
  await scope.trx.updateTable('portal_documents').set({ folder_id: folderId, updated_at: new Date() }).where('id', '=', documentId).execute();
  await recordAudit(scope, { action: 'portal.document_moved', target: { type: 'portal_document', id: documentId }, changes: { folder: { before: document.folderId, after: folderId } } });
  return getDocument(scope, documentId);
}

/** Deletes a document with every version; the files go once this transaction has committed. */
export async function deleteDocument(queue: JobQueue, scope: TenantScope, documentId: string): Promise<void> {
  const document = await getDocument(scope, documentId);
  const versions = await scope.trx.selectFrom('portal_document_versions').select('blob_id').where('document_id', '=', documentId).execute();
  await scope.trx.deleteFrom('portal_documents').where('id', '=', documentId).execute();
  await removeBlobsOnCommit(queue, scope, versions.map((v) => v.blob_id));
  await recordAudit(scope, { action: 'portal.document_deleted', target: { type: 'portal_document', id: documentId }, changes: { versions: { before: document.versions.length, after: 0 } } });
}
