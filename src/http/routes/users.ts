import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getUser, inviteUser, inviteUserSchema, listUsers } from '../../platform/identity/users.ts';
import { enqueueMail } from '../../platform/mail/mail.ts';
import { getOrganisation, invitationMail } from '../../platform/organisations/organisations.ts';
import { authenticate, requireAccess } from '../auth.ts';
import { BEARER_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { tenantHandler } from '../tenant-route.ts';

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    displayName: z.string().nullable(),
    role: z.string(),
    status: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'User' });

const userIdParams = z.strictObject({ id: z.uuid({ error: 'must be a user id (UUID)' }) });

/** Unknown properties are refused, so a client cannot slip in fields such as status or tenant. */
const invitationBody = z.strictObject(inviteUserSchema.shape);

const invitationCreated = z.object({
  userId: z.uuid(),
  expiresAt: z.string().describe('When the emailed link stops working'),
});

export async function userRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/v1/users',
    {
      onRequest: [authenticate, requireAccess('users.read', 'read')],
      schema: {
        tags: ['users'],
        summary: "The organisation's users",
        security: BEARER_AUTH,
        response: { 200: z.object({ users: z.array(userSchema) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ users: await listUsers(scope) })),
  );

  routes.get(
    '/api/v1/users/:id',
    {
      onRequest: [authenticate, requireAccess('users.read', 'read')],
      schema: {
        tags: ['users'],
        summary: 'One user of the organisation',
        security: BEARER_AUTH,
        params: userIdParams,
        response: { 200: userSchema, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => getUser(scope, request.params.id)),
  );

  routes.post(
    '/api/v1/users/invitations',
    {
      onRequest: [authenticate, requireAccess('users.manage', 'admin')],
      schema: {
        tags: ['users'],
        summary: 'Invite someone into the organisation',
        description:
          'Creates the user (status `invited`) and emails them a single-use link that expires in 72 hours. ' +
          'The link is sent by email only; it is never returned here.',
        security: BEARER_AUTH,
        body: invitationBody,
        response: { 201: invitationCreated, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const invitation = await inviteUser(scope, request.body, app.platform.config.publicUrl);
      const organisation = await getOrganisation(scope);
      // Queued in this transaction: the email exists exactly when the invitation committed.
      await enqueueMail(app.platform.queue, scope, invitationMail(request.body.email, organisation.name, invitation.inviteUrl));
      reply.code(201);
      return { userId: invitation.userId, expiresAt: invitation.expiresAt };
    }),
  );
}
