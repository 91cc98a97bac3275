import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UnauthorizedError } from '../../platform/errors.ts';
import { SYSTEM_ACTOR } from '../../platform/tenancy/tenant-scope.ts';
import { authenticate, requireAccess } from '../../http/auth.ts';
import { BEARER_AUTH } from '../../http/openapi.ts';
import { problemResponses } from '../../http/problem.ts';
import { requestMeta, tenantHandler } from '../../http/tenant-route.ts';
import {
  ACCESS_TOKEN_PREFIX,
  createApiClient,
  createOneRosterProvider,
  issueAccessToken,
  listApiClients,
  ONEROSTER_SCOPES,
  resolveAccessToken,
  revokeApiClient,
  ROSTERING_BASE,
  setTenantForAccessToken,
  type OneRosterPage,
  type OneRosterProvider,
  type OneRosterRecord,
  type Paging,
  type ResolvedAccessToken,
} from './oneroster-provider.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';

// Loading the routes registers the sync permissions.
void SYNC_PERMISSIONS;

/**
 * The OneRoster 1.2 provider API over HTTP:
 *   - POST /ims/oneroster/v1p2/token: OAuth 2 client credentials (RFC 6749 §4.4), form-encoded,
 *     client authenticated by HTTP Basic or client_id/client_secret in the body (not both). Errors
 *     are RFC 6749 §5.2 JSON. Public by decision; each attempt counts against the caller's address
 *     ('api-token' throttle) and a success gives it back.
 *   - GET /ims/oneroster/rostering/v1p2/…: the rostering collections, with the client's bearer
 *     token (not a Custos API token or a session: those are refused). Paged with limit (default
 *     100, at most 1000) and offset; X-Total-Count and a Link rel="next" header. Errors are problem+json.
 *     Unknown or expired tokens count against the address like bad API tokens.
 *   - /api/v1/sync/api-clients: the school registers, lists and revokes clients ('sync.sharing', admin tokens).
 * The OneRoster routes are left out of the OpenAPI document: the OneRoster 1.2 specification is their contract.
 */

export const TOKEN_URL = '/ims/oneroster/v1p2/token';
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const FORM = 'application/x-www-form-urlencoded';
const REALM = 'Custos OneRoster';

/** The rostering collections: path → envelope name and provider call. */
const COLLECTIONS: Record<string, { envelope: string; read: (p: OneRosterProvider, paging: Paging) => Promise<OneRosterPage> }> = {
  users: { envelope: 'users', read: (p, paging) => p.users(paging) },
  students: { envelope: 'users', read: (p, paging) => p.students(paging) },
  teachers: { envelope: 'users', read: (p, paging) => p.teachers(paging) },
  classes: { envelope: 'classes', read: (p, paging) => p.classes(paging) },
  enrollments: { envelope: 'enrollments', read: (p, paging) => p.enrollments(paging) },
  orgs: { envelope: 'orgs', read: (p, paging) => p.orgs(paging) },
  demographics: { envelope: 'demographics', read: (p, paging) => p.demographics(paging) },
};

// ------------------------------------------------------------------ token endpoint

/** A form body: each parameter once (RFC 6749 §3.2); `repeated` names any sent twice. */
interface FormBody {
  form: true;
  params: Record<string, string>;
  repeated: string[];
}

const isForm = (body: unknown): body is FormBody => typeof body === 'object' && body !== null && (body as FormBody).form === true;

function parseForm(text: string): FormBody {
  const params: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, name)) repeated.push(name);
    else params[name] = value;
  }
  return { form: true, params, repeated };
}

class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly code: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type',
    readonly description: string,
  ) {
    super(description);
  }
}

/** HTTP Basic client authentication: id and secret are form-urlencoded before base64 (RFC 6749 §2.3.1). */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!match) throw new OAuthError(401, 'invalid_client', 'the Authorization header is not HTTP Basic client authentication');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError(401, 'invalid_client', 'the Basic credentials have no client secret');
  try {
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { clientId: decode(decoded.slice(0, colon)), clientSecret: decode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError(401, 'invalid_client', 'the Basic credentials are not properly encoded');
  }
}

function sendOAuthError(reply: FastifyReply, error: OAuthError) {
  if (error.status === 401) reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
  return reply
    .code(error.status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error: error.code, error_description: error.description });
}

// ------------------------------------------------------------------ bearer tokens for rostering

const admitted = new WeakMap<FastifyRequest, ResolvedAccessToken>();
const BEARER = /^Bearer +(\S+)$/i;

class InvalidAccessTokenError extends UnauthorizedError {
  constructor() {
    super('send a OneRoster access token from POST /ims/oneroster/v1p2/token (Authorization: Bearer ort_…)');
  }
}

/** Route hook: the OneRoster client's bearer token, resolved through the definer function, or 401. */
async function authenticateOneRosterClient(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const header = request.headers.authorization;
  const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  const resolved = token?.startsWith(ACCESS_TOKEN_PREFIX) ? await resolveAccessToken(request.server.platform.db.app, token) : undefined;
  if (!resolved) {
    // Guessing tokens is a credential attack: failures count per address (429 when over the limit).
    if (header !== undefined) await request.server.platform.throttle.check('api-token', { ip: request.ip });
    // The 401 problem carries the platform's Bearer challenge (problem.ts).
    throw new InvalidAccessTokenError();
  }
  admitted.set(request, resolved);
}

