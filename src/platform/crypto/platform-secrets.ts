import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { MasterKeyring } from './master-key.ts';

/**
 * Secrets of the platform itself (not of any tenant), e.g. the key of the sign-in lookup hash that
 * finds someone's accounts across organisations. Wrapped by the master key like tenant keys, read
 * by the owner handle only, created on first start.
 */
/** What a wrapped platform secret is bound to; rotation re-wraps under the same context. */
export const platformSecretContext = (name: string) => `platform-secret|${name}`;

export async function loadPlatformSecret(owner: Kysely<DB>, master: MasterKeyring, name: string): Promise<Buffer> {
  const context = platformSecretContext(name);
  const existing = await owner.selectFrom('platform_secrets').select('wrapped').where('name', '=', name).executeTakeFirst();
  if (existing) return master.unwrap(existing.wrapped, context);
  const { wrapped, masterKeyId } = master.wrap(crypto.randomBytes(32), context);
  // Two processes starting together: whoever inserts first wins, the other reads that one.
  await owner.insertInto('platform_secrets').values({ name, wrapped, master_key_id: masterKeyId }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const stored = await owner.selectFrom('platform_secrets').select('wrapped').where('name', '=', name).executeTakeFirstOrThrow();
  return master.unwrap(stored.wrapped, context);
}

export const SIGN_IN_LOOKUP_SECRET = 'sign_in_lookup';
export const THROTTLE_SECRET = 'credential_throttle';
