import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Custos reads, validated once at start-up. A bad value stops the process with a
 * message naming the variable, so nothing ever runs half-configured.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const postgresUrl = optionalString.refine(
  (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
  'must be a postgres:// or postgresql:// URL',
);

const masterKey = optionalString.refine(
  (v) => v === undefined || Buffer.from(v, 'base64').length === 32,
  'must be 32 bytes encoded as base64 (generate one with: openssl rand -base64 32)',
);

export const configSchema = z
  .object({
    DATABASE_URL: postgresUrl,
    DATABASE_APP_URL: postgresUrl,
    CUSTOS_DATA_DIR: z.string().default('./data'),
    CUSTOS_MASTER_KEY: masterKey,
    CUSTOS_MASTER_KEY_PREVIOUS: masterKey,
    PORT: z.coerce.number().int('must be a whole number').min(0).max(65535).default(3000),
    HOST: z.string().default('127.0.0.1'),
    CUSTOS_PUBLIC_URL: optionalString.refine(
      (v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v),
      'must be an http:// or https:// URL',
    ),
    SMTP_URL: optionalString.refine(
      (v) => v === undefined || /^smtps?:\/\//.test(v),
      'must be an smtp:// or smtps:// URL',
    ),
    SMTP_FROM: z.string().default('Custos <no-reply@custos.invalid>'),
    TLS_CERT_FILE: optionalString,
    TLS_KEY_FILE: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
    // 'allow' only where receivers run on this machine (tests, development): see platform/net/outbound.ts.
    // ClamAV's clamd socket for scanning uploads: unix:/run/clamav/clamd.ctl or tcp://host:3310. Unset: not scanned.
    CLAMAV_SOCKET: optionalString.refine((v) => v === undefined || /^(unix:\/|tcp:\/\/)/.test(v), 'must be unix:/path or tcp://host:port'),
    OUTBOUND_PRIVATE_ADDRESSES: z.enum(['refuse', 'allow'], { error: "must be 'refuse' or 'allow'" }).default('refuse'),
    // Online payment (client portal invoices, signing credits, storage). Unset: payment online is off.
    STRIPE_SECRET_KEY: optionalString.refine((v) => v === undefined || /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(v), 'must be a Stripe secret or restricted key (sk_… or rk_…)'),
    STRIPE_WEBHOOK_SECRET: optionalString.refine((v) => v === undefined || /^whsec_\S+$/.test(v), "must be the webhook endpoint's signing secret (whsec_…)"),
    STRIPE_API_BASE: optionalString.refine(
      (v) => v === undefined || /^(https:\/\/[^/\s@?#]+|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)\/?$/.test(v),
      'must be an origin with no path: https://host, or http://127.0.0.1:PORT for a local mock',
    ),
  })
  .superRefine((c, ctx) => {
    if (Boolean(c.TLS_CERT_FILE) !== Boolean(c.TLS_KEY_FILE)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'],
        message: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together',
      });
    }
    if (Boolean(c.STRIPE_SECRET_KEY) !== Boolean(c.STRIPE_WEBHOOK_SECRET)) {
      ctx.addIssue({ code: 'custom', path: [c.STRIPE_SECRET_KEY ? 'STRIPE_WEBHOOK_SECRET' : 'STRIPE_SECRET_KEY'], message: 'STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set together' });
    }
    if (c.STRIPE_API_BASE && !c.STRIPE_SECRET_KEY) {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_API_BASE'], message: 'needs STRIPE_SECRET_KEY as well' });
    }
    if (c.DATABASE_APP_URL && !c.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_APP_URL'], message: 'needs DATABASE_URL as well' });
    }
  });

export type RawConfig = z.input<typeof configSchema>;

export interface Config {
  databaseUrl?: string;
  databaseAppUrl?: string;
  dataDir: string;
  masterKey?: string;
  masterKeyPrevious?: string;
  port: number;
  host: string;
  publicUrl: string;
  smtpUrl?: string;
  smtpFrom: string;
  tls?: { certFile: string; keyFile: string };
  logLevel: z.infer<typeof configSchema>['LOG_LEVEL'];
  rateLimitPerMinute: number;
  /** clamd's socket for scanning uploads; undefined: uploads are recorded as not scanned. */
  clamavSocket?: string;
  /** Whether webhooks may reach loopback and private addresses (never in production). */
  allowPrivateOutbound: boolean;
  /** Stripe for online payment; undefined: the portal's online payment answers 409. */
  stripe?: { secretKey: string; webhookSecret: string; apiBase?: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: { setting: string; reason: string }[]) {
    super(
      'Invalid configuration:\n' + problems.map((p) => `  ${p.setting}: ${p.reason}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Reads configuration from an environment-like object; throws ConfigError naming each bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ setting: String(i.path[0] ?? 'config'), reason: i.message })),
    );
  }
  const c = parsed.data;
  const scheme = c.TLS_CERT_FILE ? 'https' : 'http';
  const shownHost = c.HOST === '0.0.0.0' || c.HOST === '::' ? 'localhost' : c.HOST;
  return {
    databaseUrl: c.DATABASE_URL,
    databaseAppUrl: c.DATABASE_APP_URL,
    dataDir: path.resolve(c.CUSTOS_DATA_DIR),
    masterKey: c.CUSTOS_MASTER_KEY,
    masterKeyPrevious: c.CUSTOS_MASTER_KEY_PREVIOUS,
    port: c.PORT,
    host: c.HOST,
    publicUrl: (c.CUSTOS_PUBLIC_URL ?? `${scheme}://${shownHost}:${c.PORT}`).replace(/\/$/, ''),
    smtpUrl: c.SMTP_URL,
    smtpFrom: c.SMTP_FROM,
    tls: c.TLS_CERT_FILE && c.TLS_KEY_FILE ? { certFile: c.TLS_CERT_FILE, keyFile: c.TLS_KEY_FILE } : undefined,
    logLevel: c.LOG_LEVEL,
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    allowPrivateOutbound: c.OUTBOUND_PRIVATE_ADDRESSES === 'allow',
    clamavSocket: c.CLAMAV_SOCKET,
    stripe:
      c.STRIPE_SECRET_KEY && c.STRIPE_WEBHOOK_SECRET
        ? { secretKey: c.STRIPE_SECRET_KEY, webhookSecret: c.STRIPE_WEBHOOK_SECRET, ...(c.STRIPE_API_BASE ? { apiBase: c.STRIPE_API_BASE } : {}) }
        : undefined,
  };
}
