import { useEffect, useRef, useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import { certificateUrl, documentContentUrl, type PortalClient, type PortalClientUser, type PortalFlowDocument, type PortalFlowWithTimeline } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { ConfirmRemoval } from '../sync/integration-parts.tsx';
import { clientUserName, EVENT_LABELS, KIND_LABELS, KIND_VERBS } from './format.ts';
import { FlowStatusTag, isPracticeSide, PortalNav, Stamp } from './parts.tsx';
import { ApprovalForm, DeclineForm, SignatureForm } from './respond.tsx';

type Outcome = { ok: boolean; message: string };

/**
 * /portal/flows/:id — one approval or signature request. The practice sees where it stands, the
 * original and signed copies, the audit certificate and the history, and may withdraw it; the
 * person it was sent to answers it here (portal.clients.read; answering needs portal.respond).
 */
export function PortalFlowPage({ id }: { id: string }) {
  const session = useSignedIn();
  const practice = isPracticeSide(session);
  const [loaded] = useApi<PortalFlowWithTimeline>(`/api/v1/portal/flows/${encodeURIComponent(id)}`);
  // After an answer or a withdrawal, the flow as the server returned it.
  const [changed, setChanged] = useState<PortalFlowWithTimeline | null>(null);
  const flow = changed ?? (loaded.state === 'loaded' ? loaded.data : undefined);
  const [client] = useApi<PortalClient>(flow ? `/api/v1/portal/clients/${encodeURIComponent(flow.clientId)}` : null);
  const [users] = useApi<{ users: PortalClientUser[] }>(flow && can(session, 'portal.clients.manage') ? `/api/v1/portal/clients/${encodeURIComponent(flow.clientId)}/users` : null);
  const [flash] = useState(currentFlash);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const outcomeRef = useRef<HTMLDivElement>(null);
  usePageTitle(flow ? `${flow.title} – ${KIND_LABELS[flow.kind]} – Custos` : 'Approval or signature – Custos');

  useEffect(() => {
    if (outcome) outcomeRef.current?.focus();
  }, [outcome]);

  const clientName = client.state === 'loaded' ? client.data.name : undefined;
  const recipient = users.state === 'loaded' ? users.data.users.find((u) => u.userId === flow?.recipientUserId) : undefined;
  const mine = flow?.recipientUserId === session.user.id;
  const expired = Boolean(flow?.expiresAt && Date.parse(flow.expiresAt) <= Date.now());
  const canAnswer = Boolean(flow && mine && flow.status === 'pending' && !expired && can(session, 'portal.respond'));

  const answered = (updated: PortalFlowWithTimeline, message: string) => {
    setChanged(updated);
    setOutcome({ ok: true, message });
  };

  async function withdraw() {
    if (!flow) return;
    try {
      const updated = await api.post<PortalFlowWithTimeline>(`/api/v1/portal/flows/${encodeURIComponent(flow.id)}/cancel`);
      answered(updated, `“${flow.title}” is withdrawn: it can no longer be answered.`);
    } catch (error) {
      setOutcome({ ok: false, message: `Could not withdraw it. ${describeProblem(error)}` });
    }
  }

  return (
    <div className={practice ? undefined : 'portal-client-view'}>
      <PortalNav />
      <p className="back-link">
        {practice && flow ? <Link href={`/portal/clients/${flow.clientId}`}>{clientName ? `Back to ${clientName}` : 'Back to the client'}</Link> : <Link href="/portal">Back to your portal</Link>}
      </p>
      {!flow && (
        <>
          <h1 id="page-title">Approval or signature</h1>
          <LoadState value={loaded} what="the request" />
        </>
      )}
      {flow && (
        <>
          <h1 id="page-title">{flow.title}</h1>
          {flash && <Notice>{flash}</Notice>}
          {/* Focus comes here after an answer: the form it came from is gone. */}
          <div ref={outcomeRef} tabIndex={-1} className="portal-outcome">
            <div role="status" className="status-region">
              {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
            </div>
            <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
          </div>
          {canAnswer && (
            <p className="lead-in">
              {session.organisation.name} asks you to {KIND_VERBS[flow.kind]} {flow.documents.length === 1 ? 'this document' : 'these documents'}. Open each one
              below before you answer.
            </p>
          )}
          <FlowSummary flow={flow} clientName={clientName} recipient={mine ? 'You' : recipient ? clientUserName(recipient) : undefined} expired={expired} />
          {flow.message && (
            <section aria-labelledby="message-title" className="portal-message">
              <h2 id="message-title">Message from the practice</h2>
              <p>{flow.message}</p>
            </section>
          )}
          <FlowDocuments flow={flow} />
          {canAnswer && flow.kind === 'approval' && <ApprovalForm flow={flow} onDone={answered} />}
          {canAnswer && flow.kind === 'signature' && (
            <>
              <SignatureForm flow={flow} signerName={session.user.displayName ?? ''} onDone={answered} />
              <DeclineForm flow={flow} onDone={answered} />
            </>
          )}
          {mine && flow.status === 'pending' && expired && <p className="notice notice--warning">The time to answer this has passed. Ask the practice to send it again.</p>}
          <FlowHistory flow={flow} showAddresses={practice} />
          {practice && can(session, 'portal.flows.send') && flow.status === 'pending' && (
            <section aria-labelledby="withdraw-title">
              <h2 id="withdraw-title">Withdraw</h2>
              <p>If it was sent by mistake, or the documents have changed, withdraw it. {recipient ? recipient.email : 'The recipient'} can then no longer answer it.</p>
              <ConfirmRemoval action="Withdraw" what={`“${flow.title}”`} question={`Withdraw “${flow.title}”? It can no longer be answered; send it again if needed.`} onConfirm={withdraw} />
            </section>
          )}
        </>
      )}
    </div>
  );
}

function FlowSummary({ flow, clientName, recipient, expired }: { flow: PortalFlowWithTimeline; clientName?: string; recipient?: string; expired: boolean }) {
  const responseLabel = flow.status === 'declined' ? 'Reason for not signing' : flow.status === 'rejected' ? 'What needs to change' : 'Comment';
  return (
    <dl className="summary-list summary-list--compact flow-summary">
      <div>
        <dt>Status</dt>
        <dd>
          <FlowStatusTag status={flow.status} />
          {flow.status === 'pending' && expired && <span className="muted"> (past its deadline)</span>}
        </dd>
      </div>
      <div>
        <dt>Asked for</dt>
        <dd>{KIND_LABELS[flow.kind]}</dd>
      </div>
      {clientName && (
        <div>
          <dt>Client</dt>
          <dd>{clientName}</dd>
        </div>
      )}
      {recipient && (
        <div>
          <dt>Sent to</dt>
          <dd>{recipient}</dd>
        </div>
      )}
      <div>
        <dt>Sent</dt>
        <dd>
          <Stamp iso={flow.createdAt} />
        </dd>
      </div>
      {flow.expiresAt && (
        <div>
          <dt>Respond by</dt>
          <dd>
            <Stamp iso={flow.expiresAt} />
          </dd>
        </div>
      )}
      {flow.completedAt && (
        <div>
          <dt>Finished</dt>
          <dd>
            <Stamp iso={flow.completedAt} />
          </dd>
        </div>
      )}
      {flow.response && (
        <div>
          <dt>{responseLabel}</dt>
          <dd className="flow-response">{flow.response}</dd>
        </div>
      )}
    </dl>
  );
}

function FlowDocuments({ flow }: { flow: PortalFlowWithTimeline }) {
  return (
    <section aria-labelledby="flow-documents-title">
      <h2 id="flow-documents-title">Documents ({flow.documents.length})</h2>
      <ul className="document-list">
        {flow.documents.map((document) => (
          <FlowDocumentCard key={document.documentId} flowId={flow.id} document={document} />
        ))}
      </ul>
    </section>
  );
}

function FlowDocumentCard({ flowId, document }: { flowId: string; document: PortalFlowDocument }) {
  const signed = document.signedVersion !== null;
  return (
    <li className="document-card">
      <h3 className="document-card__title">{document.title}</h3>
      <p className="document-card__meta">{signed ? `Sent as version ${document.version}; signed copy is version ${document.signedVersion}.` : `Version ${document.version}, as sent.`}</p>
      <div className="button-row document-card__actions">
        <a href={documentContentUrl(document.documentId, { version: document.version })} download>
          Download the {signed ? 'original' : 'document'}
          <span className="visually-hidden"> of {document.title}</span>
        </a>
        <a href={documentContentUrl(document.documentId, { version: document.version, inline: true })} target="_blank" rel="noopener noreferrer">
          Preview<span className="visually-hidden"> {signed ? 'the original of ' : ''}{document.title}</span> (opens in a new tab)
        </a>
      </div>
      {signed && (
        <>
          <div className="button-row document-card__actions">
            <a href={documentContentUrl(document.documentId, { version: document.signedVersion! })} download>
              Download the signed copy<span className="visually-hidden"> of {document.title}</span>
            </a>
            <a href={documentContentUrl(document.documentId, { version: document.signedVersion!, inline: true })} target="_blank" rel="noopener noreferrer">
              Preview the signed copy<span className="visually-hidden"> of {document.title}</span> (opens in a new tab)
            </a>
            <a href={certificateUrl(flowId, document.documentId)} download>
              Download the audit certificate<span className="visually-hidden"> of {document.title}</span>
            </a>
          </div>
          <dl className="summary-list summary-list--compact">
            <div>
              <dt>Document id</dt>
              <dd className="portal-code">{document.documentId}</dd>
            </div>
            <div>
              <dt>SHA-256 of the signed copy</dt>
              <dd className="portal-code">{document.finalSha256}</dd>
            </div>
          </dl>
          <p>
            Anyone given the signed copy can check it has not been changed: <Link href={`/verify?documentId=${encodeURIComponent(document.documentId)}`}>check a signed document</Link>.
          </p>
        </>
      )}
    </li>
  );
}

function FlowHistory({ flow, showAddresses }: { flow: PortalFlowWithTimeline; showAddresses: boolean }) {
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ol className="timeline">
        {flow.timeline.map((event, index) => (
          <li key={index} className="timeline__event">
            <span className="timeline__what">{EVENT_LABELS[event.event] ?? event.event}</span>{' '}
            <span className="timeline__when">
              <Stamp iso={event.at} />
            </span>
            <span className="timeline__who">by {event.who}</span>
            {showAddresses && event.ipAddress && <span className="timeline__where muted">from {event.ipAddress}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
