import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { aeadOpen, aeadSeal, DecryptionError, keyId } from './aead.ts';

export const MASTER_KEY_FILE = 'master.key';

/**
 * The master keys: one current key that wraps, and older keys kept only to unwrap during a
 * rotation. Tenant data keys never leave the database unwrapped; this is all that must be kept
 * outside it.
 */
export class MasterKeyring {
  private readonly keys = new Map<string, Buffer>();
  readonly currentId: string;

  constructor(
    private current: Buffer,
    previous: Buffer[] = [],
  ) {
    if (current.length !== 32) throw new Error('master key must be 32 bytes');
    this.currentId = keyId(current);
    this.keys.set(this.currentId, current);
    for (const key of previous) this.keys.set(keyId(key), key);
  }

  get knownIds(): string[] {
    return [...this.keys.keys()];
  }

  wrap(secret: Buffer, context: string): { wrapped: string; masterKeyId: string } {
    const sealed = aeadSeal(this.current, secret, `master-wrap|${context}`);
    return { wrapped: `w1.${this.currentId}.${sealed.toString('base64url')}`, masterKeyId: this.currentId };
  }

  unwrap(wrapped: string, context: string): Buffer {
    const [format, id, body] = wrapped.split('.');
    if (format !== 'w1' || !id || !body) throw new DecryptionError('wrapped key has an unknown format');
    const key = this.keys.get(id);
    if (!key) {
      throw new DecryptionError(
        `key is wrapped under master key ${id}, but the configured master key is ${this.currentId}` +
          ' — check CUSTOS_MASTER_KEY (or the data folder\'s master.key); during a rotation set' +
          ' CUSTOS_MASTER_KEY_PREVIOUS to the old key',
      );
    }
    try {
      return aeadOpen(key, Buffer.from(body, 'base64url'), `master-wrap|${context}`);
    } catch (error) {
      throw new DecryptionError(`master key ${id} could not unwrap ${context}: ${(error as Error).message}`);
    }
  }
}

export interface MasterKeySource {
  keyring: MasterKeyring;
  /** Where the key came from, for operators; never the key itself. */
  origin: 'environment' | 'file' | 'generated';
  file?: string;
}

function decodeKey(value: string, name: string): Buffer {
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${name} must be 32 bytes encoded as base64`);
  return key;
}

/**
 * CUSTOS_MASTER_KEY wins. Otherwise the data folder's master.key is used, created on first start
 * with owner-only permissions. Files named master.key.* beside it (left by a rotation) unwrap only.
 */
export function loadMasterKeyring(options: {
  dataDir: string;
  masterKey?: string;
  masterKeyPrevious?: string;
  warn: (message: string) => void;
}): MasterKeySource {
  const previous = options.masterKeyPrevious
    ? [decodeKey(options.masterKeyPrevious, 'CUSTOS_MASTER_KEY_PREVIOUS')]
    : [];
  if (options.masterKey) {
    return {
      keyring: new MasterKeyring(decodeKey(options.masterKey, 'CUSTOS_MASTER_KEY'), previous),
      origin: 'environment',
    };
  }
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  let origin: MasterKeySource['origin'] = 'file';
  if (!fs.existsSync(file)) {
    // 'wx' fails if another process created it meanwhile: never overwrite a key.
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      origin = 'generated';
      options.warn(
        `WARNING: no CUSTOS_MASTER_KEY set; generated a new master key in ${file}. ` +
          'Everything encrypted depends on it: back it up apart from the database, or set CUSTOS_MASTER_KEY in production.',
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const current = decodeKey(fs.readFileSync(file, 'utf8'), file);
  for (const name of fs.readdirSync(options.dataDir)) {
    if (name.startsWith(`${MASTER_KEY_FILE}.`)) {
      previous.push(decodeKey(fs.readFileSync(path.join(options.dataDir, name), 'utf8'), name));
    }
  }
  return { keyring: new MasterKeyring(current, previous), origin, file };
}
