import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../http/auth.ts';
import { BEARER_AUTH } from '../../http/openapi.ts';
import { problemResponses } from '../../http/problem.ts';
import { tenantHandler } from '../../http/tenant-route.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';
import { deleteWebhook, latestChangeSeq, listWebhooks, registerWebhook, registerWebhookJobs, replayWebhookIn, type ReplayInput, type WebhookInput } from './webhooks.ts';

// Loading the routes registers the sync permissions.
void SYNC_PERMISSIONS;

/**
 * Signed change-event webhooks under /api/v1/sync/webhooks: list (secrets masked; 'sync.read',
 * read tokens), register, remove and replay ('sync.sharing', admin tokens). Registering these
 * routes also defines the delivery job (run here when the process runs workers).
 */

const webhookSchemaOut = z
  .object({
    id: z.uuid(),
    grantee: z.string(),
    url: z.string(),
    secret: z.string().describe('******** in lists; the signing secret itself only in the answer to registration'),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'SyncWebhook' });

const idParams = z.strictObject({ id: z.uuid({ error: 'must be a webhook id (UUID)' }) });

export async function webhookRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  await registerWebhookJobs(platform);

  routes.get(
    '/api/v1/sync/webhooks',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: "The school's change-event webhooks (secrets masked)",
        security: BEARER_AUTH,
        response: {
          200: z.object({
            webhooks: z.array(webhookSchemaOut),
            latestSeq: z.number().int().nullable().describe("the number of the school's newest change event (null before the first): replays are asked from a number up to it"),
          }),
          ...problemResponses(401, 403, 429),
        },
      },
    },
    tenantHandler(async (_request, scope) => ({ webhooks: await listWebhooks(scope), latestSeq: await latestChangeSeq(scope) })),
  );

  routes.post(
    '/api/v1/sync/webhooks',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Send signed change events to a linked app after every import',
        description:
          'Deliveries POST {runId, events: [{seq, entity, id, change, fields}]} filtered by the grantee’s current grant, signed with ' +
          'Custos-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. The secret is shown in this answer only. ' +
          'https only (plain http only to 127.0.0.1 or localhost).',
        security: BEARER_AUTH,
        body: z.strictObject({ grantee: z.string(), url: z.string() }),
        response: { 201: webhookSchemaOut, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await registerWebhook(scope, request.body as WebhookInput);
      reply.code(201);
      return created;
    }),
  );

  routes.delete(
    '/api/v1/sync/webhooks/:id',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Remove a webhook: nothing more is sent to it and its secret is erased',
        security: BEARER_AUTH,
        params: idParams,
        response: { 204: z.undefined().describe('Removed'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await deleteWebhook(scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );

  routes.post(
    '/api/v1/sync/webhooks/:id/replay',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Send the change events after a sequence number again (one delivery per run)',
        security: BEARER_AUTH,
        params: idParams,
        body: z.strictObject({ sinceSeq: z.unknown() }),
        response: { 202: z.object({ queued: z.number().int() }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const queued = await replayWebhookIn(platform, scope, request.params.id, request.body as ReplayInput);
      reply.code(202);
      return queued;
    }),
  );
}
