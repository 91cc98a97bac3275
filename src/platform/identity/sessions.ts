import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { recordAudit } from '../audit/audit-writer.ts';
import type { DB } from '../db/schema.ts';
import type { RequestMeta, TenantContext, TenantScope } from '../tenancy/tenant-scope.ts';
import { hashSecret, newSecret } from './tokens.ts';

/**
 * Server-side sessions. The browser holds only a random token (in a __Host- cookie) and a CSRF
 * token; the database holds their hashes. A session ends at whichever comes first: idle timeout,
 * absolute timeout, sign-out, or revocation (password change, user disabled, organisation
 * cancelled, "sign out everywhere").
 */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
/** Idle expiry is pushed forward at most this often, so a busy session is not a write per request. */
const SLIDE_RESOLUTION_MS = 60_000;
export const SESSION_TOKEN_PREFIX = 'css_';

export interface NewSession {
  sessionId: string;
  /** For the cookie; shown once, stored hashed. */
  token: string;
  /** For the X-CSRF-Token header of state-changing requests; stored hashed. */
  csrfToken: string;
  absoluteExpiresAt: Date;
}

/**
 * Who is asking, as the HTTP layer knows it from a live session cookie: the services that act on
 * one's own account (MFA, password change) take this rather than a scope, because they must call
 * the throttle outside the tenant transaction and open their own.
 */
export interface SessionContext {
  tenantId: string;
  userId: string;
  sessionId: string;
  meta: RequestMeta;
}

/** The tenant transaction of a signed-in user acting on their own account. */
export function ownAccountContext(context: SessionContext): TenantContext {
  return { tenantId: context.tenantId, actor: { type: 'user', id: context.userId }, meta: context.meta };
}

