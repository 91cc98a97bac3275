import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { writeCtf } from '../products/sync/connectors/ctf-writer.ts';
import { INTERRUPTED } from '../products/sync/engine.ts';
import { fakeSchool } from '../products/sync/testing/fake-school.ts';
import { cliSandbox, onlyJson, type CliResult, type CliSandbox } from './cli-testing.ts';

// PostgreSQL only: the test watches the database while the CLI writes to it (an embedded database
// is held by the one process that opened it).
const SLOW = 600_000;
const BIN = fileURLToPath(new URL('../../bin/custos.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA_TABLES = ['pupils', 'contacts', 'pupil_contacts', 'staff', 'school_groups', 'group_members', 'attendance_marks', 'school_profiles', 'blobs'];

describe('custos sync import killed with SIGKILL in the middle of writing', () => {
  let sandbox: CliSandbox;
  let db: pg.Client | undefined;
  afterEach(async () => {
    await db?.end();
    await sandbox?.cleanup();
  });

  it('leaves the previous data exactly as it was, and the next run marks the killed one interrupted and succeeds', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    db = new pg.Client({ connectionString: sandbox.databaseUrl });
    await db.connect();
    const query = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => (await db!.query<T>(text, params)).rows;

    // The same school twice: a week of attendance first, then a term (240,000 marks).
    const small = path.join(sandbox.dataDir, 'week.xml');
    const large = path.join(sandbox.dataDir, 'term.xml');
    await writeCtf(fakeSchool({ pupils: 2_000, seed: 11, attendanceDays: 5 }), small);
    await writeCtf(fakeSchool({ pupils: 2_000, seed: 11, attendanceDays: 60 }), large);

    const org = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'school', '--name', 'Kill Test Academy (test)', '--admin-email', 'head@kill-test.example.test', '--json'])).stdout,
    );
    const first = await sandbox.run(['sync', 'import', '--org', org.id, '--format', 'ctf', '--file', small, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(onlyJson<{ created: { attendance: number } }>(first.stdout).created.attendance).toBe(20_000);

    const dump = async () => {
      const out: Record<string, string[]> = {};
      for (const table of DATA_TABLES) out[table] = (await query<{ row: string }>(`SELECT t::text AS row FROM ${table} t ORDER BY 1`)).map((r) => r.row);
      return out;
    };
    const before = await dump();
    expect(before.attendance_marks).toHaveLength(20_000);

    // The big import, watched: once its run row says 'running' and its connection is inserting
    // attendance (pupils, contacts and groups already written in its transaction), kill -9.
    const child = spawn(process.execPath, [BIN, 'sync', 'import', '--org', org.id, '--format', 'ctf', '--file', large, '--json', '--data', sandbox.dataDir], {
      cwd: ROOT,
      env: sandbox.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<Pick<CliResult, 'code' | 'signal'>>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + 120_000;
    let running: { id: string }[] = [];
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the import never reached its attendance; output:\n${output}`);
      running = await query<{ id: string }>(`SELECT id FROM sync_runs WHERE tenant_id = $1 AND status = 'running'`, [org.id]);
      const writing = await query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND usename = 'custos_app' AND query LIKE 'INSERT INTO attendance_marks%'`,
      );
      if (running.length === 1 && writing.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });

    // The server ends the dead client's transaction; wait until its backend is gone.
    for (let i = 0; ; i++) {
      const left = await query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND usename = 'custos_app' AND state <> 'idle'`);
      if (left.length === 0) break;
      if (i > 400) throw new Error('the killed import still has an active database session');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await dump()).toEqual(before);
    const killedRun = running[0]!.id;
    expect(await query(`SELECT status FROM sync_runs WHERE id = $1`, [killedRun])).toEqual([{ status: 'running' }]);

    // The next run finds the killed one still 'running', marks it failed (interrupted) and does the work.
    const next = await sandbox.run(['sync', 'import', '--org', org.id, '--format', 'ctf', '--file', large, '--json']);
    expect(next.code, next.stderr).toBe(0);
    const summary = onlyJson<{ status: string; created: { attendance: number }; updated: { pupils: number } }>(next.stdout);
    expect(summary.status).toBe('succeeded');
    expect(summary.created.attendance).toBe(220_000);
    expect(summary.updated.pupils).toBe(0);
    const runs = await query<{ id: string; status: string; errors: unknown }>(`SELECT id, status, errors FROM sync_runs WHERE tenant_id = $1 ORDER BY started_at`, [org.id]);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(runs[1]).toEqual({ id: killedRun, status: 'failed', errors: [INTERRUPTED] });
    expect((await query<{ n: number }>(`SELECT count(*)::int AS n FROM attendance_marks`))[0]!.n).toBe(240_000);
  });
});
