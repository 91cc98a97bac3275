import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/**
 * Saves one network round trip per transaction on PostgreSQL. Kysely sends `begin` on its own;
 * this pool wrapper holds it back and sends it in front of the transaction's first statement when
 * that statement has no parameters (the simple query protocol takes several statements at once).
 * Request transactions start with exactly such a statement: the one that sets the tenant. When the
 * first statement has parameters, `begin` goes on its own as before, so behaviour never changes.
 */
export function withDeferredBegin(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let beginPending = false;
      const query = async (text: string, values?: readonly unknown[]) => {
        const parameterless = !values || values.length === 0;
        if (parameterless && text === 'begin') {
          beginPending = true;
          return { command: 'BEGIN', rowCount: null, rows: [] };
        }
        if (beginPending) {
          beginPending = false;
          // A transaction that ran nothing: nothing was begun, so there is nothing to end.
          if (parameterless && (text === 'commit' || text === 'rollback')) return { command: text.toUpperCase(), rowCount: null, rows: [] };
          if (parameterless) {
            const results = (await client.query(`begin;\n${text}`)) as unknown as pg.QueryResult | pg.QueryResult[];
            return Array.isArray(results) ? results[results.length - 1]! : results;
          }
          await client.query('begin');
        }
        return client.query(text, values as unknown[]);
      };
      return {
        query: query as unknown as PostgresPoolClient['query'],
        release: () => {
          beginPending = false;
          client.release();
        },
      };
    },
    end: () => pool.end(),
  };
}
