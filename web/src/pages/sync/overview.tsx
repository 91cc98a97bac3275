import { SYNC_ENTITIES, type SyncFreshness, type SyncRun } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { ENTITY_LABELS } from './format.ts';
import { RunsTable, Stamp, SyncNav } from './parts.tsx';

const RECENT_RUNS = 5;

const PAGES: { href: string; label: string; description: string; permission: string }[] = [
  { href: '/sync/pupils', label: 'Pupils', description: 'Find a pupil by name or UPN, or list a group; open a pupil to see their contacts.', permission: 'sync.read' },
  { href: '/sync/contacts', label: 'Contacts', description: 'Parents and carers, and how each stands to each pupil.', permission: 'sync.read' },
  { href: '/sync/staff', label: 'Staff', description: 'Staff names, job titles and work contact details.', permission: 'sync.read' },
  { href: '/sync/groups', label: 'Groups', description: 'Year, registration, house and class groups with their members.', permission: 'sync.read' },
  { href: '/sync/runs', label: 'Import history', description: 'Every import: what it added, updated and marked as left.', permission: 'sync.read' },
  { href: '/sync/import', label: 'Import a file', description: 'Upload a CTF, a OneRoster zip or a CSV export from your MIS.', permission: 'sync.manage' },
  { href: '/sync/connections', label: 'MIS connections', description: 'Read your MIS through Wonde or a OneRoster API, every night or on “Sync now”.', permission: 'sync.read' },
  { href: '/sync/sharing', label: 'Sharing', description: 'Which products and apps may read which data; stop all sharing at once.', permission: 'sync.sharing' },
  { href: '/sync/api-clients', label: 'API clients', description: 'Outside apps that read school data through the OneRoster 1.2 API, with their credentials.', permission: 'sync.sharing' },
  { href: '/sync/webhooks', label: 'Webhooks', description: 'Tell linked apps what changed after each import, signed so they can trust it.', permission: 'sync.sharing' },
];

/** /sync — how up to date the school's data is, the latest imports, and the way to each part. */
export function SyncOverview() {
  usePageTitle('School data – Custos');
  const session = useSignedIn();
  const [freshness] = useApi<SyncFreshness>('/api/v1/sync/freshness');
  const [runs] = useApi<{ runs: SyncRun[] }>(`/api/v1/sync/runs?limit=${RECENT_RUNS}`);
  const stamps = freshness.state === 'loaded' ? freshness.data.freshAsOf : {};
  const known = SYNC_ENTITIES.filter((entity) => stamps[entity]);

  return (
    <>
      <SyncNav />
      <h1 id="page-title">School data</h1>
      <p>
        What {session.organisation.name} holds from its management information system (MIS). Personal details are stored
        encrypted; only people with permission to browse school data can see them here.
      </p>

      <section aria-labelledby="fresh-title">
        <h2 id="fresh-title">How up to date it is</h2>
        <LoadState value={freshness} what="when the data was last updated" />
        {freshness.state === 'loaded' && known.length === 0 && (
          <p>
            Nothing has been imported yet.
            {can(session, 'sync.manage') && (
              <>
                {' '}
                <Link href="/sync/import">Import a file from your MIS</Link> to start.
              </>
            )}
          </p>
        )}
        {known.length > 0 && (
          <ul className="freshness-list">
            {known.map((entity) => (
              <li key={entity}>
                <strong>{ENTITY_LABELS[entity]}</strong> as of <Stamp iso={stamps[entity]!} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Latest imports</h2>
        <LoadState value={runs} what="the latest imports" />
        {runs.state === 'loaded' && runs.data.runs.length === 0 && <p>No imports yet.</p>}
        {runs.state === 'loaded' && runs.data.runs.length > 0 && (
          <>
            <RunsTable runs={runs.data.runs} caption={`The ${RECENT_RUNS} latest imports`} captionHidden />
            <p>
              <Link href="/sync/runs">See every import</Link>
            </p>
          </>
        )}
      </section>

      <section aria-labelledby="parts-title">
        <h2 id="parts-title">Browse and manage</h2>
        <ul className="card-list">
          {PAGES.filter((item) => can(session, item.permission)).map((item) => (
            <li key={item.href} className="product-card">
              <h3>
                <Link href={item.href}>{item.label}</Link>
              </h3>
              <p>{item.description}</p>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
