import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openTestDatabase } from '../../test/harness.ts';

/** The real entry point, as `npx custos` runs it. */
const BIN = fileURLToPath(new URL('../../bin/custos.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A place for one test's CLI runs: a fresh data folder, and on PostgreSQL a database of its own
 * (cloned from the migrated template), because commands such as `keys rotate` touch every tenant.
 */
export interface CliSandbox {
  dataDir: string;
  /** Environment for the child: the machine's settings are dropped so only the test's apply. */
  env: Record<string, string>;
  databaseUrl?: string;
  run(args: string[], extraEnv?: Record<string, string | undefined>): Promise<CliResult>;
  /** Runs the command on a pseudo-terminal (util-linux `script`), as a person at a terminal would: stderr and stdout arrive together. */
  runInTerminal(args: string[]): Promise<CliResult>;
  serve(args?: string[], extraEnv?: Record<string, string>): Promise<RunningServer>;
  /** Runs SQL as the database owner (who bypasses RLS), after CLI processes have exited. */
  ownerSql(text: string, params?: unknown[]): Promise<void>;
  cleanup(): Promise<void>;
}

const CUSTOS_SETTINGS = [
  'DATABASE_URL', 'DATABASE_APP_URL', 'CUSTOS_DATA_DIR', 'CUSTOS_MASTER_KEY', 'CUSTOS_MASTER_KEY_PREVIOUS',
  'CUSTOS_NEW_MASTER_KEY', 'PORT', 'HOST', 'CUSTOS_PUBLIC_URL', 'SMTP_URL', 'SMTP_FROM', 'TLS_CERT_FILE',
  'TLS_KEY_FILE', 'LOG_LEVEL', 'RATE_LIMIT_PER_MINUTE',
];

export async function cliSandbox(): Promise<CliSandbox> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-cli-'));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (process.env.DATABASE_URL) {
    const opened = await openTestDatabase(1);
    await opened.database.close();
    databaseUrl = opened.databaseUrl;
    drop = opened.drop;
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !CUSTOS_SETTINGS.includes(name)) env[name] = value;
  }
  Object.assign(env, { LOG_LEVEL: 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });

  const children = new Set<ChildProcess>();
  const spawnCli = (args: string[], extraEnv: Record<string, string | undefined> = {}) => {
    const childEnv: Record<string, string> = { ...env };
    for (const [name, value] of Object.entries(extraEnv)) {
      if (value === undefined) delete childEnv[name];
      else childEnv[name] = value;
    }
    const child = spawn(process.execPath, [BIN, ...args, '--data', dataDir], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  return {
    dataDir,
    env,
    databaseUrl,
    run: (args, extraEnv) => collect(spawnCli(args, extraEnv)),
    runInTerminal(args) {
      const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
      const command = [process.execPath, BIN, ...args, '--data', dataDir].map(quote).join(' ');
      const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return collect(child);
    },
    serve: (args = [], extraEnv = {}) => startServe(spawnCli(['serve', ...args], { PORT: '0', HOST: '127.0.0.1', ...extraEnv })),
    async ownerSql(text, params = []) {
      if (databaseUrl) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query(text, params);
        } finally {
          await client.end();
        }
        return;
      }
      const db = await PGlite.create({ dataDir: path.join(dataDir, 'pglite') });
      try {
        await db.query(text, params as unknown[]);
      } finally {
        await db.close();
      }
    },
    async cleanup() {
      for (const child of children) child.kill('SIGKILL');
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface RunningServer {
  url: string;
  /** Everything printed on stdout up to "Stop it with Ctrl+C." (URL and any sign-in details). */
  banner: string;
  /** Sends SIGTERM and waits for the process to end. */
  stop(): Promise<CliResult>;
}

async function startServe(child: ChildProcess): Promise<RunningServer> {
  const finished = collect(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in time; stdout so far:\n${stdout}`)), 300_000);
    child.stdout!.on('data', () => {
      if (stdout.includes('Stop it with Ctrl+C.')) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    void finished.then((result) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early (code ${result.code}):\n${result.stdout}\n${result.stderr}`));
    });
  });
  const url = /Custos is running at (\S+)/.exec(banner)?.[1];
  if (!url) throw new Error(`serve printed no URL:\n${banner}`);
  return {
    url,
    banner,
    stop() {
      child.kill('SIGTERM');
      return finished;
    },
  };
}

export function randomMasterKey(): string {
  return crypto.randomBytes(32).toString('base64');
}

/** Parses stdout that must be exactly one JSON value and nothing else. */
export function onlyJson<T = unknown>(stdout: string): T {
  const trimmed = stdout.trim();
  if (trimmed.split('\n').length !== 1) throw new Error(`expected one line of JSON, got:\n${stdout}`);
  return JSON.parse(trimmed) as T;
}
