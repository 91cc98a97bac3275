import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../http/auth.ts';
import { BEARER_AUTH } from '../../http/openapi.ts';
import { problemResponses } from '../../http/problem.ts';
import { tenantHandler } from '../../http/tenant-route.ts';
import { CONNECTION_KINDS, createConnection, deleteConnection, listConnections, SCHEDULES, type ConnectionInput } from './connections.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';
import { enqueueConnectionRun, registerSyncJobs } from './sync-job.ts';

// Loading the routes registers the sync permissions.
void SYNC_PERMISSIONS;

/**
 * Saved MIS connections (OneRoster REST, Wonde) under /api/v1/sync/connections: list (secrets
 * masked; 'sync.read', read tokens), create and remove ('sync.manage', admin tokens), and
 * "sync now", which queues a run and answers 202 at once. Registering these routes also defines
 * the sync jobs (and, in a process that runs workers, the nightly schedule).
 */

const connectionSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(CONNECTION_KINDS),
    name: z.string(),
    schedule: z.enum(SCHEDULES).nullable(),
    createdAt: z.string(),
    settings: z.record(z.string(), z.string()).describe('Endpoint and client id in clear; the client secret or token shown as ********'),
    lastRun: z.object({ id: z.uuid(), status: z.string(), startedAt: z.string(), finishedAt: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'SyncConnection' });

const createBody = z.object({
  kind: z.string().describe(`One of ${CONNECTION_KINDS.join(', ')}`),
  name: z.string(),
  settings: z
    .record(z.string(), z.unknown())
    .describe('oneroster-rest: {baseUrl, tokenUrl, clientId, clientSecret, version: "1.1"|"1.2"}; wonde: {baseUrl?, token, schoolId}'),
  schedule: z.string().nullable().optional().describe("'nightly' (02:00 UK time) or null"),
});

const idParams = z.strictObject({ id: z.uuid({ error: 'must be a connection id (UUID)' }) });

export async function connectionRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  await registerSyncJobs(platform);

  routes.get(
    '/api/v1/sync/connections',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: "The school's MIS connections, with each one's last run",
        security: BEARER_AUTH,
        response: { 200: z.object({ connections: z.array(connectionSchema) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ connections: await listConnections(scope) })),
  );

  routes.post(
    '/api/v1/sync/connections',
    {
      onRequest: [authenticate, requireAccess('sync.manage', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Save a connection to the school’s MIS (OneRoster REST or Wonde)',
        description: 'The settings are sealed with the school’s key; the secret is never shown again.',
        security: BEARER_AUTH,
        body: createBody,
        response: { 201: connectionSchema, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await createConnection(scope, request.body as ConnectionInput);
      reply.code(201);
      return created;
    }),
  );

  routes.delete(
    '/api/v1/sync/connections/:id',
    {
      onRequest: [authenticate, requireAccess('sync.manage', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Remove a connection: it stops running and its credentials are erased',
        security: BEARER_AUTH,
        params: idParams,
        response: { 204: z.undefined().describe('Removed'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await deleteConnection(scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );

  routes.post(
    '/api/v1/sync/connections/:id/run',
    {
      onRequest: [authenticate, requireAccess('sync.manage', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Sync now: queue a run of the connection',
        description: 'Reads what changed since the last succeeded run (everything the first time). The run appears in /api/v1/sync/runs.',
        security: BEARER_AUTH,
        params: idParams,
        response: { 202: z.object({ jobId: z.string(), connectionId: z.uuid() }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const queued = await enqueueConnectionRun(platform, scope, request.params.id);
      reply.code(202);
      return queued;
    }),
  );
}
