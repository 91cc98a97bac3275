import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../src/platform/config/config.ts';
import { openDatabase, type Database } from '../src/platform/db/database.ts';
import { createLogger, type Logger } from '../src/platform/logging/logger.ts';
import { createPlatform, type Platform } from '../src/platform/platform.ts';

export interface TestPlatformOptions {
  /** Run queued jobs in this process (mail tests). */
  runWorkers?: boolean;
  /** Extra environment settings, as a deployment would give them. */
  env?: Record<string, string>;
  logger?: Logger;
  poolSize?: number;
}

export interface TestPlatform extends Platform {
  /** The environment the platform was configured from (with its generated master key). */
  env: Record<string, string>;
  /** Connection string of this file's own database on PostgreSQL; undefined on PGlite. */
  databaseUrl?: string;
}

/** A fresh database for one test file, copied from the migrated template made in global setup. */
export async function openTestDatabase(poolSize?: number): Promise<{ database: Database; databaseUrl?: string; drop: () => Promise<void> }> {
  const template = inject('pgTemplateDatabase');
  const baseUrl = process.env.DATABASE_URL;
  if (template && baseUrl) {
    const name = `custos_t_${template.slice('custos_tpl_'.length)}_${crypto.randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    await admin.end();
    const url = new URL(baseUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: url.toString(), poolSize });
    return {
      database,
      databaseUrl: url.toString(),
      drop: async () => {
        const dropper = new pg.Client({ connectionString: baseUrl });
        await dropper.connect();
        // A closed pool's sockets may still be saying goodbye: FORCE would answer them with a FATAL
        // that surfaces as an uncaught error in the closing client. Wait for them first; force only
        // if something really was left open.
        for (let attempt = 0; ; attempt++) {
          try {
            await dropper.query(`DROP DATABASE IF EXISTS ${name}${attempt >= 20 ? ' WITH (FORCE)' : ''}`);
            break;
          } catch (error) {
            if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        await dropper.end();
      },
    };
  }
  const file = inject('pgliteTemplateFile');
  const database = await openDatabase({ pgliteTemplate: new Blob([fs.readFileSync(file)]) });
  return { database, drop: async () => {} };
}

export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-data-'));
  const env: Record<string, string> = {
    CUSTOS_DATA_DIR: dataDir,
    CUSTOS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    CUSTOS_PUBLIC_URL: 'http://custos.test',
    // Webhook receivers in tests listen on 127.0.0.1.
    OUTBOUND_PRIVATE_ADDRESSES: 'allow',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const { database, databaseUrl, drop } = await openTestDatabase(options.poolSize);
  const config = { ...loadConfig(env), databaseUrl };
  const platform = await createPlatform(config, {
    database,
    runWorkers: options.runWorkers ?? false,
    pollingIntervalSeconds: 0.5,
    mailRetryDelaySeconds: 1,
    logger: options.logger ?? createLogger({ level: 'silent' }),
  });
  return {
    ...platform,
    env,
    databaseUrl,
    async close() {
      await platform.close();
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
