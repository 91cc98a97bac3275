import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../http/auth.ts';
import { BEARER_AUTH } from '../../http/openapi.ts';
import { problemResponses } from '../../http/problem.ts';
import { tenantHandler } from '../../http/tenant-route.ts';
import { DATA_QUALITY_CHECKS, dataQualityReport } from './data-quality.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';

// Loading the routes registers the sync permissions.
void SYNC_PERMISSIONS;

/**
 * GET /api/v1/sync/data-quality: the school's data-quality checks over its current records
 * ('sync.read', read tokens). Names are shown because only the school's own staff and tokens
 * reach this route; see data-quality.ts for what each check means.
 */

const recordSchema = z.object({
  entity: z.enum(['pupils', 'contacts']),
  id: z.uuid(),
  misId: z.string().describe("The record's id in the school's MIS"),
  name: z.string(),
});

const reportSchema = z
  .object({
    checkedAt: z.string(),
    issues: z.array(z.object({ check: z.enum(DATA_QUALITY_CHECKS), records: z.array(recordSchema) })),
    counts: z.record(z.string(), z.number()).describe('Issues per check, every check present'),
  })
  .meta({ id: 'SyncDataQualityReport' });

export async function dataQualityRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/v1/sync/data-quality',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'Data-quality checks to fix in the MIS before sharing',
        description:
          'Contacts with no email or phone, pupils with no contact holding parental responsibility, likely duplicate contacts, and siblings whose contacts are linked to only some of them. Current records only.',
        security: BEARER_AUTH,
        response: { 200: reportSchema, ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => dataQualityReport(scope)),
  );
}
