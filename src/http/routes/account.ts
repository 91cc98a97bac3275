import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { changePassword } from '../../platform/identity/accounts.ts';
import { regenerateRecoveryCodes } from '../../platform/identity/mfa-enrolment.ts';
import { revokeSessions } from '../../platform/identity/sessions.ts';
import { authenticate, forgetAdmittedSession, requireSession } from '../auth.ts';
import { SESSION_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { clearSessionCookies, sessionCookieNames, setSessionCookies } from '../session-cookies.ts';
import { sessionContext, tenantHandler } from '../tenant-route.ts';

/** A signed-in person's own account: password, recovery codes, signing out everywhere. MFA passed first. */
export async function accountRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const config = app.platform.config;

  routes.post(
    '/api/v1/auth/sign-out-everywhere',
    {
      onRequest: [authenticate, requireSession()],
      schema: { tags: ['auth'], summary: 'End every session of this account, this one included', security: SESSION_AUTH, response: { 204: z.null(), ...problemResponses(401, 403) } },
    },
    tenantHandler(async (request, scope, reply) => {
      const { userId } = sessionContext(request);
      await revokeSessions(scope, 'signed out everywhere', userId);
      forgetAdmittedSession(request.cookies[sessionCookieNames(config).session]);
      clearSessionCookies(reply, config);
      reply.code(204);
      return null;
    }),
  );

  routes.post(
    '/api/v1/auth/password',
    {
      onRequest: [authenticate, requireSession()],
      schema: {
        tags: ['auth'],
        summary: 'Change your password',
        description: 'Ends every session of the account and starts a new one for this browser.',
        security: SESSION_AUTH,
        body: z.strictObject({
          currentPassword: z.string().min(1, 'is required').max(1024, 'is too long'),
          newPassword: z.string().min(1, 'is required').max(1024, 'is too long'),
        }),
        response: { 204: z.null(), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const session = await changePassword(app.platform, sessionContext(request), request.body);
      forgetAdmittedSession(request.cookies[sessionCookieNames(config).session]);
      setSessionCookies(reply, config, session);
      return reply.code(204).send(null);
    },
  );

  routes.post(
    '/api/v1/auth/mfa/recovery-codes',
    {
      onRequest: [authenticate, requireSession()],
      schema: {
        tags: ['auth'],
        summary: 'Replace your recovery codes',
        description: 'Needs a current authenticator code. The old codes stop working; the new ones are shown this once.',
        security: SESSION_AUTH,
        body: z.strictObject({ code: z.string().min(1, 'is required').max(64, 'is too long') }),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()) }), ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request) => ({ recoveryCodes: await regenerateRecoveryCodes(app.platform, sessionContext(request), request.body) }),
  );
}
