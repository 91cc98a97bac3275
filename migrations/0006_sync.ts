import { sql, type Kysely } from 'kysely';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * The sync hub's school data model. The tenant is the school. Personal values of each record live
 * in one sealed JSON document (`data_enc`, the tenant's data key, the table bound in); what stays
 * in clear is what is not personal (group names, year groups, status) or is a keyed hash
 * (`*_bidx` blind indexes for exact search, `content_hash` to see quickly whether a record
 * changed). Records are keyed by (school, source, MIS id): a source is the connection or upload
 * format they came from, so re-running an import updates rather than duplicates.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE school_profiles (
      tenant_id uuid PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
      name text NOT NULL,
      urn text,
      la_estab text,
      phase text,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('school_profiles')}

    -- The row a run locks (FOR UPDATE NOWAIT) for its whole transaction: one run per school at a time.
    -- Also where the school's "stop all sharing" switch and per-entity freshness stamps live.
    CREATE TABLE sync_state (
      tenant_id uuid PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
      sharing_paused boolean NOT NULL DEFAULT false,
      fresh_as_of jsonb NOT NULL DEFAULT '{}'::jsonb,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('sync_state')}

    CREATE TABLE sync_connections (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('ctf', 'oneroster-csv', 'oneroster-rest', 'wonde', 'csv')),
      name text NOT NULL,
      -- Endpoint, credentials, column mapping: sealed, they can hold secrets.
      settings_enc text,
      schedule text,
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz,
      UNIQUE (tenant_id, name)
    );
    ${tenantTableSql('sync_connections')}

    CREATE TABLE sync_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      connection_id uuid REFERENCES sync_connections(id) ON DELETE SET NULL,
      source text NOT NULL,
      format text NOT NULL,
      mode text NOT NULL CHECK (mode IN ('full', 'delta')),
      dry_run boolean NOT NULL DEFAULT false,
      status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
      started_by text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      -- {created:{pupils:n,…}, updated:{…}, left:{…}}; counts only.
      counts jsonb NOT NULL DEFAULT '{}'::jsonb,
      -- [{location, message}]: locations and reasons, never personal values.
      warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
      errors jsonb NOT NULL DEFAULT '[]'::jsonb
    );
    CREATE INDEX sync_runs_recent ON sync_runs (tenant_id, started_at DESC);
    ${tenantTableSql('sync_runs')}

    -- Per record: what happened and which fields changed (names only).
    CREATE TABLE sync_run_changes (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
      entity text NOT NULL,
      record_id uuid NOT NULL,
      change text NOT NULL CHECK (change IN ('created', 'updated', 'left')),
      fields text[] NOT NULL DEFAULT '{}'
    );
    CREATE INDEX sync_run_changes_run ON sync_run_changes (tenant_id, run_id);
    ${tenantTableSql('sync_run_changes')}

    CREATE TABLE pupils (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      source text NOT NULL,
      mis_id text NOT NULL,
      data_enc text NOT NULL,
      content_hash text NOT NULL,
      upn_bidx text,
      forename_bidx text,
      surname_bidx text,
      year_group text,
      registration_group text,
      photo_blob_id uuid,
      status text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'left')),
      left_at date,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, source, mis_id)
    );
    CREATE INDEX pupils_surname ON pupils (tenant_id, surname_bidx);
    CREATE INDEX pupils_forename ON pupils (tenant_id, forename_bidx);
    CREATE INDEX pupils_upn ON pupils (tenant_id, upn_bidx);
    ${tenantTableSql('pupils')}

    CREATE TABLE contacts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      source text NOT NULL,
      mis_id text NOT NULL,
      data_enc text NOT NULL,
      content_hash text NOT NULL,
      forename_bidx text,
      surname_bidx text,
      status text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'left')),
      left_at date,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, source, mis_id)
    );
    CREATE INDEX contacts_surname ON contacts (tenant_id, surname_bidx);
    ${tenantTableSql('contacts')}

    -- Relationship, parental responsibility, priority, lives-with and no-contact are about the
    -- pupil–contact pair, so they live on the link (sealed: a court order is sensitive).
    CREATE TABLE pupil_contacts (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      pupil_id uuid NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
      contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
      priority integer,
      data_enc text NOT NULL,
      PRIMARY KEY (tenant_id, pupil_id, contact_id)
    );
    CREATE INDEX pupil_contacts_contact ON pupil_contacts (tenant_id, contact_id);
    ${tenantTableSql('pupil_contacts')}

    CREATE TABLE staff (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      source text NOT NULL,
      mis_id text NOT NULL,
      data_enc text NOT NULL,
      content_hash text NOT NULL,
      forename_bidx text,
      surname_bidx text,
      photo_blob_id uuid,
      status text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'left')),
      left_at date,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, source, mis_id)
    );
    CREATE INDEX staff_surname ON staff (tenant_id, surname_bidx);
    ${tenantTableSql('staff')}

    CREATE TABLE school_groups (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      source text NOT NULL,
      mis_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('year', 'registration', 'house', 'class')),
      name text NOT NULL,
      code text,
      content_hash text NOT NULL,
      status text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'left')),
      left_at date,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, source, mis_id)
    );
    ${tenantTableSql('school_groups')}

    CREATE TABLE group_members (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      group_id uuid NOT NULL REFERENCES school_groups(id) ON DELETE CASCADE,
      member_kind text NOT NULL CHECK (member_kind IN ('pupil', 'staff')),
      member_id uuid NOT NULL,
      PRIMARY KEY (tenant_id, group_id, member_kind, member_id)
    );
    CREATE INDEX group_members_member ON group_members (tenant_id, member_kind, member_id);
    ${tenantTableSql('group_members')}

    -- One mark per pupil, date and session. The DfE code is sealed: absence reasons are personal.
    CREATE TABLE attendance_marks (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      pupil_id uuid NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
      date date NOT NULL,
      session text NOT NULL CHECK (session IN ('AM', 'PM')),
      code_enc text NOT NULL,
      content_hash text NOT NULL,
      PRIMARY KEY (tenant_id, pupil_id, date, session)
    );
    ${tenantTableSql('attendance_marks')}
  `,
    )
    .execute(db);
}
