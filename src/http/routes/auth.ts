import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { permissionsOf } from '../../platform/access/roles.ts';
import type { OrganisationKind } from '../../platform/db/schema.ts';
import { acceptInvitation, signIn } from '../../platform/identity/accounts.ts';
import { confirmTotpEnrolment, passMfaChallenge, startTotpEnrolment } from '../../platform/identity/mfa-enrolment.ts';
import { completePasswordReset, requestPasswordReset } from '../../platform/identity/password-reset.ts';
import { resolveSessionAccess } from '../../platform/identity/session-access.ts';
import { revokeSession } from '../../platform/identity/sessions.ts';
import { getUser } from '../../platform/identity/users.ts';
import { getOrganisation } from '../../platform/organisations/organisations.ts';
import type { RequestMeta } from '../../platform/tenancy/tenant-scope.ts';
import { authenticate, forgetAdmittedSession, mfaSatisfied, requireSession } from '../auth.ts';
import { SESSION_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { clearSessionCookies, sessionCookieNames, setSessionCookies } from '../session-cookies.ts';
import { requestMeta, sessionContext, tenantHandler } from '../tenant-route.ts';

/**
 * Signing in and out, accepting an invitation, resetting a password and the MFA steps. The first
 * four are public (they are how one gets a session); the rest need a session, and the MFA steps
 * are the only routes a session may use before its second factor.
 */
const secretField = z.string().min(1, 'is required').max(200, 'is too long');
const passwordField = z.string().min(1, 'is required').max(1024, 'is too long');
const codeField = z.string().min(1, 'is required').max(64, 'is too long');

const signInBody = z.strictObject({
  email: z.string().min(1, 'is required').max(254, 'is too long'),
  password: passwordField,
  organisationId: z.uuid({ error: 'must be an organisation id (UUID)' }).optional(),
});

const signInResult = z.union([
  z.object({
    outcome: z.literal('signed-in'),
    mfa: z.enum(['not-required', 'enrol', 'challenge']).describe('What the web app must do next before anything else is allowed'),
  }),
  z.object({
    outcome: z.literal('choose-organisation'),
    organisations: z.array(z.object({ id: z.uuid(), name: z.string() })),
  }),
]);

const sessionDescription = z
  .object({
    user: z.object({ id: z.uuid(), email: z.string(), displayName: z.string().nullable(), role: z.string() }),
    organisation: z.object({ id: z.uuid(), name: z.string(), kind: z.string() }),
    mfa: z.object({
      required: z.boolean().describe('The organisation requires MFA (or this user has enrolled, which makes it required for them)'),
      enrolled: z.boolean(),
      verified: z.boolean().describe('The second factor has been passed in this session, or is not needed'),
    }),
    permissions: z.array(z.string()),
  })
  .meta({ id: 'Session' });

export async function authRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const config = app.platform.config;

  async function endPresentedSession(cookie: string | undefined, meta: RequestMeta): Promise<void> {
    const access = cookie ? await resolveSessionAccess(app.platform.db.app, cookie) : undefined;
    if (!access) return;
    forgetAdmittedSession(cookie);
    await app.platform.inTenant({ tenantId: access.tenantId, actor: { type: 'user', id: access.userId }, meta }, (scope) =>
      revokeSession(scope, access.sessionId, 'signed out'),
    );
  }

  routes.post(
    '/api/v1/auth/sign-in',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        description:
          'Sets the session cookies. Where MFA applies, the session may only be used for the MFA step until it is passed. ' +
          'Someone with accounts in several organisations is asked to choose one (`choose-organisation`). Failures all ' +
          'look alike (401); repeated failures are throttled (429 with Retry-After).',
        body: signInBody,
        response: { 200: signInResult, ...problemResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const result = await signIn(app.platform, request.body, requestMeta(request));
      if (result.outcome === 'choose-organisation') return result;
      // One live session per browser: signing in again ends the one this browser held.
      await endPresentedSession(request.cookies[sessionCookieNames(config).session], requestMeta(request));
      setSessionCookies(reply, config, result.session);
      return { outcome: result.outcome, mfa: result.mfa };
    },
  );

  routes.post(
    '/api/v1/auth/invitations/accept',
    {
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation by choosing a password',
        description: 'The token is the last part of the emailed link. It works once and expires after 72 hours. Does not sign in.',
        body: z.strictObject({ token: secretField, password: passwordField }),
        response: { 204: z.null(), ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await acceptInvitation(app.platform, request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  routes.post(
    '/api/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password reset link',
        description: 'Always answers 202, whether or not the address has an account; the link (valid for an hour) goes by email only.',
        body: z.strictObject({ email: z.string().min(1, 'is required').max(254, 'is too long') }),
        response: { 202: z.undefined().describe('Accepted; nothing more is said'), ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await requestPasswordReset(app.platform, request.body, requestMeta(request));
      return reply.code(202).send();
    },
  );

  routes.post(
    '/api/v1/auth/password-reset/complete',
    {
      schema: {
        tags: ['auth'],
        summary: 'Choose a new password with a reset link',
        description: 'Ends every session of the account. Does not sign in, and never counts as a second factor.',
        body: z.strictObject({ token: secretField, password: passwordField }),
        response: { 204: z.null(), ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await completePasswordReset(app.platform, request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  routes.get(
    '/api/v1/auth/session',
    {
      onRequest: [authenticate, requireSession({ beforeMfa: true })],
      schema: { tags: ['auth'], summary: 'Who is signed in, and where they stand with MFA', security: SESSION_AUTH, response: { 200: sessionDescription, ...problemResponses(401, 403) } },
    },
    tenantHandler(async (request, scope) => {
      const auth = request.auth!;
      if (auth.kind !== 'session') throw new Error('unreachable: requireSession admits sessions only');
      const [user, organisation] = [await getUser(scope, auth.userId), await getOrganisation(scope)];
      const verified = mfaSatisfied(auth);
      return {
        user: { id: user.id, email: user.email, displayName: user.displayName, role: user.role },
        organisation: { id: organisation.id, name: organisation.name, kind: organisation.kind },
        mfa: { required: auth.mfaRequired || auth.mfaEnrolled, enrolled: auth.mfaEnrolled, verified },
        // Until MFA is passed the session may do nothing else, so it holds no permissions yet.
        permissions: verified ? permissionsOf(organisation.kind as OrganisationKind, auth.role) : [],
      };
    }),
  );

  routes.post(
    '/api/v1/auth/sign-out',
    {
      onRequest: [authenticate, requireSession({ beforeMfa: true })],
      schema: { tags: ['auth'], summary: 'Sign out of this browser', security: SESSION_AUTH, response: { 204: z.null(), ...problemResponses(401, 403) } },
    },
    tenantHandler(async (request, scope, reply) => {
      const { sessionId } = sessionContext(request);
      await revokeSession(scope, sessionId, 'signed out');
      forgetAdmittedSession(request.cookies[sessionCookieNames(config).session]);
      clearSessionCookies(reply, config);
      reply.code(204);
      return null;
    }),
  );

  routes.post(
    '/api/v1/auth/mfa/totp/enrolment',
    {
      onRequest: [authenticate, requireSession({ beforeMfa: true })],
      schema: {
        tags: ['auth'],
        summary: 'Start setting up an authenticator app',
        description: 'Returns the shared secret, its otpauth URI and a QR code (SVG). 409 when one is already set up.',
        security: SESSION_AUTH,
        response: { 200: z.object({ secret: z.string(), uri: z.string(), qrSvg: z.string() }), ...problemResponses(401, 403, 409) },
      },
    },
    async (request) => startTotpEnrolment(app.platform, sessionContext(request)),
  );

  routes.post(
    '/api/v1/auth/mfa/totp/enrolment/confirm',
    {
      onRequest: [authenticate, requireSession({ beforeMfa: true })],
      schema: {
        tags: ['auth'],
        summary: 'Finish setting up the authenticator with a code from it',
        description: 'Returns 10 single-use recovery codes, shown this once. The session is replaced by a new one that has passed MFA.',
        security: SESSION_AUTH,
        body: z.strictObject({ code: codeField }),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()) }), ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { session, recoveryCodes } = await confirmTotpEnrolment(app.platform, sessionContext(request), request.body);
      forgetAdmittedSession(request.cookies[sessionCookieNames(config).session]);
      setSessionCookies(reply, config, session);
      return { recoveryCodes };
    },
  );

  routes.post(
    '/api/v1/auth/mfa/challenge',
    {
      onRequest: [authenticate, requireSession({ beforeMfa: true })],
      schema: {
        tags: ['auth'],
        summary: 'Pass the second factor at sign-in',
        description: 'Send either `code` (from the authenticator; each works once) or `recoveryCode`. The session is replaced by a new one.',
        security: SESSION_AUTH,
        body: z.strictObject({ code: codeField.optional(), recoveryCode: codeField.optional() }),
        response: { 200: z.object({ recoveryCodesLeft: z.number().int() }), ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { session, recoveryCodesLeft } = await passMfaChallenge(app.platform, sessionContext(request), request.body);
      forgetAdmittedSession(request.cookies[sessionCookieNames(config).session]);
      setSessionCookies(reply, config, session);
      return { recoveryCodesLeft };
    },
  );
}
