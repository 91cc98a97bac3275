import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * The client portal (tenant = the accountancy practice). Every table holding a client's data has
 * `client_id` and, besides tenant isolation, a RESTRICTIVE policy: when the acting user is one of
 * the practice's client users, rows of clients they are not a member of do not exist for them —
 * whatever the query, id or download link. Staff and administrators (and the practice's API
 * tokens and jobs) see every client of the practice. Names, titles, messages, comments, answers
 * and invoice lines are sealed with the practice's data key; amounts and states stay in clear for
 * lists and totals.
 */
const clientAreaSql = (table: string) => `
    CREATE POLICY ${table}_client_area ON ${table} AS RESTRICTIVE
      USING ((SELECT custos_portal_client_areas()) IS NULL OR client_id IN (SELECT unnest(custos_portal_client_areas())))
      WITH CHECK ((SELECT custos_portal_client_areas()) IS NULL OR client_id IN (SELECT unnest(custos_portal_client_areas())));`;

const clientTable = (table: string) => `${tenantTableSql(table)}${clientAreaSql(table)}`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    -- The clients the acting user may reach when they are a client user of this practice; NULL
    -- (no restriction) for anyone else. A definer function: it reads users and memberships
    -- whatever their policies, for the current tenant and user only.
    CREATE FUNCTION custos_portal_client_areas() RETURNS uuid[]
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    DECLARE
      v_tenant uuid;
      v_user uuid;
      v_role text;
    BEGIN
      v_tenant := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
      -- System actors have no id; API tokens carry their own (never a user's).
      IF current_setting('app.user_id', true) !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN NULL;
      END IF;
      v_user := current_setting('app.user_id', true)::uuid;
      SELECT role INTO v_role FROM users WHERE id = v_user AND tenant_id = v_tenant;
      IF v_role IS DISTINCT FROM 'client' THEN
        RETURN NULL;
      END IF;
      RETURN coalesce((SELECT array_agg(m.client_id) FROM portal_client_members m WHERE m.tenant_id = v_tenant AND m.user_id = v_user), '{}'::uuid[]);
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_portal_client_areas() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_portal_client_areas() TO ${APP_ROLE};

    CREATE TABLE portal_clients (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('individual', 'company')),
      name_enc text NOT NULL,
      name_bidx text NOT NULL,
      -- Companies House numbers are public: kept in clear for lookup. Individuals have none.
      company_number text CHECK (company_number ~ '^[A-Z0-9]{8}$'),
      reference text CHECK (length(reference) BETWEEN 1 AND 40),
      email_enc text,
      mtd_itsa boolean NOT NULL DEFAULT false,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (kind = 'company' OR company_number IS NULL),
      UNIQUE (tenant_id, reference)
    );
    CREATE INDEX portal_clients_name ON portal_clients (tenant_id, name_bidx);
    -- The client's own row: its id is the client_id of every other table.
    ${tenantTableSql('portal_clients')}
    CREATE POLICY portal_clients_client_area ON portal_clients AS RESTRICTIVE
      USING ((SELECT custos_portal_client_areas()) IS NULL OR id IN (SELECT unnest(custos_portal_client_areas())))
      WITH CHECK ((SELECT custos_portal_client_areas()) IS NULL OR id IN (SELECT unnest(custos_portal_client_areas())));

    CREATE TABLE portal_client_members (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      added_by text NOT NULL,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, client_id, user_id)
    );
    CREATE INDEX portal_client_members_user ON portal_client_members (tenant_id, user_id);
    ${clientTable('portal_client_members')}

    CREATE TABLE portal_folders (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      name_enc text NOT NULL,
      name_bidx text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, client_id, name_bidx)
    );
    ${clientTable('portal_folders')}

    CREATE TABLE portal_documents (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      folder_id uuid REFERENCES portal_folders(id) ON DELETE SET NULL,
      title_enc text NOT NULL,
      latest_version integer NOT NULL DEFAULT 0,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX portal_documents_client ON portal_documents (tenant_id, client_id, updated_at DESC);
    ${clientTable('portal_documents')}

    CREATE TABLE portal_document_versions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      document_id uuid NOT NULL REFERENCES portal_documents(id) ON DELETE CASCADE,
      version integer NOT NULL CHECK (version > 0),
      blob_id uuid NOT NULL,
      filename_enc text NOT NULL,
      content_type text NOT NULL,
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      sha256 text NOT NULL,
      -- 'not_scanned' when no malware scanner is configured: never claimed clean without a scan.
      scan text NOT NULL CHECK (scan IN ('clean', 'not_scanned')),
      -- 'signed': produced by the portal from a completed signature flow.
      origin text NOT NULL DEFAULT 'upload' CHECK (origin IN ('upload', 'signed')),
      uploaded_by text NOT NULL,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, document_id, version)
    );
    CREATE INDEX portal_document_versions_tenant ON portal_document_versions (tenant_id);
    ${clientTable('portal_document_versions')}

    CREATE TABLE portal_flows (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('approval', 'signature')),
      title_enc text NOT NULL,
      message_enc text,
      recipient_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'signed', 'declined', 'expired', 'cancelled')),
      response_enc text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      completed_at timestamptz,
      next_reminder_at timestamptz,
      reminders_sent integer NOT NULL DEFAULT 0
    );
    CREATE INDEX portal_flows_client ON portal_flows (tenant_id, client_id, created_at DESC);
    CREATE INDEX portal_flows_reminders ON portal_flows (next_reminder_at) WHERE status = 'pending';
    ${clientTable('portal_flows')}

    CREATE TABLE portal_flow_documents (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      flow_id uuid NOT NULL REFERENCES portal_flows(id) ON DELETE CASCADE,
      document_id uuid NOT NULL REFERENCES portal_documents(id) ON DELETE CASCADE,
      version_id uuid NOT NULL REFERENCES portal_document_versions(id) ON DELETE CASCADE,
      position integer NOT NULL,
      original_sha256 text NOT NULL,
      signed_version_id uuid REFERENCES portal_document_versions(id) ON DELETE SET NULL,
      final_sha256 text,
      PRIMARY KEY (tenant_id, flow_id, document_id)
    );
    CREATE INDEX portal_flow_documents_final ON portal_flow_documents (final_sha256) WHERE final_sha256 IS NOT NULL;
    ${clientTable('portal_flow_documents')}

    CREATE TABLE portal_flow_events (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      flow_id uuid NOT NULL REFERENCES portal_flows(id) ON DELETE CASCADE,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      event text NOT NULL,
      actor_enc text NOT NULL,
      ip_enc text,
      user_agent_enc text
    );
    CREATE INDEX portal_flow_events_flow ON portal_flow_events (flow_id, at);
    ${clientTable('portal_flow_events')}

    -- Practice-wide: balances and the signing credential (sealed PKCS#12 and its passphrase).
    CREATE TABLE portal_practice (
      tenant_id uuid PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
      signing_credits integer NOT NULL DEFAULT 0 CHECK (signing_credits >= 0),
      storage_quota_bytes bigint NOT NULL CHECK (storage_quota_bytes >= 0),
      signing_p12_enc text,
      signing_passphrase_enc text,
      signing_fingerprint text,
      signing_not_after timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('portal_practice')}

    CREATE TABLE portal_credit_entries (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('signing', 'storage')),
      delta bigint NOT NULL,
      reason text NOT NULL,
      flow_id uuid,
      purchase_id uuid,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX portal_credit_entries_tenant ON portal_credit_entries (tenant_id, created_at DESC);
    ${tenantTableSql('portal_credit_entries', { privileges: 'SELECT, INSERT' })}

    CREATE TABLE portal_request_templates (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      questions jsonb NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, name)
    );
    ${tenantTableSql('portal_request_templates')}

    CREATE TABLE portal_requests (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('questionnaire', 'mtd_quarter')),
      title text NOT NULL,
      questions jsonb NOT NULL,
      answers_enc text,
      recipient_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'answered', 'completed', 'declined', 'expired', 'cancelled')),
      -- MTD quarterly updates: the tax year and quarter, one request per client per quarter.
      mtd_period text,
      response_enc text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      due_at timestamptz,
      answered_at timestamptz,
      completed_at timestamptz,
      completed_by text,
      next_reminder_at timestamptz,
      reminders_sent integer NOT NULL DEFAULT 0,
      UNIQUE (tenant_id, client_id, mtd_period)
    );
    CREATE INDEX portal_requests_client ON portal_requests (tenant_id, client_id, created_at DESC);
    CREATE INDEX portal_requests_reminders ON portal_requests (next_reminder_at) WHERE status = 'sent';
    ${clientTable('portal_requests')}

    CREATE TABLE portal_request_documents (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      request_id uuid NOT NULL REFERENCES portal_requests(id) ON DELETE CASCADE,
      document_id uuid NOT NULL REFERENCES portal_documents(id) ON DELETE CASCADE,
      question text NOT NULL,
      PRIMARY KEY (tenant_id, request_id, document_id)
    );
    ${clientTable('portal_request_documents')}

    CREATE TABLE portal_invoices (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      number text NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
      status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'paid', 'void')),
      issued_on date NOT NULL,
      due_on date NOT NULL,
      lines_enc text NOT NULL,
      net_pence bigint NOT NULL CHECK (net_pence >= 0),
      vat_pence bigint NOT NULL CHECK (vat_pence >= 0),
      gross_pence bigint NOT NULL CHECK (gross_pence >= 0),
      currency text NOT NULL DEFAULT 'gbp',
      checkout_session_id text,
      payment_intent_id text,
      paid_at timestamptz,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      next_reminder_at timestamptz,
      reminders_sent integer NOT NULL DEFAULT 0,
      UNIQUE (tenant_id, number)
    );
    CREATE INDEX portal_invoices_client ON portal_invoices (tenant_id, client_id, issued_on DESC);
    CREATE INDEX portal_invoices_reminders ON portal_invoices (next_reminder_at) WHERE status = 'issued';
    ${clientTable('portal_invoices')}

    -- Purchases of signing credits or storage by the practice itself.
    CREATE TABLE portal_purchases (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('signing', 'storage')),
      quantity bigint NOT NULL CHECK (quantity > 0),
      amount_pence bigint NOT NULL CHECK (amount_pence > 0),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid')),
      checkout_session_id text,
      paid_at timestamptz,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('portal_purchases')}

    -- Each payment-provider event is acted on once: a replayed delivery finds its id here.
    CREATE TABLE portal_payment_events (
      event_id text PRIMARY KEY,
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      type text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('portal_payment_events', { privileges: 'SELECT, INSERT' })}
  `,
    )
    .execute(db);
}
