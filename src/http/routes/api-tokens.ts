import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_TOKEN_SCOPES, createApiToken, createApiTokenSchema, listApiTokens, revokeApiToken } from '../../platform/identity/api-tokens.ts';
import { authenticate, requireAccess } from '../auth.ts';
import { BEARER_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { tenantHandler } from '../tenant-route.ts';

export const apiTokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the token, to tell tokens apart'),
    scopes: z.array(z.string()).describe(`Some of: ${API_TOKEN_SCOPES.join(', ')}`),
    issuedBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable().describe('Updated at most once a minute'),
  })
  .meta({ id: 'ApiToken' });

const createdApiTokenSchema = apiTokenSchema
  .extend({ token: z.string().describe('The secret itself: shown this once, only its hash is kept') })
  .meta({ id: 'CreatedApiToken' });

const tokenIdParams = z.strictObject({ id: z.uuid({ error: 'must be an API token id (UUID)' }) });

export async function apiTokenRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/v1/api-tokens',
    {
      onRequest: [authenticate, requireAccess('api_tokens.manage', 'read')],
      schema: {
        tags: ['api-tokens'],
        summary: "The organisation's API tokens (never their secrets)",
        security: BEARER_AUTH,
        response: { 200: z.object({ apiTokens: z.array(apiTokenSchema) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ apiTokens: await listApiTokens(scope) })),
  );

  routes.post(
    '/api/v1/api-tokens',
    {
      onRequest: [authenticate, requireAccess('api_tokens.manage', 'admin')],
      schema: {
        tags: ['api-tokens'],
        summary: 'Issue an API token',
        security: BEARER_AUTH,
        body: z.strictObject(createApiTokenSchema.shape),
        response: { 201: createdApiTokenSchema, ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const { token, info } = await createApiToken(scope, request.body, `${scope.actor.type}:${scope.actor.id}`);
      reply.code(201);
      return { ...info, token };
    }),
  );

  routes.delete(
    '/api/v1/api-tokens/:id',
    {
      onRequest: [authenticate, requireAccess('api_tokens.manage', 'admin')],
      schema: {
        tags: ['api-tokens'],
        summary: 'Revoke an API token',
        security: BEARER_AUTH,
        params: tokenIdParams,
        response: { 204: z.undefined().describe('Revoked'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await revokeApiToken(scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );
}
