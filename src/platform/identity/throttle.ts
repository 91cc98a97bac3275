import crypto from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import { AppError, PROBLEM_BASE } from '../errors.ts';
import { ipThrottleGroup } from './ip.ts';

/**
 * Brute-force throttling for every path that accepts a credential (security check C10).
 *
 * Three counters per path, all in PostgreSQL (rate-limiter-flexible's PostgreSQL store) so they hold
 * across every server process:
 * - per IP (an IPv6 client is its /64, see ip.ts): stops one source spraying many accounts;
 * - per account + IP: stops one source guessing one account, without letting it lock the account
 *   for everybody else;
 * - per account, across all IPs: the lockout. Crossing it locks the account for `lockSeconds`,
 *   doubling with each further lockout within `escalationWindowSeconds`, up to `maxLockSeconds`.
 *
 * Use, around every credential check:
 *
 *     await throttle.check('sign-in', { account: email, ip });   // throws TooManyAttemptsError (429)
 *     if (ok) await throttle.recordSuccess('sign-in', { account: email, ip });
 *     else await throttle.recordFailure('sign-in', { account: email, ip });
 *
 * `check` reserves the attempt atomically (an INSERT … ON CONFLICT … RETURNING per counter) and
 * counts it as a failure from that moment: a burst of parallel requests cannot all pass a
 * read-only check before any failure is written, and an attempt whose verification crashes stays
 * counted. `recordSuccess` gives the reservation back and resets the account+IP counter;
 * `recordFailure` therefore writes nothing — it is there so every call site states its outcome.
 * An attempt refused by one counter is given back to the others: it verified nothing, and one
 * user hammering a locked account must not use up the per-IP budget of a whole school behind NAT.
 *
 * `account` is the identifier as submitted (the email typed in, a token's user), never "the user if
 * found": an unknown email is throttled exactly like a known one, so the throttle reveals nothing
 * about who has an account. It is normalised (NFKC, trimmed, lower case) so case variants share
 * one counter.
 *
 * Stored keys are HMAC-SHA256(key, `path|kind|value`) in hex, so the table holds no email or IP in
 * clear. It is not customer data and is read before any tenant is known, so it has no tenant_id
 * and no RLS; the application role (`custos_app`, the `app` handle) has SELECT/INSERT/UPDATE/DELETE
 * on this one table (migration 0003) and the throttle never needs the owner handle.
 *
 * Build one per process (each instance starts the store's unref'd clean-up timer).
 *
 * On the embedded database there is one connection: do not call the throttle from inside an open
 * transaction (it would wait for the connection that transaction holds). Call it before and after.
 */

export const CREDENTIAL_PATHS = ['sign-in', 'password-reset', 'mfa', 'invitation', 'api-token', 'sign-up'] as const;
export type CredentialPath = (typeof CREDENTIAL_PATHS)[number];

export interface ThrottleSubject {
  /** The account identifier as submitted (email, user id); omit when none is known (API tokens). */
  account?: string;
  /** The client's address as the server sees it (request.ip). */
  ip: string;
}

export interface WindowLimit {
  /** Failures allowed in the window; the next attempt is refused until the window ends. */
  failures: number;
  /** The window starts at the first failure (a fixed window, not sliding). */
  windowSeconds: number;
}

export interface LockoutLimit extends WindowLimit {
  /** How long the account is locked when it has more than `failures` in the window. */
  lockSeconds: number;
  /** Each further lockout within `escalationWindowSeconds` doubles the lock, up to this. */
  maxLockSeconds: number;
  escalationWindowSeconds: number;
}

export interface PathLimits {
  perIp: WindowLimit;
  perAccountIp: WindowLimit;
  perAccount: LockoutLimit;
}

