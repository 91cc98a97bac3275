import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { writeCtf } from '../products/sync/connectors/ctf-writer.ts';
import { fakeSchool } from '../products/sync/testing/fake-school.ts';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

// Each run starts a real process (a few seconds on the embedded database): few spawns, many checks.
const SLOW = 600_000;
const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

interface ImportJson {
  created: Record<string, number>;
  updated: Record<string, number>;
  left: Record<string, number>;
  warnings: { location: string; message: string }[];
  errors: { location: string; message: string }[];
  runId: string;
  dryRun: boolean;
  status: string;
}

async function ownerRows<T = Record<string, unknown>>(sandbox: CliSandbox, text: string): Promise<T[]> {
  if (sandbox.databaseUrl) {
    const client = new pg.Client({ connectionString: sandbox.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = await PGlite.create({ dataDir: path.join(sandbox.dataDir, 'pglite') });
  try {
    return (await db.query<T>(text)).rows;
  } finally {
    await db.close();
  }
}

describe('custos sync import and sync runs', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('imports a CTF file, refuses bad options and an invalid file without writing, and lists the runs', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const school = fakeSchool({ pupils: 12, seed: 5, attendanceDays: 2 });
    const good = path.join(sandbox.dataDir, 'school.xml');
    await writeCtf(school, good);
    // The same file with the first pupil's surname taken out: a validation error.
    const bad = path.join(sandbox.dataDir, 'broken.xml');
    fs.writeFileSync(bad, fs.readFileSync(good, 'utf8').replace(/<Surname>[^<]*<\/Surname>/, ''));

    // Bad options: exit 2 naming each option, before anything is opened.
    const refused = await sandbox.run(['sync', 'import', '--org', 'not-an-id', '--format', 'xml', '--file', path.join(sandbox.dataDir, 'missing.xml')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--org: must be an organisation id/);
    expect(refused.stderr).toMatch(/--format: must be one of ctf, oneroster-csv, csv/);
    expect(refused.stderr).toMatch(/--file: no such file/);
    expect(refused.stderr).not.toMatch(STACK_LINE);
    expect(refused.stdout).toBe('');
    expect(fs.existsSync(path.join(sandbox.dataDir, 'pglite'))).toBe(false);

    const org = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'school', '--name', 'Sync CLI Academy (test)', '--admin-email', 'head@sync-cli.example.test', '--json'])).stdout,
    );

    const imported = await sandbox.run(['sync', 'import', '--org', org.id, '--format', 'ctf', '--file', good, '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const result = onlyJson<ImportJson>(imported.stdout);
    expect(result).toMatchObject({
      status: 'succeeded',
      dryRun: false,
      created: { pupils: 12, contacts: school.contacts.length, staff: 0, groups: expect.any(Number), attendance: school.attendance.length },
      updated: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      left: { pupils: 0, contacts: 0, staff: 0, groups: 0, attendance: 0 },
      errors: [],
    });
    expect(Object.keys(result).sort()).toEqual(['created', 'dryRun', 'errors', 'left', 'runId', 'status', 'updated', 'warnings']);

    // A file that fails validation: exit 2, the errors named with their location, nothing written.
    const invalid = await sandbox.run(['sync', 'import', '--org', org.id, '--format', 'ctf', '--file', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toMatch(/Import of .*broken\.xml failed: nothing was written/);
    expect(invalid.stderr).toMatch(/error: broken\.xml line \d+ \(CTfile\/CTFpupilData\/Pupil\[1\]\/Surname\): is required/);
    expect(invalid.stderr).not.toMatch(STACK_LINE);

    const runs = await sandbox.run(['sync', 'runs', '--org', org.id, '--json']);
    expect(runs.code).toBe(0);
    const list = onlyJson<{ id: string; status: string; format: string; mode: string; startedBy: string; created: Record<string, number>; errors: unknown[] }[]>(runs.stdout);
    expect(list.map((r) => [r.status, r.format, r.mode, r.startedBy])).toEqual([
      ['failed', 'ctf', 'full', 'cli'],
      ['succeeded', 'ctf', 'full', 'cli'],
    ]);
    expect(list[1]!.id).toBe(result.runId);
    expect(list[1]!.created.pupils).toBe(12);
    expect(list[0]!.errors).toEqual([{ location: expect.stringContaining('Surname'), message: 'is required' }]);

    // What the database holds, not what the command said: the first import only, under the upload source.
    const [held] = await ownerRows<{ pupils: number; sources: string[] }>(
      sandbox,
      `SELECT count(*)::int AS pupils, array_agg(DISTINCT source) AS sources FROM pupils WHERE tenant_id = '${org.id}'`,
    );
    expect(held).toEqual({ pupils: 12, sources: ['upload:ctf'] });

    // At a terminal, a bar on stderr follows each kind of record to its end (this school is one chunk of each).
    const atTerminal = await sandbox.runInTerminal(['sync', 'import', '--org', org.id, '--format', 'ctf', '--file', good, '--dry-run']);
    expect(atTerminal.code).toBe(0);
    const frames = atTerminal.stdout.split('\r').map((frame) => frame.replace(/\x1b\[K/g, '').trim());
    const attendance = school.attendance.length;
    expect(frames).toContain(`pupils     [${'#'.repeat(30)}] 100%  12/12`);
    expect(frames).toContain(`attendance [${'#'.repeat(30)}] 100%  ${attendance}/${attendance}`);
    // The bar is cleared (carriage return, erase line) before the summary is printed.
    expect(atTerminal.stdout).toMatch(/\r\x1b\[KDry run of /);
    expect(atTerminal.stdout).toMatch(/Dry run of .*school\.xml: nothing was written/);
  });
});
