import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';

/**
 * Credential throttling counters (src/platform/identity/throttle.ts), kept in the database so the
 * limits hold across every server process. The columns are exactly the ones rate-limiter-flexible's
 * PostgreSQL store expects (it is told `tableCreated: true`, so the app never needs CREATE).
 *
 * Not customer data and read before any tenant is known, so no tenant_id and no RLS: every key is
 * HMAC-SHA256 under a platform key of (path | kind | value), so no email or IP address is stored in
 * clear. The application role gets row privileges on this one table and nothing more.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE credential_throttle (
      key varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    );
    -- The periodic clean-up deletes by expiry.
    CREATE INDEX credential_throttle_expire ON credential_throttle (expire);
    GRANT SELECT, INSERT, UPDATE, DELETE ON credential_throttle TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
