import { useState } from 'react';
import type { AuditEntry, User } from '../../api/types.ts';
import { useApi } from '../../api/use-api.ts';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { VerifyChain } from './verify-chain.tsx';

const PAGE_SIZE = 50;

const time = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });

/** /audit — the organisation's audit trail, newest first, a page at a time (audit.read). */
export function Audit() {
  usePageTitle('Audit log – Custos');
  const session = useSignedIn();
  /** `before` cursors of the pages already passed, so "Newer entries" can step back. */
  const [cursors, setCursors] = useState<(number | undefined)[]>([]);
  const [before, setBefore] = useState<number | undefined>(undefined);
  const [entries] = useApi<{ entries: AuditEntry[] }>(`/api/v1/audit?limit=${PAGE_SIZE}${before ? `&before=${before}` : ''}`);
  const [users] = useApi<{ users: User[] }>(can(session, 'users.read') ? '/api/v1/users' : null);
  const names = new Map<string, string>(users.state === 'loaded' ? users.data.users.map((u) => [u.id, u.email]) : []);
  const list = entries.state === 'loaded' ? entries.data.entries : [];

  function who(type: string | null, id: string | null): string {
    if (!id) return type ?? '—';
    const known = names.get(id);
    if (known) return known;
    return `${type ?? ''} ${id.length > 13 ? `${id.slice(0, 8)}…` : id}`.trim();
  }

  return (
    <>
      <h1 id="page-title">Audit log</h1>
      <p>
        Every change in {session.organisation.name}, newest first. Personal values are never written here, only that they
        changed. Each entry is chained to the one before it, so any alteration shows when the chain is checked.
      </p>
      <div className="button-row">
        <a className="button button--secondary" href="/api/v1/audit/export.csv" download>
          Download CSV
        </a>
      </div>
      <VerifyChain />
      <h2 id="entries-title">Entries</h2>
      <LoadState value={entries} what="the audit log" />
      {entries.state === 'loaded' && list.length === 0 && <p>No entries on this page.</p>}
      {list.length > 0 && (
        <table className="table" aria-labelledby="entries-title">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
            </tr>
          </thead>
          <tbody>
            {list.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.occurredAt}>{time.format(new Date(entry.occurredAt))}</time>
                </td>
                <td>{who(entry.actorType, entry.actorId)}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>{entry.targetType || entry.targetId ? who(entry.targetType, entry.targetId) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="button-row" aria-label="Audit log pages">
        {cursors.length > 0 && (
          <button
            className="button button--secondary"
            type="button"
            onClick={() => {
              setBefore(cursors[cursors.length - 1]);
              setCursors(cursors.slice(0, -1));
            }}
          >
            Newer entries
          </button>
        )}
        {list.length === PAGE_SIZE && (
          <button
            className="button button--secondary"
            type="button"
            onClick={() => {
              setCursors([...cursors, before]);
              setBefore(list[list.length - 1]!.seq);
            }}
          >
            Older entries
          </button>
        )}
      </nav>
    </>
  );
}
