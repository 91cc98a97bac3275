import { sql, type Kysely } from 'kysely';

/**
 * Invoice numbers: a counter per practice, so automatic numbers (INV-000001, INV-000002, …) never
 * repeat, not even after a client and its invoices have been deleted (HMRC expects each invoice
 * number to be used once). Raised under the practice row's lock, so two invoices raised at once
 * cannot take the same number.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE portal_practice ADD COLUMN last_invoice_number bigint NOT NULL DEFAULT 0 CHECK (last_invoice_number >= 0)`.execute(db);
}
