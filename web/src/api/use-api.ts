import { useCallback, useEffect, useState } from 'react';
import { api } from './client.ts';

export type Loadable<T> = { state: 'loading' } | { state: 'loaded'; data: T } | { state: 'failed'; error: unknown };

/** GETs `path` (none while it is null) and re-reads it on `reload()`. */
export function useApi<T>(path: string | null): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    api
      .get<T>(path, { signal: abort.signal })
      .then((data) => setResult({ state: 'loaded', data }))
      .catch((error: unknown) => {
        if (!abort.signal.aborted) setResult({ state: 'failed', error });
      });
    return () => abort.abort();
  }, [path, generation]);
  return [result, reload];
}
