import { sql, type Kysely } from 'kysely';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * School-controlled sharing of the sync hub's data. A grant names who may read (a Custos product
 * such as 'messaging', or an API client) and which scopes of the school's data; a school can revoke
 * it, leave single pupils or staff out of it, or pause all sharing at once (sync_state.sharing_paused).
 * Reads through the sync reader are counted per grantee and day, so the school sees who reads how much.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE sync_grants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      grantee_kind text NOT NULL CHECK (grantee_kind IN ('product', 'api_client')),
      grantee text NOT NULL CHECK (length(grantee) BETWEEN 1 AND 200),
      scopes text[] NOT NULL CHECK (
        cardinality(scopes) > 0 AND
        scopes <@ ARRAY['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'pupils.photo', 'contacts', 'staff', 'groups', 'attendance', 'fsm']::text[]
      ),
      -- Who granted it: 'user:<id>', 'api_token:<id>', 'system'.
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    -- At most one live grant per grantee: the reader looks it up by name.
    CREATE UNIQUE INDEX sync_grants_live ON sync_grants (tenant_id, grantee) WHERE revoked_at IS NULL;
    ${tenantTableSql('sync_grants')}

    -- Pupils or staff the school keeps out of one grant (no FK: member_id is a pupil or a staff id).
    CREATE TABLE sync_grant_exclusions (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      grant_id uuid NOT NULL REFERENCES sync_grants(id) ON DELETE CASCADE,
      member_kind text NOT NULL CHECK (member_kind IN ('pupil', 'staff')),
      member_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, grant_id, member_kind, member_id)
    );
    ${tenantTableSql('sync_grant_exclusions')}

    -- One row per grantee and (UTC) day; each reader call adds one.
    CREATE TABLE sync_read_counts (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      grantee text NOT NULL,
      day date NOT NULL,
      reads integer NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, grantee, day)
    );
    ${tenantTableSql('sync_read_counts')}
  `,
    )
    .execute(db);
}
