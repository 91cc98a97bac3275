import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { allPermissions } from '../../platform/access/permissions.ts';
import { permissionsOf, rolesFor } from '../../platform/access/roles.ts';
import { changeRoleSchema, changeUserRole, disableUser } from '../../platform/access/user-roles.ts';
import { resetUserMfa } from '../../platform/identity/mfa-enrolment.ts';
import { getOrganisation } from '../../platform/organisations/organisations.ts';
import { authenticate, requireAccess } from '../auth.ts';
import { BEARER_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { tenantHandler } from '../tenant-route.ts';

const userIdParams = z.strictObject({ id: z.uuid({ error: 'must be a user id (UUID)' }) });

const permissionsResponse = z.object({
  organisationKind: z.string(),
  permissions: z.array(z.object({ name: z.string(), module: z.string(), description: z.string() })),
  roles: z.array(z.object({ name: z.string(), label: z.string(), description: z.string(), permissions: z.array(z.string()) })),
});

/** Roles, permissions and the changes admins make to who holds which. */
export async function accessRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/v1/permissions',
    {
      onRequest: [authenticate, requireAccess('organisation.read', 'read')],
      schema: {
        tags: ['access'],
        summary: 'Who may do what in this organisation',
        description: 'Generated from the code: every permission the modules define and every role of this kind of organisation.',
        security: BEARER_AUTH,
        response: { 200: permissionsResponse, ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => {
      const { kind } = await getOrganisation(scope);
      return {
        organisationKind: kind,
        permissions: allPermissions(),
        roles: rolesFor(kind).map((role) => ({
          name: role.name,
          label: role.label,
          description: role.description,
          permissions: permissionsOf(kind, role.name),
        })),
      };
    }),
  );

  routes.put(
    '/api/v1/users/:id/role',
    {
      onRequest: [authenticate, requireAccess('users.manage', 'admin')],
      schema: {
        tags: ['access'],
        summary: "Change a user's role",
        description: 'The last admin of an organisation cannot be demoted (409).',
        security: BEARER_AUTH,
        params: userIdParams,
        body: z.strictObject(changeRoleSchema.shape),
        response: { 204: z.null(), ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await changeUserRole(scope, request.params.id, request.body);
      reply.code(204);
      return null;
    }),
  );

  routes.post(
    '/api/v1/users/:id/disable',
    {
      onRequest: [authenticate, requireAccess('users.manage', 'admin')],
      schema: {
        tags: ['access'],
        summary: 'Disable a user',
        description: 'The user keeps their history and loses all access. The last admin cannot be disabled (409).',
        security: BEARER_AUTH,
        params: userIdParams,
        response: { 204: z.null(), ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await disableUser(scope, request.params.id);
      reply.code(204);
      return null;
    }),
  );

  routes.post(
    '/api/v1/users/:id/mfa/reset',
    {
      onRequest: [authenticate, requireAccess('users.manage', 'admin')],
      schema: {
        tags: ['access'],
        summary: "Reset a user's MFA",
        description: 'For someone who lost their authenticator and recovery codes: removes both and ends their sessions; they set MFA up again at next sign-in.',
        security: BEARER_AUTH,
        params: userIdParams,
        response: { 204: z.null(), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await resetUserMfa(scope, request.params.id);
      reply.code(204);
      return null;
    }),
  );
}
