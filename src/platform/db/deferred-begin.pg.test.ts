import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/harness.ts';
import { withDeferredBegin } from './deferred-begin.ts';

/**
 * The deferred BEGIN exists only on PostgreSQL (PGlite is in-process: no round trips to save),
 * so this file (*.pg.test.ts) runs in the PostgreSQL pass of the suite only (vitest.config.ts).
 */
describe('deferred BEGIN on PostgreSQL', () => {
  let drop: () => Promise<void>;
  let pool: pg.Pool;
  let db: Kysely<any>;
  const sent: string[] = [];

  beforeAll(async () => {
    const opened = await openTestDatabase();
    drop = async () => {
      await opened.database.close();
      await opened.drop();
    };
    pool = new pg.Pool({ connectionString: opened.databaseUrl, max: 1 });
    // Record what reaches the server, to count round trips.
    pool.on('connect', (client) => {
      const original = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        if (typeof args[0] === 'string') sent.push(args[0]);
        return original(...args);
      };
    });
    db = new Kysely({ dialect: new PostgresDialect({ pool: withDeferredBegin(pool) }) });
    await sql`create table deferred_probe (n int)`.execute(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  it('sends BEGIN with a parameterless first statement, in one round trip, inside a real transaction', async () => {
    sent.length = 0;
    const inTransaction = await db.transaction().execute(async (trx) => {
      const first = await sql.raw<{ t: string }>(`select set_config('app.probe', 'x', true) as t`).execute(trx);
      expect(first.rows).toEqual([{ t: 'x' }]);
      return (await sql<{ n: string }>`select count(*) as n from pg_stat_activity where pid = pg_backend_pid() and xact_start is not null`.execute(trx)).rows[0]!.n;
    });
    expect(Number(inTransaction)).toBe(1);
    expect(sent[0]).toMatch(/^begin;\nselect set_config/);
    expect(sent.filter((s) => s === 'begin')).toEqual([]);
    // The setting was transaction-local: gone afterwards on the same (only) connection.
    const after = await sql<{ t: string | null }>`select current_setting('app.probe', true) as t`.execute(db);
    expect(after.rows[0]!.t ?? '').toBe('');
  });

  it('rolls back everything when a later statement fails', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await sql.raw(`insert into deferred_probe values (1)`).execute(trx);
        await sql`insert into deferred_probe values (${'not a number'})`.execute(trx);
      }),
    ).rejects.toThrow();
    const rows = await sql<{ n: number }>`select count(*)::int as n from deferred_probe`.execute(db);
    expect(rows.rows[0]!.n).toBe(0);
  });

  it('sends BEGIN on its own when the first statement has parameters, and handles empty transactions', async () => {
    sent.length = 0;
    await db.transaction().execute(async (trx) => {
      await sql`insert into deferred_probe values (${2})`.execute(trx);
    });
    expect(sent.slice(0, 2)).toEqual(['begin', 'insert into deferred_probe values ($1)']);
    await db.transaction().execute(async () => undefined);
    const rows = await sql<{ n: number }>`select count(*)::int as n from deferred_probe`.execute(db);
    expect(rows.rows[0]!.n).toBe(1);
  });
});
