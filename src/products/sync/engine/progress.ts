import type { Platform } from '../../../platform/platform.ts';
import type { TenantContext } from '../../../platform/tenancy/tenant-scope.ts';
import type { Entity } from '../model.ts';

/** Where a running import has got to: the entity being written and how many of its records are done. */
export interface RunProgress {
  entity: Entity;
  done: number;
  total: number;
  /** When this figure was taken (ISO). */
  at: string;
}

/**
 * Runs of this process that are writing now, by run id. The run's own transaction keeps what it
 * writes invisible until it commits, so progress has to travel outside it: this map answers
 * requests served by the same process (always so on PGlite, whose one connection is busy with the
 * run), and on PostgreSQL the figure is also stored on the run row for every other process.
 */
const live = new Map<string, RunProgress>();

/** How often, at most, the figure is written to the run row. */
const STORE_EVERY_MS = 1_000;

export function liveProgress(runId: string): RunProgress | undefined {
  return live.get(runId);
}

export interface ProgressReporter {
  report: (p: { entity: Entity; done: number; total: number }) => void;
  /** Stops reporting; the run's figure leaves the map. */
  stop: () => void;
  /** Stops reporting and waits for a write in flight (never from inside the run's transaction: it may wait for a connection). */
  finish: () => Promise<void>;
}

export function progressReporter(
  platform: Platform,
  context: TenantContext,
  runId: string,
  forward?: (p: { entity: Entity; done: number; total: number }) => void,
): ProgressReporter {
  // A second connection exists only on PostgreSQL; on PGlite the run holds the only one.
  const store = platform.db.kind === 'postgres';
  let lastStored = 0;
  let lastEntity: Entity | undefined;
  let inFlight: Promise<void> | undefined;
  let finished = false;

  const write = (progress: RunProgress) =>
    platform
      .inTenant(context, (scope) =>
        scope.trx
          .updateTable('sync_runs')
          .set({ progress: JSON.stringify(progress) })
          // A run that has finished in the meantime keeps its final state.
          .where('id', '=', runId)
          .where('status', '=', 'running')
          .execute(),
      )
      .then(
        () => undefined,
        // Progress is a courtesy: failing to show it must never fail the import.
        (error: unknown) => platform.logger.warn({ err: error, runId }, 'sync run progress not stored'),
      );

  return {
    report(p) {
      if (finished) return;
      const progress: RunProgress = { ...p, at: new Date().toISOString() };
      live.set(runId, progress);
      forward?.(p);
      const now = Date.now();
      // Moving on to the next kind of record is worth telling at once; within one, once a second.
      const due = p.entity !== lastEntity || now - lastStored >= STORE_EVERY_MS;
      if (!store || inFlight || !due) return;
      lastStored = now;
      lastEntity = p.entity;
      inFlight = write(progress).finally(() => {
        inFlight = undefined;
      });
    },
    stop() {
      finished = true;
      live.delete(runId);
    },
    async finish() {
      this.stop();
      await inFlight;
    },
  };
}
