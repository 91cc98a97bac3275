import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { AppError, PROBLEM_BASE } from '../platform/errors.ts';
import { isUuid } from '../platform/tenancy/tenant-scope.ts';

/** A caller's `x-request-id` is kept only if it is a UUID, so it cannot smuggle text into logs or audit. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && isUuid(incoming) ? incoming.toLowerCase() : crypto.randomUUID();
}

export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  // data: for server-drawn images such as the MFA enrolment QR code; scripts stay 'self' only.
  'img-src': ["'self'", 'data:'],
  'frame-ancestors': ["'none'"],
  'object-src': ["'none'"],
  'script-src-attr': ["'none'"],
};

/**
 * Security headers, a per-IP rate limit and the request id echo. Registered first, so their hooks
 * run before anything else on every route (and on unknown routes too).
 */
export async function registerProtections(app: FastifyInstance, options: { https: boolean; rateLimitPerMinute: number }): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // HSTS over plain HTTP means nothing to browsers and would pin a dev host to HTTPS.
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });

  await app.register(fastifyRateLimit, {
    // Not the plugin's `global` mode: that appends its hook after each route's own onRequest
    // hooks, so a failed token check would answer 401 before the attempt was even counted.
    global: false,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    // The key is the socket's address (trustProxy is off), so X-Forwarded-For cannot dodge it.
    errorResponseBuilder: (_request, context) =>
      new AppError(429, `${PROBLEM_BASE}rate-limited`, 'Too many requests', `rate limit of ${context.max} requests a minute reached; retry in ${context.after}`),
  });
  // A root hook runs before every route's hooks (authenticate included) and on unknown routes.
  app.addHook('onRequest', app.rateLimit());

  // Responses to API calls carry tenant data: no browser or proxy may keep them.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/api/') && !request.url.startsWith('/api/docs')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
