import { useState } from 'react';
import { FLOW_STATUSES, type FlowDashboard, type PortalFlow, type PracticeBalance } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { plural } from '../sync/format.ts';
import { ClientHome } from './client-home.tsx';
import { formatBytes, STATUS_LABELS } from './format.ts';
import { FlowsTable, isPracticeSide, PortalNav, useClientNames } from './parts.tsx';

const RECENT = 10;

/** /portal — the practice's overview, or, for a client user, what is waiting for them and their documents. */
export function PortalHome() {
  const session = useSignedIn();
  return isPracticeSide(session) ? <PracticeDashboard /> : <ClientHome />;
}

function PracticeDashboard() {
  usePageTitle('Client portal – Custos');
  const session = useSignedIn();
  const [flash] = useState(currentFlash);
  const [counts] = useApi<FlowDashboard>('/api/v1/portal/flows/dashboard');
  const [flows] = useApi<{ flows: PortalFlow[] }>(`/api/v1/portal/flows?limit=${RECENT}`);
  const [balance] = useApi<PracticeBalance>(can(session, 'portal.billing.manage') ? '/api/v1/portal/practice/balance' : null);
  const clients = useClientNames();

  return (
    <>
      <PortalNav />
      <h1 id="page-title">Client portal</h1>
      {flash && <Notice>{flash}</Notice>}
      <p className="narrow">
        Documents {session.organisation.name} shares with its clients, and what it has asked them to approve or sign.
      </p>

      <section aria-labelledby="counts-title">
        <h2 id="counts-title">Approvals and signatures</h2>
        <LoadState value={counts} what="the counts" />
        {counts.state === 'loaded' && (
          <ul className="count-list">
            {FLOW_STATUSES.map((status) => (
              <li key={status} className={`count-card${status === 'pending' ? ' count-card--main' : ''}`}>
                <span className="count-card__number">{counts.data[status]}</span> <span className="count-card__label">{STATUS_LABELS[status]}</span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="recent-title">
        <h2 id="recent-title">Recently sent</h2>
        <LoadState value={flows} what="what was sent recently" />
        {flows.state === 'loaded' && flows.data.flows.length === 0 && (
          <p>
            Nothing sent yet. Open a <Link href="/portal/clients">client</Link> to send documents for approval or signature.
          </p>
        )}
        {flows.state === 'loaded' && flows.data.flows.length > 0 && <FlowsTable flows={flows.data.flows} clients={clients} caption={`The ${RECENT} most recently sent`} captionHidden />}
      </section>

      {balance.state === 'loaded' && (
        <section aria-labelledby="balance-title">
          <h2 id="balance-title">Credits and storage</h2>
          <dl className="summary-list summary-list--compact">
            <div>
              <dt>Signing credits</dt>
              <dd>{plural(balance.data.signingCredits, 'credit')} left (one is used for each completed signature)</dd>
            </div>
            <div>
              <dt>Storage</dt>
              <dd>
                {formatBytes(balance.data.storageUsedBytes)} of {formatBytes(balance.data.storageQuotaBytes)} used
              </dd>
            </div>
          </dl>
          <p>
            <Link href="/portal/billing">Buy signing credits or storage</Link>
          </p>
        </section>
      )}

      <section aria-labelledby="parts-title">
        <h2 id="parts-title">Work with</h2>
        <ul className="card-list">
          <li className="product-card">
            <h3>
              <Link href="/portal/clients">Clients</Link>
            </h3>
            <p>Find or add a client; give people access, upload documents, send them for approval or signature.</p>
          </li>
          {can(session, 'portal.flows.send') && (
            <li className="product-card">
              <h3>
                <Link href="/portal/requests">Information requests</Link>
              </h3>
              <p>Send the year-end checklist or your own questions; see the answers and documents; each quarter’s Making Tax Digital figures.</p>
            </li>
          )}
          {can(session, 'portal.invoices.manage') && (
            <li className="product-card">
              <h3>
                <Link href="/portal/invoices">Invoices</Link>
              </h3>
              <p>Raise invoices with VAT, see what is paid and overdue, and export them to Excel. Clients pay online.</p>
            </li>
          )}
          <li className="product-card">
            <h3>
              <Link href="/verify">Check a signed document</Link>
            </h3>
            <p>Anyone with a signed copy can check here that it is exactly what was signed. No sign-in needed.</p>
          </li>
        </ul>
      </section>
    </>
  );
}
