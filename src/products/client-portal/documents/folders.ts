import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError } from '../../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel, getClient } from '../clients.ts';

/** A folder in one client's area ("2025-26 accounts", "Payroll"). Names are sealed; unique per client, any case. */
export interface Folder {
  id: string;
  clientId: string;
  name: string;
  createdAt: string;
}

export const folderSchema = z.strictObject({
  name: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'must be at most 100 characters')
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
});

export async function createFolder(scope: TenantScope, clientId: string, input: z.input<typeof folderSchema>): Promise<Folder> {
  const { name } = parseOrThrow(folderSchema, input);
  await getClient(scope, clientId);
  const created = await scope.trx
    .insertInto('portal_folders')
    .values({
      tenant_id: scope.tenantId,
      client_id: clientId,
      name_enc: scope.cipher.seal('portal.folder.name', name),
      name_bidx: scope.cipher.blindIndex('portal.folder.name', name),
      created_by: actorLabel(scope),
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'client_id', 'name_bidx']).doNothing())
    .returning(['id', 'created_at'])
    .executeTakeFirst();
  if (!created) throw new ConflictError('the client already has a folder with this name');
  await recordAudit(scope, { action: 'portal.folder_created', target: { type: 'portal_folder', id: created.id }, changes: { client: { after: clientId } } });
  return { id: created.id, clientId, name, createdAt: new Date(created.created_at).toISOString() };
}

export async function listFolders(scope: TenantScope, clientId: string): Promise<Folder[]> {
  await getClient(scope, clientId);
  const rows = await scope.trx.selectFrom('portal_folders').select(['id', 'client_id', 'name_enc', 'created_at']).where('client_id', '=', clientId).execute();
  return rows
    .map((r) => ({ id: r.id, clientId: r.client_id, name: scope.cipher.open('portal.folder.name', r.name_enc), createdAt: new Date(r.created_at).toISOString() }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
}

export async function getFolder(scope: TenantScope, folderId: string): Promise<Folder> {
  if (!isUuid(folderId)) throw new NotFoundError('folder');
  const row = await scope.trx.selectFrom('portal_folders').select(['id', 'client_id', 'name_enc', 'created_at']).where('id', '=', folderId).executeTakeFirst();
  if (!row) throw new NotFoundError('folder');
  return { id: row.id, clientId: row.client_id, name: scope.cipher.open('portal.folder.name', row.name_enc), createdAt: new Date(row.created_at).toISOString() };
}

/** Removes a folder; its documents stay in the client's area, unfiled. */
export async function deleteFolder(scope: TenantScope, folderId: string): Promise<void> {
  await getFolder(scope, folderId);
  await scope.trx.deleteFrom('portal_folders').where('id', '=', folderId).execute();
  await recordAudit(scope, { action: 'portal.folder_deleted', target: { type: 'portal_folder', id: folderId } });
}
