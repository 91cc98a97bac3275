import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Paths that can carry secrets or personal data. Request bodies and query strings are never
 * logged at all (see the request serializer); these cover headers and anything a caller passes.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.email',
  '*.phone',
  '*.name',
  '*.inviteUrl',
  '*.adminPassword',
  '*.currentPassword',
  '*.newPassword',
  '*.recoveryCode',
  '*.recoveryCodes',
  '*.secret',
  '*.code',
  'req.headers["x-csrf-token"]',
  'email',
  'password',
  'token',
  'inviteUrl',
  'adminPassword',
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        // Only the path: query strings may carry search terms such as names or emails.
        req: (req: { method: string; url: string; id: string }) => ({
          method: req.method,
          path: req.url.split('?')[0],
          id: req.id,
        }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
