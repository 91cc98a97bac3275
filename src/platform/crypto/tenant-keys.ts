import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { aeadOpen, aeadSeal, DecryptionError } from './aead.ts';
import type { MasterKeyring } from './master-key.ts';

/**
 * Field encryption for one tenant. `seal`/`open` protect personal values with the tenant's data
 * key; `blindIndex` gives a keyed hash for exact-match lookups (sign-in by email) without storing
 * the value. The purpose string (e.g. 'users.email') is bound into both.
 */
export interface TenantCipher {
  readonly tenantId: string;
  seal(purpose: string, plaintext: string): string;
  open(purpose: string, sealed: string): string;
  sealOptional(purpose: string, plaintext: string | null | undefined): string | null;
  openOptional(purpose: string, sealed: string | null | undefined): string | null;
  blindIndex(purpose: string, value: string): string;
  /**
   * A keyed hash with the platform's lookup key, the same in every tenant: only for finding
   * someone's accounts across organisations at sign-in (users.email_lookup).
   */
  platformLookup(purpose: string, value: string): string;
  /** Binary sealing for streamed content (blobs): the caller keeps the key version beside it. */
  sealBytes(context: string, data: Buffer): { version: number; sealed: Buffer };
  openBytes(context: string, version: number, sealed: Buffer): Buffer;
}

interface LoadedKeys {
  data: Map<number, Buffer>;
  currentVersion: number;
  index: Buffer;
}

/** What a wrapped tenant key is bound to; rotation re-wraps under the same context. */
export const tenantKeyWrapContext = (tenantId: string, purpose: string, version: number) =>
  `tenant-key|${tenantId}|${purpose}|${version}`;

