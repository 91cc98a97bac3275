import PgBoss from 'pg-boss';
import { CompiledQuery, sql } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../db/database.ts';
import { APP_ROLE } from '../db/roles.ts';
import type { Logger } from '../logging/logger.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';

/**
 * A job kind: a stable name, a zod schema for its payload and its retry policy. Payloads are
 * self-contained and carry their tenant; personal values inside them are sealed with the
 * tenant's key, because the queue's tables are outside row-level security.
 */
export interface JobDefinition<S extends z.ZodType> {
  name: string;
  schema: S;
  retryLimit?: number;
  retryDelaySeconds?: number;
  handle(data: z.output<S>, job: { id: string; attempt: number }): Promise<void>;
}

const SCHEMA = 'pgboss';

export class JobQueue {
  private readonly boss: PgBoss;
  private readonly definitions = new Map<string, JobDefinition<z.ZodType>>();
  private started = false;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {
    const connection = database.queueConnection;
    this.boss = new PgBoss({
      schema: SCHEMA,
      ...('db' in connection ? { db: connection.db } : { connectionString: connection.connectionString, max: 3 }),
      // Maintenance (archiving, expiring) runs in whichever server gets there first.
      supervise: true,
      migrate: true,
    } as PgBoss.ConstructorOptions);
    this.boss.on('error', (error) => this.logger.error({ err: error }, 'job queue error'));
  }

  /**
   * Starts pg-boss and creates the queues of every defined job. Platforms start it at once
   * unless told the process will send no job (one-shot commands), which saves its start-up.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await this.boss.start();
      // The application role may add jobs inside its own transaction (so a job exists exactly when
      // the change that asked for it committed) but may not read or alter the queue otherwise.
      await sql
        .raw(`GRANT USAGE ON SCHEMA ${SCHEMA} TO ${APP_ROLE};
              GRANT SELECT ON ${SCHEMA}.queue TO ${APP_ROLE};
              GRANT INSERT, SELECT (id) ON ${SCHEMA}.job TO ${APP_ROLE};`)
        .execute(this.database.owner);
      for (const definition of this.definitions.values()) await this.createQueue(definition);
      this.started = true;
    })();
    return this.starting;
  }

  private async createQueue(definition: JobDefinition<z.ZodType>): Promise<void> {
    await this.boss.createQueue(definition.name, {
      name: definition.name,
      retryLimit: definition.retryLimit ?? 5,
      retryDelay: definition.retryDelaySeconds ?? 5,
      retryBackoff: true,
    });
  }

  /** Registers a job kind; with `work` this process also runs it. */
  async define<S extends z.ZodType>(definition: JobDefinition<S>, options: { work: boolean; pollingIntervalSeconds?: number }): Promise<void> {
    const known = definition as unknown as JobDefinition<z.ZodType>;
    this.definitions.set(definition.name, known);
    if (this.started) await this.createQueue(known);
    if (!options.work) return;
    await this.start();
    await this.boss.work<unknown>(
      definition.name,
      { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2, includeMetadata: true },
      async (jobs) => {
        for (const job of jobs) {
          const data = definition.schema.parse(job.data);
          await definition.handle(data, { id: job.id, attempt: job.retryCount + 1 });
        }
      },
    );
  }

  /**
   * Adds a job in the caller's tenant transaction: it is only queued if that transaction commits.
   * Without a scope (system work) it is queued at once.
   */
  async send(scope: TenantScope | null, name: string, data: unknown): Promise<string | null> {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`job ${name} is not defined`);
    const payload = definition.schema.parse(data);
    // Starting needs the database, which on PGlite is the very connection the caller's
    // transaction holds: waiting for it there would never end. Fail loudly instead.
    if (scope && !this.started) throw new Error(`job queue not started: start it before sending ${name} in a transaction`);
    await this.start();
    // Retry policy travels with each job: the queue row may predate a change of definition.
    const options: PgBoss.SendOptions = {
      retryLimit: definition.retryLimit ?? 5,
      retryDelay: definition.retryDelaySeconds ?? 5,
      retryBackoff: true,
    };
    if (scope) {
      options.db = {
        executeSql: async (text, values) => {
          const result = await scope.trx.executeQuery(CompiledQuery.raw(text, values));
          return { rows: result.rows as unknown[] };
        },
      };
    }
    return this.boss.send(name, payload as object, options);
  }

  /**
   * Runs a defined job on a cron schedule (pg-boss keeps one schedule per job name in the database,
   * so every server may call this; only one of them sends each occurrence).
   */
  async schedule(name: string, cron: string, data: object, options: { tz?: string } = {}): Promise<void> {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`job ${name} is not defined`);
    const payload = definition.schema.parse(data);
    await this.start();
    await this.boss.schedule(name, cron, payload as object, { tz: options.tz });
  }

  /** Counts jobs of a kind still waiting or running; used by tests and the CLI to wait for quiet. */
  async pending(name: string): Promise<number> {
    await this.start();
    const result = await sql<{ n: number }>`
      select count(*)::int as n from ${sql.table(`${SCHEMA}.job`)}
       where name = ${name} and state in ('created', 'retry', 'active')`.execute(this.database.owner);
    return result.rows[0]?.n ?? 0;
  }

  async stop(): Promise<void> {
    if (!this.starting) return;
    await this.starting.catch(() => undefined);
    this.starting = undefined;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: 5000 });
  }
}
