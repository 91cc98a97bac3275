import fs from 'node:fs';
import path from 'node:path';
import { type Command } from 'commander';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from '../platform/config/config.ts';
import { DecryptionError } from '../platform/crypto/aead.ts';
import { AppError, NotFoundError, ValidationError } from '../platform/errors.ts';
import { createLogger, type Logger } from '../platform/logging/logger.ts';
import { createPlatform, type Platform } from '../platform/platform.ts';
import { isUuid, SYSTEM_ACTOR, systemMeta, type TenantScope } from '../platform/tenancy/tenant-scope.ts';

/** Options every command accepts. */
export interface CommonOptions {
  data?: string;
  json?: boolean;
}

/** A failure the operator can fix, reported as one line without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Adds `--data` to a command; `CUSTOS_DATA_DIR` still applies when it is not given. */
export function withDataOption(command: Command): Command {
  return command.option('--data <dir>', 'folder of the embedded database and the master key file (default: $CUSTOS_DATA_DIR or ./data)');
}

export function configFrom(options: CommonOptions): Config {
  return loadConfig({ ...process.env, ...(options.data ? { CUSTOS_DATA_DIR: options.data } : {}) });
}

/** Logs go to stderr so that stdout carries only what the command prints (and parses as JSON with --json). */
export function cliLogger(config: Config): Logger {
  return createLogger({ level: config.logLevel, destination: pino.destination({ fd: 2, sync: true }) });
}

/**
 * Opens the platform for one command and always closes it, so a one-shot command exits as soon
 * as its work is done. One-shot commands never run workers: queued mail waits for a server.
 */
export async function withPlatform<T>(
  options: CommonOptions,
  work: (platform: Platform) => Promise<T>,
  needs: { sendsJobs?: boolean } = {},
): Promise<T> {
  // Commands that queue nothing skip the job queue's start-up.
  const platform = await openPlatform(options, { runWorkers: false, startQueue: needs.sendsJobs ?? false });
  try {
    return await work(platform);
  } finally {
    await platform.close();
  }
}

export async function openPlatform(options: CommonOptions, platformOptions: { runWorkers: boolean; startQueue?: boolean }): Promise<Platform> {
  const config = configFrom(options);
  const release = claimEmbeddedDatabase(config);
  let platform: Platform;
  try {
    platform = await createPlatform(config, { logger: cliLogger(config), ...platformOptions });
  } catch (error) {
    release();
    throw error;
  }
  if (platform.masterKey.origin === 'generated') warnGeneratedKey(platform.masterKey.file ?? config.dataDir);
  return {
    ...platform,
    async close() {
      try {
        await platform.close();
      } finally {
        release();
      }
    },
  };
}

/**
 * The embedded database lives inside one process: a second process opening the same folder (say
 * `custos token create` while `custos serve` runs) would corrupt it. A lock file with the holder's
 * pid stops that; one left by a process that died is taken over. PostgreSQL needs no lock.
 */
export function claimEmbeddedDatabase(config: Config): () => void {
  if (config.databaseUrl) return () => {};
  const lock = path.join(config.dataDir, 'custos.lock');
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (isAlive(holder)) {
        throw new CliError(
          `the embedded database in ${config.dataDir} is in use by another Custos process (pid ${holder}); ` +
            'stop it first (the embedded database serves one process at a time), or use PostgreSQL (DATABASE_URL)',
        );
      }
      fs.rmSync(lock, { force: true });
    }
  }
  throw new CliError(`could not lock ${lock}`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still means the folder is taken.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// The logger may be silenced, and a JSON log line is easy to miss; losing this key loses every
// organisation's data, so the operator hears about it whatever the log level.
function warnGeneratedKey(file: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(
    `${bar}\n` +
      `!! WARNING: no CUSTOS_MASTER_KEY is set, so a new master key was generated in\n` +
      `!!   ${file}\n` +
      `!! Every organisation's encrypted data depends on this key. Back it up apart from\n` +
      `!! the database, or set CUSTOS_MASTER_KEY (base64 of 32 random bytes) in production.\n` +
      `${bar}\n`,
  );
}

/**
 * Runs work inside one organisation's transaction as the operator's CLI. An unknown id is a
 * not-found error rather than a failure to unwrap keys that do not exist.
 */
export async function inOrganisation<T>(platform: Platform, orgId: string, work: (scope: TenantScope) => Promise<T>): Promise<T> {
  requireUuid('org', orgId, 'must be an organisation id');
  // Owner handle: the tenant is not set yet, and this only asks whether it exists.
  const exists = await platform.db.owner.selectFrom('organisations').select('id').where('id', '=', orgId).executeTakeFirst();
  if (!exists) throw new NotFoundError(`organisation ${orgId}`);
  return platform.inTenant({ tenantId: orgId, actor: SYSTEM_ACTOR, meta: systemMeta('cli') }, work);
}

export function requireUuid(field: string, value: string, reason: string): void {
  if (!isUuid(value)) throw new ValidationError([{ field, reason }]);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function print(line = ''): void {
  process.stdout.write(line + '\n');
}

// Domain schemas name fields as the API does; operators typed flags, so errors name the flag.
const FLAG_FOR_FIELD: Record<string, string> = {
  adminEmail: '--admin-email',
  adminName: '--admin-name',
  parentId: '--parent',
  displayName: '--name',
  expiresInDays: '--expires-days',
};

/** The flag a field came from; a field inside a file's content (`lines[0].vatRate`) is named after it. */
function flagFor(field: string): string {
  const head = field.split(/[.[]/)[0] || field;
  const flag = FLAG_FOR_FIELD[head] ?? `--${head.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return field.startsWith(`${head}[`) ? `${flag} ${field}` : flag;
}

/**
 * Prints an error for an operator and returns the exit code: 2 for bad settings or input (fix the
 * command), 1 for everything else. Expected errors never show a stack trace.
 */
export function reportError(error: unknown): number {
  const err = (line: string) => process.stderr.write(line + '\n');
  if (error instanceof ConfigError) {
    err(error.message);
    return 2;
  }
  if (error instanceof ValidationError) {
    for (const problem of error.errors ?? []) err(`error: ${flagFor(problem.field)}: ${problem.reason}`);
    return 2;
  }
  if (error instanceof CliError) {
    err(`error: ${error.message}`);
    return error.exitCode;
  }
  if (error instanceof DecryptionError) {
    err(`error: decryption failed: ${error.message}`);
    err('Check that the master key (CUSTOS_MASTER_KEY, or master.key in the data folder) is the one this database was written with.');
    return 1;
  }
  if (error instanceof AppError) {
    err(`error: ${error.message}`);
    // Refused input (a file of the wrong type, too large, infected) is fixed by changing the command's input.
    return [400, 413, 415, 422].includes(error.status) ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  err(`error: ${message}`);
  if (process.env.CUSTOS_DEBUG && error instanceof Error && error.stack) err(error.stack);
  return 1;
}
