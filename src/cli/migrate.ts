import path from 'node:path';
import type { Command } from 'commander';
import { openDatabase } from '../platform/db/database.ts';
import { migrateToLatest } from '../platform/db/migrate.ts';
import { JobQueue } from '../platform/jobs/queue.ts';
import { claimEmbeddedDatabase, cliLogger, configFrom, print, withDataOption, type CommonOptions } from './runtime.ts';

export function registerMigrateCommand(program: Command): void {
  withDataOption(
    program.command('migrate').description('bring the database schema (and the job queue) up to date; servers also do this on start'),
  ).action(async (options: CommonOptions) => {
    const config = configFrom(options);
    // Not through createPlatform: it migrates on open, which would leave nothing to report, and
    // migrating needs no master key.
    const release = claimEmbeddedDatabase(config);
    const db = await openDatabase({
      databaseUrl: config.databaseUrl,
      databaseAppUrl: config.databaseAppUrl,
      pgliteDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'pglite'),
    }).catch((error: unknown) => {
      release();
      throw error;
    });
    try {
      const applied = await migrateToLatest(db.owner);
      const queue = new JobQueue(db, cliLogger(config));
      await queue.start();
      await queue.stop();
      if (applied.length === 0) print('The database schema is up to date; no migrations to run.');
      else for (const name of applied) print(`applied ${name}`);
    } finally {
      await db.close();
      release();
    }
  });
}
