import { sql, type Kysely } from 'kysely';

/**
 * Storage bought is for a year. Until now a paid purchase was added to portal_practice's quota for
 * good; from here a purchase carries the end of its term and counts towards the quota only until
 * then, and portal_practice.storage_quota_bytes holds what does not expire (the allowance every
 * practice starts with and storage granted by hand).
 *
 * Purchases already paid get their year from when they were paid, and their bytes come out of the
 * lasting quota so that nothing is counted twice. The update spans every practice, so row-level
 * security is lifted from the two tables for this transaction only (the owner runs migrations).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE portal_purchases
      ADD COLUMN expires_at timestamptz,
      ADD CHECK (kind = 'storage' OR expires_at IS NULL);

    ALTER TABLE portal_purchases NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE portal_practice NO FORCE ROW LEVEL SECURITY;
    UPDATE portal_purchases SET expires_at = paid_at + interval '1 year' WHERE kind = 'storage' AND status = 'paid';
    UPDATE portal_practice p
       SET storage_quota_bytes = greatest(0, p.storage_quota_bytes - bought.bytes)
      FROM (SELECT tenant_id, sum(quantity) * 1073741824 AS bytes FROM portal_purchases
             WHERE kind = 'storage' AND status = 'paid' GROUP BY tenant_id) bought
     WHERE bought.tenant_id = p.tenant_id;
    ALTER TABLE portal_purchases FORCE ROW LEVEL SECURITY;
    ALTER TABLE portal_practice FORCE ROW LEVEL SECURITY;

    CREATE INDEX portal_purchases_storage_terms ON portal_purchases (tenant_id, expires_at) WHERE kind = 'storage' AND status = 'paid';
  `,
    )
    .execute(db);
}
