import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from '../../../platform/db/schema.ts';

/** Rows per statement: large enough to make round trips rare, small enough to keep statements modest. */
export const CHUNK = { records: 1_000, rows: 5_000 } as const;

export function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A column of a bulk write: its name and the PostgreSQL type its values are cast to. */
export interface Column {
  name: string;
  type: 'uuid' | 'text' | 'date' | 'integer' | 'jsonb';
}

/**
 * One `INSERT … SELECT … FROM unnest(…)` statement: one array parameter per column whatever the
 * number of rows, so thousands of rows cost one round trip and a handful of parameters. `fixed`
 * values (tenant, source) are the same for every row. Table, column names and the conflict clause
 * come from this module's callers, never from input.
 */
export async function insertColumns(
  trx: Transaction<DB>,
  options: {
    table: string;
    fixed: { name: string; type: Column['type']; value: unknown }[];
    columns: Column[];
    /** One array per column, all the same length. */
    values: unknown[][];
    /** Everything after the SELECT, e.g. `ON CONFLICT (…) DO UPDATE SET … WHERE …`. */
    tail?: string;
  },
): Promise<void> {
  const { table, fixed, columns, values, tail = '' } = options;
  if ((values[0]?.length ?? 0) === 0) return;
  const names = [...fixed.map((f) => f.name), ...columns.map((c) => c.name)].join(', ');
  const fixedSql: RawBuilder<unknown>[] = fixed.map((f) => sql`${f.value}::${sql.raw(f.type)}`);
  const arrays: RawBuilder<unknown>[] = columns.map((c, i) => sql`${values[i]}::${sql.raw(c.type)}[]`);
  const select = fixed.length ? sql`${sql.join(fixedSql)}, u.*` : sql`u.*`;
  await sql`INSERT INTO ${sql.raw(table)} AS t (${sql.raw(names)}) SELECT ${select} FROM unnest(${sql.join(arrays)}) AS u ${sql.raw(tail)}`.execute(trx);
}

/** Column-major arrays from row objects, in the order of `columns`. */
export function toColumns<R extends Record<string, unknown>>(rows: readonly R[], columns: readonly Column[]): unknown[][] {
  return columns.map((c) => rows.map((row) => row[c.name] ?? null));
}

/**
 * Writes parts one after another while preparing the next (sealing is CPU work, writing waits on
 * the database): part k+1 is sealed while part k travels. Statements still run in order on the
 * one connection of the transaction; nothing is left in flight when this returns or throws.
 */
export async function pipelined<T, P>(
  parts: readonly T[],
  prepare: (part: T) => P | Promise<P>,
  write: (prepared: P, part: T) => Promise<void>,
): Promise<void> {
  let pending: Promise<void> | undefined;
  try {
    for (const part of parts) {
      const prepared = await prepare(part);
      if (pending) await pending;
      pending = write(prepared, part);
      // Observed here so that a failure while the next part is prepared is not "unhandled"; it is rethrown below.
      pending.catch(() => {});
    }
    if (pending) await pending;
  } catch (error) {
    await pending?.catch(() => {});
    throw error;
  }
}
