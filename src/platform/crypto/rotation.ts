import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { recordAudit } from '../audit/audit-writer.ts';
import type { Platform } from '../platform.ts';
import { SYSTEM_ACTOR, systemMeta } from '../tenancy/tenant-scope.ts';
import { MASTER_KEY_FILE, MasterKeyring } from './master-key.ts';
import { platformSecretContext } from './platform-secrets.ts';
import { tenantKeyWrapContext } from './tenant-keys.ts';

export interface MasterRotationResult {
  oldKeyId: string;
  newKeyId: string;
  rewrapped: number;
  /** Set when the key lives in the data folder: the file now holding the new key. */
  keyFile?: string;
}

/**
 * Re-wraps every tenant key under a new master key in one transaction. Data itself is not
 * re-encrypted (it is sealed with the tenant keys, which do not change), so this is quick and
 * servers keep running: they hold unwrapped tenant keys in memory, and a server started with
 * the old key still unwraps through CUSTOS_MASTER_KEY_PREVIOUS or the retired key file.
 *
 * With the key in the data folder the new key is written beside the old one before the
 * database changes, so a crash at any point leaves a key that opens whatever was committed.
 */
export async function rotateMasterKey(platform: Platform, options: { newKey?: Buffer } = {}): Promise<MasterRotationResult> {
  const source = platform.masterKey;
  if (source.origin === 'environment' && !options.newKey) {
    throw new Error('the master key comes from CUSTOS_MASTER_KEY: give the new key in CUSTOS_NEW_MASTER_KEY');
  }
  const newKey = options.newKey ?? crypto.randomBytes(32);
  if (newKey.length !== 32) throw new Error('the new master key must be 32 bytes');
  const oldKeyring = source.keyring;
  const newKeyring = new MasterKeyring(newKey);
  if (newKeyring.currentId === oldKeyring.currentId) throw new Error('the new master key is the current one');

  const dir = platform.config.dataDir;
  const pending = path.join(dir, `${MASTER_KEY_FILE}.next`);
  if (source.origin !== 'environment') fs.writeFileSync(pending, newKey.toString('base64') + '\n', { mode: 0o600 });

  // Owner handle: rotation spans every tenant, and RLS would hide all but one.
  const rewrapped = await platform.db.owner.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('tenant_keys').selectAll().forUpdate().execute();
    for (const row of rows) {
      const context = tenantKeyWrapContext(row.tenant_id, row.purpose, row.version);
      const secret = oldKeyring.unwrap(row.wrapped, context);
      const { wrapped, masterKeyId } = newKeyring.wrap(secret, context);
      await trx
        .updateTable('tenant_keys')
        .set({ wrapped, master_key_id: masterKeyId })
        .where('tenant_id', '=', row.tenant_id)
        .where('purpose', '=', row.purpose)
        .where('version', '=', row.version)
        .execute();
    }
    // Platform secrets (the sign-in lookup key) are wrapped by the master key too.
    const secrets = await trx.selectFrom('platform_secrets').selectAll().forUpdate().execute();
    for (const secret of secrets) {
      const context = platformSecretContext(secret.name);
      const { wrapped, masterKeyId } = newKeyring.wrap(oldKeyring.unwrap(secret.wrapped, context), context);
      await trx.updateTable('platform_secrets').set({ wrapped, master_key_id: masterKeyId }).where('name', '=', secret.name).execute();
    }
    return rows.length;
  });

  let keyFile: string | undefined;
  if (source.origin !== 'environment' && source.file) {
    fs.renameSync(source.file, path.join(dir, `${MASTER_KEY_FILE}.retired-${oldKeyring.currentId}`));
    fs.renameSync(pending, source.file);
    keyFile = source.file;
  }
  // This process now unwraps with the new key; tenant keys already in memory stay valid.
  platform.keys.replaceMaster(newKeyring);
  source.keyring = newKeyring;
  const organisations = await platform.db.owner.selectFrom('organisations').select('id').execute();
  for (const { id } of organisations) {
    await platform.inTenant({ tenantId: id, actor: SYSTEM_ACTOR, meta: systemMeta('keys-rotate') }, (scope) =>
      recordAudit(scope, {
        action: 'keys.master_rotated',
        changes: { masterKeyId: { before: oldKeyring.currentId, after: newKeyring.currentId } },
      }),
    );
  }
  return { oldKeyId: oldKeyring.currentId, newKeyId: newKeyring.currentId, rewrapped, keyFile };
}

/**
 * Gives every tenant (or the listed ones) a new data-key version. New values are sealed with it;
 * values sealed before keep naming their version and still open.
 */
export async function rotateDataKeys(platform: Platform, tenantIds?: string[]): Promise<{ tenants: number }> {
  const ids = tenantIds ?? (await platform.db.owner.selectFrom('organisations').select('id').execute()).map((r) => r.id);
  for (const tenantId of ids) {
    await platform.inTenant({ tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('keys-rotate') }, async (scope) => {
      const version = await platform.keys.addDataKeyVersion(scope.trx, tenantId);
      await recordAudit(scope, { action: 'keys.data_key_rotated', changes: { dataKeyVersion: { after: version } } });
    });
  }
  return { tenants: ids.length };
}
