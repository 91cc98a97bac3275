import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';

/**
 * What a request needs to know about a session cookie before (and again inside) its tenant
 * transaction: whose session it is, their role, and where they stand with MFA. One definer
 * function answers for exactly one live session hash, so a cookie reveals nothing about others.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE FUNCTION custos_resolve_session(p_hash text)
      RETURNS TABLE (
        session_id uuid, tenant_id uuid, user_id uuid, role text, organisation_kind text,
        csrf_hash text, mfa_verified boolean, mfa_required boolean, mfa_enrolled boolean, last_seen_at timestamptz
      )
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT s.id, s.tenant_id, u.id, u.role, o.kind, s.csrf_hash,
             s.mfa_verified_at IS NOT NULL,
             (o.require_mfa OR o.kind = 'operator'),
             u.totp_enrolled_at IS NOT NULL,
             s.last_seen_at
        FROM sessions s
        JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
        JOIN organisations o ON o.id = s.tenant_id
       WHERE s.token_hash = p_hash
         AND s.revoked_at IS NULL
         AND s.idle_expires_at > now()
         AND s.absolute_expires_at > now()
         AND u.status = 'active'
         AND o.status = 'active';
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_resolve_session(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_resolve_session(text) TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
