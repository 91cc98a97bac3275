import { sql, type Kysely } from 'kysely';

/** When the practice's admins were told that a year of storage bought is about to end (once per purchase). */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE portal_purchases ADD COLUMN expiry_reminded_at timestamptz`.execute(db);
}
