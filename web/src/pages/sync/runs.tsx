import { useState } from 'react';
import type { SyncRun } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { RunsTable, SyncNav } from './parts.tsx';

const STEP = 50;
const MAX = 500;

/** /sync/runs — every import, newest first (sync.read). */
export function SyncRuns() {
  usePageTitle('Import history – Custos');
  const session = useSignedIn();
  const [limit, setLimit] = useState(STEP);
  const [runs] = useApi<{ runs: SyncRun[] }>(`/api/v1/sync/runs?limit=${limit}`);
  // useApi keeps the last answer while the next loads, so the rows stay while older ones are fetched.
  const list = runs.state === 'loaded' ? runs.data.runs : [];

  return (
    <>
      <SyncNav />
      <h1 id="page-title">Import history</h1>
      <p>
        Every import of school data, newest first: files uploaded here and scheduled imports from connected systems. Open
        one to see which records it added, updated or marked as left, and which fields changed (never their values).
      </p>
      {can(session, 'sync.manage') && (
        <p>
          <Link href="/sync/import">Import a file</Link>
        </p>
      )}
      {list.length === 0 && <LoadState value={runs} what="the import history" />}
      {runs.state === 'loaded' && list.length === 0 && <p>No imports yet.</p>}
      {list.length > 0 && <RunsTable runs={list} caption="Imports, newest first" captionHidden />}
      {runs.state === 'loaded' && list.length === limit && limit < MAX && (
        <div className="button-row">
          <button className="button button--secondary" type="button" onClick={() => setLimit(Math.min(MAX, limit + STEP))}>
            Show older imports
          </button>
        </div>
      )}
    </>
  );
}