export interface PathLimitOverrides {
  perIp?: Partial<WindowLimit>;
  perAccountIp?: Partial<WindowLimit>;
  perAccount?: Partial<LockoutLimit>;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;

/**
 * Defaults, chosen for schools and practices where many users share one NAT address:
 * - per IP 100 failures / 15 min: a busy school's morning typos stay well below it, one source
 *   spraying passwords is cut to ~9,600 guesses a day per path;
 * - per account+IP 10 failures / 15 min (MFA: 5): plenty for a user who mistypes, few for a guesser;
 * - per account 20 failures / 1 h from all IPs together (MFA: 10) → locked 15 min, then 30 min,
 *   1 h, … up to 24 h while lockouts keep coming within 24 h: at most ~160 guesses a day per
 *   account however many addresses an attacker has (NIST SP 800-63B asks for ≤ 100 consecutive
 *   failures; ASVS 6.3.1 for throttling, not a permanent lock, so the lock always lapses).
 * The lockout can be triggered by anyone who knows an email address (inherent in lockouts); it
 * lapses on its own and `unlock` lets an admin lift it early.
 */
const STANDARD: PathLimits = {
  perIp: { failures: 100, windowSeconds: 15 * MINUTE },
  perAccountIp: { failures: 10, windowSeconds: 15 * MINUTE },
  perAccount: { failures: 20, windowSeconds: HOUR, lockSeconds: 15 * MINUTE, maxLockSeconds: 24 * HOUR, escalationWindowSeconds: 24 * HOUR },
};

export const DEFAULT_THROTTLE_LIMITS: Readonly<Record<CredentialPath, PathLimits>> = {
  'sign-in': STANDARD,
  'password-reset': STANDARD,
  // A TOTP code is 6 digits: fewer tries per account than for a password.
  mfa: {
    ...STANDARD,
    perAccountIp: { failures: 5, windowSeconds: 15 * MINUTE },
    perAccount: { ...STANDARD.perAccount, failures: 10 },
  },
  invitation: STANDARD,
  // Bearer tokens arrive without an account: the per-IP counter is the one that applies.
  'api-token': STANDARD,
  // Each sign-up makes an organisation and sends an email: a handful per address an hour is plenty.
  'sign-up': {
    perIp: { failures: 10, windowSeconds: HOUR },
    perAccountIp: { failures: 3, windowSeconds: HOUR },
    perAccount: { failures: 5, windowSeconds: 24 * HOUR, lockSeconds: HOUR, maxLockSeconds: 24 * HOUR, escalationWindowSeconds: 24 * HOUR },
  },
};

export type ThrottleLimitKind = 'ip' | 'account-ip' | 'account';

export class TooManyAttemptsError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(
    retryAfterMs: number,
    /** Which counter refused (for logs); deliberately not in the message. */
    readonly limit: ThrottleLimitKind,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    // One wording for every case: it says nothing about whether the account exists.
    super(429, `${PROBLEM_BASE}too-many-attempts`, 'Too many attempts', `too many attempts; try again in ${seconds} seconds`);
    this.retryAfterSeconds = seconds;
  }
}

export interface CredentialThrottleOptions {
  /** Key of the HMAC that names the stored counters (≥ 32 bytes); derived from the master key. */
  key: Uint8Array;
  /** Applied to every path on top of the defaults… */
  allPaths?: PathLimitOverrides;
  /** …and then these, per path. */
  limits?: Partial<Record<CredentialPath, PathLimitOverrides>>;
}

export const THROTTLE_TABLE = 'credential_throttle';

interface PathLimiters {
  limits: PathLimits;
  ip: RateLimiterPostgres;
  accountIp: RateLimiterPostgres;
  account: RateLimiterPostgres;
  lockouts: RateLimiterPostgres;
}

interface SubjectKeys {
  ip: string;
  accountIp?: string;
  account?: string;
  lockouts?: string;
}

/** The client object rate-limiter-flexible's PostgreSQL store talks to. */
interface StoreClient {
  query(q: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
}

export class CredentialThrottle {
  private readonly key: Buffer;
  private readonly client: StoreClient;
  private readonly paths: Record<CredentialPath, PathLimiters>;

  constructor(db: Pick<Database, 'app'>, options: CredentialThrottleOptions) {
    if (options.key.length < 32) throw new Error('the throttle key must be at least 32 bytes');
    this.key = Buffer.from(options.key);
    this.client = kyselyStoreClient(db.app);
    const paths = {} as Record<CredentialPath, PathLimiters>;
    for (const path of CREDENTIAL_PATHS) {
      const limits = mergeLimits(DEFAULT_THROTTLE_LIMITS[path], options.allPaths, options.limits?.[path]);
      paths[path] = {
        limits,
        // One limiter runs the library's clean-up of long-expired rows (every 5 min, timer unref'd).
        ip: this.limiter(limits.perIp, path === 'sign-in'),
        accountIp: this.limiter(limits.perAccountIp),
        account: this.limiter(limits.perAccount),
        lockouts: this.limiter({ failures: 1_000_000, windowSeconds: limits.perAccount.escalationWindowSeconds }),
      };
    }
    this.paths = paths;
  }

