import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Permission } from '../platform/access/permissions.ts';
import { roleCan } from '../platform/access/roles.ts';
import type { OrganisationKind } from '../platform/db/schema.ts';
import { AppError, ForbiddenError, PROBLEM_BASE, UnauthorizedError } from '../platform/errors.ts';
import { resolveApiToken, type ApiTokenScope, type ResolvedToken } from '../platform/identity/api-tokens.ts';
import { resolveSessionAccess, type SessionAccess } from '../platform/identity/session-access.ts';
import type { Platform } from '../platform/platform.ts';
import { AdmissionCache } from './admission-cache.ts';
import { sessionCookieNames } from './session-cookies.ts';

/**
 * Who is calling. Two kinds of credential reach the API: an integration's bearer token, and a
 * person's session cookie from the web app. Routes state what they need once
 * (`requireAccess(permission, tokenScope)` or `requireSession()`), and both kinds are held to it.
 */
export type Principal = ({ kind: 'api_token' } & ResolvedToken) | ({ kind: 'session' } & SessionAccess);

/** What the route's hooks demanded, re-checked inside the request's transaction. */
export type Requirement = { permission: Permission } | { session: { beforeMfa: boolean } };

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared core this server was built on. */
    platform: Platform;
  }
  interface FastifyRequest {
    /** The caller once `authenticate` has run; null on public routes. */
    auth: Principal | null;
    /** Set by the access hooks; tenantHandler re-checks it against fresh rows. */
    requirement: Requirement | null;
  }
}

export class MfaRequiredError extends AppError {
  constructor() {
    super(403, `${PROBLEM_BASE}mfa-required`, 'MFA required', 'complete multi-factor authentication before using this');
  }
}

export class CsrfError extends AppError {
  constructor() {
    super(403, `${PROBLEM_BASE}csrf`, 'Request not trusted', 'the X-CSRF-Token header is missing or does not match this session');
  }
}

/** One message for missing, malformed, unknown, revoked and expired credentials: nothing to probe. */
const NOT_SIGNED_IN = 'sign in, or send a valid API token (Authorization: Bearer cst_…)';

const BEARER = /^Bearer +(\S+)$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const admittedTokens = new AdmissionCache<ResolvedToken>(10_000, 10_000);
const admittedSessions = new AdmissionCache<SessionAccess>(10_000, 10_000);
/** Sessions `authenticate` read from the database for this very request (not from the cache). */
const lookedUpThisRequest = new WeakSet<Principal>();

/** Someone who passed MFA, or who is not asked for it (organisation does not require it and they never enrolled). */
export function mfaSatisfied(access: Pick<SessionAccess, 'mfaVerified' | 'mfaRequired' | 'mfaEnrolled'>): boolean {
  return access.mfaVerified || (!access.mfaRequired && !access.mfaEnrolled);
}

async function refuseBadToken(request: FastifyRequest): Promise<never> {
  // Guessing tokens is a credential attack like any other: failures count per address, and a
  // source that keeps failing is told to wait (429 with Retry-After) instead of getting answers.
  await request.server.platform.throttle.check('api-token', { ip: request.ip });
  throw new UnauthorizedError(NOT_SIGNED_IN);
}

function csrfMatches(presented: unknown, expectedHash: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 200) return false;
  const expected = Buffer.from(expectedHash, 'hex');
  const actual = crypto.createHash('sha256').update(presented).digest();
  return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
}

/**
 * Route hook: resolves the caller, or answers 401. A bearer token wins when both are sent. Runs as
 * `onRequest`, before the body is parsed, so anonymous callers learn nothing about a route's input.
 * A cookie-authenticated request that changes state must carry the session's CSRF token.
 */
