import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveApiToken, type ApiTokenScope, type ResolvedToken } from '../platform/identity/api-tokens.ts';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.ts';
import type { Platform } from '../platform/platform.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared core this server was built on. */
    platform: Platform;
  }
  interface FastifyRequest {
    /** The caller's API token once `authenticate` has run; null on public routes. */
    auth: ResolvedToken | null;
  }
}

/** One message for missing, malformed, unknown, revoked and expired tokens: nothing to probe. */
const INVALID_TOKEN = 'a valid API token is required (Authorization: Bearer cst_…)';

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Route hook: resolves `Authorization: Bearer cst_…` to its token and organisation, or answers
 * 401. Runs as `onRequest`, before the body is parsed or validated, so anonymous callers learn
 * nothing about a route's input.
 */
export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  const resolved = match?.[1] ? await resolveApiToken(request.server.platform.db.app, match[1]) : undefined;
  if (!resolved) throw new UnauthorizedError(INVALID_TOKEN);
  request.auth = resolved;
}

/** `admin` may do everything `read` may; `read` may only read. */
function grants(held: readonly string[], needed: ApiTokenScope): boolean {
  return held.includes('admin') || (needed === 'read' && held.includes('read'));
}

/** Route hook after `authenticate`: 403 unless the token carries the scope. Fails closed without a token. */
export function requireScope(needed: ApiTokenScope) {
  const hook = async function requireScopeHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!request.auth) throw new UnauthorizedError(INVALID_TOKEN);
    if (!grants(request.auth.scopes, needed)) throw new ForbiddenError(`this API token lacks the '${needed}' scope`);
  };
  return Object.assign(hook, { scope: needed });
}

/** The scope a hook demands, if it is a `requireScope` hook (for the route inventory). */
export function scopeOfHook(hook: unknown): ApiTokenScope | undefined {
  return typeof hook === 'function' && 'scope' in hook ? (hook.scope as ApiTokenScope) : undefined;
}
