import { useState } from 'react';
import type { PortalClient, PortalClientPage, PortalFlow } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { DocumentsSection } from './documents.tsx';
import { KIND_VERBS } from './format.ts';
import { InvoicesForYou } from './invoices.tsx';
import { FlowStatusTag, Stamp } from './parts.tsx';
import { RequestsForYou } from './requests.tsx';

/**
 * /portal for a client user: what the practice is waiting for from them, what they answered, and
 * their documents (one area per client they act for), built to work on a phone.
 */
export function ClientHome() {
  usePageTitle('Your portal – Custos');
  const session = useSignedIn();
  const [flash] = useState(currentFlash);
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const [flows] = useApi<{ flows: PortalFlow[] }>('/api/v1/portal/flows?limit=100');
  const list = clients.state === 'loaded' ? clients.data.items : [];
  const names = new Map(list.map((c) => [c.id, c.name]));
  const mine = flows.state === 'loaded' ? flows.data.flows.filter((f) => f.recipientUserId === session.user.id) : [];
  const waiting = mine.filter((f) => f.status === 'pending' && !(f.expiresAt && Date.parse(f.expiresAt) <= Date.now()));
  const answered = mine.filter((f) => !waiting.includes(f)).slice(0, 20);
  const canUpload = can(session, 'portal.documents.upload');

  return (
    <div className="portal-client-view">
      <h1 id="page-title">Your portal</h1>
      {flash && <Notice>{flash}</Notice>}
      <p>Documents you share with {session.organisation.name}, and what they have asked you to approve or sign.</p>

      <section aria-labelledby="waiting-title">
        <h2 id="waiting-title">Waiting for you{flows.state === 'loaded' ? ` (${waiting.length})` : ''}</h2>
        <LoadState value={flows} what="what is waiting for you" />
        {flows.state === 'loaded' && waiting.length === 0 && <p>Nothing is waiting for you.</p>}
        {waiting.length > 0 && (
          <ul className="request-list">
            {waiting.map((flow) => (
              <RequestCard key={flow.id} flow={flow} clientName={names.get(flow.clientId)} />
            ))}
          </ul>
        )}
      </section>

      {answered.length > 0 && (
        <section aria-labelledby="answered-title">
          <h2 id="answered-title">Answered or closed</h2>
          <ul className="request-list">
            {answered.map((flow) => (
              <RequestCard key={flow.id} flow={flow} clientName={names.get(flow.clientId)} />
            ))}
          </ul>
        </section>
      )}

      <RequestsForYou />
      <InvoicesForYou />

      <LoadState value={clients} what="your documents" />
      {clients.state === 'loaded' && list.length === 0 && <p>You do not have access to any client’s documents yet.</p>}
      {list.length === 1 && <DocumentsSection clientId={list[0]!.id} clientName={list[0]!.name} canUpload={canUpload} asClient />}
      {list.length > 1 && list.map((client) => <ClientArea key={client.id} client={client} canUpload={canUpload} />)}
    </div>
  );
}

function ClientArea({ client, canUpload }: { client: PortalClient; canUpload: boolean }) {
  return (
    <section aria-labelledby={`area-${client.id}`} className="client-area">
      <h2 id={`area-${client.id}`}>{client.name}</h2>
      <DocumentsSection clientId={client.id} clientName={client.name} canUpload={canUpload} asClient level={3} />
    </section>
  );
}

function RequestCard({ flow, clientName }: { flow: PortalFlow; clientName?: string }) {
  const count = flow.documents.length;
  return (
    <li className="request-card">
      <h3 className="request-card__title">
        <Link href={`/portal/flows/${flow.id}`}>{flow.title}</Link>
      </h3>
      <p className="request-card__meta">
        <FlowStatusTag status={flow.status} />{' '}
        {flow.status === 'pending' ? `${count === 1 ? 'One document' : `${count} documents`} to ${KIND_VERBS[flow.kind]}` : `${count === 1 ? 'One document' : `${count} documents`}`}
        {clientName ? ` for ${clientName}` : ''}.
      </p>
      <p className="request-card__meta">
        Sent <Stamp iso={flow.createdAt} />
        {flow.status === 'pending' && flow.expiresAt && (
          <>
            ; please answer by <Stamp iso={flow.expiresAt} />
          </>
        )}
        {flow.completedAt && (
          <>
            ; finished <Stamp iso={flow.completedAt} />
          </>
        )}
        .
      </p>
    </li>
  );
}
