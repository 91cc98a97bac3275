import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getOrganisation, ORGANISATION_KINDS } from '../../platform/organisations/organisations.ts';
import { authenticate, requireScope } from '../auth.ts';
import { BEARER_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { tenantHandler } from '../tenant-route.ts';

export const organisationSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(ORGANISATION_KINDS),
    name: z.string(),
    parentId: z.uuid().nullable(),
    status: z.enum(['active', 'cancelled']),
    createdAt: z.string(),
  })
  .meta({ id: 'Organisation' });

/** The caller's own organisation: the one that owns the API token. */
export async function organisationRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/organisation',
    {
      onRequest: [authenticate, requireScope('read')],
      schema: {
        tags: ['organisation'],
        summary: "The caller's organisation",
        security: BEARER_AUTH,
        response: { 200: organisationSchema, ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => getOrganisation(scope)),
  );
}
