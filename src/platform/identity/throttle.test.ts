import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { openDatabase } from '../db/database.ts';
import { APP_ROLE } from '../db/roles.ts';
import { ipThrottleGroup } from './ip.ts';
import {
  CredentialThrottle,
  THROTTLE_TABLE,
  TooManyAttemptsError,
  type CredentialPath,
  type CredentialThrottleOptions,
  type ThrottleSubject,
} from './throttle.ts';

let platform: TestPlatform;
const key = crypto.randomBytes(32);

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => platform?.close());

let n = 0;
/** A fresh account and IPv4 address per test, so tests sharing the file's database never meet. */
function fresh() {
  n++;
  return { account: `user${n}.${crypto.randomBytes(3).toString('hex')}@example.test`, ip: `198.51.100.${n}` };
}

function throttleWith(limits: CredentialThrottleOptions['allPaths'], options: Partial<CredentialThrottleOptions> = {}) {
  return new CredentialThrottle(platform.db, { key, allPaths: limits, ...options });
}

async function fail(t: CredentialThrottle, subject: ThrottleSubject, path: CredentialPath = 'sign-in') {
  await t.check(path, subject);
  await t.recordFailure(path, subject);
}

async function refusal(attempt: Promise<unknown>): Promise<TooManyAttemptsError> {
  const error = await attempt.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TooManyAttemptsError);
  return error as TooManyAttemptsError;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ipThrottleGroup', () => {
  it('keeps an IPv4 address whole', () => {
    expect(ipThrottleGroup('192.0.2.7')).toBe('v4:192.0.2.7');
    expect(ipThrottleGroup(' 192.0.2.7 ')).toBe('v4:192.0.2.7');
  });

  it('groups IPv6 by /64 whatever the notation', () => {
    const group = 'v6:2001:0db8:0001:0002::/64';
    expect(ipThrottleGroup('2001:db8:1:2::1')).toBe(group);
    expect(ipThrottleGroup('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe(group);
    expect(ipThrottleGroup('[2001:db8:1:2::abcd]')).toBe(group);
    expect(ipThrottleGroup('2001:db8:1:2::1.2.3.4')).toBe(group);
    expect(ipThrottleGroup('2001:db8:1:3::1')).toBe('v6:2001:0db8:0001:0003::/64');
    expect(ipThrottleGroup('::1')).toBe('v6:0000:0000:0000:0000::/64');
    expect(ipThrottleGroup('fe80::1%eth0')).toBe('v6:fe80:0000:0000:0000::/64');
  });

  it('reads IPv4-mapped IPv6 as the IPv4 address, in dotted or hex form', () => {
    expect(ipThrottleGroup('::ffff:192.0.2.7')).toBe('v4:192.0.2.7');
    expect(ipThrottleGroup('::FFFF:c000:0207')).toBe('v4:192.0.2.7');
    expect(ipThrottleGroup('0:0:0:0:0:ffff:192.0.2.7')).toBe('v4:192.0.2.7');
  });

  it('puts anything that is not an address into one shared bucket', () => {
    expect(ipThrottleGroup('')).toBe('unparseable');
    expect(ipThrottleGroup('not an ip')).toBe('unparseable');
    expect(ipThrottleGroup('192.0.2.256')).toBe('unparseable');
    expect(ipThrottleGroup('1:2:3:4:5:6:7:8:9')).toBe('unparseable');
  });
});

