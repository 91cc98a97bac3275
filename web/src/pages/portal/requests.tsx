import { useState } from 'react';
import { REQUEST_STATUSES, type PortalClientPage, type PortalRequestListItem, type RequestStatus } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash, navigate, queryParam, useLocation } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { plural } from '../sync/format.ts';
import { isPracticeSide, PortalNav, useReturnFocus } from './parts.tsx';
import { RequestCard, RequestsTable, REQUEST_STATUS_LABELS } from './request-parts.tsx';
import { RequestSendForm } from './request-send-form.tsx';

/** /portal/requests — questions sent to clients (the practice), or sent to you (a client user). */
export function PortalRequests() {
  const session = useSignedIn();
  return isPracticeSide(session) ? <PracticeRequests /> : <ClientRequests />;
}

function PracticeRequests() {
  usePageTitle('Information requests – Custos');
  const session = useSignedIn();
  const { search } = useLocation();
  const clientFilter = queryParam(search, 'clientId') ?? '';
  const [flash] = useState(currentFlash);
  const [status, setStatus] = useState<RequestStatus | ''>('');
  const [sending, setSending] = useState(false);
  const sendButton = useReturnFocus(sending);
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const query = new URLSearchParams({ limit: '200' });
  if (status) query.set('status', status);
  if (clientFilter) query.set('clientId', clientFilter);
  const [requests] = useApi<{ requests: PortalRequestListItem[] }>(`/api/v1/portal/requests?${query.toString()}`);
  const clientList = clients.state === 'loaded' ? clients.data.items : [];
  const names = new Map(clientList.map((c) => [c.id, c]));
  const list = requests.state === 'loaded' ? requests.data.requests : undefined;
  const filteredClient = clientFilter ? names.get(clientFilter) : undefined;
  const heading = `${status ? REQUEST_STATUS_LABELS[status] : 'All requests'}${filteredClient ? ` for ${filteredClient.name}` : ''}`;

  return (
    <>
      <PortalNav />
      <h1 id="page-title">Information requests</h1>
      {flash && <Notice>{flash}</Notice>}
      <p className="narrow">
        Questions for clients to answer, with the documents to upload: the year-end checklist, your own templates, and each quarter’s figures for
        Making Tax Digital.{' '}
        {can(session, 'portal.flows.send') && <Link href="/portal/request-templates">Manage the templates</Link>}
      </p>
      {!sending && (
        <div className="button-row">
          <button ref={sendButton} className="button" type="button" onClick={() => setSending(true)}>
            Send questions to a client
          </button>
        </div>
      )}
      {sending && clients.state !== 'loaded' && <LoadState value={clients} what="the clients" />}
      {sending && clients.state === 'loaded' && (
        <RequestSendForm
          clients={clientList}
          initialClientId={clientFilter || undefined}
          onSent={(request) => navigate(`/portal/requests/${request.id}`, { flash: `“${request.title}” is sent. They have been told by email.` })}
          onCancel={() => setSending(false)}
        />
      )}

      <h2 id="results-title">{heading}</h2>
      {filteredClient && (
        <p>
          <Link href="/portal/requests">Show every client’s requests</Link>
        </p>
      )}
      <div className="filters">
        <div className="field">
          <label className="field__label" htmlFor="request-status-filter">
            Show
          </label>
          <select id="request-status-filter" className="select" value={status} onChange={(event) => setStatus(event.target.value as RequestStatus | '')}>
            <option value="">Every request</option>
            {REQUEST_STATUSES.map((s) => (
              <option key={s} value={s}>
                {REQUEST_STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p role="status" className="status-region">
        {list ? (list.length === 0 ? 'No requests.' : `${plural(list.length, 'request')}.`) : ''}
      </p>
      <LoadState value={requests} what="the requests" />
      {list && list.length > 0 && <RequestsTable requests={list} clients={names} caption={heading} captionHidden />}
    </>
  );
}

function ClientRequests() {
  usePageTitle('Your requests – Custos');
  const session = useSignedIn();
  const [requests] = useApi<{ requests: PortalRequestListItem[] }>('/api/v1/portal/requests?limit=200');
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const names = new Map(clients.state === 'loaded' ? clients.data.items.map((c) => [c.id, c.name]) : []);
  const showClient = names.size > 1;
  const mine = requests.state === 'loaded' ? requests.data.requests.filter((r) => r.recipientUserId === session.user.id) : [];
  const waiting = mine.filter((r) => r.status === 'sent');
  const others = mine.filter((r) => r.status !== 'sent');

  return (
    <div className="portal-client-view">
      <p className="back-link">
        <Link href="/portal">Back to your portal</Link>
      </p>
      <h1 id="page-title">Your requests</h1>
      <p>Questions {session.organisation.name} has asked you, and quarterly figures for you to check.</p>
      <LoadState value={requests} what="your requests" />
      {requests.state === 'loaded' && (
        <>
          <section aria-labelledby="requests-waiting-title">
            <h2 id="requests-waiting-title">Waiting for you ({waiting.length})</h2>
            {waiting.length === 0 ? (
              <p>Nothing is waiting for you.</p>
            ) : (
              <ul className="request-list">
                {waiting.map((request) => (
                  <RequestCard key={request.id} request={request} clientName={showClient ? names.get(request.clientId) : undefined} />
                ))}
              </ul>
            )}
          </section>
          {others.length > 0 && (
            <section aria-labelledby="requests-done-title">
              <h2 id="requests-done-title">Answered or closed</h2>
              <ul className="request-list">
                {others.map((request) => (
                  <RequestCard key={request.id} request={request} clientName={showClient ? names.get(request.clientId) : undefined} />
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </div>
  );
}

/** For a client user's portal page: the questions waiting for them, with a way to all their requests. */
export function RequestsForYou() {
  const session = useSignedIn();
  const [requests] = useApi<{ requests: PortalRequestListItem[] }>('/api/v1/portal/requests?status=sent&limit=50');
  const waiting = requests.state === 'loaded' ? requests.data.requests.filter((r) => r.recipientUserId === session.user.id) : [];
  return (
    <section aria-labelledby="questions-title">
      <h2 id="questions-title">Questions to answer{requests.state === 'loaded' ? ` (${waiting.length})` : ''}</h2>
      <LoadState value={requests} what="your questions" />
      {requests.state === 'loaded' && waiting.length === 0 && <p>No questions are waiting for you.</p>}
      {waiting.length > 0 && (
        <ul className="request-list">
          {waiting.map((request) => (
            <RequestCard key={request.id} request={request} />
          ))}
        </ul>
      )}
      <p>
        <Link href="/portal/requests">All your requests</Link>
      </p>
    </section>
  );
}
