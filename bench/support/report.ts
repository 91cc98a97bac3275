/** One comparable figure, printed as a JSON line in the shape ENGINEERING.md ("Tests") fixes. */
export interface BenchResult {
  bench: string;
  metric: string;
  value: number;
  baseline: number;
  ratio: number;
  target: number;
  pass: boolean;
  lowerIsBetter?: true;
  /** Set only when the figure does not come from PostgreSQL, so nobody compares it with one that does. */
  database?: 'pglite';
}

export interface Benchmark {
  run(options: { databaseUrl?: string }): Promise<BenchResult[]>;
}

/** ratio = value / baseline (baseline / value where lower is better), 2 decimals; pass = ratio ≥ target. */
export function compare(fields: Omit<BenchResult, 'ratio' | 'pass'>): BenchResult {
  const raw = fields.lowerIsBetter ? fields.baseline / fields.value : fields.value / fields.baseline;
  const ratio = Number.isFinite(raw) ? Math.round(raw * 100) / 100 : 0;
  // Built key by key so the JSON line keeps the documented order: bench, metric, value, baseline, ratio, target, pass.
  return {
    bench: fields.bench,
    metric: fields.metric,
    value: fields.value,
    baseline: fields.baseline,
    ratio,
    target: fields.target,
    pass: ratio >= fields.target,
    ...(fields.lowerIsBetter ? { lowerIsBetter: true as const } : {}),
    ...(fields.database ? { database: fields.database } : {}),
  };
}

export function printResults(results: BenchResult[]): void {
  for (const result of results) console.log(JSON.stringify(result));
}
