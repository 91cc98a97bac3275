import { useEffect, useState } from 'react';
import type { SyncRunChange, SyncRunWithChanges } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { CHANGE_LABELS, ENTITY_LABELS, FORMAT_LABELS, stamp } from './format.ts';
import { RUN_POLL_MS, RunProgressBar } from './run-progress.tsx';
import { CountsTable, ProblemList, RunStatus, Stamp, SyncNav, useActorNames } from './parts.tsx';

const CHANGES_STEP = 100;

/** 'legalSurname' → 'legal surname', 'fsmPeriods' → 'FSM periods'. */
function fieldWords(field: string): string {
  return field
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/\bfsm\b/g, 'FSM')
    .replace(/\bupn\b/g, 'UPN')
    .replace(/\bsen\b/g, 'SEN');
}

function recordLink(change: SyncRunChange): string | undefined {
  return change.entity === 'pupils' ? `/sync/pupils/${change.recordId}` : undefined;
}

/** /sync/runs/:id — one import: how it went, its counts, problems and the records it changed (sync.read). */
export function SyncRun({ id }: { id: string }) {
  const [run, reload] = useApi<SyncRunWithChanges>(`/api/v1/sync/runs/${encodeURIComponent(id)}`);
  const loaded = run.state === 'loaded' ? run.data : undefined;
  // A run still going is asked about again each second until it has finished.
  const running = loaded?.status === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(reload, RUN_POLL_MS);
    return () => clearTimeout(timer);
  }, [running, loaded, reload]);
  usePageTitle(loaded ? `Import run of ${stamp(loaded.startedAt)} – Custos` : 'Import run – Custos');
  const actorName = useActorNames();

  return (
    <>
      <SyncNav />
      <p className="back-link">
        <Link href="/sync/runs">Back to import history</Link>
      </p>
      <h1 id="page-title">{loaded ? `Import run of ${stamp(loaded.startedAt)}` : 'Import run'}</h1>
      <LoadState value={run} what="the import run" />
      {loaded && (
        <>
          <dl className="summary-list">
            <div>
              <dt>Result</dt>
              <dd>
                <RunStatus run={loaded} />
              </dd>
            </div>
            <div>
              <dt>Format</dt>
              <dd>{FORMAT_LABELS[loaded.format] ?? loaded.format}</dd>
            </div>
            <div>
              <dt>What the source sent</dt>
              <dd>{loaded.mode === 'full' ? 'The whole school' : 'Changes only'}</dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd>
                <code>{loaded.source}</code>
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>
                <Stamp iso={loaded.startedAt} /> by {actorName(loaded.startedBy)}
              </dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{loaded.finishedAt ? <Stamp iso={loaded.finishedAt} /> : 'Not yet'}</dd>
            </div>
          </dl>
          {loaded.status === 'running' && loaded.progress && <RunProgressBar progress={loaded.progress} id="run-progress" />}
          {loaded.dryRun && <p className="notice">This was a check only: nothing was saved. The counts say what importing the file would have changed.</p>}
          <CountsTable counts={loaded} caption="Records added, updated and marked as left" />
          <ProblemList problems={loaded.errors} title="Errors" tone="error" />
          <ProblemList problems={loaded.warnings} title="Warnings" tone="warning" />
          <Changes changes={loaded.changes} dryRun={loaded.dryRun} />
        </>
      )}
    </>
  );
}

function Changes({ changes, dryRun }: { changes: SyncRunChange[]; dryRun: boolean }) {
  const [entity, setEntity] = useState('');
  const [change, setChange] = useState('');
  const [shown, setShown] = useState(CHANGES_STEP);
  const entities = [...new Set(changes.map((c) => c.entity))];
  const kinds = [...new Set(changes.map((c) => c.change))];
  const matching = changes.filter((c) => (!entity || c.entity === entity) && (!change || c.change === change));
  const visible = matching.slice(0, shown);

  return (
    <section aria-labelledby="changes-title">
      <h2 id="changes-title">Records changed ({changes.length})</h2>
      {changes.length === 0 ? (
        <p>{dryRun ? 'A check keeps no list of records.' : 'This import changed no records.'}</p>
      ) : (
        <>
          <p>Which records changed and, for updates, the names of the fields that changed. Values are never listed here.</p>
          <div className="filters">
            <div className="field">
              <label className="field__label" htmlFor="changes-entity">
                Kind of record
              </label>
              <select
                id="changes-entity"
                className="select"
                value={entity}
                onChange={(event) => {
                  setEntity(event.target.value);
                  setShown(CHANGES_STEP);
                }}
              >
                <option value="">All</option>
                {entities.map((e) => (
                  <option key={e} value={e}>
                    {ENTITY_LABELS[e] ?? e}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label className="field__label" htmlFor="changes-change">
                Change
              </label>
              <select
                id="changes-change"
                className="select"
                value={change}
                onChange={(event) => {
                  setChange(event.target.value);
                  setShown(CHANGES_STEP);
                }}
              >
                <option value="">All</option>
                {kinds.map((k) => (
                  <option key={k} value={k}>
                    {CHANGE_LABELS[k] ?? k}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <p role="status" className="status-region">
            {matching.length === changes.length
              ? `Showing ${visible.length} of ${changes.length} changes.`
              : `${matching.length} of ${changes.length} changes match; showing ${visible.length}.`}
          </p>
          <table className="table">
            <caption className="visually-hidden">Records this import changed</caption>
            <thead>
              <tr>
                <th scope="col">Kind of record</th>
                <th scope="col">MIS id</th>
                <th scope="col">Change</th>
                <th scope="col">Fields changed</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((c) => {
                const href = recordLink(c);
                const misId = c.misId ?? <span className="muted">Not held</span>;
                return (
                  <tr key={`${c.entity}:${c.recordId}`}>
                    <td>{ENTITY_LABELS[c.entity] ?? c.entity}</td>
                    <td>
                      {href && c.misId ? (
                        <Link href={href}>{c.misId}</Link>
                      ) : (
                        misId
                      )}
                    </td>
                    <td>{CHANGE_LABELS[c.change] ?? c.change}</td>
                    <td>
                      {c.fields.length > 0 ? c.fields.map(fieldWords).join(', ') : <span className="muted">{c.change === 'created' ? 'New record' : '—'}</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {visible.length < matching.length && (
            <div className="button-row">
              <button className="button button--secondary" type="button" onClick={() => setShown(shown + CHANGES_STEP)}>
                Show {Math.min(CHANGES_STEP, matching.length - visible.length)} more changes
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}
