import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../../http/auth.ts';
import { BEARER_AUTH } from '../../../http/openapi.ts';
import { problemResponses } from '../../../http/problem.ts';
import { tenantHandler } from '../../../http/tenant-route.ts';
import { addClientUser, listClientUsers, removeClientUser, type ClientUserInput } from '../client-users.ts';
import { createClient, deleteClient, getClient, listClients, updateClient, type ClientInput, type ClientUpdate } from '../clients.ts';
import { createFolder, deleteFolder, listFolders } from '../documents/folders.ts';
import { PORTAL_PERMISSIONS } from '../permissions.ts';
import { practiceBalance } from '../practice.ts';
import { clientSchema, clientUserSchema, folderSchema, idParams } from './schemas.ts';

void PORTAL_PERMISSIONS;

/**
 * Clients, their client users and folders under /api/v1/portal. Reads need 'portal.clients.read'
 * (client users hold it too: the database shows them their own clients only); changes need
 * 'portal.clients.manage' or 'portal.documents.manage'.
 */
export async function clientRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;

  routes.get(
    '/api/v1/portal/clients',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'Clients by name (a client user sees only their own)',
        description: '`search` matches a whole name (any case), a reference or a company number exactly: names are stored encrypted.',
        security: BEARER_AUTH,
        querystring: z.strictObject({
          search: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(200).optional(),
          offset: z.coerce.number().int().min(0).optional(),
        }),
        response: { 200: z.object({ items: z.array(clientSchema), total: z.number().int() }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => listClients(scope, request.query)),
  );

  routes.post(
    '/api/v1/portal/clients',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Add a client (a person or a company) with its own area',
        security: BEARER_AUTH,
        body: z.record(z.string(), z.unknown()).describe('{kind: individual|company, name, companyNumber?, reference?, email?, mtdItsa?}'),
        response: { 201: clientSchema, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await createClient(scope, request.body as ClientInput);
      reply.code(201);
      return created;
    }),
  );

  routes.get(
    '/api/v1/portal/clients/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: { tags: ['portal'], summary: 'One client', security: BEARER_AUTH, params: idParams('a client'), response: { 200: clientSchema, ...problemResponses(400, 401, 403, 404, 429) } },
    },
    tenantHandler(async (request, scope) => getClient(scope, request.params.id)),
  );

  routes.patch(
    '/api/v1/portal/clients/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Change a client’s details',
        security: BEARER_AUTH,
        params: idParams('a client'),
        body: z.record(z.string(), z.unknown()).describe('Any of {name, companyNumber, reference, email, mtdItsa}'),
        response: { 200: clientSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => updateClient(scope, request.params.id, request.body as ClientUpdate)),
  );

  routes.delete(
    '/api/v1/portal/clients/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Delete a client with all its documents and data',
        description: 'Documents, versions, flows, requests, invoices and memberships go at once; the encrypted files are removed once the deletion has committed. Audited with counts.',
        security: BEARER_AUTH,
        params: idParams('a client'),
        response: { 200: z.object({ documents: z.number().int(), files: z.number().int() }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => deleteClient(platform.queue, scope, request.params.id)),
  );

  routes.get(
    '/api/v1/portal/clients/:id/users',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'The client users who can reach this client',
        security: BEARER_AUTH,
        params: idParams('a client'),
        response: { 200: z.object({ users: z.array(clientUserSchema) }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ users: await listClientUsers(scope, request.params.id) })),
  );

  routes.post(
    '/api/v1/portal/clients/:id/users',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Give someone access to this client (invited by email when new)',
        security: BEARER_AUTH,
        params: idParams('a client'),
        body: z.record(z.string(), z.unknown()).describe('{email, displayName?}'),
        response: { 201: z.object({ userId: z.uuid(), invited: z.boolean() }), ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const added = await addClientUser(platform.queue, scope, request.params.id, request.body as ClientUserInput, platform.config.publicUrl);
      reply.code(201);
      return added;
    }),
  );

  routes.delete(
    '/api/v1/portal/clients/:id/users/:userId',
    {
      onRequest: [authenticate, requireAccess('portal.clients.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Take a client user’s access to this client away',
        security: BEARER_AUTH,
        params: z.strictObject({ id: z.uuid({ error: 'must be a client id (UUID)' }), userId: z.uuid({ error: 'must be a user id (UUID)' }) }),
        response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await removeClientUser(scope, request.params.id, request.params.userId);
      reply.code(204);
      return undefined;
    }),
  );

  routes.get(
    '/api/v1/portal/clients/:id/folders',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The client’s folders',
        security: BEARER_AUTH,
        params: idParams('a client'),
        response: { 200: z.object({ folders: z.array(folderSchema) }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ folders: await listFolders(scope, request.params.id) })),
  );

  routes.post(
    '/api/v1/portal/clients/:id/folders',
    {
      onRequest: [authenticate, requireAccess('portal.documents.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Add a folder to the client’s area',
        security: BEARER_AUTH,
        params: idParams('a client'),
        body: z.record(z.string(), z.unknown()).describe('{name}'),
        response: { 201: folderSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await createFolder(scope, request.params.id, request.body as { name: string });
      reply.code(201);
      return created;
    }),
  );

  routes.delete(
    '/api/v1/portal/folders/:id',
    {
      onRequest: [authenticate, requireAccess('portal.documents.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Remove a folder; its documents stay in the client’s area, unfiled',
        security: BEARER_AUTH,
        params: idParams('a folder'),
        response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await deleteFolder(scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );

  routes.get(
    '/api/v1/portal/practice/balance',
    {
      onRequest: [authenticate, requireAccess('portal.billing.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Signing credits and storage: what the practice has and uses',
        security: BEARER_AUTH,
        response: {
          200: z.object({
            signingCredits: z.number().int(),
            storageQuotaBytes: z.number().int().describe('the lasting allowance plus storage bought whose year runs'),
            storageUsedBytes: z.number().int(),
            storageTerms: z.array(z.object({ bytes: z.number().int(), expiresAt: z.string() })).describe('storage bought and still running, soonest to end first'),
          }),
          ...problemResponses(401, 403, 409, 429),
        },
      },
    },
    tenantHandler(async (_request, scope) => practiceBalance(scope)),
  );
}
