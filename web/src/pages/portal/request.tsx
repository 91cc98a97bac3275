import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import { documentContentUrl, type PortalClient, type PortalClientUser, type PortalRequest } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, messagesFor, Notice, problemsFrom, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { ConfirmRemoval } from '../sync/integration-parts.tsx';
import { AnswerForm, DeclineRequestForm } from './answer-form.tsx';
import { clientUserName } from './format.ts';
import { MtdDecisionForm, MtdFigures, MtdFiguresForm } from './mtd.tsx';
import { isPracticeSide, PortalNav, Stamp, TextAreaField, useReturnFocus } from './parts.tsx';
import { answeredCount, answerText, RequestStatusTag } from './request-parts.tsx';

type Outcome = { ok: boolean; message: string };

/**
 * /portal/requests/:id — one information request. The person it was sent to answers it here (or
 * approves the quarter's figures); the practice reads the answers and the documents, then marks it
 * complete or sends it back with a comment, enters the quarter's figures, or withdraws it.
 */
export function PortalRequestPage({ id }: { id: string }) {
  const session = useSignedIn();
  const practice = isPracticeSide(session);
  const [loaded, reload] = useApi<PortalRequest>(`/api/v1/portal/requests/${encodeURIComponent(id)}`);
  const [changed, setChanged] = useState<PortalRequest | null>(null);
  const request = changed ?? (loaded.state === 'loaded' ? loaded.data : undefined);
  const [client] = useApi<PortalClient>(request ? `/api/v1/portal/clients/${encodeURIComponent(request.clientId)}` : null);
  const [users] = useApi<{ users: PortalClientUser[] }>(request && can(session, 'portal.clients.manage') ? `/api/v1/portal/clients/${encodeURIComponent(request.clientId)}/users` : null);
  const [flash] = useState(currentFlash);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const outcomeRef = useRef<HTMLDivElement>(null);
  usePageTitle(request ? `${request.title} – Request – Custos` : 'Information request – Custos');

  useEffect(() => {
    if (outcome) outcomeRef.current?.focus();
  }, [outcome]);

  const clientName = client.state === 'loaded' ? client.data.name : undefined;
  const recipient = users.state === 'loaded' ? users.data.users.find((u) => u.userId === request?.recipientUserId) : undefined;
  const mine = request?.recipientUserId === session.user.id;
  const canAnswer = Boolean(request && mine && request.status === 'sent' && can(session, 'portal.respond'));
  const staff = practice && can(session, 'portal.flows.send');

  const done = (updated: PortalRequest, message: string) => {
    setChanged(updated);
    setOutcome({ ok: true, message });
  };
  const failed = (message: string) => setOutcome({ ok: false, message });

  return (
    <div className={practice ? undefined : 'portal-client-view'}>
      <PortalNav />
      <p className="back-link">{practice ? <Link href="/portal/requests">All requests</Link> : <Link href="/portal">Back to your portal</Link>}</p>
      {!request && (
        <>
          <h1 id="page-title">Information request</h1>
          <LoadState value={loaded} what="the request" />
        </>
      )}
      {request && (
        <>
          <h1 id="page-title">{request.title}</h1>
          {flash && <Notice>{flash}</Notice>}
          {/* Focus comes here after an answer or an action: the form it came from may be gone. */}
          <div ref={outcomeRef} tabIndex={-1} className="portal-outcome">
            <div role="status" className="status-region">
              {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
            </div>
            <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
          </div>
          {canAnswer && (
            <p className="lead-in">
              {request.kind === 'mtd_quarter'
                ? `${session.organisation.name} asks you to check this quarter’s figures for Making Tax Digital.`
                : `${session.organisation.name} asks you to answer these questions and upload the documents asked for.`}
            </p>
          )}
          <RequestSummary request={request} clientName={clientName} recipient={mine ? 'You' : recipient ? clientUserName(recipient) : undefined} practice={practice} />
          {request.message && (
            <section aria-labelledby="request-message-title" className="portal-message">
              <h2 id="request-message-title">Message from the practice</h2>
              <p>{request.message}</p>
            </section>
          )}
          {request.reviewComment && request.status === 'sent' && (
            <section aria-labelledby="review-comment-title" className="portal-message">
              <h2 id="review-comment-title">{practice ? 'Sent back with this comment' : 'The practice sent this back'}</h2>
              <p>{request.reviewComment}</p>
            </section>
          )}

          {request.kind === 'mtd_quarter' && request.mtd && (
            <>
              <MtdFigures mtd={request.mtd} practice={practice} />
              {canAnswer && request.mtd.summary && <MtdDecisionForm request={request} onDone={done} />}
              {staff && (request.status === 'sent' || request.status === 'answered') && (
                <MtdFiguresForm
                  key={request.mtd.summaryRevision ?? 0}
                  request={request}
                  onSaved={(record) => {
                    setChanged(null);
                    reload();
                    setOutcome({ ok: true, message: `The figures are saved (revision ${record.revision}). The client is asked to approve them.` });
                  }}
                />
              )}
            </>
          )}

          {request.kind === 'questionnaire' && canAnswer && (
            <>
              <AnswerForm request={request} onDone={done} />
              <DeclineRequestForm request={request} onDone={done} />
            </>
          )}
          {request.kind === 'questionnaire' && !canAnswer && <AnswersView request={request} />}

          {staff && request.status === 'answered' && <ReviewSection request={request} onDone={done} onFailed={failed} />}
          {staff && (request.status === 'sent' || request.status === 'answered') && (
            <section aria-labelledby="withdraw-request-title">
              <h2 id="withdraw-request-title">Withdraw</h2>
              <p>If it was sent by mistake, withdraw it: {recipient ? recipient.email : 'the client'} can then no longer answer it.</p>
              <ConfirmRemoval
                action="Withdraw"
                what={`“${request.title}”`}
                question={`Withdraw “${request.title}”? It can no longer be answered.`}
                onConfirm={async () => {
                  try {
                    done(await api.post<PortalRequest>(`/api/v1/portal/requests/${encodeURIComponent(request.id)}/cancel`), `“${request.title}” is withdrawn.`);
                  } catch (error) {
                    failed(`Could not withdraw it. ${describeProblem(error)}`);
                  }
                }}
              />
            </section>
          )}
        </>
      )}
    </div>
  );
}

function RequestSummary({ request, clientName, recipient, practice }: { request: PortalRequest; clientName?: string; recipient?: string; practice: boolean }) {
  const responseLabel = request.status === 'declined' ? 'Reason for not answering' : 'Comment on the figures';
  const count = request.kind === 'questionnaire' ? answeredCount(request) : undefined;
  return (
    <dl className="summary-list summary-list--compact request-summary">
      <div>
        <dt>Status</dt>
        <dd>
          <RequestStatusTag status={request.status} forClient={!practice} />
        </dd>
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
          <Stamp iso={request.createdAt} />
        </dd>
      </div>
      {request.dueAt && (
        <div>
          <dt>Answer by</dt>
          <dd>
            <Stamp iso={request.dueAt} />
          </dd>
        </div>
      )}
      {count && (
        <div>
          <dt>Questions answered</dt>
          <dd>
            {count.answered} of {count.total}
          </dd>
        </div>
      )}
      {request.answeredAt && (
        <div>
          <dt>Answered</dt>
          <dd>
            <Stamp iso={request.answeredAt} />
          </dd>
        </div>
      )}
      {request.completedAt && (
        <div>
          <dt>{request.status === 'completed' ? 'Completed' : 'Closed'}</dt>
          <dd>
            <Stamp iso={request.completedAt} />
          </dd>
        </div>
      )}
      {request.response && (
        <div>
          <dt>{responseLabel}</dt>
          <dd className="flow-response">{request.response}</dd>
        </div>
      )}
      {practice && request.remindersSent > 0 && (
        <div>
          <dt>Reminders sent</dt>
          <dd>{request.remindersSent}</dd>
        </div>
      )}
    </dl>
  );
}

/** Every question with its answer (or "Not answered"); a documents question lists its documents to download. */
function AnswersView({ request }: { request: PortalRequest }) {
  return (
    <section aria-labelledby="answers-view-title">
      <h2 id="answers-view-title">Answers</h2>
      {request.sections.map((section, s) => (
        <section key={s} aria-labelledby={`answers-section-${s}`} className="answers-section">
          <h3 id={`answers-section-${s}`}>{section.title}</h3>
          <dl className="summary-list answers-list">
            {section.questions.map((q) => {
              const documents = request.documents.filter((d) => d.questionId === q.id);
              const text = q.kind === 'documents' ? undefined : answerText(q, request.answers[q.id]);
              return (
                <div key={q.id}>
                  <dt>{q.text}</dt>
                  <dd>
                    {q.kind === 'documents' && documents.length > 0 && (
                      <ul className="plain-list">
                        {documents.map((d) => (
                          <li key={d.documentId}>
                            <a href={documentContentUrl(d.documentId)} download>
                              {d.title}
                            </a>
                          </li>
                        ))}
                      </ul>
                    )}
                    {text && <span className="answer-text">{text}</span>}
                    {!text && documents.length === 0 && <span className="muted">Not answered</span>}
                  </dd>
                </div>
              );
            })}
          </dl>
        </section>
      ))}
    </section>
  );
}

/** The practice is done with the answers, or sends them back saying what is missing. */
function ReviewSection({ request, onDone, onFailed }: { request: PortalRequest; onDone: (request: PortalRequest, message: string) => void; onFailed: (message: string) => void }) {
  const [sendingBack, setSendingBack] = useState(false);
  const [comment, setComment] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const backButton = useReturnFocus(sendingBack);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (sendingBack) box.current?.querySelector('textarea')?.focus();
  }, [sendingBack]);
  const blocked = request.kind === 'mtd_quarter' && request.mtd?.decision !== 'approved';

  async function complete() {
    if (busy) return;
    setBusy(true);
    try {
      onDone(await api.post<PortalRequest>(`/api/v1/portal/requests/${encodeURIComponent(request.id)}/complete`), `“${request.title}” is complete.`);
    } catch (error) {
      onFailed(`Could not mark it complete. ${describeProblem(error)}`);
    } finally {
      setBusy(false);
    }
  }

  async function sendBack(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (!comment.trim()) {
      setProblems([{ fieldId: 'send-back-comment', message: 'Say what is missing or needs to change' }]);
      return;
    }
    setBusy(true);
    try {
      const updated = await api.post<PortalRequest>(`/api/v1/portal/requests/${encodeURIComponent(request.id)}/send-back`, { comment: comment.trim() });
      setProblems([]);
      onDone(updated, `“${request.title}” is sent back. The client has been told by email.`);
    } catch (error) {
      setProblems(problemsFrom(error, { comment: { id: 'send-back-comment', label: 'Your comment' } }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="review-title">
      <h2 id="review-title">Review</h2>
      {blocked ? (
        <p>The client rejected these figures. Correct them above (they go back to the client), or send the request back.</p>
      ) : (
        <>
          <p>When you have everything you need, mark the request complete. The client sees it as complete.</p>
          <div className="button-row">
            <button className="button" type="button" onClick={() => void complete()} disabled={busy}>
              Mark as complete
            </button>
          </div>
        </>
      )}
      {!sendingBack && (
        <div className="button-row">
          <button ref={backButton} className="button button--secondary" type="button" onClick={() => setSendingBack(true)}>
            Send back to the client
          </button>
        </div>
      )}
      {sendingBack && (
        <form className="form panel" onSubmit={sendBack} noValidate aria-labelledby="send-back-title">
          <h3 id="send-back-title">Send back to the client</h3>
          <ErrorSummary problems={problems} title="It was not sent back" />
          <div ref={box}>
            <TextAreaField
              id="send-back-comment"
              label="What is missing or needs to change"
              hint="The client is emailed this comment; their answers stay, for them to correct."
              value={comment}
              onChange={(event) => setComment(event.target.value)}
              errors={messagesFor(problems, 'send-back-comment')}
            />
          </div>
          <div className="button-row">
            <button className="button" type="submit" disabled={busy}>
              Send it back
            </button>
            <button className="button button--secondary" type="button" onClick={() => setSendingBack(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
