import { sql, type Kysely } from 'kysely';

/**
 * Where a running import has got to ({entity, done, total, at}), so the web app can show progress
 * to anyone looking at the run. Written from outside the run's own transaction (the data it is
 * writing stays invisible until it commits), at most about once a second.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE sync_runs ADD COLUMN progress jsonb`.execute(db);
}

