import crypto from 'node:crypto';
import { hash, parseOptions, verify, type Algorithm, type Options, type Version } from '@node-rs/argon2';

// The package declares these as ambient const enums, which isolated modules cannot read as values.
const ARGON2ID: Algorithm.Argon2id = 2;
const VERSION_0X13: Version.V0x13 = 1;

/**
 * Password hashing with argon2id (ASVS 11.4.2, SECURITY-CHECKS C02/C56).
 *
 * Parameters: 64 MiB, 3 passes, 1 lane — RFC 9106's second recommended setting (t=3, m=64 MiB),
 * four to five times the work and over three times the memory of OWASP's minimum (m=19 MiB, t=2, p=1),
 * which keeps a GPU or ASIC attacker's cost per guess high for the children's and clients' data
 * these accounts open. One lane rather than RFC 9106's four: lanes only run in parallel inside
 * one hash, so on the 2-core servers we size for they shorten a lone sign-in but add nothing once
 * two sign-ins overlap (measured on 2 cores: p=4 gives 23/s one at a time and 23/s two at a time,
 * p=1 gives 15/s and 28–30/s). The cost — about 63 ms of one core per sign-in, ~30 sign-ins/s on
 * two cores, p99 ~110 ms with both busy, against ~120/s at OWASP's minimum — is reported by
 * `npm run bench -- sign-in`, whose floor is 10 sign-ins/s per core. Memory: each hash in flight
 * holds 64 MiB, at most 4 at once (libuv's default thread pool), so 256 MiB at worst.
 *
 * argon2 reads the whole password (no 72-byte truncation as in bcrypt) and the password is hashed
 * exactly as typed: no trimming, case-folding or normalisation (ASVS 6.2.8, C03).
 */
export const ARGON2_PARAMETERS = Object.freeze({
  algorithm: ARGON2ID,
  version: VERSION_0X13,
  /** KiB (`m=` in the PHC string). */
  memoryCost: 65_536,
  /** Passes (`t=`). */
  timeCost: 3,
  /** Lanes (`p=`). */
  parallelism: 1,
  /** Bytes of hash output. */
  outputLen: 32,
} satisfies Options);

/** A PHC string: `$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`, salt from the CSPRNG (16 bytes). */
export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMETERS);
}

/**
 * Whether the password matches the stored hash, in time that does not depend on how much of it
 * matches. Throws when the stored value is not an argon2 PHC string at all: a damaged hash is a
 * fault to see in the logs, not a wrong password.
 */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  return verify(storedHash, password);
}

/**
 * True when the stored hash was made with other parameters than today's (older, weaker, or not
 * argon2id at all): sign-in then re-hashes the password it has just verified.
 */
export function needsRehash(storedHash: string): boolean {
  let used: ReturnType<typeof parseOptions>;
  try {
    used = parseOptions(storedHash);
  } catch {
    return true;
  }
  return (
    used.algorithm !== ARGON2_PARAMETERS.algorithm ||
    used.version !== ARGON2_PARAMETERS.version ||
    used.memoryCost !== ARGON2_PARAMETERS.memoryCost ||
    used.timeCost !== ARGON2_PARAMETERS.timeCost ||
    used.parallelism !== ARGON2_PARAMETERS.parallelism ||
    used.outputLen !== ARGON2_PARAMETERS.outputLen ||
    used.saltLen < 16
  );
}

let dummyHash: Promise<string> | undefined;

/**
 * The hash of a random password nobody knows, made once per process with today's parameters.
 * Started when this module loads, so the first sign-in for an unknown account does not pay for
 * making it (which would take twice as long as a real verification and tell the account apart).
 */
function dummyHashOnce(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomBytes(32).toString('base64url'));
  return dummyHash;
}
void dummyHashOnce().catch(() => {
  // Reported by the first dummyVerify that awaits it; swallowed here so loading never crashes.
  dummyHash = undefined;
});

/**
 * Spends what a real verification spends, then says no. Sign-in calls it when there is no
 * account or no password yet, so the answer takes about as long whether or not the account exists.
 */
export async function dummyVerify(password: string): Promise<false> {
  await verify(await dummyHashOnce(), password);
  return false;
}

/** Resolves once the dummy hash exists; a server may await it before it starts accepting sign-ins. */
export async function preparePasswordHashing(): Promise<void> {
  await dummyHashOnce();
}
