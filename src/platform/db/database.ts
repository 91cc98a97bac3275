import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { withDeferredBegin } from './deferred-begin.ts';
import { APP_ROLE } from './roles.ts';
import { PgliteDialect, PgliteGate } from './pglite-driver.ts';
import type { DB } from './schema.ts';

/**
 * Two handles on one database:
 * - `owner` runs migrations and operator-level system tasks (it owns the tables);
 * - `app` is what request and job code uses: the `custos_app` role, which owns nothing and is
 *   subject to row-level security, so a forgotten tenant filter returns nothing instead of
 *   another organisation's rows.
 */
export interface Database {
  kind: 'pglite' | 'postgres';
  owner: Kysely<DB>;
  app: Kysely<DB>;
  /** How the job queue reaches the same database. */
  queueConnection: { connectionString: string } | { db: ReturnType<PgliteGate['asBossDb']> };
  close(): Promise<void>;
  /** Embedded only: the whole database as a tarball (test templates). */
  dump?: () => Promise<Blob>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  databaseAppUrl?: string;
  /** Folder for the embedded database; `undefined` with no URL means in memory (tests). */
  pgliteDir?: string;
  /** Pool size per handle on PostgreSQL. */
  poolSize?: number;
  /** A dumped embedded database to start from (tests start from a migrated template). */
  pgliteTemplate?: Blob;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openPglite(options.pgliteDir, options.pgliteTemplate);
}

/** Where the application role connects when no DATABASE_APP_URL is given: same server, role custos_app. */
export function deriveAppUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.username = APP_ROLE;
  url.password = '';
  return url.toString();
}

// int8 (count(*), bigserial) as number: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

function openPostgres(databaseUrl: string, options: OpenDatabaseOptions): Database {
  const max = options.poolSize ?? 10;
  const ownerPool = new pg.Pool({ connectionString: databaseUrl, max: Math.min(max, 4) });
  const appPool = new pg.Pool({
    connectionString: options.databaseAppUrl ?? deriveAppUrl(databaseUrl),
    max,
  });
  return {
    kind: 'postgres',
    owner: new Kysely<DB>({ dialect: new PostgresDialect({ pool: ownerPool }) }),
    app: new Kysely<DB>({ dialect: new PostgresDialect({ pool: withDeferredBegin(appPool) }) }),
    queueConnection: { connectionString: databaseUrl },
    async close() {
      await Promise.all([ownerPool.end(), appPool.end()]);
    },
  };
}

async function openPglite(dir: string | undefined, template?: Blob): Promise<Database> {
  if (dir) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), ...(template ? { loadDataDir: template } : {}) });
  const gate = new PgliteGate(pglite);
  // The embedded database has one (superuser) connection, so the app handle switches to the
  // unprivileged role for every use and back afterwards. The role must exist: migrations create it.
  const appSession = { onAcquire: `SET ROLE ${APP_ROLE}`, onRelease: 'RESET ROLE' };
  return {
    kind: 'pglite',
    owner: new Kysely<DB>({ dialect: new PgliteDialect(gate) }),
    app: new Kysely<DB>({ dialect: new PgliteDialect(gate, appSession) }),
    queueConnection: { db: gate.asBossDb() },
    dump: () => gate.run(() => pglite.dumpDataDir('none')),
    async close() {
      await gate.run(() => pglite.close());
    },
  };
}
