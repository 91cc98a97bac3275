import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * Third-party apps reading a school's data through the OneRoster 1.2 provider API. A school
 * registers an API client (its client id is the grantee of a sharing grant); the client swaps its
 * id and secret for a one-hour bearer token (OAuth 2 client credentials). Only SHA-256 hashes of
 * secrets and tokens are kept. Both arrive before a tenant is known, so two security-definer
 * functions are the narrow doors through RLS: given a hash they return only the match's tenant.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE sync_api_clients (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      -- Random ('orc-' + 32 hex digits), hence globally unique.
      client_id text NOT NULL UNIQUE CHECK (client_id ~ '^orc-[0-9a-f]{32}$'),
      secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    ${tenantTableSql('sync_api_clients')}

    CREATE TABLE sync_api_client_tokens (
      token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id text NOT NULL REFERENCES sync_api_clients(client_id) ON DELETE CASCADE,
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sync_api_client_tokens_client ON sync_api_client_tokens (tenant_id, client_id);
    ${tenantTableSql('sync_api_client_tokens', { privileges: 'SELECT, INSERT, DELETE' })}

    -- Client credentials → the client's tenant, only for a live client of an active organisation.
    CREATE FUNCTION custos_resolve_oneroster_client(p_client_id text, p_secret_hash text)
      RETURNS TABLE (tenant_id uuid, client_id text)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT c.tenant_id, c.client_id
        FROM sync_api_clients c JOIN organisations o ON o.id = c.tenant_id
       WHERE c.client_id = p_client_id
         AND c.secret_hash = p_secret_hash
         AND c.revoked_at IS NULL
         AND o.status = 'active';
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_resolve_oneroster_client(text, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_resolve_oneroster_client(text, text) TO ${APP_ROLE};

    -- Bearer token hash → tenant and client, only while unexpired and the client is live.
    CREATE FUNCTION custos_resolve_oneroster_token(p_hash text)
      RETURNS TABLE (tenant_id uuid, client_id text)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT t.tenant_id, t.client_id
        FROM sync_api_client_tokens t
        JOIN sync_api_clients c ON c.client_id = t.client_id AND c.tenant_id = t.tenant_id
        JOIN organisations o ON o.id = t.tenant_id
       WHERE t.token_hash = p_hash
         AND t.expires_at > now()
         AND c.revoked_at IS NULL
         AND o.status = 'active';
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_resolve_oneroster_token(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_resolve_oneroster_token(text) TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
