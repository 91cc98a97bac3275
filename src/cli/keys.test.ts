import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliSandbox, onlyJson, randomMasterKey, type CliSandbox } from './cli-testing.ts';

// Generous: CI machines run these beside the rest of the suite, and a spawn there can take 20 s.
const SLOW = 600_000;

async function createOrganisation(sandbox: CliSandbox, env: Record<string, string> = {}): Promise<string> {
  const result = await sandbox.run(
    ['org', 'create', '--kind', 'local_authority', '--name', 'Marshcombe Council (test)', '--admin-email', 'vsh@marshcombe.example.test', '--json'],
    env,
  );
  expect(result.code).toBe(0);
  return onlyJson<{ id: string }>(result.stdout).id;
}

async function userEmails(sandbox: CliSandbox, orgId: string, env: Record<string, string> = {}) {
  const result = await sandbox.run(['user', 'list', '--org', orgId, '--json'], env);
  return { ...result, emails: result.code === 0 ? onlyJson<{ email: string }[]>(result.stdout).map((u) => u.email) : [] };
}

describe('custos keys rotate', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('rotates a file-based master key and data keys; old data still reads; a wrong key fails loudly', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const orgId = await createOrganisation(sandbox);
    const keyFile = path.join(sandbox.dataDir, 'master.key');
    const oldKey = fs.readFileSync(keyFile, 'utf8');

    const rotated = await sandbox.run(['keys', 'rotate', '--json']);
    expect(rotated.code).toBe(0);
    const result = onlyJson<{ oldKeyId: string; newKeyId: string; rewrapped: number }>(rotated.stdout);
    expect(result.rewrapped).toBeGreaterThanOrEqual(2);
    expect(result.newKeyId).not.toBe(result.oldKeyId);
    expect(fs.readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const retired = path.join(sandbox.dataDir, `master.key.retired-${result.oldKeyId}`);
    expect(fs.readFileSync(retired, 'utf8')).toBe(oldKey);
    expect(rotated.stdout + rotated.stderr).not.toContain(oldKey.trim());

    // Without the retired key only the new key can unwrap, so each later command proves the
    // re-wrap. A new data-key version then seals new values while old ones still open.
    fs.rmSync(retired);
    expect((await sandbox.run(['keys', 'rotate', '--data-keys'])).code).toBe(0);
    expect((await sandbox.run(['user', 'invite', '--org', orgId, '--email', 'designated@marshcombe.example.test'])).code).toBe(0);
    const afterRotation = await userEmails(sandbox, orgId);
    expect(afterRotation.code).toBe(0);
    expect(afterRotation.emails).toEqual(['vsh@marshcombe.example.test', 'designated@marshcombe.example.test']);

    // A wrong master key: a loud failure that names the master key, and no data printed.
    const wrong = await userEmails(sandbox, orgId, { CUSTOS_MASTER_KEY: randomMasterKey() });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/master key/);
    expect(wrong.stdout).toBe('');
  });

  it('rotates an environment master key only with CUSTOS_NEW_MASTER_KEY, and tells the operator what to change', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const oldKey = randomMasterKey();
    const newKey = randomMasterKey();
    const orgId = await createOrganisation(sandbox, { CUSTOS_MASTER_KEY: oldKey });
    expect(fs.existsSync(path.join(sandbox.dataDir, 'master.key'))).toBe(false);

    const missing = await sandbox.run(['keys', 'rotate'], { CUSTOS_MASTER_KEY: oldKey });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/CUSTOS_NEW_MASTER_KEY/);

    const rotated = await sandbox.run(['keys', 'rotate'], { CUSTOS_MASTER_KEY: oldKey, CUSTOS_NEW_MASTER_KEY: newKey });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/set CUSTOS_MASTER_KEY to the new key/);
    expect(rotated.stdout).toMatch(/CUSTOS_MASTER_KEY_PREVIOUS to the old key/);
    for (const key of [oldKey, newKey]) expect(rotated.stdout + rotated.stderr).not.toContain(key);

    expect((await userEmails(sandbox, orgId, { CUSTOS_MASTER_KEY: newKey })).emails).toEqual(['vsh@marshcombe.example.test']);
    const stale = await userEmails(sandbox, orgId, { CUSTOS_MASTER_KEY: oldKey });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/master key/);
  });
});
