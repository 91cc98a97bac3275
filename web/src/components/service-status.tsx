import { useEffect, useState } from 'react';
import { fetchHealth } from '../api/health.ts';

type Status =
  | { state: 'checking' }
  | { state: 'answered'; status: string; checkedAt: Date }
  | { state: 'unreachable'; reason: string };

/**
 * The live status line. It is a polite live region, so a screen reader announces the answer when
 * it arrives; the state is in words as well as colour (WCAG 1.4.1).
 */
export function ServiceStatus() {
  const [status, setStatus] = useState<Status>({ state: 'checking' });

  useEffect(() => {
    const abort = new AbortController();
    fetchHealth(abort.signal)
      .then((health) => setStatus({ state: 'answered', status: health.status, checkedAt: new Date() }))
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        setStatus({ state: 'unreachable', reason: error instanceof Error ? error.message : String(error) });
      });
    return () => abort.abort();
  }, []);

  const tone = status.state === 'answered' ? (status.status === 'ok' ? 'ok' : 'degraded') : status.state;
  return (
    <p className={`service-status service-status--${tone}`} role="status" data-testid="service-status">
      <span className="service-status__dot" aria-hidden="true" />
      {status.state === 'checking' && <span>Service status: checking…</span>}
      {status.state === 'answered' && (
        <span>
          Service status: <strong>{status.status}</strong>{' '}
          <span className="service-status__time">
            (checked at <time dateTime={status.checkedAt.toISOString()}>{status.checkedAt.toLocaleTimeString('en-GB')}</time>)
          </span>
        </span>
      )}
      {status.state === 'unreachable' && <span>Service status: unreachable ({status.reason})</span>}
    </p>
  );
}
