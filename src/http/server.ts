import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../platform/logging/logger.ts';
import type { Platform } from '../platform/platform.ts';
import { authenticate, postureOfHooks } from './auth.ts';
import { registerOpenApi, registerOpenApiUi } from './openapi.ts';
import { problemErrorHandler } from './problem.ts';
import { registerProtections, requestId } from './protections.ts';
import { accessRoutes } from './routes/access.ts';
import { apiTokenRoutes } from './routes/api-tokens.ts';
import { auditRoutes } from './routes/audit.ts';
import { healthRoutes } from './routes/health.ts';
import { organisationRoutes } from './routes/organisation.ts';
import { authRoutes } from './routes/auth.ts';
import { accountRoutes } from './routes/account.ts';
import { userRoutes } from './routes/users.ts';
import { syncRoutes } from '../products/sync/routes.ts';
import { dataQualityRoutes } from '../products/sync/data-quality-routes.ts';
import { connectionRoutes } from '../products/sync/connection-routes.ts';
import { oneRosterProviderRoutes } from '../products/sync/oneroster-provider-routes.ts';
import { webhookRoutes } from '../products/sync/webhook-routes.ts';
import { portalRoutes } from '../products/client-portal/routes/index.ts';
import { registerWebApp, WEB_DIST_DIR } from './static.ts';
import { httpsOptions } from './tls.ts';

export interface BuildServerOptions {
  logger?: Logger;
  /** Where the web app's build is looked for (tests point this elsewhere). */
  webDistDir?: string;
}

/** One registered route and the security posture declared on its route line. */
export interface RegisteredRoute {
  method: string;
  url: string;
  authenticated: boolean;
  /** What a person's role must include (routes open to API tokens and sessions). */
  permission?: string;
  /** What an API token's scopes must include. */
  scope?: string;
  /** A route for a signed-in person's own account; `beforeMfa` ones may be used before the second factor. */
  session?: { beforeMfa: boolean };
}

const inventories = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the app registered, as seen by its onRoute hook. HEAD is left out: Fastify derives it from GET, hooks included. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(inventories.get(app) ?? [])];
}

function hooksOf(route: RouteOptions): unknown[] {
  const hooks = route.onRequest;
  return Array.isArray(hooks) ? hooks : hooks ? [hooks] : [];
}

/**
 * Builds the HTTP app (not listening). Order matters: protections first so their hooks run on
 * every request, the spec generator before any documented route, the not-found handler last.
 */
export async function buildServer(platform: Platform, options: BuildServerOptions = {}): Promise<FastifyInstance> {
  const https = httpsOptions(platform.config);
  const app = Fastify({
    loggerInstance: options.logger ?? platform.logger,
    genReqId: requestId,
    // The socket address is the client address: no proxy headers are believed.
    trustProxy: false,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;

  const inventory: RegisteredRoute[] = [];
  inventories.set(app, inventory);
  app.addHook('onRoute', (route) => {
    const hooks = hooksOf(route);
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      inventory.push({ method, url: route.url, authenticated: hooks.includes(authenticate), ...postureOfHooks(hooks) });
    }
  });

  app.decorate('platform', platform);
  app.decorateRequest('auth', null);
  app.decorateRequest('requirement', null);
  // Parses the Cookie header for the session routes; nothing is signed with a cookie secret,
  // since the session cookie is a random token checked against its stored hash.
  await app.register(fastifyCookie);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemErrorHandler);

  await registerProtections(app, { https: Boolean(https), rateLimitPerMinute: platform.config.rateLimitPerMinute });
  await registerOpenApi(app);

  await app.register(healthRoutes);
  await app.register(organisationRoutes);
  await app.register(userRoutes);
  await app.register(apiTokenRoutes);
  await app.register(auditRoutes);
  await app.register(accessRoutes);
  await app.register(authRoutes);
  await app.register(accountRoutes);
  await app.register(syncRoutes);
  await app.register(dataQualityRoutes);
  await app.register(connectionRoutes);
  await app.register(oneRosterProviderRoutes);
  await app.register(webhookRoutes);
  await app.register(portalRoutes);

  await registerOpenApiUi(app);
  await registerWebApp(app, options.webDistDir ?? WEB_DIST_DIR);
  return app;
}

/** Builds and listens on the configured host and port (0 picks a free port); HTTPS when TLS is configured. */
export async function startServer(platform: Platform): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildServer(platform);
  await app.listen({ host: platform.config.host, port: platform.config.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${platform.config.tls ? 'https' : 'http'}://${host}:${address.port}`;
  return { app, url, close: () => app.close() };
}
