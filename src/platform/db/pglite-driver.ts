import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * PGlite is one connection. Kysely transactions, pg-boss and ad-hoc SQL all share it, so every
 * user takes this gate first: a transaction holds it from BEGIN to COMMIT and nobody else's
 * statement can slip inside it.
 */
export class PgliteGate {
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly pglite: PGlite) {}

  /** Waits for exclusive use of the connection; call the returned function to let the next one in. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = this.tail;
    this.tail = before.then(() => mine);
    await before;
    return release;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Shape pg-boss expects for an externally managed database. */
  asBossDb() {
    return {
      executeSql: (text: string, values?: unknown[]) =>
        this.run(async () => {
          if (!values || values.length === 0) {
            const results = await this.pglite.exec(text);
            return results[results.length - 1] ?? { rows: [] };
          }
          return this.pglite.query(text, values as unknown[]);
        }),
    };
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Parameterless SQL may hold several statements (migrations); only the simple protocol takes those.
    const result =
      compiled.parameters.length === 0
        ? ((await this.pglite.exec(compiled.sql)).at(-1) ?? { rows: [] as R[], affectedRows: undefined })
        : await this.pglite.query<R>(compiled.sql, [...compiled.parameters]);
    return {
      rows: result.rows as R[],
      ...(result.affectedRows !== undefined ? { numAffectedRows: BigInt(result.affectedRows) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded database');
  }
}

class PgliteDriver implements Driver {
  private readonly releases = new Map<DatabaseConnection, () => void>();

  constructor(
    private readonly gate: PgliteGate,
    /** SQL run after taking the connection and before giving it back (e.g. SET ROLE / RESET ROLE). */
    private readonly session?: { onAcquire: string; onRelease: string },
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.gate.acquire();
    const connection = new PgliteConnection(this.gate.pglite);
    try {
      if (this.session) await this.gate.pglite.exec(this.session.onAcquire);
    } catch (error) {
      release();
      throw error;
    }
    this.releases.set(connection, release);
    return connection;
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const release = this.releases.get(connection);
    this.releases.delete(connection);
    try {
      if (this.session) await this.gate.pglite.exec(this.session.onRelease);
    } finally {
      release?.();
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await connection.executeQuery(CompiledQuery.raw(`begin${level}`));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    // The gate's owner closes PGlite; several Kysely instances share it.
  }
}

export class PgliteDialect implements Dialect {
  constructor(
    private readonly gate: PgliteGate,
    private readonly session?: { onAcquire: string; onRelease: string },
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.gate, this.session);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
