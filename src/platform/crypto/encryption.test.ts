import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { findUserByEmail, inviteUser, listUsers } from '../identity/users.ts';
import { aeadOpen, aeadSeal, DecryptionError } from './aead.ts';
import { loadMasterKeyring, MasterKeyring } from './master-key.ts';
import { TenantKeyService } from './tenant-keys.ts';

describe('AES-256-GCM helpers', () => {
  const key = crypto.randomBytes(32);

  it('round-trips and uses a fresh nonce each time', () => {
    const a = aeadSeal(key, Buffer.from('Ada Lovelace'), 'ctx');
    const b = aeadSeal(key, Buffer.from('Ada Lovelace'), 'ctx');
    expect(a.equals(b)).toBe(false);
    expect(aeadOpen(key, a, 'ctx').toString()).toBe('Ada Lovelace');
  });

  it('never repeats a nonce across pool refills', () => {
    // 2,000 seals cross several 4 KiB refills of the nonce pool.
    const nonces = new Set<string>();
    for (let i = 0; i < 2_000; i++) nonces.add(aeadSeal(key, Buffer.from('x'), 'ctx').subarray(0, 12).toString('hex'));
    expect(nonces.size).toBe(2_000);
  });

  it('refuses a wrong key, other associated data and any flipped bit', () => {
    const sealed = aeadSeal(key, Buffer.from('07700 900123'), 'users.phone');
    expect(() => aeadOpen(crypto.randomBytes(32), sealed, 'users.phone')).toThrow(DecryptionError);
    expect(() => aeadOpen(key, sealed, 'users.email')).toThrow(DecryptionError);
    for (const index of [0, 13, sealed.length - 1]) {
      const bent = Buffer.from(sealed);
      bent[index]! ^= 1;
      expect(() => aeadOpen(key, bent, 'users.phone')).toThrow(DecryptionError);
    }
  });
});

describe('master key file', () => {
  it('is generated once with owner-only permissions and a loud warning, then reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-key-'));
    const warnings: string[] = [];
    const first = loadMasterKeyring({ dataDir: dir, warn: (m) => warnings.push(m) });
    expect(first.origin).toBe('generated');
    expect(warnings.join()).toMatch(/WARNING.*master key/);
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    const second = loadMasterKeyring({ dataDir: dir, warn: (m) => warnings.push(m) });
    expect(second.origin).toBe('file');
    expect(second.keyring.currentId).toBe(first.keyring.currentId);
    expect(warnings).toHaveLength(1);
    fs.rmSync(dir, { recursive: true });
  });

  it('says which master key is expected when the wrong one is configured', () => {
    const right = new MasterKeyring(crypto.randomBytes(32));
    const wrong = new MasterKeyring(crypto.randomBytes(32));
    const { wrapped } = right.wrap(crypto.randomBytes(32), 'ctx');
    expect(() => wrong.unwrap(wrapped, 'ctx')).toThrow(new RegExp(`wrapped under master key ${right.currentId}.*CUSTOS_MASTER_KEY`));
  });
});

describe('personal fields at rest', () => {
  let platform: TestPlatform;
  let org: TestOrganisation;
  const person = fakePerson();

  beforeAll(async () => {
    platform = await startTestPlatform();
    org = await createTestOrganisation(platform);
    await asSystem(platform, org.id, (scope) => inviteUser(scope, { email: person.email, displayName: person.name }, 'http://x'));
  });
  afterAll(async () => platform?.close());

  it('stores no plaintext email or name anywhere in the database', async () => {
    const tables = await sql<{ relname: string }>`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname in ('public', 'pgboss') and c.relkind = 'r'`.execute(platform.db.owner);
    const needles = [person.email, person.name, person.email.split('@')[0]!, org.adminEmail];
    let everything = '';
    for (const { relname } of tables.rows) {
      const rows = await sql<{ t: string }>`select t::text as t from ${sql.table(relname)} t`.execute(platform.db.owner).catch(() =>
        sql<{ t: string }>`select t::text as t from ${sql.raw(`pgboss.${relname}`)} t`.execute(platform.db.owner),
      );
      const dump = rows.rows.map((r) => r.t).join('\n').toLowerCase();
      for (const needle of needles) expect(dump.includes(needle.toLowerCase()), `${needle} in ${relname}`).toBe(false);
      everything += dump;
    }
    // Control: the scan does see stored text (an organisation's name is not personal, so it is plain).
    expect(everything).toContain(org.name.toLowerCase());
  });

  it('still reads the values back and finds a user by email through the blind index', async () => {
    const users = await asSystem(platform, org.id, (scope) => listUsers(scope));
    expect(users.map((u) => u.email)).toContain(person.email);
    const found = await asSystem(platform, org.id, (scope) => findUserByEmail(scope, `  ${person.email.toUpperCase()} `));
    expect(found?.displayName).toBe(person.name);
  });

  it('gives each tenant its own keys: the same email has different blind indexes', async () => {
    const other = await createTestOrganisation(platform);
    await asSystem(platform, other.id, (scope) => inviteUser(scope, { email: person.email }, 'http://x'));
    const rows = await platform.db.owner.selectFrom('users').select(['tenant_id', 'email_bidx', 'email_enc']).execute();
    const mine = rows.filter((r) => r.tenant_id === org.id || r.tenant_id === other.id);
    const indexes = new Set(mine.map((r) => r.email_bidx));
    expect(indexes.size).toBe(mine.length);
  });

  it("cannot open one tenant's ciphertext with another tenant's keys", async () => {
    const other = await createTestOrganisation(platform);
    const sealed = await asSystem(platform, org.id, async (scope) => scope.cipher.seal('users.email', person.email));
    await expect(asSystem(platform, other.id, async (scope) => scope.cipher.open('users.email', sealed))).rejects.toThrow(DecryptionError);
  });

  it('fails loudly, never with garbage, when the master key is wrong', async () => {
    const wrongKeys = new TenantKeyService(new MasterKeyring(crypto.randomBytes(32)));
    await expect(
      platform.db.app.transaction().execute(async (trx) => {
        await sql`select set_config('app.tenant_id', ${org.id}, true)`.execute(trx);
        return wrongKeys.forTenant(trx, org.id);
      }),
    ).rejects.toThrow(/master key/);
  });
});
