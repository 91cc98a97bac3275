import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { inviteUser, listUsers } from '../identity/users.ts';
import { loadMasterKeyring, MasterKeyring } from './master-key.ts';
import { loadPlatformSecret, SIGN_IN_LOOKUP_SECRET } from './platform-secrets.ts';
import { rotateDataKeys, rotateMasterKey } from './rotation.ts';
import { TenantKeyService } from './tenant-keys.ts';
import { verifyAuditChain } from '../audit/audit-verify.ts';

let platform: TestPlatform | undefined;
afterEach(async () => {
  await platform?.close();
  platform = undefined;
});

/** A second service on the same database with a given keyring: what a freshly started server would do. */
async function readEmailsWith(p: TestPlatform, keyring: MasterKeyring, tenantId: string): Promise<string[]> {
  const keys = new TenantKeyService(keyring);
  const { withTenant, SYSTEM_ACTOR, systemMeta } = await import('../tenancy/tenant-scope.ts');
  return withTenant(p.db.app, keys, { tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('t') }, async (scope) =>
    (await listUsers(scope)).map((u) => u.email),
  );
}

describe('master key rotation', () => {
  it('re-wraps every tenant key under a new env-supplied key; old data still reads, the old key alone no longer does', async () => {
    platform = await startTestPlatform();
    const oldKey = Buffer.from(platform.env.CUSTOS_MASTER_KEY!, 'base64');
    const org = await createTestOrganisation(platform);
    const person = fakePerson();
    await asSystem(platform, org.id, (scope) => inviteUser(scope, { email: person.email }, 'http://x'));

    const newKey = crypto.randomBytes(32);
    const result = await rotateMasterKey(platform, { newKey });
    expect(result.rewrapped).toBeGreaterThanOrEqual(2);
    expect(result.newKeyId).not.toBe(result.oldKeyId);

    const rows = await platform.db.owner.selectFrom('tenant_keys').select('master_key_id').execute();
    expect(new Set(rows.map((r) => r.master_key_id))).toEqual(new Set([result.newKeyId]));
    // The platform's own secrets (the sign-in lookup key) move to the new key as well, unchanged.
    const secrets = await platform.db.owner.selectFrom('platform_secrets').select(['name', 'master_key_id']).execute();
    expect(secrets.map((r) => r.name).sort()).toEqual(['credential_throttle', 'sign_in_lookup']);
    expect(new Set(secrets.map((r) => r.master_key_id))).toEqual(new Set([result.newKeyId]));
    const lookupBefore = await asSystem(platform, org.id, async (s) => s.cipher.platformLookup('users.email', person.email));
    const reloaded = await loadPlatformSecret(platform.db.owner, new MasterKeyring(newKey), SIGN_IN_LOOKUP_SECRET);
    const keysAfter = new TenantKeyService(new MasterKeyring(newKey));
    keysAfter.usePlatformLookupKey(reloaded);
    const { withTenant, SYSTEM_ACTOR, systemMeta } = await import('../tenancy/tenant-scope.ts');
    const lookupAfter = await withTenant(platform.db.app, keysAfter, { tenantId: org.id, actor: SYSTEM_ACTOR, meta: systemMeta('t') }, async (s) =>
      s.cipher.platformLookup('users.email', person.email),
    );
    expect(lookupAfter).toBe(lookupBefore);
    // The running process keeps working, and a new process with the new key reads old data.
    expect((await asSystem(platform, org.id, (s) => listUsers(s))).map((u) => u.email)).toContain(person.email);
    expect(await readEmailsWith(platform, new MasterKeyring(newKey), org.id)).toContain(person.email);
    // During rollout a server with the new key and the old one as previous works too.
    expect(await readEmailsWith(platform, new MasterKeyring(newKey, [oldKey]), org.id)).toContain(person.email);
    // A server still configured with only the old key fails loudly.
    await expect(readEmailsWith(platform, new MasterKeyring(oldKey), org.id)).rejects.toThrow(/master key/);
    // The rotation is in every tenant's audit trail, and the chain still verifies.
    const report = await asSystem(platform, org.id, (s) => verifyAuditChain(s.trx, org.id));
    expect(report.ok).toBe(true);
  });

  it('with the key in the data folder: writes the new key file and retires the old one', async () => {
    platform = await startTestPlatform({ env: { CUSTOS_MASTER_KEY: '' } });
    expect(platform.masterKey.origin).toBe('generated');
    const org = await createTestOrganisation(platform);
    const keyFile = path.join(platform.config.dataDir, 'master.key');
    const before = fs.readFileSync(keyFile, 'utf8');

    const result = await rotateMasterKey(platform);
    expect(result.keyFile).toBe(keyFile);
    const after = fs.readFileSync(keyFile, 'utf8');
    expect(after).not.toBe(before);
    expect(fs.existsSync(path.join(platform.config.dataDir, `master.key.retired-${result.oldKeyId}`))).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // What a restarted server loads from the folder opens the data.
    const reloaded = loadMasterKeyring({ dataDir: platform.config.dataDir, warn: () => {} });
    expect(reloaded.keyring.currentId).toBe(result.newKeyId);
    expect(await readEmailsWith(platform, reloaded.keyring, org.id)).toContain(org.adminEmail);
  });

  it('refuses to rotate an env-supplied key without the new key', async () => {
    platform = await startTestPlatform();
    await expect(rotateMasterKey(platform)).rejects.toThrow(/CUSTOS_NEW_MASTER_KEY/);
  });
});

describe('data key rotation', () => {
  it('seals new values with the new version and still opens values sealed before', async () => {
    platform = await startTestPlatform();
    const org = await createTestOrganisation(platform);
    const sealedBefore = await asSystem(platform, org.id, async (s) => s.cipher.seal('notes.body', 'before rotation'));
    expect(sealedBefore.startsWith('c1.1.')).toBe(true);
    await rotateDataKeys(platform, [org.id]);
    const sealedAfter = await asSystem(platform, org.id, async (s) => s.cipher.seal('notes.body', 'after rotation'));
    expect(sealedAfter.startsWith('c1.2.')).toBe(true);
    const opened = await asSystem(platform, org.id, async (s) => [s.cipher.open('notes.body', sealedBefore), s.cipher.open('notes.body', sealedAfter)]);
    expect(opened).toEqual(['before rotation', 'after rotation']);
  });
});
