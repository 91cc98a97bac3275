import fs from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Config } from '../platform/config/config.ts';

/** The oldest protocol the server will speak: TLS 1.0 and 1.1 handshakes are refused. */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

/**
 * TLS 1.2 suites limited to forward-secret AEAD ones; TLS 1.3 suites are all strong and are
 * configured separately by OpenSSL, so this list does not touch them.
 */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** HTTPS options from the configured certificate and key files, or undefined to serve plain HTTP. */
export function httpsOptions(config: Pick<Config, 'tls'>): (TlsOptions & SecureContextOptions) | undefined {
  if (!config.tls) return undefined;
  return {
    cert: fs.readFileSync(config.tls.certFile),
    key: fs.readFileSync(config.tls.keyFile),
    minVersion: MIN_TLS_VERSION,
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
  };
}
