import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { UnauthorizedError } from '../errors.ts';
import { isUuid, sqlSafeLiteral, tenantSettingsSql, type TenantContext, type TenantScope } from '../tenancy/tenant-scope.ts';
import { SESSION_IDLE_MS, SESSION_TOKEN_PREFIX } from './sessions.ts';
import { hashSecret } from './tokens.ts';

/**
 * What a request learns from a session cookie: whose live session it is, their role, and where
 * they stand with MFA. Read through custos_resolve_session (migration 0005), which answers only
 * for the one session whose hash is given, before any tenant is set.
 */
export interface SessionAccess {
  sessionId: string;
  tenantId: string;
  userId: string;
  role: string;
  organisationKind: string;
  /** SHA-256 of the cookie, to re-check the session inside the request's transaction. */
  tokenHash: string;
  csrfHash: string;
  /** A second factor was passed in this session. */
  mfaVerified: boolean;
  /** The organisation requires MFA (always so for the operator). */
  mfaRequired: boolean;
  /** The user has an authenticator enrolled. */
  mfaEnrolled: boolean;
  lastSeenAt: Date;
}

interface SessionRow {
  session_id: string;
  tenant_id: string;
  user_id: string;
  role: string;
  organisation_kind: string;
  csrf_hash: string;
  mfa_verified: boolean;
  mfa_required: boolean;
  mfa_enrolled: boolean;
  last_seen_at: Date | string;
}

const COLUMNS = 'session_id, tenant_id, user_id, role, organisation_kind, csrf_hash, mfa_verified, mfa_required, mfa_enrolled, last_seen_at';

function toAccess(row: SessionRow, tokenHash: string): SessionAccess {
  return {
    sessionId: row.session_id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    role: row.role,
    organisationKind: row.organisation_kind,
    tokenHash,
    csrfHash: row.csrf_hash,
    mfaVerified: row.mfa_verified,
    mfaRequired: row.mfa_required,
    mfaEnrolled: row.mfa_enrolled,
    lastSeenAt: new Date(row.last_seen_at),
  };
}

/** The live session a cookie names, or undefined (unknown, expired, revoked, user disabled, organisation cancelled). */
export async function resolveSessionAccess(app: Kysely<DB>, cookie: string): Promise<SessionAccess | undefined> {
  if (!cookie.startsWith(SESSION_TOKEN_PREFIX) || cookie.length > 200) return undefined;
  const tokenHash = hashSecret(cookie);
  const result = await sql<SessionRow>`select ${sql.raw(COLUMNS)} from custos_resolve_session(${tokenHash})`.execute(app);
  const row = result.rows[0];
  return row ? toAccess(row, tokenHash) : undefined;
}

/**
 * The authoritative session check, in the request's own transaction and in the statement that
 * sets the tenant (one round trip with BEGIN, see deferred-begin.ts). Calls `verify` with the
 * fresh state, so a role change, revocation or MFA reset a moment ago applies to this request.
 */
export function setTenantForSession(tokenHash: string, verify: (fresh: SessionAccess) => void) {
  return async (trx: Transaction<DB>, context: TenantContext): Promise<void> => {
    const settings = tenantSettingsSql(context);
    const hash = /^[0-9a-f]{64}$/.test(tokenHash) ? sqlSafeLiteral(tokenHash) : undefined;
    const user = context.actor.id && isUuid(context.actor.id) ? sqlSafeLiteral(context.actor.id) : undefined;
    if (!settings || !hash || !user) throw new UnauthorizedError();
    // Only a hex hash and UUIDs, checked above, are written into the SQL text.
    const result = await sql
      .raw<SessionRow>(
        `select ${COLUMNS}, ${settings} from custos_resolve_session(${hash}) r
          where r.tenant_id = '${context.tenantId}'::uuid and r.user_id = ${user}::uuid`,
      )
      .execute(trx);
    const row = result.rows[0];
    if (!row) throw new UnauthorizedError('your session has ended; sign in again');
    verify(toAccess(row, tokenHash));
  };
}

/** How often the idle expiry is pushed forward: at most one write per session a minute. */
const SLIDE_RESOLUTION_MS = 60_000;

/** Keeps an active session alive: its idle expiry moves forward, never past the absolute one. */
export async function touchSession(scope: TenantScope, access: Pick<SessionAccess, 'sessionId' | 'lastSeenAt'>, now = new Date()): Promise<void> {
  if (now.getTime() - access.lastSeenAt.getTime() < SLIDE_RESOLUTION_MS) return;
  await scope.trx
    .updateTable('sessions')
    .set({
      last_seen_at: now,
      idle_expires_at: sql<Date>`least(${new Date(now.getTime() + SESSION_IDLE_MS)}::timestamptz, absolute_expires_at)`,
    })
    .where('id', '=', access.sessionId)
    .where('last_seen_at', '<', new Date(now.getTime() - SLIDE_RESOLUTION_MS))
    .execute();
}
