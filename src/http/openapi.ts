import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

export const DOCS_PREFIX = '/api/docs';
export const OPENAPI_JSON = '/api/openapi.json';

/** The security requirement of routes open to API tokens and web sessions alike. */
export const BEARER_AUTH: Record<string, string[]>[] = [{ bearerAuth: [] }, { sessionCookie: [] }];
/** Routes for a signed-in person only (their own account, MFA, sign-out). */
export const SESSION_AUTH: Record<string, string[]>[] = [{ sessionCookie: [] }];

/**
 * OpenAPI 3.1 generated from the routes' zod schemas (one contract source: the same schemas
 * validate requests and shape responses). Must be registered before any documented route.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Custos API',
        version: '1',
        description:
          'Every response is JSON; every error is RFC 9457 `application/problem+json`. Each call acts for the ' +
          'organisation that owns the API token, and nothing else.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'cst_…',
            description: 'An organisation API token. Scope `read` may read; `admin` may also invite, manage tokens and read the audit trail.',
          },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-custos_session',
            description:
              'The web app\'s session (named `custos_session` on plain HTTP). State-changing requests must echo the ' +
              '`__Host-custos_csrf` cookie in an `X-CSRF-Token` header.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
}

/** The interactive docs and the raw spec; call after the documented routes are registered. */
export async function registerOpenApiUi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    // Swagger UI's page loads only its own script files, so our CSP holds with two additions for
    // these pages: its logo and icons are data: URIs, and it lays out with style attributes.
    transformStaticCSP: (header) =>
      `${header}; img-src 'self' data:; style-src 'self' 'unsafe-inline'`.replace(/;\s*;/g, ';'),
    uiConfig: { deepLinking: false },
  });
  app.get(OPENAPI_JSON, { schema: { hide: true } }, async () => app.swagger());
}
