import { useEffect, useRef, useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { SyncConnection, SyncRun } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { CONNECTION_KIND_LABELS, ConnectionForm, SETTING_LABELS } from './connection-form.tsx';
import { ConfirmRemoval, MaskedSecret } from './integration-parts.tsx';
import { RunStatus, Stamp, SyncNav } from './parts.tsx';

/** How often the list is read again while a sync someone asked for has not finished, and for how long. */
const POLL_MS = 1500;
const GIVE_UP_MS = 5 * 60_000;

type Outcome = { ok: boolean; message: string; runId?: string };

/** A "Sync now" not yet finished: the run the connection had before, to tell the new one from it. */
interface Pending {
  name: string;
  previousRunId: string | null;
  since: number;
}

/** The status words of the last run, for the announcement when it finishes. */
const FINISHED: Record<string, string> = { succeeded: 'succeeded', failed: 'failed: see the run for why' };

/** /sync/connections — saved connections to the school's MIS, with "Sync now" (list: sync.read; changes: sync.manage). */
export function SyncConnections() {
  usePageTitle('MIS connections – Custos');
  const session = useSignedIn();
  const manage = can(session, 'sync.manage');
  const [list, reload] = useApi<{ connections: SyncConnection[] }>('/api/v1/sync/connections');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [adding, setAdding] = useState(false);
  const [pending, setPending] = useState<Record<string, Pending>>({});
  const listHeading = useRef<HTMLHeadingElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  const connections = list.state === 'loaded' ? list.data.connections : undefined;

  // While a sync someone asked for is unfinished, read the list again every moment.
  const waiting = Object.keys(pending).length > 0;
  useEffect(() => {
    if (!waiting) return;
    const timer = window.setInterval(reload, POLL_MS);
    return () => window.clearInterval(timer);
  }, [waiting, reload]);

  // Each fresh list: has a pending sync's run finished (or its connection gone, or the wait run out)?
  useEffect(() => {
    if (!connections || !waiting) return;
    const still: Record<string, Pending> = {};
    let said: Outcome | null = null;
    for (const [id, wait] of Object.entries(pending)) {
      const connection = connections.find((c) => c.id === id);
      const run = connection?.lastRun;
      if (!connection) continue;
      if (run && run.id !== wait.previousRunId && run.status !== 'running') {
        said = { ok: true, message: `${wait.name}: the sync ${FINISHED[run.status] ?? run.status}.`, runId: run.id };
      } else if (Date.now() - wait.since > GIVE_UP_MS) {
        said = { ok: true, message: `${wait.name}: the sync has not finished yet. Reload the page later to see its run.` };
      } else {
        still[id] = wait;
      }
    }
    if (Object.keys(still).length !== Object.keys(pending).length) {
      setPending(still);
      if (said) setOutcome(said);
    }
  }, [connections, pending, waiting]);

  async function syncNow(connection: SyncConnection) {
    try {
      await api.post(`/api/v1/sync/connections/${connection.id}/run`);
      setPending((now) => ({ ...now, [connection.id]: { name: connection.name, previousRunId: connection.lastRun?.id ?? null, since: Date.now() } }));
      setOutcome({ ok: true, message: `${connection.name}: a sync is queued. This page says when it has finished.` });
    } catch (error) {
      setOutcome({ ok: false, message: `${connection.name}: could not start a sync. ${describeProblem(error)}` });
    }
  }

  async function remove(connection: SyncConnection) {
    try {
      await api.delete(`/api/v1/sync/connections/${connection.id}`);
      setOutcome({ ok: true, message: `${connection.name} is removed: it will not run again and its credentials are erased. Its past runs stay in the import history.` });
      reload();
      listHeading.current?.focus();
    } catch (error) {
      setOutcome({ ok: false, message: `${connection.name}: could not remove it. ${describeProblem(error)}` });
    }
  }

  return (
    <>
      <SyncNav />
      <h1 id="page-title">MIS connections</h1>
      <p className="narrow">
        A connection lets Custos read {session.organisation.name}’s management information system (MIS) by itself, through Wonde
        or a OneRoster API, instead of someone uploading a file. Each run reads what changed since the last one and shows in the{' '}
        <Link href="/sync/runs">import history</Link>.
      </p>
      <div role="status" className="status-region">
        {outcome?.ok && (
          <p className="notice notice--success">
            {outcome.message}
            {outcome.runId && (
              <>
                {' '}
                <Link href={`/sync/runs/${outcome.runId}`}>See the run</Link>
              </>
            )}
          </p>
        )}
      </div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      <LoadState value={list} what="the connections" />
      {connections && (
        <section aria-labelledby="connections-title">
          <h2 id="connections-title" tabIndex={-1} ref={listHeading}>
            Connections ({connections.length})
          </h2>
          {connections.length === 0 ? (
            <p>
              No connections yet.
              {manage ? ' Add one below, or ' : ' Someone who manages imports can add one; until then, '}
              {manage ? <Link href="/sync/import">import a file</Link> : 'data comes from uploaded files'}.
            </p>
          ) : (
            <ul className="plain-list">
              {connections.map((connection) => (
                <ConnectionPanel
                  key={connection.id}
                  connection={connection}
                  manage={manage}
                  pending={Boolean(pending[connection.id])}
                  onSyncNow={() => syncNow(connection)}
                  onRemove={() => remove(connection)}
                />
              ))}
            </ul>
          )}
        </section>
      )}
      {manage && connections && (
        <>
          <div className="button-row">
            <button
              ref={addButton}
              className="button button--secondary"
              type="button"
              aria-expanded={adding}
              aria-controls={adding ? 'connection-form' : undefined}
              onClick={() => setAdding(!adding)}
            >
              Add a connection
            </button>
          </div>
          {adding && (
            <ConnectionForm
              onCancel={() => {
                setAdding(false);
                addButton.current?.focus();
              }}
              onSaved={(created) => {
                setAdding(false);
                setOutcome({
                  ok: true,
                  message: `${created.name} is saved${created.schedule === 'nightly' ? ' and will run every night' : ''}. Its secret is stored encrypted and is not shown again. Press “Sync now” to read the MIS straight away.`,
                });
                reload();
                listHeading.current?.focus();
              }}
            />
          )}
        </>
      )}
    </>
  );
}

function ConnectionPanel({
  connection,
  manage,
  pending,
  onSyncNow,
  onRemove,
}: {
  connection: SyncConnection;
  manage: boolean;
  pending: boolean;
  onSyncNow: () => Promise<void>;
  onRemove: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const labels = SETTING_LABELS[connection.kind] ?? {};
  const run = connection.lastRun;

  async function act(work: () => Promise<void>) {
    // Not disabled while busy: a focused button that turns disabled drops the keyboard's place.
    if (busy) return;
    setBusy(true);
    try {
      await work();
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="panel">
      <h3>{connection.name}</h3>
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>Kind</dt>
          <dd>{CONNECTION_KIND_LABELS[connection.kind] ?? connection.kind}</dd>
        </div>
        <div>
          <dt>Runs</dt>
          <dd>{connection.schedule === 'nightly' ? 'Every night at 02:00 (UK time), and on Sync now' : 'Only on Sync now (manual)'}</dd>
        </div>
        {Object.entries(connection.settings).map(([key, value]) => (
          <div key={key}>
            <dt>{labels[key] ?? key}</dt>
            <dd>{value === '********' ? <MaskedSecret /> : value}</dd>
          </div>
        ))}
        <div>
          <dt>Last run</dt>
          <dd>
            {run ? (
              <>
                <RunStatus run={{ status: run.status as SyncRun['status'], dryRun: false }} />{' '}
                <Link href={`/sync/runs/${run.id}`}>
                  <Stamp iso={run.startedAt} />
                  <span className="visually-hidden"> (run of {connection.name})</span>
                </Link>
              </>
            ) : (
              'Not run yet'
            )}
            {pending && <p className="muted">A sync is queued; this updates when it has finished.</p>}
          </dd>
        </div>
      </dl>
      {manage && (
        <div className="button-row">
          {/* aria-label, not a hidden span: a hidden span counts as a block and puts a space before the colon. */}
          <button className="button" type="button" aria-label={`Sync now: ${connection.name}`} onClick={() => void act(onSyncNow)}>
            Sync now
          </button>
          <ConfirmRemoval
            action="Remove"
            what={connection.name}
            busy={busy}
            question={`Remove ${connection.name}? It stops running and its credentials are erased. The records it imported and its past runs stay.`}
            onConfirm={() => act(onRemove)}
          />
        </div>
      )}
    </li>
  );
}
