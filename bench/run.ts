import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printResults, type Benchmark } from './support/report.ts';

/**
 * `node --import tsx bench/run.ts NAME` runs bench/NAME.ts. Benchmarks are not tests: each prints
 * human-readable lines, then its comparable figures as JSON lines, the very last line of output.
 */
const benchDir = fileURLToPath(new URL('.', import.meta.url));
const available = fs
  .readdirSync(benchDir)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -'.ts'.length));

const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: node --import tsx bench/run.ts NAME   (NAME: ${available.join(', ') || 'none yet'})`);
  process.exit(2);
}

if (process.env.DATABASE_URL) {
  console.log(`database: PostgreSQL from DATABASE_URL (${redact(process.env.DATABASE_URL)})`);
} else {
  console.log('database: DATABASE_URL is not set — figures from the embedded PGlite are not comparable with PostgreSQL ones');
}

const benchmark = (await import(`./${name}.ts`)) as Benchmark;
const results = await benchmark.run({ databaseUrl: process.env.DATABASE_URL });
printResults(results);
// Pools, timers and sockets are closed by the benchmark; exit anyway so a stray handle cannot hang CI.
process.exit(0);

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
