import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/platform/config/config.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import { createLogger } from '../src/platform/logging/logger.ts';
import { createPlatform } from '../src/platform/platform.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplateDatabase: string;
    pgliteTemplateFile: string;
  }
}

/**
 * Migrates one database (schema and job queue) per test run; every test file then starts from a
 * copy of it: `CREATE DATABASE … TEMPLATE` on PostgreSQL, a loaded dump on the embedded database.
 */
export default async function setup(project: TestProject) {
  const runId = crypto.randomBytes(4).toString('hex');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-test-'));
  const config = loadConfig({ CUSTOS_DATA_DIR: workDir, CUSTOS_MASTER_KEY: crypto.randomBytes(32).toString('base64'), LOG_LEVEL: 'silent' });
  const logger = createLogger({ level: 'silent' });
  const databaseUrl = process.env.DATABASE_URL;

  if (databaseUrl) {
    const templateName = `custos_tpl_${runId}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${templateName}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${templateName}`;
    const platform = await createPlatform({ ...config, databaseUrl: url.toString() }, { logger });
    await platform.queue.start();
    // Each test file brings its own master key: keep no secret wrapped under this one.
    await platform.db.owner.deleteFrom('platform_secrets').execute();
    await platform.close();
    project.provide('pgTemplateDatabase', templateName);
    project.provide('pgliteTemplateFile', '');
    return async () => {
      const clones = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
        [`custos_t_${templateName.slice('custos_tpl_'.length)}_%`, templateName],
      );
      for (const { datname } of clones.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      await admin.end();
      fs.rmSync(workDir, { recursive: true, force: true });
    };
  }

  const database = await openDatabase({});
  const platform = await createPlatform(config, { logger, database });
  await platform.queue.start();
  await platform.queue.stop();
  await platform.db.owner.deleteFrom('platform_secrets').execute();
  const dump = await database.dump!();
  await platform.close();
  const file = path.join(workDir, 'template.tar');
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgTemplateDatabase', '');
  project.provide('pgliteTemplateFile', file);
  return async () => fs.rmSync(workDir, { recursive: true, force: true });
}
