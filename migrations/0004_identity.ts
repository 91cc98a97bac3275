import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * Identity: passwords, MFA, sessions, password resets and known devices, plus the organisation
 * settings that govern them. Sign-in happens before any tenant is known, so two narrow
 * security-definer functions find a sign-in's candidate accounts and a session's tenant.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE organisations
      ADD COLUMN require_mfa boolean NOT NULL DEFAULT false,
      ADD COLUMN password_mode text NOT NULL DEFAULT 'composition' CHECK (password_mode IN ('composition', 'nist'));
    -- Children's data: MFA on by default for schools, trusts, local authorities and the operator.
    UPDATE organisations SET require_mfa = true WHERE kind IN ('operator', 'school', 'trust', 'local_authority');

    ALTER TABLE users
      ADD COLUMN email_lookup text,
      ADD COLUMN password_hash text,
      ADD COLUMN password_changed_at timestamptz,
      ADD COLUMN totp_secret_enc text,
      ADD COLUMN totp_enrolled_at timestamptz,
      ADD COLUMN totp_last_step bigint;
    -- Platform-wide keyed hash of the email: the one way to find someone's accounts at sign-in.
    CREATE INDEX users_email_lookup ON users (email_lookup);

    -- Secrets that belong to the platform rather than to a tenant (the sign-in lookup key),
    -- wrapped by the master key like tenant keys. Owner-only: the app role cannot read it.
    CREATE TABLE platform_secrets (
      name text PRIMARY KEY,
      wrapped text NOT NULL,
      master_key_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    REVOKE ALL ON platform_secrets FROM ${APP_ROLE};

    CREATE TABLE recovery_codes (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      code_hash text NOT NULL,
      used_at timestamptz,
      PRIMARY KEY (tenant_id, user_id, code_hash)
    );
    ${tenantTableSql('recovery_codes')}

    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      csrf_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      idle_expires_at timestamptz NOT NULL,
      absolute_expires_at timestamptz NOT NULL,
      mfa_verified_at timestamptz,
      ip_enc text,
      user_agent_enc text,
      revoked_at timestamptz,
      revoked_reason text
    );
    CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
    ${tenantTableSql('sessions')}

    CREATE TABLE password_resets (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('password_resets')}

    CREATE TABLE known_devices (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      device_hash text NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, user_id, device_hash)
    );
    ${tenantTableSql('known_devices')}

    -- Sign-in: the accounts (any organisation) whose email has this platform-wide keyed hash.
    CREATE FUNCTION custos_sign_in_candidates(p_lookup text)
      RETURNS TABLE (tenant_id uuid, user_id uuid)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT u.tenant_id, u.id
        FROM users u JOIN organisations o ON o.id = u.tenant_id
       WHERE u.email_lookup = p_lookup AND u.status <> 'disabled' AND o.status = 'active';
    END
    $fn$;

    -- A one-time link (invitation or password reset) or a session cookie: which tenant it is for.
    CREATE FUNCTION custos_resolve_secret(p_kind text, p_hash text)
      RETURNS TABLE (tenant_id uuid, subject_id uuid)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      IF p_kind = 'invitation' THEN
        RETURN QUERY SELECT i.tenant_id, i.id FROM invitations i JOIN organisations o ON o.id = i.tenant_id
          WHERE i.token_hash = p_hash AND i.accepted_at IS NULL AND i.expires_at > now() AND o.status = 'active';
      ELSIF p_kind = 'password_reset' THEN
        RETURN QUERY SELECT r.tenant_id, r.id FROM password_resets r JOIN organisations o ON o.id = r.tenant_id
          WHERE r.token_hash = p_hash AND r.used_at IS NULL AND r.expires_at > now() AND o.status = 'active';
      ELSIF p_kind = 'session' THEN
        RETURN QUERY SELECT s.tenant_id, s.id FROM sessions s JOIN organisations o ON o.id = s.tenant_id
          WHERE s.token_hash = p_hash AND s.revoked_at IS NULL AND s.idle_expires_at > now()
            AND s.absolute_expires_at > now() AND o.status = 'active';
      END IF;
    END
    $fn$;

    REVOKE ALL ON FUNCTION custos_sign_in_candidates(text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION custos_resolve_secret(text, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_sign_in_candidates(text) TO ${APP_ROLE};
    GRANT EXECUTE ON FUNCTION custos_resolve_secret(text, text) TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
