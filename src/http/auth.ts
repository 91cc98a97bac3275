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
  const token = match?.[1];
  const resolved = token
    ? (admittedTokens.get(token) ?? (await resolveApiToken(request.server.platform.db.app, token)))
    : undefined;
  if (!resolved) throw new UnauthorizedError(INVALID_TOKEN);
  admittedTokens.set(token!, resolved);
  request.auth = resolved;
}

/**
 * Tokens that resolved in the last few seconds, so a busy client does not cost an extra database
 * round trip per request. This is only the early gate: the request's own transaction re-checks
 * the token in the statement that sets the tenant (setTenantForToken), so a revoked token is
 * refused at once, cache or not. Failed lookups are never cached. Keys are the raw tokens, held
 * only in this process's memory, as the Authorization header itself is.
 */
class AdmittedTokens {
  private readonly entries = new Map<string, { resolved: ResolvedToken; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(token: string): ResolvedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until < Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.resolved;
  }

  set(token: string, resolved: ResolvedToken): void {
    if (this.entries.has(token)) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(token, { resolved, until: Date.now() + this.ttlMs });
  }
}

const admittedTokens = new AdmittedTokens(10_000, 10_000);

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
