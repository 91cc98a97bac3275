import { sql, type Kysely } from 'kysely';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * Change events and signed webhooks for linked apps. Every committed sync run writes one
 * sync_change_events row per changed record (entity, id, kind of change and changed field names,
 * never values), numbered per school by `seq`. A webhook belongs to one grantee of the school's
 * sharing grants: deliveries carry only what that grantee's current grant lets it see. Its signing
 * secret is sealed with the school's data key.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE sync_webhooks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      grantee text NOT NULL CHECK (length(grantee) BETWEEN 1 AND 200),
      url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
      secret_enc text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz
    );
    CREATE INDEX sync_webhooks_tenant ON sync_webhooks (tenant_id) WHERE disabled_at IS NULL;
    ${tenantTableSql('sync_webhooks')}

    -- seq counts per school, given out under the school's sync_state lock (one run at a time).
    CREATE TABLE sync_change_events (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      seq bigint NOT NULL CHECK (seq > 0),
      run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
      entity text NOT NULL,
      record_id uuid NOT NULL,
      change text NOT NULL CHECK (change IN ('created', 'updated', 'left')),
      fields text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, seq)
    );
    CREATE INDEX sync_change_events_run ON sync_change_events (tenant_id, run_id);
    ${tenantTableSql('sync_change_events', { privileges: 'SELECT, INSERT' })}
  `,
    )
    .execute(db);
}
