import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../platform/errors.ts';
import { setTenantForToken } from '../platform/identity/api-tokens.ts';
import { setTenantForSession, touchSession } from '../platform/identity/session-access.ts';
import type { SessionContext } from '../platform/identity/sessions.ts';
import type { RequestMeta, TenantContext, TenantScope } from '../platform/tenancy/tenant-scope.ts';
import { checkRequirement } from './auth.ts';

/** How stale `last_used_at` may get before a request refreshes it: one write per token per minute at most. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Request id, IP and user agent, as audit entries and session records keep them. */
export function requestMeta(request: FastifyRequest): RequestMeta {
  const userAgent = request.headers['user-agent'];
  return { requestId: String(request.id), ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null };
}

/** The tenant, actor and request metadata for the caller's transaction; fails closed without a caller. */
export function requestTenantContext(request: FastifyRequest): TenantContext {
  const auth = request.auth;
  if (!auth) throw new UnauthorizedError();
  return {
    tenantId: auth.tenantId,
    actor: auth.kind === 'api_token' ? { type: 'api_token', id: auth.tokenId } : { type: 'user', id: auth.userId },
    meta: requestMeta(request),
  };
}

/** The signed-in person's session, for account services that run their own transactions. */
export function sessionContext(request: FastifyRequest): SessionContext {
  const auth = request.auth;
  if (!auth || auth.kind !== 'session') throw new UnauthorizedError();
  return { tenantId: auth.tenantId, userId: auth.userId, sessionId: auth.sessionId, meta: requestMeta(request) };
}

const touchedAt = new Map<string, number>();

/** Forgets this process's record of touches: what a newly started server process begins with. */
export function forgetTokenTouches(): void {
  touchedAt.clear();
}

/**
 * Marks the token as used, cheaply: the conditional update matches (and writes) only when the
 * recorded time is over a minute old, so a busy token costs one write a minute, not one a request.
 * SKIP LOCKED: if a concurrent request of the same token is already refreshing it, this one does
 * not queue behind that request's transaction.
 */
export async function touchApiToken(scope: TenantScope, tokenId: string): Promise<void> {
  const now = Date.now();
  // This process touched it recently: skip the statement altogether (the SQL condition below
  // still keeps several processes to about one write a minute between them).
  if (now - (touchedAt.get(tokenId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
  if (touchedAt.size > 10_000) touchedAt.clear();
  touchedAt.set(tokenId, now);
  await scope.trx
    .updateTable('api_tokens')
    .set({ last_used_at: new Date(now) })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('api_tokens')
        .select('id')
        .where('id', '=', tokenId)
        .where((inner) => inner.or([inner('last_used_at', 'is', null), inner('last_used_at', '<', new Date(now - LAST_USED_RESOLUTION_MS))]))
        .forUpdate()
        .skipLocked(),
    )
    .execute();
}

/**
 * Wraps a route handler so that it runs in exactly one tenant transaction: the caller's
 * organisation set for row-level security, the token as actor, and the request id, IP and user
 * agent that audit entries record. The handler's result is sent only after the commit; a thrown
 * error rolls everything back, audit entries and queued mail included.
 */
export function tenantHandler<Request extends FastifyRequest, Reply extends FastifyReply, Result>(
  handler: (request: Request, scope: TenantScope, reply: Reply) => Promise<Result>,
): (request: Request, reply: Reply) => Promise<Result> {
  return async function inTenantTransaction(request, reply) {
    const context = requestTenantContext(request);
    const auth = request.auth!;
    // Every caller of a tenant route has passed an access hook; none means a route forgot one.
    const requirement = request.requirement;
    if (!requirement) throw new UnauthorizedError();
    if (auth.kind === 'api_token') {
      // The token is checked again, authoritatively, in the statement that sets the tenant.
      return request.server.platform.inTenant(
        context,
        async (scope) => {
          await touchApiToken(scope, auth.tokenId);
          return handler(request, scope, reply);
        },
        { setTenant: setTenantForToken(auth.tokenHash) },
      );
    }
    // So is the session, with the route's requirement applied to its fresh state: a role taken
    // away or a session revoked a moment ago counts for this request.
    return request.server.platform.inTenant(
      context,
      async (scope) => {
        await touchSession(scope, auth);
        return handler(request, scope, reply);
      },
      { setTenant: setTenantForSession(auth.tokenHash, (fresh) => checkRequirement({ kind: 'session', ...fresh }, requirement)) },
    );
  };
}