  /**
   * Call before verifying a credential. Reserves this attempt on every counter that applies and
   * throws TooManyAttemptsError when any of them is over its limit.
   */
  async check(path: CredentialPath, subject: ThrottleSubject): Promise<void> {
    const keys = this.keysFor(path, subject);
    const p = this.paths[path];
    const [ip, accountIp, account] = await Promise.all([
      take(p.ip, keys.ip),
      keys.accountIp ? take(p.accountIp, keys.accountIp) : undefined,
      keys.account ? p.account.penalty(keys.account, 1) : undefined,
    ]);

    const refusals: { limit: ThrottleLimitKind; ms: number }[] = [];
    if (ip.refusedForMs !== undefined) refusals.push({ limit: 'ip', ms: ip.refusedForMs });
    if (accountIp?.refusedForMs !== undefined) refusals.push({ limit: 'account-ip', ms: accountIp.refusedForMs });

    if (refusals.length > 0) {
      // Refused before the account counter had its say: give back what this attempt reserved.
      await Promise.all([
        ip.refusedForMs === undefined ? this.refund(keys.ip) : undefined,
        accountIp && accountIp.refusedForMs === undefined ? this.refund(keys.accountIp!) : undefined,
        account ? this.refund(keys.account!) : undefined,
      ]);
      const longest = refusals.reduce((a, b) => (b.ms > a.ms ? b : a));
      throw new TooManyAttemptsError(longest.ms, longest.limit);
    }

    if (account && account.consumedPoints > p.limits.perAccount.failures) {
      await Promise.all([this.refund(keys.ip), this.refund(keys.accountIp!)]);
      // Exactly one attempt sees the count cross the limit (the upsert is atomic): it sets the lock.
      if (account.consumedPoints === p.limits.perAccount.failures + 1) {
        const lockouts = await p.lockouts.penalty(keys.lockouts!, 1);
        const { lockSeconds, maxLockSeconds } = p.limits.perAccount;
        const seconds = Math.min(lockSeconds * 2 ** Math.max(0, lockouts.consumedPoints - 1), maxLockSeconds);
        await p.account.block(keys.account!, seconds);
        throw new TooManyAttemptsError(seconds * 1000, 'account');
      }
      throw new TooManyAttemptsError(account.msBeforeNext, 'account');
    }
  }

  /**
   * Call after a failed verification. `check` already counted the attempt as a failure, so this
   * writes nothing; it validates its arguments so a wrong call site fails in tests.
   */
  async recordFailure(path: CredentialPath, subject: ThrottleSubject): Promise<void> {
    this.keysFor(path, subject);
  }

  /** Call after a successful verification: gives back the reservation and resets account+IP. */
  async recordSuccess(path: CredentialPath, subject: ThrottleSubject): Promise<void> {
    const keys = this.keysFor(path, subject);
    const p = this.paths[path];
    await Promise.all([
      this.refund(keys.ip),
      keys.accountIp ? p.accountIp.delete(keys.accountIp) : undefined,
      keys.account ? this.refund(keys.account) : undefined,
    ]);
  }

  /** Lifts an account's lockout on one path (an admin's action), and forgets its escalation. */
  async unlock(path: CredentialPath, account: string): Promise<void> {
    const keys = this.keysFor(path, { account, ip: '' });
    const p = this.paths[path];
    await Promise.all([p.account.delete(keys.account!), p.lockouts.delete(keys.lockouts!)]);
  }

  /** Deletes rows whose window ended; the store also does this itself every few minutes. */
  async clearExpired(): Promise<void> {
    await this.client.query({ text: `DELETE FROM ${THROTTLE_TABLE} WHERE expire < $1`, values: [Date.now()] });
  }

