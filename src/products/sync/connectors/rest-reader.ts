import { emptyBatch, type ImportBatch } from '../model.ts';
import { Stop } from './http.ts';
import { ProblemLog } from './problems.ts';

/**
 * What every REST connector does around its own reading: check the settings, read, and turn any
 * problem — a `Stop` from the HTTP layer or a fault in the reader itself — into errors on an
 * empty batch. Never rejects, and a batch with errors carries no records.
 */
export abstract class RestReader {
  protected readonly log = new ProblemLog(50);

  constructor(
    protected readonly mode: ImportBatch['mode'],
    /** How the reader names itself in a problem ('oneroster-rest', 'wonde') and in its message. */
    private readonly identity: { location: string; label: string },
  ) {}

  protected abstract checkSettings(): boolean;
  protected abstract read(): Promise<ImportBatch>;

  async run(): Promise<ImportBatch> {
    try {
      if (!this.checkSettings()) return this.fail();
      const batch = await this.read();
      if (this.log.errorCount > 0) return this.fail();
      this.log.finish();
      batch.warnings = this.log.warnings;
      return batch;
    } catch (err) {
      if (err instanceof Stop) {
        if (err.problem) this.error(err.problem.location, err.problem.message);
      } else {
        // A fault in this reader, not the service: still never thrown at the caller.
        this.error(this.identity.location, `the ${this.identity.label} reader failed unexpectedly (${err instanceof Error ? err.name : 'unknown'})`);
      }
      return this.fail();
    }
  }

  /** Problems are counted (and capped) per request path, so a flood from one list does not hide the rest. */
  protected error(location: string, message: string): void {
    this.log.error(location.replace(/[?:].*$/, ''), location, message);
  }

  protected warning(location: string, message: string): void {
    this.log.warning(location.replace(/[?:].*$/, ''), location, message);
  }

  protected fail(): ImportBatch {
    this.log.finish();
    const batch = emptyBatch(this.mode);
    batch.errors = this.log.errors;
    batch.warnings = this.log.warnings;
    return batch;
  }
}