const pagingQuery = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`)
    .optional(),
  offset: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must not be negative').optional(),
});

/** Runs provider work in the client's tenant, the token re-checked in the statement that sets the tenant. */
function inClientTenant<T>(request: FastifyRequest, work: (provider: OneRosterProvider) => Promise<T>): Promise<T> {
  const client = admitted.get(request);
  if (!client) throw new InvalidAccessTokenError();
  return request.server.platform.inTenant(
    { tenantId: client.tenantId, actor: SYSTEM_ACTOR, meta: requestMeta(request) },
    (scope) => work(createOneRosterProvider(scope, client.clientId)),
    { setTenant: setTenantForAccessToken(client) },
  );
}

const recordList = z.array(z.record(z.string(), z.unknown()));

// ------------------------------------------------------------------ admin routes' schemas

const clientSchema = z
  .object({ id: z.uuid(), clientId: z.string(), name: z.string(), createdAt: z.string(), revokedAt: z.string().nullable() })
  .meta({ id: 'SyncApiClient' });

export async function oneRosterProviderRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  const deps = { queue: platform.queue };

  // Only within this plugin: the token endpoint takes a form body (small).
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 8 * 1024 }, (_request, body, done) => done(null, parseForm(body as string)));

  app.post(TOKEN_URL, { schema: { hide: true } }, async (request, reply) => {
    try {
      const body = request.body;
      if (!isForm(body)) throw new OAuthError(400, 'invalid_request', `send the parameters as ${FORM}`);
      if (body.repeated.length > 0) throw new OAuthError(400, 'invalid_request', `a parameter is repeated: ${body.repeated.join(', ')}`);
      const { grant_type: grantType, client_id: bodyId, client_secret: bodySecret } = body.params;
      if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is missing');
      if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
      const basic = basicCredentials(request.headers.authorization);
      if (basic && (bodyId !== undefined || bodySecret !== undefined)) {
        throw new OAuthError(400, 'invalid_request', 'authenticate the client one way only: HTTP Basic or the request body');
      }
      const credentials = basic ?? (bodyId !== undefined && bodySecret !== undefined ? { clientId: bodyId, clientSecret: bodySecret } : undefined);
      if (!credentials) throw new OAuthError(401, 'invalid_client', 'client authentication is required');
      // Every attempt is reserved against the address first; a good one is given back.
      await platform.throttle.check('api-token', { ip: request.ip });
      const issued = await issueAccessToken(platform, credentials, requestMeta(request));
      if (!issued) {
        await platform.throttle.recordFailure('api-token', { ip: request.ip });
        throw new OAuthError(401, 'invalid_client', 'the client id or secret is wrong, or the client was revoked');
      }
      await platform.throttle.recordSuccess('api-token', { ip: request.ip });
      return reply
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .send({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, scope: ONEROSTER_SCOPES.join(' ') });
    } catch (error) {
      if (error instanceof OAuthError) return sendOAuthError(reply, error);
      throw error;
    }
  });

  for (const [path, collection] of Object.entries(COLLECTIONS)) {
    routes.get(
      `${ROSTERING_BASE}/${path}`,
      { onRequest: [authenticateOneRosterClient], schema: { hide: true, querystring: pagingQuery, response: { 200: z.record(z.string(), recordList) } } },
      async (request, reply) => {
        const paging = { limit: request.query.limit ?? DEFAULT_LIMIT, offset: request.query.offset ?? 0 };
        const page = await inClientTenant(request, (provider) => collection.read(provider, paging));
        reply.header('x-total-count', String(page.total));
        if (paging.offset + paging.limit < page.total) {
          // A relative link: the Host header is not trusted to build an absolute one.
          reply.header('link', `<${ROSTERING_BASE}/${path}?limit=${paging.limit}&offset=${paging.offset + paging.limit}>; rel="next"`);
        }
        return { [collection.envelope]: page.items };
      },
    );
  }

  routes.get(
    `${ROSTERING_BASE}/users/:id`,
    {
      onRequest: [authenticateOneRosterClient],
      schema: { hide: true, params: z.strictObject({ id: z.string().min(1).max(200) }), response: { 200: z.object({ user: z.record(z.string(), z.unknown()) }) } },
    },
    async (request) => ({ user: await inClientTenant<OneRosterRecord>(request, (provider) => provider.user(request.params.id)) }),
  );

  routes.get(
    '/api/v1/sync/api-clients',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'The apps registered to read school data through the OneRoster 1.2 API',
        security: BEARER_AUTH,
        response: { 200: z.object({ apiClients: z.array(clientSchema) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ apiClients: await listApiClients(scope) })),
  );

  routes.post(
    '/api/v1/sync/api-clients',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Register an app for the OneRoster 1.2 API',
        description:
          'Answers with the client id and secret; the secret is shown this once. The app reads nothing until the school ' +
          'grants it scopes (POST /api/v1/sync/sharing/grants with granteeKind api_client and the client id as grantee). ' +
          `Token URL: ${TOKEN_URL} (client credentials); rostering base: ${ROSTERING_BASE}.`,
        security: BEARER_AUTH,
        body: z.object({ name: z.string() }),
        response: {
          201: clientSchema.extend({ clientSecret: z.string().describe('Shown once; only a hash is kept'), tokenUrl: z.string(), baseUrl: z.string() }),
          ...problemResponses(400, 401, 403, 409, 429),
        },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const { client, clientSecret } = await createApiClient(scope, request.body);
      reply.code(201);
      return { ...client, clientSecret, tokenUrl: TOKEN_URL, baseUrl: ROSTERING_BASE };
    }),
  );

  routes.delete(
    '/api/v1/sync/api-clients/:id',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Revoke an app: its tokens stop at once and its grant is revoked',
        security: BEARER_AUTH,
        params: z.strictObject({ id: z.uuid({ error: 'must be an API client id (UUID)' }) }),
        response: { 204: z.undefined().describe('Revoked'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await revokeApiClient(deps, scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );
}
