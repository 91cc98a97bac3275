import crypto from 'node:crypto';

/** Lower-case hex SHA-256: the form stored beside a document and shown on the verification page. */
export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}
