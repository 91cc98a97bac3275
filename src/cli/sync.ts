import fs from 'node:fs';
import type { Command } from 'commander';
import { NotFoundError, ValidationError, type FieldProblem } from '../platform/errors.ts';
import { SYSTEM_ACTOR, systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { runImport, type RunSummary } from '../products/sync/engine.ts';
import { ENTITIES, type Entity, type ImportBatch, type ImportFormat, type ImportProblem } from '../products/sync/model.ts';
import { listRuns, type RunInfo } from '../products/sync/runs.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

const FORMATS: readonly ImportFormat[] = ['ctf', 'oneroster-csv', 'csv'];

interface ImportOptions extends CommonOptions {
  org: string;
  format: string;
  file: string;
  mapping?: string;
  dryRun?: boolean;
}

interface RunsOptions extends CommonOptions {
  org: string;
  limit?: string;
}

/**
 * `custos sync import` and `custos sync runs`. Exit codes: 0 imported (or dry run done); 2 bad
 * options, or the file failed validation (nothing written; the failed run is recorded); 1 anything
 * else (another import running, database failure).
 */
export function registerSyncCommands(program: Command): void {
  const sync = program.command('sync').description("the sync hub: import a school's MIS data and see past runs");

  withDataOption(
    sync
      .command('import')
      .description("import a school's data from a file: full CTF XML, a OneRoster CSV zip, or a plain CSV read through a column mapping")
      .requiredOption('--org <id>', "the school's organisation id")
      .requiredOption('--format <format>', FORMATS.join(' | '))
      .requiredOption('--file <path>', 'the file to import')
      .option('--mapping <file>', 'JSON column mapping (with --format csv)')
      .option('--dry-run', 'read and check everything and report what would change, but write nothing')
      .option('--json', 'print one JSON object {"created","updated","left","warnings","errors","runId","dryRun","status"}'),
  ).action(async (options: ImportOptions) => {
    // Checked before anything is opened: bad options write nothing.
    const format = checkImportOptions(options);
    const mapping = options.mapping === undefined ? undefined : readMapping(options.mapping);
    const batch = await readFile(format, options.file, mapping);
    const progress = options.json || !process.stderr.isTTY ? undefined : progressBar();
    const summary = await withPlatform(options, async (platform) => {
      const exists = await platform.db.owner.selectFrom('organisations').select('id').where('id', '=', options.org).executeTakeFirst();
      if (!exists) throw new NotFoundError(`organisation ${options.org}`);
      try {
        return await runImport(platform, { tenantId: options.org, actor: SYSTEM_ACTOR, meta: systemMeta('cli') }, batch, {
          format,
          source: `upload:${format}`,
          dryRun: options.dryRun ?? false,
          startedBy: 'cli',
          onProgress: progress?.update,
        });
      } finally {
        progress?.done();
      }
    });
    if (summary.status === 'failed') process.exitCode = 2;
    if (options.json) {
      return printJson({
        created: summary.created,
        updated: summary.updated,
        left: summary.left,
        warnings: summary.warnings,
        errors: summary.errors,
        runId: summary.runId,
        dryRun: summary.dryRun,
        status: summary.status,
      });
    }
    printSummary(options.file, summary);
  });

  withDataOption(
    sync
      .command('runs')
      .description("list a school's import runs, newest first")
      .requiredOption('--org <id>', "the school's organisation id")
      .option('--limit <n>', 'how many runs to show (default 50)')
      .option('--json', 'print a JSON array of runs'),
  ).action(async (options: RunsOptions) => {
    requireUuid('org', options.org, 'must be an organisation id');
    const limit = options.limit === undefined ? undefined : Number(options.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) {
      throw new ValidationError([{ field: 'limit', reason: 'must be a whole number from 1 to 500' }]);
    }
    const runs = await withPlatform(options, (platform) => inOrganisation(platform, options.org, (scope) => listRuns(scope, { limit })));
    if (options.json) return printJson(runs);
    if (runs.length === 0) return print('No import runs yet. Import a file with: custos sync import');
    print(`${'run'.padEnd(36)}  ${'started'.padEnd(20)}  ${'format'.padEnd(13)}  ${'mode'.padEnd(13)}  ${'status'.padEnd(9)}  counts`);
    for (const run of runs) print(runLine(run));
  });
}

function checkImportOptions(options: ImportOptions): ImportFormat {
  const problems: FieldProblem[] = [];
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.org)) problems.push({ field: 'org', reason: 'must be an organisation id' });
  const format = FORMATS.find((f) => f === options.format);
  if (!format) problems.push({ field: 'format', reason: `must be one of ${FORMATS.join(', ')}` });
  if (!isFile(options.file)) problems.push({ field: 'file', reason: 'no such file' });
  if (format === 'csv' && options.mapping === undefined) problems.push({ field: 'mapping', reason: 'is required with --format csv: a JSON file naming which column holds what' });
  if (format && format !== 'csv' && options.mapping !== undefined) problems.push({ field: 'mapping', reason: 'applies only to --format csv' });
  if (options.mapping !== undefined && !isFile(options.mapping)) problems.push({ field: 'mapping', reason: 'no such file' });
  if (problems.length) throw new ValidationError(problems);
  return format!;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function readMapping(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    throw new ValidationError([{ field: 'mapping', reason: 'is not a JSON file' }]);
  }
}