/** Normalises a value for a blind index so lookups ignore case and surrounding space. */
export function normaliseForIndex(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

export class TenantKeyService {
  // Unwrapped keys stay in memory only; a process restart unwraps them again.
  private readonly cache = new Map<string, LoadedKeys>();

  constructor(private masterKeyring: MasterKeyring) {}

  private lookupKey: Buffer | undefined;

  /** The platform-wide lookup key (see platform-secrets.ts), set once at start. */
  usePlatformLookupKey(key: Buffer): void {
    this.lookupKey = key;
  }

  /** The platform-wide keyed hash (see TenantCipher.platformLookup), usable before a tenant is known. */
  platformLookup(purpose: string, value: string): string {
    if (!this.lookupKey) throw new Error('the platform lookup key is not loaded');
    return crypto.createHmac('sha256', this.lookupKey).update(`${purpose}\0${normaliseForIndex(value)}`).digest('base64url');
  }

  get master(): MasterKeyring {
    return this.masterKeyring;
  }

  /** After a master-key rotation: unwrap and wrap with the new key from now on. */
  replaceMaster(keyring: MasterKeyring): void {
    this.masterKeyring = keyring;
    this.cache.clear();
  }

  /** Creates version 1 of a new tenant's data and index keys. Must run inside that tenant's transaction. */
  async createKeys(trx: Transaction<DB>, tenantId: string): Promise<void> {
    const rows = (['data', 'index'] as const).map((purpose) => {
      const { wrapped, masterKeyId } = this.master.wrap(crypto.randomBytes(32), tenantKeyWrapContext(tenantId, purpose, 1));
      return { tenant_id: tenantId, purpose, version: 1, wrapped, master_key_id: masterKeyId };
    });
    await trx.insertInto('tenant_keys').values(rows).execute();
  }

  /** Adds a new data-key version; new writes use it, older versions still open old values. */
  async addDataKeyVersion(trx: Transaction<DB>, tenantId: string): Promise<number> {
    const latest = await trx
      .selectFrom('tenant_keys')
      .select((eb) => eb.fn.max('version').as('version'))
      .where('tenant_id', '=', tenantId)
      .where('purpose', '=', 'data')
      .executeTakeFirst();
    const version = Number(latest?.version ?? 0) + 1;
    const { wrapped, masterKeyId } = this.master.wrap(
      crypto.randomBytes(32),
      tenantKeyWrapContext(tenantId, 'data', version),
    );
    await trx
      .insertInto('tenant_keys')
      .values({ tenant_id: tenantId, purpose: 'data', version, wrapped, master_key_id: masterKeyId })
      .execute();
    this.cache.delete(tenantId);
    return version;
  }

  /** The cipher for a tenant. `db` must be that tenant's transaction (RLS hides other keys anyway). */
  async forTenant(db: Kysely<DB> | Transaction<DB>, tenantId: string): Promise<TenantCipher> {
    const keys = this.cache.get(tenantId) ?? (await this.load(db, tenantId));
    return this.cipher(tenantId, keys);
  }

  forget(tenantId?: string): void {
    if (tenantId) this.cache.delete(tenantId);
    else this.cache.clear();
  }

  private async load(db: Kysely<DB> | Transaction<DB>, tenantId: string): Promise<LoadedKeys> {
    const rows = await db
      .selectFrom('tenant_keys')
      .select(['purpose', 'version', 'wrapped'])
      .where('tenant_id', '=', tenantId)
      .execute();
    const data = new Map<number, Buffer>();
    let index: Buffer | undefined;
    for (const row of rows) {
      const key = this.master.unwrap(row.wrapped, tenantKeyWrapContext(tenantId, row.purpose, row.version));
      if (row.purpose === 'data') data.set(row.version, key);
      else index = key;
    }
    if (data.size === 0 || !index) throw new DecryptionError(`no encryption keys found for tenant ${tenantId}`);
    const loaded = { data, currentVersion: Math.max(...data.keys()), index };
    this.cache.set(tenantId, loaded);
    return loaded;
  }

  private cipher(tenantId: string, keys: LoadedKeys): TenantCipher {
    const aad = (purpose: string) => `field|${tenantId}|${purpose}`;
    const open = (purpose: string, sealed: string): string => {
      const [format, versionText, body] = sealed.split('.');
      const version = Number(versionText);
      if (format !== 'c1' || !Number.isInteger(version) || !body) {
        throw new DecryptionError(`value for ${purpose} is not a Custos ciphertext`);
      }
      const key = keys.data.get(version);
      if (!key) {
        // A newer version made by another process: forget the cache so the next call reloads.
        this.cache.delete(tenantId);
        throw new DecryptionError(`data key version ${version} is not loaded for ${purpose}; retry`);
      }
      return aeadOpen(key, Buffer.from(body, 'base64url'), aad(purpose)).toString('utf8');
    };
    const seal = (purpose: string, plaintext: string): string => {
      const key = keys.data.get(keys.currentVersion)!;
      const body = aeadSeal(key, Buffer.from(plaintext, 'utf8'), aad(purpose)).toString('base64url');
      return `c1.${keys.currentVersion}.${body}`;
    };
    const dataKey = (version: number) => {
      const key = keys.data.get(version);
      if (!key) {
        this.cache.delete(tenantId);
        throw new DecryptionError(`data key version ${version} is not loaded; retry`);
      }
      return key;
    };
    return {
      tenantId,
      platformLookup: (purpose, value) => this.platformLookup(purpose, value),
      sealBytes: (context, data) => ({
        version: keys.currentVersion,
        sealed: aeadSeal(dataKey(keys.currentVersion), data, `bytes|${tenantId}|${context}`),
      }),
      openBytes: (context, version, sealed) => aeadOpen(dataKey(version), sealed, `bytes|${tenantId}|${context}`),
      seal,
      open,
      sealOptional: (purpose, plaintext) => (plaintext == null ? null : seal(purpose, plaintext)),
      openOptional: (purpose, sealed) => (sealed == null ? null : open(purpose, sealed)),
      blindIndex: (purpose, value) =>
        crypto
          .createHmac('sha256', keys.index)
          .update(`${purpose}\0${normaliseForIndex(value)}`)
          .digest('base64url'),
    };
  }
}
