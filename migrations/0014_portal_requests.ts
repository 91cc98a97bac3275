import { sql, type Kysely } from 'kysely';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/**
 * Information requests, completed (0011 laid out portal_requests):
 *   - a request carries the practice's covering message and, after a send-back, its review comment
 *     (both sealed), and for a Making Tax Digital quarterly update the client's decision on the
 *     figures with the revision of the figures they decided on (states, in clear);
 *   - the quarterly summary figures live in their own table, keyed by client and period, so the
 *     practice can enter them before the quarter's request exists as well as after; the request
 *     finds them by (client, period). Figures are the client's finances: sealed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE portal_requests
      ADD COLUMN message_enc text,
      ADD COLUMN review_comment_enc text,
      ADD COLUMN decision text CHECK (decision IN ('approved', 'rejected')),
      ADD COLUMN summary_revision integer,
      ADD CHECK (kind = 'mtd_quarter' OR (decision IS NULL AND mtd_period IS NULL)),
      ADD CHECK (kind = 'questionnaire' OR mtd_period IS NOT NULL);

    CREATE TABLE portal_mtd_summaries (
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      client_id uuid NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
      mtd_period text NOT NULL CHECK (mtd_period ~ '^[0-9]{4}-[0-9]{2}-Q[1-4]$'),
      summary_enc text NOT NULL,
      -- Counts every change: a client's approval names the revision they saw.
      revision integer NOT NULL CHECK (revision > 0),
      updated_by text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, client_id, mtd_period)
    );
    ${tenantTableSql('portal_mtd_summaries')}
    CREATE POLICY portal_mtd_summaries_client_area ON portal_mtd_summaries AS RESTRICTIVE
      USING ((SELECT custos_portal_client_areas()) IS NULL OR client_id IN (SELECT unnest(custos_portal_client_areas())))
      WITH CHECK ((SELECT custos_portal_client_areas()) IS NULL OR client_id IN (SELECT unnest(custos_portal_client_areas())));
  `,
    )
    .execute(db);
}