/** The connector for the format, loaded only when used. */
async function readFile(format: ImportFormat, file: string, mapping: unknown): Promise<ImportBatch> {
  switch (format) {
    case 'ctf':
      return (await import('../products/sync/connectors/ctf.ts')).readCtf(file);
    case 'oneroster-csv':
      return (await import('../products/sync/connectors/oneroster-csv.ts')).readOneRosterCsv(file);
    case 'csv':
      return (await import('../products/sync/connectors/mapped-csv.ts')).readMappedCsv(file, mapping);
  }
}

/** A one-line text bar on stderr (a terminal only), redrawn when the shown value changes. */
function progressBar(): { update: (p: { entity: Entity; done: number; total: number }) => void; done: () => void } {
  const WIDTH = 30;
  let last = '';
  return {
    update({ entity, done, total }) {
      const share = total === 0 ? 1 : done / total;
      const filled = Math.round(share * WIDTH);
      const line = `${entity.padEnd(10)} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${done}/${total}`;
      if (line === last) return;
      last = line;
      process.stderr.write(`\r${line}\x1b[K`);
    },
    done() {
      if (last) process.stderr.write('\r\x1b[K');
    },
  };
}

const SHOWN_PROBLEMS = 50;

function printSummary(file: string, summary: RunSummary): void {
  const run = summary.runId ? ` (run ${summary.runId})` : '';
  if (summary.status === 'failed') print(`Import of ${file} failed: nothing was written${run}.`);
  else if (summary.dryRun) print(`Dry run of ${file}: nothing was written${run}. It would change:`);
  else print(`Imported ${file}${run}.`);
  if (summary.status === 'succeeded') {
    print(`${''.padEnd(12)}${'created'.padStart(9)}${'updated'.padStart(9)}${'left'.padStart(9)}`);
    for (const entity of ENTITIES) {
      print(`${entity.padEnd(12)}${String(summary.created[entity]).padStart(9)}${String(summary.updated[entity]).padStart(9)}${String(summary.left[entity]).padStart(9)}`);
    }
  }
  printProblems('warning', summary.warnings, print);
  printProblems('error', summary.errors, (line) => process.stderr.write(line + '\n'));
}

function printProblems(kind: string, problems: ImportProblem[], out: (line: string) => void): void {
  if (problems.length === 0) return;
  out(`${problems.length} ${kind}${problems.length === 1 ? '' : 's'}:`);
  for (const p of problems.slice(0, SHOWN_PROBLEMS)) out(`  ${kind}: ${p.location}: ${p.message}`);
  if (problems.length > SHOWN_PROBLEMS) out(`  … and ${problems.length - SHOWN_PROBLEMS} more (all of them with --json, or in custos sync runs --json)`);
}

function runLine(run: RunInfo): string {
  const sum = (counts: Record<Entity, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const mode = run.dryRun ? `${run.mode} dry-run` : run.mode;
  const counts = `created ${sum(run.created)}, updated ${sum(run.updated)}, left ${sum(run.left)}` +
    (run.errors.length ? `, ${run.errors.length} error(s)` : '') + (run.warnings.length ? `, ${run.warnings.length} warning(s)` : '');
  return `${run.id}  ${run.startedAt.slice(0, 19).replace('T', ' ')}  ${run.format.padEnd(13)}  ${mode.padEnd(13)}  ${run.status.padEnd(9)}  ${counts}`;
}
