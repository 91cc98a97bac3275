import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * The platform core: organisations (the tenants), their wrapped data keys, users and invitations,
 * API tokens, and the hash-chained audit trail.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
    END $$;
    GRANT USAGE ON SCHEMA public TO ${APP_ROLE};

    CREATE TABLE organisations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL CHECK (kind IN ('operator', 'school', 'trust', 'local_authority', 'practice')),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      parent_id uuid REFERENCES organisations(id),
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
      cancelled_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('organisations', { column: 'id' })}

    CREATE TABLE tenant_keys (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
      version integer NOT NULL CHECK (version > 0),
      wrapped text NOT NULL,
      master_key_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, purpose, version)
    );
    ${tenantTableSql('tenant_keys', { privileges: 'SELECT, INSERT' })}

    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      email_enc text NOT NULL,
      email_bidx text NOT NULL,
      display_name_enc text,
      role text NOT NULL DEFAULT 'member',
      status text NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'active', 'disabled')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, email_bidx)
    );
    ${tenantTableSql('users')}

    CREATE TABLE invitations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX invitations_user ON invitations (tenant_id, user_id);
    ${tenantTableSql('invitations')}

    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      token_hash text NOT NULL UNIQUE,
      token_prefix text NOT NULL,
      scopes text[] NOT NULL,
      issued_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz
    );
    ${tenantTableSql('api_tokens')}

    CREATE TABLE audit_events (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      seq integer NOT NULL CHECK (seq > 0),
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      occurred_at timestamptz NOT NULL,
      actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_token', 'operator', 'system')),
      actor_id text,
      operator_id text,
      action text NOT NULL,
      target_type text,
      target_id text,
      changes jsonb NOT NULL DEFAULT '{}'::jsonb,
      ip_enc text,
      user_agent_enc text,
      request_id text,
      prev_hash text NOT NULL,
      hash text NOT NULL,
      PRIMARY KEY (tenant_id, seq)
    );
    CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at);
    CREATE INDEX audit_events_action ON audit_events (tenant_id, action);
    ${tenantTableSql('audit_events', { privileges: 'SELECT, INSERT' })}

    -- The last link of each tenant's chain, kept apart so that deleting the newest entries is
    -- detected too, and so that appends serialise on one row lock per tenant.
    CREATE TABLE audit_heads (
      tenant_id uuid PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      hash text NOT NULL
    );
    ${tenantTableSql('audit_heads', { privileges: 'SELECT, INSERT, UPDATE' })}

    -- A bearer token arrives before any tenant is known. This definer function is the one narrow
    -- door through RLS: given the SHA-256 of a token it returns only that token's own tenant.
    -- plpgsql, so each connection caches the plan (a SQL definer function is re-planned per call).
    CREATE FUNCTION custos_resolve_api_token(p_hash text)
      RETURNS TABLE (token_id uuid, tenant_id uuid, scopes text[])
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT t.id, t.tenant_id, t.scopes
        FROM api_tokens t JOIN organisations o ON o.id = t.tenant_id
       WHERE t.token_hash = p_hash
         AND t.revoked_at IS NULL
         AND (t.expires_at IS NULL OR t.expires_at > now())
         AND o.status = 'active';
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_resolve_api_token(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_resolve_api_token(text) TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