export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const platform = request.server.platform;
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const token = BEARER.exec(header)?.[1];
    const resolved = token ? (admittedTokens.get(token) ?? (await resolveApiToken(platform.db.app, token))) : undefined;
    if (!resolved) return refuseBadToken(request);
    admittedTokens.set(token!, resolved);
    request.auth = { kind: 'api_token', ...resolved };
    return;
  }
  const cookie = request.cookies[sessionCookieNames(platform.config).session];
  const cached = cookie ? admittedSessions.get(cookie) : undefined;
  const access = cached ?? (cookie ? await resolveSessionAccess(platform.db.app, cookie) : undefined);
  if (!access) throw new UnauthorizedError(NOT_SIGNED_IN);
  admittedSessions.set(cookie!, access);
  if (!SAFE_METHODS.has(request.method) && !csrfMatches(request.headers['x-csrf-token'], access.csrfHash)) throw new CsrfError();
  request.auth = { kind: 'session', ...access };
  if (!cached) lookedUpThisRequest.add(request.auth);
}


/** `admin` may do everything `read` may; `read` may only read. */
function grants(held: readonly string[], needed: ApiTokenScope): boolean {
  return held.includes('admin') || (needed === 'read' && held.includes('read'));
}

/** Whether a principal meets a requirement; the same rule before and inside the transaction. */
export function checkRequirement(principal: Principal, requirement: Requirement, tokenScope?: ApiTokenScope): void {
  if (principal.kind === 'api_token') {
    if ('session' in requirement) throw new ForbiddenError('this is for people signed in to the web app, not API tokens');
    if (tokenScope && !grants(principal.scopes, tokenScope)) throw new ForbiddenError(`this API token lacks the '${tokenScope}' scope`);
    return;
  }
  if ('session' in requirement && requirement.session.beforeMfa) return;
  if (!mfaSatisfied(principal)) throw new MfaRequiredError();
  if ('permission' in requirement && !roleCan(principal.organisationKind as OrganisationKind, principal.role, requirement.permission)) {
    throw new ForbiddenError(`your role does not include '${requirement.permission}'`);
  }
}

/**
 * Route hook after `authenticate`: a person needs the permission (and MFA passed where it applies);
 * an API token needs the scope. Fails closed without a caller.
 */
export function requireAccess(permission: Permission, tokenScope: ApiTokenScope) {
  const hook = async function requireAccessHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!request.auth) throw new UnauthorizedError(NOT_SIGNED_IN);
    request.requirement = { permission };
    checkRequirement(request.auth, request.requirement, tokenScope);
  };
  return Object.assign(hook, { access: { permission, tokenScope } });
}

/**
 * Route hook after `authenticate` for a person's own account (sign-out, MFA, password): API tokens
 * are refused. `beforeMfa` routes are the few a session may use before its second factor. These
 * routes run their own transactions, so a session admitted from the cache is looked up afresh: a
 * session revoked a moment ago gets nothing.
 */
export function requireSession(options: { beforeMfa: boolean } = { beforeMfa: false }) {
  const hook = async function requireSessionHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!request.auth) throw new UnauthorizedError(NOT_SIGNED_IN);
    request.requirement = { session: options };
    checkRequirement(request.auth, request.requirement);
    if (request.auth.kind !== 'session' || lookedUpThisRequest.has(request.auth)) return;
    const cookie = request.cookies[sessionCookieNames(request.server.platform.config).session]!;
    const fresh = await resolveSessionAccess(request.server.platform.db.app, cookie);
    if (!fresh) {
      admittedSessions.delete(cookie);
      throw new UnauthorizedError(NOT_SIGNED_IN);
    }
    request.auth = { kind: 'session', ...fresh };
    checkRequirement(request.auth, request.requirement);
  };
  return Object.assign(hook, { session: options });
}

/** Forgets admitted sessions (sign-out in this process takes effect at once, not in ≤ 10 s). */
export function forgetAdmittedSession(cookie: string | undefined): void {
  if (cookie) admittedSessions.delete(cookie);
}

/** The security posture a route's hooks declare, for the route inventory. */
export function postureOfHooks(hooks: unknown[]): { permission?: string; scope?: ApiTokenScope; session?: { beforeMfa: boolean } } {
  for (const hook of hooks) {
    if (typeof hook !== 'function') continue;
    if ('access' in hook) {
      const access = hook.access as { permission: string; tokenScope: ApiTokenScope };
      return { permission: access.permission, scope: access.tokenScope };
    }
    if ('session' in hook) return { session: hook.session as { beforeMfa: boolean } };
  }
  return {};
}