export interface Session {
  id: string;
  userId: string;
  mfaVerified: boolean;
  createdAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

export async function createSession(
  scope: TenantScope,
  userId: string,
  options: { mfaVerified: boolean; now?: Date },
): Promise<NewSession> {
  const now = options.now ?? new Date();
  const token = newSecret(SESSION_TOKEN_PREFIX);
  const csrf = newSecret();
  const absoluteExpiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  const row = await scope.trx
    .insertInto('sessions')
    .values({
      tenant_id: scope.tenantId,
      user_id: userId,
      token_hash: token.hash,
      csrf_hash: csrf.hash,
      created_at: now,
      last_seen_at: now,
      idle_expires_at: new Date(now.getTime() + SESSION_IDLE_MS),
      absolute_expires_at: absoluteExpiresAt,
      mfa_verified_at: options.mfaVerified ? now : null,
      ip_enc: scope.cipher.sealOptional('sessions.ip', scope.meta.ip),
      user_agent_enc: scope.cipher.sealOptional('sessions.user_agent', scope.meta.userAgent),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordAudit(scope, { action: 'session.started', target: { type: 'user', id: userId }, changes: { mfaVerified: { after: options.mfaVerified } } });
  return { sessionId: row.id, token: token.secret, csrfToken: csrf.secret, absoluteExpiresAt };
}

/** Which tenant a session token belongs to (before any tenant is set); undefined when not live. */
export async function resolveSessionTenant(app: Kysely<DB>, token: string): Promise<{ tenantId: string; sessionId: string } | undefined> {
  if (!token.startsWith(SESSION_TOKEN_PREFIX) || token.length > 200) return undefined;
  const result = await sql<{ tenant_id: string; subject_id: string }>`
    select tenant_id, subject_id from custos_resolve_secret('session', ${hashSecret(token)})`.execute(app);
  const row = result.rows[0];
  return row ? { tenantId: row.tenant_id, sessionId: row.subject_id } : undefined;
}

/**
 * Loads a live session in its tenant's transaction and slides its idle expiry (never past the
 * absolute one). Undefined when expired or revoked.
 */
export async function loadSession(scope: TenantScope, sessionId: string, now = new Date()): Promise<Session | undefined> {
  const row = await scope.trx
    .selectFrom('sessions')
    .select(['id', 'user_id', 'mfa_verified_at', 'created_at', 'idle_expires_at', 'absolute_expires_at', 'last_seen_at'])
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return undefined;
  let idleExpiresAt = new Date(row.idle_expires_at);
  if (now.getTime() - new Date(row.last_seen_at).getTime() >= SLIDE_RESOLUTION_MS) {
    idleExpiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, new Date(row.absolute_expires_at).getTime()));
    await scope.trx.updateTable('sessions').set({ last_seen_at: now, idle_expires_at: idleExpiresAt }).where('id', '=', sessionId).execute();
  }
  return {
    id: row.id,
    userId: row.user_id,
    mfaVerified: row.mfa_verified_at !== null,
    createdAt: new Date(row.created_at),
    idleExpiresAt,
    absoluteExpiresAt: new Date(row.absolute_expires_at),
  };
}

/**
 * The caller's own session inside their tenant transaction, locked until it ends, or undefined
 * when it is no longer live or not theirs. The lock makes two concurrent MFA steps on one session
 * queue up: the second finds the session already replaced instead of replacing it twice.
 */
export async function lockOwnSession(
  scope: TenantScope,
  own: { sessionId: string; userId: string },
  now = new Date(),
): Promise<{ mfaVerified: boolean } | undefined> {
  const row = await scope.trx
    .selectFrom('sessions')
    .select('mfa_verified_at')
    .where('id', '=', own.sessionId)
    .where('user_id', '=', own.userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .forUpdate()
    .executeTakeFirst();
  return row ? { mfaVerified: row.mfa_verified_at !== null } : undefined;
}

/** Constant-time check of the CSRF token sent with a state-changing request. */
export async function checkCsrf(scope: TenantScope, sessionId: string, presented: string | undefined): Promise<boolean> {
  if (!presented) return false;
  const row = await scope.trx.selectFrom('sessions').select('csrf_hash').where('id', '=', sessionId).executeTakeFirst();
  if (!row) return false;
  const expected = Buffer.from(row.csrf_hash, 'hex');
  const actual = Buffer.from(hashSecret(presented), 'hex');
  return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
}

/**
 * After a second factor: the pre-MFA session ends and a new one (new id, new token) begins, so a
 * token seen before MFA is worth nothing after it.
 */
export async function upgradeSessionAfterMfa(scope: TenantScope, sessionId: string): Promise<NewSession> {
  const row = await scope.trx
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoked_reason: 'replaced after MFA' })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirstOrThrow();
  return createSession(scope, row.user_id, { mfaVerified: true });
}

export type RevocationReason =
  | 'signed out'
  | 'signed out everywhere'
  | 'password changed'
  | 'user disabled'
  | 'organisation cancelled'
  | 'mfa reset';

export async function revokeSession(scope: TenantScope, sessionId: string, reason: RevocationReason): Promise<boolean> {
  const row = await scope.trx
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  if (row) await recordAudit(scope, { action: 'session.ended', target: { type: 'user', id: row.user_id }, changes: { reason: { after: reason } } });
  return Boolean(row);
}

/** Every live session of one user (or, without a user, of the whole organisation). Returns how many. */
export async function revokeSessions(scope: TenantScope, reason: RevocationReason, userId?: string): Promise<number> {
  let query = scope.trx.updateTable('sessions').set({ revoked_at: new Date(), revoked_reason: reason }).where('revoked_at', 'is', null);
  if (userId) query = query.where('user_id', '=', userId);
  const rows = await query.returning('id').execute();
  if (rows.length > 0) {
    await recordAudit(scope, {
      action: 'session.revoked_all',
      target: userId ? { type: 'user', id: userId } : { type: 'organisation', id: scope.tenantId },
      changes: { reason: { after: reason }, sessions: { after: rows.length } },
    });
  }
  return rows.length;
}
