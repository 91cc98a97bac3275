import { describeProblem } from '../api/client.ts';
import type { Loadable } from '../api/use-api.ts';

/** The "loading" and "could not load" states every data page shares; null once loaded. */
export function LoadState({ value, what }: { value: Loadable<unknown>; what: string }) {
  if (value.state === 'loading') return <p role="status">Loading {what}…</p>;
  if (value.state === 'failed') {
    return (
      <div className="error-summary" role="alert">
        <p>
          Could not load {what}. {describeProblem(value.error)}
        </p>
      </div>
    );
  }
  return null;
}