  private limiter(limit: WindowLimit, clearExpiredByTimeout = false): RateLimiterPostgres {
    return new RateLimiterPostgres({
      storeClient: this.client,
      // Any type but the ORM ones makes the store use `storeClient.query` directly.
      storeType: 'pool',
      tableName: THROTTLE_TABLE,
      // Created by migration 0003: the application role cannot CREATE.
      tableCreated: true,
      clearExpiredByTimeout,
      // The stored key is the bare HMAC: the path and kind are inside it.
      keyPrefix: '',
      points: limit.failures,
      duration: limit.windowSeconds,
    });
  }

  /**
   * Gives back one reserved point. Not the library's `reward`: on a counter whose window has just
   * lapsed that would store -1, a free extra attempt in the next window.
   */
  private async refund(key: string): Promise<void> {
    await this.client.query({
      text: `UPDATE ${THROTTLE_TABLE} SET points = points - 1 WHERE key = $1 AND points > 0 AND expire > $2`,
      values: [key, Date.now()],
    });
  }

  private keysFor(path: CredentialPath, subject: ThrottleSubject): SubjectKeys {
    if (!CREDENTIAL_PATHS.includes(path)) throw new Error(`unknown credential path ${String(path)}`);
    const ip = ipThrottleGroup(subject.ip);
    const hash = (kind: string, value: string) =>
      crypto.createHmac('sha256', this.key).update(`${path}|${kind}|${value}`).digest('hex');
    if (subject.account === undefined) return { ip: hash('ip', ip) };
    const account = subject.account.normalize('NFKC').trim().toLowerCase();
    return {
      ip: hash('ip', ip),
      // The IP group never contains '|', so "ip|account" cannot be confused with another pair.
      accountIp: hash('account-ip', `${ip}|${account}`),
      account: hash('account', account),
      lockouts: hash('lockouts', account),
    };
  }
}

/** Consumes one point; `refusedForMs` is set when that took the counter over its limit. */
async function take(limiter: RateLimiterPostgres, key: string): Promise<{ refusedForMs?: number }> {
  try {
    await limiter.consume(key, 1);
    return {};
  } catch (error) {
    // The library rejects with a RateLimiterRes when over the limit, with an Error when the store
    // fails; the latter propagates, so a database failure refuses the attempt (fails closed).
    if (error instanceof RateLimiterRes) return { refusedForMs: error.msBeforeNext };
    throw error;
  }
}

/**
 * The store's client, on the application role's Kysely handle: a pg pool on PostgreSQL, the
 * PgliteGate-serialised connection (with SET ROLE custos_app) on the embedded database.
 */
function kyselyStoreClient(db: Kysely<DB>): StoreClient {
  return {
    async query(q) {
      const result = await db.executeQuery(CompiledQuery.raw(q.text, q.values ?? []));
      const rows = (result.rows as Record<string, unknown>[]).map((row) =>
        // bigint `expire` as a number whatever the driver's int8 parsing (ms timestamps < 2^53).
        row.expire === undefined || row.expire === null ? row : { ...row, expire: Number(row.expire) },
      );
      // The store reads rowCount (0 = key not found, > 0 = deleted). Kysely reports affected rows
      // for writes only on pg, and 0 for a SELECT on PGlite, so take whichever is larger.
      return { rows, rowCount: Math.max(rows.length, Number(result.numAffectedRows ?? 0)) };
    },
  };
}

function mergeLimits(base: PathLimits, ...overrides: (PathLimitOverrides | undefined)[]): PathLimits {
  let limits = base;
  for (const o of overrides) {
    if (!o) continue;
    limits = {
      perIp: { ...limits.perIp, ...o.perIp },
      perAccountIp: { ...limits.perAccountIp, ...o.perAccountIp },
      perAccount: { ...limits.perAccount, ...o.perAccount },
    };
  }
  for (const [name, limit] of Object.entries(limits) as [string, WindowLimit & Partial<LockoutLimit>][]) {
    const positive = [limit.windowSeconds, limit.lockSeconds ?? 1, limit.maxLockSeconds ?? 1, limit.escalationWindowSeconds ?? 1];
    if (!Number.isInteger(limit.failures) || limit.failures < 1 || positive.some((n) => !(n > 0))) {
      throw new Error(`invalid throttle limit ${name}`);
    }
  }
  return limits;
}
