import crypto from 'node:crypto';
import { generateSync, ScureBase32Plugin } from 'otplib';
import type { TenantCipher } from '../../crypto/tenant-keys.ts';

/**
 * TOTP (RFC 6238) as every authenticator app supports it: HMAC-SHA-1, 6 digits, 30-second steps.
 * otplib computes the codes; the window, the replay rule and the comparison are ours so that the
 * caller learns *why* a code was refused and which step to store.
 */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/**
 * Steps of clock drift accepted either side of the current one (±30 s). SECURITY-CHECKS C20 prefers
 * past-only tolerance of a few seconds; we accept one step each way because phone clocks drift and
 * people type slowly (RFC 6238 §5.2 recommends at most one step). This is a recorded deviation: each
 * code is still usable once (replay refused) and MFA attempts are throttled by the caller.
 */
export const TOTP_DRIFT_STEPS = 1;
/** Where the sealed secret lives (users.totp_secret_enc); bound into the ciphertext. */
export const TOTP_SECRET_PURPOSE = 'users.totp_secret';

const base32 = new ScureBase32Plugin();

/** A new shared secret: 160 random bits (RFC 4226's recommended length), base32 without padding. */
export function newTotpSecret(): string {
  return base32.encode(crypto.randomBytes(20), { padding: false });
}

/**
 * The otpauth:// URI an authenticator app reads from the QR code (Google's Key URI format):
 * label `Issuer:account`, each part percent-encoded, issuer repeated as a parameter, and the
 * algorithm, digits and period spelt out rather than left to each app's defaults.
 */
export function totpUri(options: { secret: string; accountName: string; issuer?: string }): string {
  const issuer = options.issuer ?? 'Custos';
  const { secret, accountName } = options;
  // The label's one colon separates issuer from account; apps split on it even when encoded.
  if (!issuer || issuer.includes(':')) throw new Error('TOTP issuer must be non-empty and contain no colon');
  if (!accountName || accountName.includes(':')) throw new Error('TOTP account name must be non-empty and contain no colon');
  if (!/^[A-Z2-7]+$/.test(secret)) throw new Error('TOTP secret must be unpadded upper-case base32');
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const query = [
    `secret=${secret}`,
    `issuer=${encodeURIComponent(issuer)}`,
    `algorithm=${TOTP_ALGORITHM}`,
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_SECONDS}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

/** The RFC 6238 time step T = floor(unix seconds / 30) for a moment. */
export function totpStep(now: Date = new Date()): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

function codeForStep(secret: string, step: number): string {
  return generateSync({
    secret,
    epoch: step * TOTP_PERIOD_SECONDS,
    period: TOTP_PERIOD_SECONDS,
    digits: TOTP_DIGITS,
    algorithm: 'sha1',
  });
}

/** The code an authenticator app shows at `now` (for tests and the demo; never log it). */
export function currentTotp(secret: string, now: Date = new Date()): string {
  return codeForStep(secret, totpStep(now));
}

export type TotpVerification = { ok: true; step: number } | { ok: false; reason: 'malformed' | 'wrong' | 'replayed' };

/** Strips spaces (apps show `123 456`); anything else that is not exactly six digits is malformed. */
export function normaliseTotpCode(input: string): string | undefined {
  const code = input.replace(/\s+/g, '');
  return /^[0-9]{6}$/.test(code) ? code : undefined;
}

/**
 * Checks a code against the current step and one step either side. Each step's code is accepted
 * once: a code whose step is at or before `lastUsedStep` is 'replayed'. On success the caller must
 * store the returned `step` as the new `lastUsedStep` (users.totp_last_step) in the same
 * transaction that accepts the sign-in, so two concurrent requests cannot both use one code.
 */
export function verifyTotp(options: {
  secret: string;
  code: string;
  lastUsedStep: number | null | undefined;
  now?: Date;
}): TotpVerification {
  const code = normaliseTotpCode(options.code);
  if (code === undefined) return { ok: false, reason: 'malformed' };
  const current = totpStep(options.now);
  const lastUsed = options.lastUsedStep ?? -1;
  const given = Buffer.from(code, 'ascii');
  // Compare against every step in the window, without stopping early, in constant time.
  const matched: number[] = [];
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    const expected = Buffer.from(codeForStep(options.secret, step), 'ascii');
    if (crypto.timingSafeEqual(given, expected)) matched.push(step);
  }
  if (matched.length === 0) return { ok: false, reason: 'wrong' };
  // Two steps sharing a code is a one-in-a-million coincidence; take the earliest one not yet used.
  const fresh = matched.find((step) => step > lastUsed);
  return fresh === undefined ? { ok: false, reason: 'replayed' } : { ok: true, step: fresh };
}

/** Seals the secret with the tenant's data key for users.totp_secret_enc. */
export function sealTotpSecret(cipher: TenantCipher, secret: string): string {
  return cipher.seal(TOTP_SECRET_PURPOSE, secret);
}

export function openTotpSecret(cipher: TenantCipher, sealed: string): string {
  return cipher.open(TOTP_SECRET_PURPOSE, sealed);
}
