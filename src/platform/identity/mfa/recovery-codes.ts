import crypto from 'node:crypto';
import { hashSecret } from '../tokens.ts';

/**
 * One-time recovery codes for someone who has lost their authenticator.
 *
 * Alphabet: Crockford's base32 in lower case (no i, l, o or u), so a code copied by hand is
 * unambiguous and the usual misreadings (o for 0, i or l for 1) are corrected on input.
 * Length: 16 symbols × 5 bits = 80 bits from the CSPRNG, shown as `xxxx-xxxx-xxxx-xxxx`.
 *
 * Storage: only SHA-256 of the normalised code. A slow password hash (argon2id) exists to stop
 * guessing of low-entropy human passwords; these codes are random with 80 bits, so even with a stolen
 * table an offline search needs ~2^79 SHA-256 evaluations per code, out of reach. (50 bits, the
 * other common choice, would be within reach of a GPU farm for a plain hash, hence the length.)
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 4;
const GROUP_LENGTH = 4;
const CODE_LENGTH = GROUPS * GROUP_LENGTH;
export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_BITS = CODE_LENGTH * Math.log2(ALPHABET.length);

function newRecoveryCode(): string {
  // 32 symbols: each random byte's low 5 bits pick one with no modulo bias.
  const bytes = crypto.randomBytes(CODE_LENGTH);
  let symbols = '';
  for (const byte of bytes) symbols += ALPHABET[byte & 31];
  const groups: string[] = [];
  for (let i = 0; i < CODE_LENGTH; i += GROUP_LENGTH) groups.push(symbols.slice(i, i + GROUP_LENGTH));
  return groups.join('-');
}

/**
 * A fresh set of codes to show the user once, and their hashes, the only form stored
 * (recovery_codes.code_hash). Generating a new set should replace the old one entirely.
 */
export function newRecoveryCodes(count: number = RECOVERY_CODE_COUNT): { codes: string[]; hashes: string[] } {
  if (!Number.isInteger(count) || count < 1) throw new Error('recovery code count must be a positive integer');
  const codes = new Set<string>();
  while (codes.size < count) codes.add(newRecoveryCode());
  const list = [...codes];
  return { codes: list, hashes: list.map((code) => hashSecret(normaliseRecoveryCode(code)!)) };
}

/**
 * The canonical form of typed input: case-insensitive, spaces and dashes ignored, o→0 and i/l→1.
 * Undefined when the input cannot be a recovery code at all.
 */
export function normaliseRecoveryCode(input: string): string | undefined {
  const code = input
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\-\u2010-\u2015\u2212_]+/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
  if (code.length !== CODE_LENGTH) return undefined;
  for (const char of code) if (!ALPHABET.includes(char)) return undefined;
  return code;
}

/**
 * Which of the user's unused code hashes the input matches, or undefined. Every hash is compared,
 * in constant time, without stopping at a match. The caller marks the returned hash used (in the
 * same transaction, e.g. `UPDATE … SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL`
 * and checking one row changed) so that each code works once.
 */
export function matchRecoveryCode(input: string, unusedHashes: readonly string[]): string | undefined {
  const code = normaliseRecoveryCode(input);
  if (code === undefined) return undefined;
  const given = Buffer.from(hashSecret(code), 'hex');
  let found: string | undefined;
  for (const hash of unusedHashes) {
    const stored = Buffer.from(hash, 'hex');
    if (stored.length === given.length && crypto.timingSafeEqual(stored, given) && found === undefined) found = hash;
  }
  return found;
}
