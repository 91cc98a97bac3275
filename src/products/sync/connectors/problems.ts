import type { ImportProblem } from '../model.ts';

/** Collects problems; after `cap` of one kind in one file, the rest are counted, not listed. */
export class ProblemLog {
  readonly errors: ImportProblem[] = [];
  readonly warnings: ImportProblem[] = [];
  /** Every error logged, listed or not. */
  errorCount = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly cap = 100) {}

  error(file: string, location: string, message: string): void {
    this.add('errors', file, location, message);
  }

  warning(file: string, location: string, message: string): void {
    this.add('warnings', file, location, message);
  }

  private add(kind: 'errors' | 'warnings', file: string, location: string, message: string): void {
    if (kind === 'errors') this.errorCount++;
    const key = `${kind}\u0000${file}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= this.cap) this[kind].push({ location, message });
  }

  /** Appends "N more … not listed" lines for files that went over the cap. */
  finish(): void {
    for (const [key, n] of this.counts) {
      if (n <= this.cap) continue;
      const [kind, file] = key.split('\u0000') as ['errors' | 'warnings', string];
      this[kind].push({ location: file, message: `${n - this.cap} more ${kind === 'errors' ? 'errors' : 'warnings'} in this file are not listed` });
    }
  }
}

/** A location in a file: `users.csv`, `users.csv line 4`, `users.csv line 4 (column role)`. */
export function at(file: string, line?: number, column?: string): string {
  if (line === undefined) return column === undefined ? file : `${file} (column ${column})`;
  return column === undefined ? `${file} line ${line}` : `${file} line ${line} (column ${column})`;
}
