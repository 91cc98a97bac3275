import { useEffect, useState } from 'react';
import { api } from '../../api/client.ts';
import type { SyncRun, SyncRunProgress } from '../../api/sync.ts';
import { ENTITY_LABELS } from './format.ts';

/** How often a page asks again while an import is running. */
export const RUN_POLL_MS = 1_000;

/**
 * While `active`, asks for the school's newest run every second (one request at a time) and
 * answers its progress when it is a run that is still going and started at or after `since`:
 * the import page's own upload, not an older run.
 */
export function useLatestRunProgress(active: boolean, since: string | null): SyncRunProgress | null {
  const [progress, setProgress] = useState<SyncRunProgress | null>(null);
  useEffect(() => {
    if (!active || since === null) {
      setProgress(null);
      return;
    }
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      try {
        const { runs } = await api.get<{ runs: SyncRun[] }>('/api/v1/sync/runs?limit=1', { signal: abort.signal });
        const newest = runs[0];
        const ours = newest && newest.status === 'running' && Date.parse(newest.startedAt) >= Date.parse(since) - 5_000;
        setProgress(ours ? newest.progress : null);
      } catch {
        // Progress is a courtesy; the upload's own answer is what counts.
      }
      if (!abort.signal.aborted) timer = setTimeout(ask, RUN_POLL_MS);
    };
    timer = setTimeout(ask, RUN_POLL_MS);
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [active, since]);
  return progress;
}

/** "Writing contacts: 1,200 of 3,500" with a bar; `id` ties the label to the bar. */
export function RunProgressBar({ progress, id }: { progress: SyncRunProgress; id: string }) {
  const what = (ENTITY_LABELS[progress.entity] ?? progress.entity).toLowerCase();
  const label = `Writing ${what}: ${progress.done.toLocaleString('en-GB')} of ${progress.total.toLocaleString('en-GB')}`;
  return (
    <div className="upload-progress">
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <progress id={id} max={Math.max(progress.total, 1)} value={progress.done}>
        {label}
      </progress>
    </div>
  );
}
