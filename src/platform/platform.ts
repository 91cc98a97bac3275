import type { Transporter } from 'nodemailer';
import type { Config } from './config/config.ts';
import { loadMasterKeyring, type MasterKeySource } from './crypto/master-key.ts';
import { loadPlatformSecret, SIGN_IN_LOOKUP_SECRET, THROTTLE_SECRET } from './crypto/platform-secrets.ts';
import { CredentialThrottle } from './identity/throttle.ts';
import { TenantKeyService } from './crypto/tenant-keys.ts';
import { openDatabase, type Database } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { z } from 'zod';
import { JobQueue, type JobDefinition } from './jobs/queue.ts';
import { blobRemovalJob } from './storage/blob-removal.ts';
import { LocalBlobStore } from './storage/blob-store.ts';
import { createLogger, type Logger } from './logging/logger.ts';
import { createTransport, mailJob } from './mail/mail.ts';
import {
  SYSTEM_ACTOR,
  systemMeta,
  withTenant,
  type TenantContext,
  type TenantScope,
  type TenantTransactionOptions,
} from './tenancy/tenant-scope.ts';

/**
 * The shared core every product is handed: database handles, keys, queue, mail, logger.
 * Built once per process; products receive it and never build their own.
 */
export interface Platform {
  config: Config;
  logger: Logger;
  db: Database;
  masterKey: MasterKeySource;
  keys: TenantKeyService;
  queue: JobQueue;
  mailTransport: Transporter | undefined;
  /** Throttling and lockout for every path that accepts a credential. */
  throttle: CredentialThrottle;
  /** Encrypted file storage (documents, photos, exports), one folder per tenant. */
  blobs: LocalBlobStore;
  /**
   * Registers a product's job kind, run in this process when it runs workers (servers do). Products
   * are wired in by the assembly (HTTP server, CLI), never by the platform itself.
   */
  defineJob<S extends z.ZodType>(definition: JobDefinition<S>): Promise<void>;
  /** Whether this process runs queued jobs (and so keeps schedules). */
  runsWorkers: boolean;
  /** One transaction as the application role, scoped to one tenant (see withTenant). */
  inTenant<T>(context: TenantContext, work: (scope: TenantScope) => Promise<T>, options?: TenantTransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  logger?: Logger;
  /** Run queued jobs in this process (servers do; one-shot CLI commands only enqueue). */
  runWorkers?: boolean;
  /**
   * False when this process will send no job (read-only or key commands): the queue is then not
   * started, saving its start-up. Sending a job in a transaction then fails loudly.
   */
  startQueue?: boolean;
  pollingIntervalSeconds?: number;
  /** First retry delay of a failed delivery (doubling after); tests shorten it. */
  mailRetryDelaySeconds?: number;
  poolSize?: number;
  /** An already opened database (tests hand in a clone of a migrated template). */
  database?: Database;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const masterKey = loadMasterKeyring({
    dataDir: config.dataDir,
    masterKey: config.masterKey,
    masterKeyPrevious: config.masterKeyPrevious,
    warn: (message) => logger.warn(message),
  });
  const db = options.database ?? await openDatabase({
    databaseUrl: config.databaseUrl,
    databaseAppUrl: config.databaseAppUrl,
    pgliteDir: config.databaseUrl ? undefined : `${config.dataDir}/pglite`,
    poolSize: options.poolSize,
  });
  try {
    await migrateToLatest(db.owner);
  } catch (error) {
    await db.close();
    throw error;
  }
  const keys = new TenantKeyService(masterKey.keyring);
  keys.usePlatformLookupKey(await loadPlatformSecret(db.owner, masterKey.keyring, SIGN_IN_LOOKUP_SECRET));
  // Counters are named by keyed hashes: the table never holds an email or an address.
  const throttle = new CredentialThrottle(db, { key: await loadPlatformSecret(db.owner, masterKey.keyring, THROTTLE_SECRET) });
  const queue = new JobQueue(db, logger);
  const mailTransport = createTransport(config.smtpUrl);
  const inTenant = <T>(context: TenantContext, work: (scope: TenantScope) => Promise<T>, options?: TenantTransactionOptions) =>
    withTenant(db.app, keys, context, work, options);

  await queue.define(
    mailJob({
      transport: mailTransport,
      from: config.smtpFrom,
      logger,
      retryDelaySeconds: options.mailRetryDelaySeconds,
      openSealed: (tenantId, sealed) =>
        inTenant({ tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('mail') }, async (scope) =>
          scope.cipher.open('mail.message', sealed),
        ),
    }),
    { work: options.runWorkers ?? false, pollingIntervalSeconds: options.pollingIntervalSeconds },
  );
  const blobs = new LocalBlobStore(`${config.dataDir}/blobs`);
  await queue.define(blobRemovalJob(blobs), { work: options.runWorkers ?? false, pollingIntervalSeconds: options.pollingIntervalSeconds });
  if (options.startQueue ?? true) await queue.start();

  return {
    config,
    logger,
    db,
    masterKey,
    keys,
    queue,
    mailTransport,
    throttle,
    blobs,
    inTenant,
    defineJob: (definition) =>
      queue.define(definition, { work: options.runWorkers ?? false, pollingIntervalSeconds: options.pollingIntervalSeconds }),
    runsWorkers: options.runWorkers ?? false,
    async close() {
      await queue.stop();
      mailTransport?.close();
      await db.close();
    },
  };
}