describe('CredentialThrottle', () => {
  it('refuses the next attempt with 429 and a retry-after once one IP has failed N times on one account', async () => {
    const t = throttleWith({ perAccountIp: { failures: 3, windowSeconds: 60 } });
    const s = fresh();
    for (let i = 0; i < 3; i++) await fail(t, s);
    const error = await refusal(t.check('sign-in', s));
    expect(error.status).toBe(429);
    expect(error.type).toBe('https://custos.invalid/problems/too-many-attempts');
    expect(error.limit).toBe('account-ip');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Still refused: refusals do not wear the limit down.
    await refusal(t.check('sign-in', s));
  });

  it('says nothing about the account or address in the refusal', async () => {
    const t = throttleWith({ perAccountIp: { failures: 1, windowSeconds: 60 } });
    const s = fresh();
    await fail(t, s);
    const error = await refusal(t.check('sign-in', s));
    expect(error.message).toMatch(/^too many attempts; try again in \d+ seconds$/);
  });

  it('lets another IP try the same account until the account lockout, which then holds on every IP', async () => {
    const t = throttleWith({
      perAccountIp: { failures: 3, windowSeconds: 60 },
      perAccount: { failures: 5, windowSeconds: 60, lockSeconds: 120 },
    });
    const { account } = fresh();
    const [a, b, c] = ['203.0.113.1', '203.0.113.2', '203.0.113.3'];
    for (let i = 0; i < 3; i++) await fail(t, { account, ip: a });
    await refusal(t.check('sign-in', { account, ip: a }));
    // A refused attempt verified nothing, so it does not count towards the account.
    await fail(t, { account, ip: b });
    await fail(t, { account, ip: b }); // 5 failures on the account: the limit, not yet over it
    const lock = await refusal(t.check('sign-in', { account, ip: b }));
    expect(lock.limit).toBe('account');
    expect(lock.retryAfterSeconds).toBe(120);
    const elsewhere = await refusal(t.check('sign-in', { account, ip: c }));
    expect(elsewhere.limit).toBe('account');
    expect(elsewhere.retryAfterSeconds).toBeGreaterThan(100);
    // Other accounts from the same addresses are unaffected.
    await t.check('sign-in', { account: fresh().account, ip: c });
  });

  it('doubles the lock on the next lockout, and an admin can lift it', async () => {
    const t = throttleWith({ perAccount: { failures: 2, windowSeconds: 60, lockSeconds: 1, maxLockSeconds: 3 } });
    const { account } = fresh();
    const ips = ['203.0.114.1', '203.0.114.2', '203.0.114.3', '203.0.114.4', '203.0.114.5', '203.0.114.6'];
    await fail(t, { account, ip: ips[0]! });
    await fail(t, { account, ip: ips[1]! });
    expect((await refusal(t.check('sign-in', { account, ip: ips[2]! }))).retryAfterSeconds).toBe(1);
    await sleep(1100);
    await fail(t, { account, ip: ips[2]! });
    await fail(t, { account, ip: ips[3]! });
    expect((await refusal(t.check('sign-in', { account, ip: ips[4]! }))).retryAfterSeconds).toBe(2);
    await t.unlock('sign-in', account);
    await t.check('sign-in', { account, ip: ips[5]! });
  });

  it('resets the account+IP counter on success', async () => {
    const t = throttleWith({ perAccountIp: { failures: 3, windowSeconds: 60 } });
    const s = fresh();
    await fail(t, s);
    await fail(t, s);
    await t.check('sign-in', s);
    await t.recordSuccess('sign-in', s);
    for (let i = 0; i < 3; i++) await fail(t, s);
    await refusal(t.check('sign-in', s));
  });

  it('counts only failures against an IP, so many users behind one NAT can sign in', async () => {
    const t = throttleWith({ perIp: { failures: 3, windowSeconds: 60 } });
    const { ip } = fresh();
    for (let i = 0; i < 10; i++) {
      const s = { account: fresh().account, ip };
      await t.check('sign-in', s);
      await t.recordSuccess('sign-in', s);
    }
  });

  it('limits one IP across many accounts (password spraying)', async () => {
    const t = throttleWith({ perIp: { failures: 3, windowSeconds: 60 } });
    const { ip } = fresh();
    for (let i = 0; i < 3; i++) await fail(t, { account: fresh().account, ip });
    const error = await refusal(t.check('sign-in', { account: fresh().account, ip }));
    expect(error.limit).toBe('ip');
    // Without an account (API tokens) the per-IP counter is the one that applies.
    const tokens = throttleWith({ perIp: { failures: 2, windowSeconds: 60 } });
    await fail(tokens, { ip }, 'api-token');
    await fail(tokens, { ip }, 'api-token');
    expect((await refusal(tokens.check('api-token', { ip }))).limit).toBe('ip');
  });

  it('shares one limit across a /64 and keeps another /64 apart', async () => {
    const t = throttleWith({ perIp: { failures: 3, windowSeconds: 60 } });
    await fail(t, { ip: '2001:db8:aa:1::1' }, 'invitation');
    await fail(t, { ip: '2001:db8:aa:1::2' }, 'invitation');
    await fail(t, { ip: '2001:db8:aa:1:dead:beef:0:1' }, 'invitation');
    await refusal(t.check('invitation', { ip: '2001:db8:aa:1:ffff::9' }));
    await t.check('invitation', { ip: '2001:db8:aa:2::1' });
  });

  it('counts IPv4-mapped IPv6 as the IPv4 address', async () => {
    const t = throttleWith({ perIp: { failures: 2, windowSeconds: 60 } });
    await fail(t, { ip: '192.0.2.77' }, 'password-reset');
    await fail(t, { ip: '::ffff:192.0.2.77' }, 'password-reset');
    await refusal(t.check('password-reset', { ip: '192.0.2.77' }));
    await refusal(t.check('password-reset', { ip: '::ffff:c000:024d' }));
  });

  it('keeps each credential path apart', async () => {
    const t = throttleWith({ perAccountIp: { failures: 2, windowSeconds: 60 } });
    const s = fresh();
    await fail(t, s, 'mfa');
    await fail(t, s, 'mfa');
    await refusal(t.check('mfa', s));
    await t.check('sign-in', s);
  });

  it('treats case and spacing variants of an email as one account', async () => {
    const t = throttleWith({ perAccountIp: { failures: 2, windowSeconds: 60 } });
    const { ip } = fresh();
    await fail(t, { account: 'Carol.Variant@Example.TEST', ip });
    await fail(t, { account: ' carol.variant@example.test', ip });
    await refusal(t.check('sign-in', { account: 'CAROL.VARIANT@EXAMPLE.TEST', ip }));
  });

  it('holds the limit across two server processes on one database', async () => {
    // On PostgreSQL the second "process" has its own connection pools; the embedded database has
    // one connection, so there it is a second throttle instance on the same database.
    const second = platform.databaseUrl ? await openDatabase({ databaseUrl: platform.databaseUrl, poolSize: 2 }) : platform.db;
    try {
      const limits = { perAccountIp: { failures: 4, windowSeconds: 60 } };
      const one = throttleWith(limits);
      const two = new CredentialThrottle(second, { key, allPaths: limits });
      const s = fresh();
      await fail(one, s);
      await fail(two, s);
      await fail(one, s);
      await fail(two, s);
      await refusal(one.check('sign-in', s));
      await refusal(two.check('sign-in', s));
    } finally {
      if (second !== platform.db) await second.close();
    }
  });

  it('lets no more than the limit through from a burst of parallel attempts', async () => {
    const t = throttleWith({ perAccountIp: { failures: 5, windowSeconds: 60 } });
    const s = fresh();
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => t.check('sign-in', s)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TooManyAttemptsError);
  });

  it('forgets failures once the window has passed', async () => {
    const t = throttleWith({ perAccountIp: { failures: 2, windowSeconds: 1 } });
    const s = fresh();
    await fail(t, s);
    await fail(t, s);
    await refusal(t.check('sign-in', s));
    await sleep(1200);
    await t.check('sign-in', s);
    await t.clearExpired();
  });

  it('stores no email or IP address in clear', async () => {
    const t = throttleWith({});
    const email = 'dana.secret-person@school.example.test';
    const ips = ['192.0.2.199', '2001:db8:beef:cafe::42', '::ffff:192.0.2.199'];
    for (const path of ['sign-in', 'password-reset', 'mfa', 'invitation', 'api-token'] as const) {
      for (const ip of ips) {
        await fail(t, { account: email, ip }, path);
        await t.check(path, { account: email, ip });
        await t.recordSuccess(path, { account: email, ip });
      }
    }
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(THROTTLE_TABLE)}`.execute(platform.db.owner)).rows;
    expect(rows.length).toBeGreaterThan(10);
    const columns = Object.keys(rows[0]!).sort();
    expect(columns).toEqual(['expire', 'key', 'points']);
    for (const row of rows) expect(row.key).toMatch(/^[0-9a-f]{64}$/);
    const dump = JSON.stringify(rows).toLowerCase();
    for (const needle of [email, 'dana', 'secret-person', 'school.example', '192.0.2.199', '2001:db8', 'beef:cafe', 'c000:2c7']) {
      expect(dump).not.toContain(needle);
    }
  });

  it('gives the application role row access to the table and nothing more', async () => {
    const result = await sql<{ privilege: string; granted: boolean }>`
      select p as privilege, has_table_privilege(${APP_ROLE}, ${THROTTLE_TABLE}, p) as granted
        from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p`.execute(platform.db.owner);
    expect(Object.fromEntries(result.rows.map((r) => [r.privilege, r.granted]))).toEqual({
      SELECT: true, INSERT: true, UPDATE: true, DELETE: true, TRUNCATE: false, REFERENCES: false, TRIGGER: false,
    });
  });

  it('refuses a short key and nonsensical limits', () => {
    expect(() => new CredentialThrottle(platform.db, { key: crypto.randomBytes(16) })).toThrow(/32 bytes/);
    expect(() => throttleWith({ perIp: { failures: 0 } })).toThrow(/invalid throttle limit/);
    expect(() => throttleWith({ perAccount: { lockSeconds: -1 } })).toThrow(/invalid throttle limit/);
  });
});
