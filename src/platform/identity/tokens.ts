import crypto from 'node:crypto';

/** A random secret for a link or a bearer token, and the only form of it the database keeps. */
export function newSecret(prefix = ''): { secret: string; hash: string } {
  const secret = prefix + crypto.randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

/** Secrets are 256-bit random, so a plain SHA-256 is enough: there is nothing to brute-force. */
export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}
