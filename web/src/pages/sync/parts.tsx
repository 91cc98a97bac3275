import { useEffect, useId, useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import { SYNC_ENTITIES, type EntityCounts, type ImportProblem, type SyncPage, type SyncPupil, type SyncRun, type SyncStaff } from '../../api/sync.ts';
import type { User } from '../../api/types.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { SectionNav, type SectionPage } from '../../components/section-nav.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { ENTITY_LABELS, FORMAT_LABELS, stamp } from './format.ts';

/** The pages of the school data section, each shown only to those who may open it. */
const SECTION: SectionPage[] = [
  { href: '/sync', label: 'Overview', permission: 'sync.read' },
  { href: '/sync/pupils', label: 'Pupils', permission: 'sync.read' },
  { href: '/sync/contacts', label: 'Contacts', permission: 'sync.read' },
  { href: '/sync/staff', label: 'Staff', permission: 'sync.read' },
  { href: '/sync/groups', label: 'Groups', permission: 'sync.read' },
  { href: '/sync/data-quality', label: 'Data quality', permission: 'sync.read' },
  { href: '/sync/runs', label: 'Import history', permission: 'sync.read' },
  { href: '/sync/import', label: 'Import a file', permission: 'sync.manage' },
  { href: '/sync/connections', label: 'MIS connections', permission: 'sync.read' },
  { href: '/sync/sharing', label: 'Sharing', permission: 'sync.sharing' },
  { href: '/sync/api-clients', label: 'API clients', permission: 'sync.sharing' },
  { href: '/sync/webhooks', label: 'Webhooks', permission: 'sync.sharing' },
];

/** The section's own navigation, above each page's h1. */
export function SyncNav() {
  return <SectionNav label="School data" root="/sync" pages={SECTION} />;
}

/** A moment, as "09:47, 24 Nov", machine-readable too. */
export function Stamp({ iso }: { iso: string }) {
  return <time dateTime={iso}>{stamp(iso)}</time>;
}

/** Added / updated / left per kind of record, as a table with row and column headers. */
export function CountsTable({ counts, caption }: { counts: { created: EntityCounts; updated: EntityCounts; left: EntityCounts }; caption: string }) {
  return (
    <table className="table table--numbers">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Records</th>
          <th scope="col">Added</th>
          <th scope="col">Updated</th>
          <th scope="col">Left</th>
        </tr>
      </thead>
      <tbody>
        {SYNC_ENTITIES.map((entity) => (
          <tr key={entity}>
            <th scope="row">{ENTITY_LABELS[entity]}</th>
            <td>{counts.created[entity] ?? 0}</td>
            <td>{counts.updated[entity] ?? 0}</td>
            <td>{counts.left[entity] ?? 0}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Warnings or errors of an import, each with where it is (file and line, element, mapping key). */
export function ProblemList({ problems, title, tone, level = 2 }: { problems: ImportProblem[]; title: string; tone: 'warning' | 'error'; level?: 2 | 3 }) {
  const id = useId();
  if (problems.length === 0) return null;
  const Heading = level === 2 ? 'h2' : 'h3';
  return (
    <section aria-labelledby={id} className={`problems problems--${tone}`}>
      <Heading id={id}>
        {title} ({problems.length})
      </Heading>
      <ul className="problem-list">
        {problems.map((problem, index) => (
          <li key={index}>
            <span className="problem-list__location">{problem.location}</span>
            <span className="problem-list__message">{problem.message}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** "Showing 26 to 50 of 120 pupils", with Previous and Next page buttons. */
export function Pager({ page, noun, label, onOffset }: { page: SyncPage<unknown>; noun: string; label: string; onOffset: (offset: number) => void }) {
  if (page.total <= page.limit && page.offset === 0) return null;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = Math.min(page.offset + page.limit, page.total);
  return (
    <nav className="pager" aria-label={label}>
      <p className="pager__range">
        {first} to {last} of {page.total} {noun}
      </p>
      <div className="button-row">
        {page.offset > 0 && (
          <button className="button button--secondary" type="button" onClick={() => onOffset(Math.max(0, page.offset - page.limit))}>
            Previous page<span className="visually-hidden"> of {noun}</span>
          </button>
        )}
        {last < page.total && (
          <button className="button button--secondary" type="button" onClick={() => onOffset(page.offset + page.limit)}>
            Next page<span className="visually-hidden"> of {noun}</span>
          </button>
        )}
      </div>
    </nav>
  );
}

/** "1 to 25 of 30 pupils" or "No pupils": said politely when a list changes. */
export function resultsText(page: SyncPage<unknown>, noun: string, filtered: boolean): string {
  if (page.total === 0) return filtered ? `No ${noun} match.` : `No ${noun} yet.`;
  if (page.total <= page.limit && page.offset === 0) return `${page.total} ${page.total === 1 ? noun.replace(/s$/, '') : noun}${filtered ? ' found' : ''}.`;
  return `${filtered ? 'Found' : 'Showing'} ${page.offset + 1} to ${Math.min(page.offset + page.limit, page.total)} of ${page.total} ${noun}.`;
}

/**
 * Who did something, in words: 'user:<id>' becomes the person's name or email (when the viewer
 * may read users), 'you' for oneself; tokens and the command line are named as such.
 */
export function useActorNames(): (actor: string) => string {
  const session = useSignedIn();
  const [users] = useApi<{ users: User[] }>(can(session, 'users.read') ? '/api/v1/users' : null);
  const names = new Map<string, string>(users.state === 'loaded' ? users.data.users.map((u) => [u.id, u.displayName || u.email]) : []);
  return (actor: string) => {
    const at = actor.indexOf(':');
    const type = at >= 0 ? actor.slice(0, at) : actor;
    const id = at >= 0 ? actor.slice(at + 1) : '';
    if (type === 'user') {
      if (id === session.user.id) return `You (${session.user.email})`;
      return names.get(id) ?? `A user (${id.slice(0, 8)}…)`;
    }
    if (type === 'api_token') return `An API token (${id.slice(0, 8)}…)`;
    if (type === 'operator') return 'Custos support';
    if (type === 'cli') return 'The custos command';
    if (type === 'system') return 'Custos';
    return actor;
  };
}

export function RunStatus({ run }: { run: Pick<SyncRun, 'status' | 'dryRun'> }) {
  const words = { succeeded: 'Succeeded', failed: 'Failed', running: 'Running' }[run.status];
  const tone = { succeeded: 'active', failed: 'disabled', running: 'invited' }[run.status];
  return (
    <>
      <span className={`tag tag--${tone}`}>{words}</span>
      {run.dryRun && <span className="tag tag--check">Check only</span>}
    </>
  );
}

function total(counts: EntityCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Import runs, newest first: when (linking to the run), what, how it ended, counts and who. */
export function RunsTable({ runs, caption, captionHidden }: { runs: SyncRun[]; caption: string; captionHidden?: boolean }) {
  const actorName = useActorNames();
  return (
    <table className="table">
      <caption className={captionHidden ? 'visually-hidden' : undefined}>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Source</th>
          <th scope="col">Result</th>
          <th scope="col" className="numeric">
            Added
          </th>
          <th scope="col" className="numeric">
            Updated
          </th>
          <th scope="col" className="numeric">
            Left
          </th>
          <th scope="col">Started by</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id}>
            <td>
              <Link href={`/sync/runs/${run.id}`} className="nowrap">
                <Stamp iso={run.startedAt} />
                <span className="visually-hidden"> (import run)</span>
              </Link>
            </td>
            <td>
              {FORMAT_LABELS[run.format] ?? run.format}
              {run.mode === 'delta' && <span className="muted"> (changes only)</span>}
            </td>
            <td>
              <RunStatus run={run} />
            </td>
            <td className="numeric">{total(run.created)}</td>
            <td className="numeric">{total(run.updated)}</td>
            <td className="numeric">{total(run.left)}</td>
            <td>{actorName(run.startedBy)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A labelled search box with its button, in its own search landmark. */
export function SearchBox({
  id,
  label,
  hint,
  value,
  onChange,
  children,
  onSubmit,
  onClear,
  canClear,
}: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onChange: (value: string) => void;
  children?: ReactNode;
  onSubmit: () => void;
  onClear: () => void;
  canClear: boolean;
}) {
  return (
    <div role="search">
      <form
        className="search-form"
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
        noValidate
      >
        <div className="field search-form__field">
          <label className="field__label" htmlFor={id}>
            {label}
          </label>
          <p className="field__hint" id={`${id}-hint`}>
            {hint}
          </p>
          <input
            id={id}
            name={id}
            className="input"
            type="search"
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(event) => onChange(event.target.value)}
            aria-describedby={`${id}-hint`}
          />
        </div>
        {children}
        <div className="button-row search-form__buttons">
          <button className="button" type="submit">
            Search
          </button>
          {canClear && (
            <button className="button button--secondary" type="button" onClick={onClear}>
              Clear search
            </button>
          )}
        </div>
      </form>
    </div>
  );
}

/**
 * Every pupil (or staff member), current and left, by id: to name the people a contact, group or
 * sharing exclusion refers to. Read a page of 500 at a time; empty until loaded, or when `enabled` is false.
 */
export function usePeople<T extends SyncPupil | SyncStaff>(what: 'pupils' | 'staff', enabled = true): Map<string, T> {
  const [people, setPeople] = useState<Map<string, T>>(new Map());
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    void (async () => {
      const found = new Map<string, T>();
      for (let offset = 0; ; offset += 500) {
        const page = await api.get<SyncPage<T>>(`/api/v1/sync/${what}?limit=500&offset=${offset}&includeLeft=true`, { signal: abort.signal });
        for (const item of page.items) found.set(item.id, item);
        if (offset + page.limit >= page.total) break;
      }
      setPeople(found);
    })().catch(() => {
      // Names are a convenience: without them, records are shown by id.
    });
    return () => abort.abort();
  }, [what, enabled]);
  return people;
}
