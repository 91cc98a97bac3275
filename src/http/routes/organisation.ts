import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getOrganisation, ORGANISATION_KINDS } from '../../platform/organisations/organisations.ts';
import { getOrganisationSettings, organisationSettingsSchema, updateOrganisationSettings } from '../../platform/organisations/settings.ts';
import { authenticate, requireAccess } from '../auth.ts';
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

const settingsSchema = z
  .object({
    requireMfa: z.boolean().describe('Every user must set up and use MFA (always true for the operator)'),
    passwordMode: z.enum(['composition', 'nist']).describe('composition: ≥ 8 with upper, lower, digit and symbol; nist: ≥ 12, no composition rules'),
  })
  .meta({ id: 'OrganisationSettings' });

/** The caller's own organisation: the one that owns the API token or the signed-in user's account. */
export async function organisationRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/v1/organisation/settings',
    {
      onRequest: [authenticate, requireAccess('organisation.read', 'read')],
      schema: { tags: ['organisation'], summary: "The organisation's security settings", security: BEARER_AUTH, response: { 200: settingsSchema, ...problemResponses(401, 403, 429) } },
    },
    tenantHandler(async (_request, scope) => getOrganisationSettings(scope)),
  );

  routes.put(
    '/api/v1/organisation/settings',
    {
      onRequest: [authenticate, requireAccess('settings.manage', 'admin')],
      schema: {
        tags: ['organisation'],
        summary: "Change the organisation's security settings",
        description: 'Switching MFA on blocks every user who has not set it up until they do. Audited with before and after.',
        security: BEARER_AUTH,
        body: organisationSettingsSchema,
        response: { 200: settingsSchema, ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => updateOrganisationSettings(scope, request.body)),
  );

  routes.get(
    '/api/v1/organisation',
    {
      onRequest: [authenticate, requireAccess('organisation.read', 'read')],
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
