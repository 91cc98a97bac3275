import type { Command } from 'commander';
import { ConfigError } from '../platform/config/config.ts';
import { rotateDataKeys, rotateMasterKey } from '../platform/crypto/rotation.ts';
import { configFrom, print, printJson, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('encryption keys');

  withDataOption(
    keys
      .command('rotate')
      .description(
        're-wrap every tenant key under a new master key (default), or give every tenant a new data key (--data-keys). ' +
          'With CUSTOS_MASTER_KEY set, pass the new key in CUSTOS_NEW_MASTER_KEY.',
      )
      .option('--data-keys', 'add a new data-key version per organisation instead')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (options: CommonOptions & { dataKeys?: boolean }) => {
    const newKey = options.dataKeys ? undefined : newMasterKeyFromEnv();
    // Checked before opening anything: an operator-held key cannot be replaced by one we invent.
    if (!options.dataKeys && configFrom(options).masterKey && !newKey) {
      throw new ConfigError([
        { setting: 'CUSTOS_NEW_MASTER_KEY', reason: 'required: the master key comes from CUSTOS_MASTER_KEY, so give the new key here (openssl rand -base64 32)' },
      ]);
    }
    await withPlatform(options, async (platform) => {
      if (options.dataKeys) {
        const { tenants } = await rotateDataKeys(platform);
        if (options.json) return printJson({ rotated: 'data-keys', organisations: tenants });
        print(`Added a new data-key version for ${tenants} organisation(s). New values use it; older values still open.`);
        return;
      }
      const result = await rotateMasterKey(platform, { newKey });
      // Key ids are fingerprints, safe to show; the keys themselves are never printed.
      if (options.json) {
        return printJson({ rotated: 'master-key', oldKeyId: result.oldKeyId, newKeyId: result.newKeyId, rewrapped: result.rewrapped, keyFile: result.keyFile ?? null });
      }
      print(`Re-wrapped ${result.rewrapped} tenant key(s) under master key ${result.newKeyId} (was ${result.oldKeyId}).`);
      if (result.keyFile) {
        print(`The new key is in ${result.keyFile}; the old one is kept beside it as master.key.retired-${result.oldKeyId}`);
        print('so servers started before the rotation keep working. Restart them, then back up the new key file.');
      } else {
        print('Now, on every server:');
        print('  1. set CUSTOS_MASTER_KEY to the new key (the value you gave in CUSTOS_NEW_MASTER_KEY);');
        print('  2. set CUSTOS_MASTER_KEY_PREVIOUS to the old key while servers are being restarted;');
        print('  3. once every server runs with the new key, remove CUSTOS_MASTER_KEY_PREVIOUS.');
      }
    });
  });
}

function newMasterKeyFromEnv(): Buffer | undefined {
  const value = process.env.CUSTOS_NEW_MASTER_KEY?.trim();
  if (!value) return undefined;
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new ConfigError([{ setting: 'CUSTOS_NEW_MASTER_KEY', reason: 'must be 32 bytes encoded as base64 (openssl rand -base64 32)' }]);
  }
  return key;
}
