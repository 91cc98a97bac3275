import { sql, type Kysely } from 'kysely';

/**
 * Request titles are sealed like flow titles: a practice may name a request after the client
 * ("Jo Bloggs – 2025-26 return"). New rows carry only `title_enc`; rows written before keep their
 * clear `title` until the hourly portal pass seals it (requests/titles.ts), found through the
 * partial index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE portal_requests
      ADD COLUMN title_enc text,
      ALTER COLUMN title DROP NOT NULL,
      ADD CONSTRAINT portal_requests_title_present CHECK (title IS NOT NULL OR title_enc IS NOT NULL);
    CREATE INDEX portal_requests_clear_titles ON portal_requests (tenant_id) WHERE title IS NOT NULL;
  `,
    )
    .execute(db);
}
