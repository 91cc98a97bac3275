import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, capitalise } from '../../api/client.ts';
import type { FlowKind, PortalClientUser, PortalDocument, PortalFlow, PracticeBalance } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, problemsFrom, TextField } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { plural } from '../sync/format.ts';
import { clientUserName, endOfDay, tomorrow } from './format.ts';
import { describedBy, TextAreaField } from './parts.tsx';

const FIELDS: FieldNames = {
  kind: { id: 'send-kind-approval', label: 'What to ask for' },
  title: { id: 'send-title', label: 'Title' },
  message: { id: 'send-message', label: 'Message' },
  recipientUserId: { id: 'send-recipient', label: 'Send to' },
  expiresAt: { id: 'send-expires', label: 'Respond by' },
};
/** The documents' checkboxes are one group; its errors sit above them and the summary leads to the first. */
const DOCUMENTS_ERROR_ID = 'send-documents-error';

const KINDS: { value: FlowKind; label: string; hint: string }[] = [
  { value: 'approval', label: 'Approval', hint: 'They approve the documents, or reject them saying what must change.' },
  { value: 'signature', label: 'Signature', hint: 'They sign each document (PDFs only). Uses one signing credit when they sign.' },
];

/** Sends chosen documents of a client to one of its users, for approval or signature. */
export function SendForm({ clientId, clientName, users, onSent, onCancel }: { clientId: string; clientName: string; users: PortalClientUser[]; onSent: (flow: PortalFlow) => void; onCancel: () => void }) {
  const session = useSignedIn();
  const [documents] = useApi<{ documents: PortalDocument[] }>(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/documents`);
  const [balance] = useApi<PracticeBalance>(can(session, 'portal.billing.manage') ? '/api/v1/portal/practice/balance' : null);
  const [kind, setKind] = useState<FlowKind>('approval');
  const [title, setTitle] = useState('');
  const [message, setMessage] = useState('');
  const [recipient, setRecipient] = useState(users.length === 1 ? users[0]!.userId : '');
  const [chosen, setChosen] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const list = documents.state === 'loaded' ? documents.data.documents : [];
  const firstDocumentId = list[0] ? `send-doc-${list[0].id}` : undefined;

  function documentProblems(error: ApiError): FormProblem[] {
    return error.errors.map((e) => {
      const at = /^documentIds(?:\[(\d+)\]|\.(\d+))?$/.exec(e.field);
      if (!at) {
        const named = FIELDS[e.field];
        return named ? { fieldId: named.id, message: `${named.label} ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) };
      }
      const index = Number(at[1] ?? at[2] ?? NaN);
      const document = Number.isNaN(index) ? undefined : list.find((d) => d.id === chosen[index]);
      return { fieldId: document ? `send-doc-${document.id}` : firstDocumentId, message: document ? `“${document.title}” ${e.reason}` : capitalise(`documents ${e.reason}`) };
    });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!title.trim()) found.push({ fieldId: FIELDS.title!.id, message: 'Enter a title the client will recognise' });
    if (!recipient) found.push({ fieldId: FIELDS.recipientUserId!.id, message: 'Choose who to send it to' });
    if (chosen.length === 0) found.push({ fieldId: firstDocumentId, message: 'Choose at least one document to send' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const body: Record<string, unknown> = { clientId, kind, title: title.trim(), recipientUserId: recipient, documentIds: chosen };
    if (message.trim()) body.message = message.trim();
    if (expires) body.expiresAt = endOfDay(expires);
    setBusy(true);
    try {
      const flow = await api.post<PortalFlow>('/api/v1/portal/flows', body);
      setProblems([]);
      onSent(flow);
    } catch (error) {
      setProblems(error instanceof ApiError && error.kind === 'validation' ? documentProblems(error) : problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const kindErrors = messagesFor(problems, FIELDS.kind!.id);
  const documentErrors = problems.filter((p) => p.fieldId && p.fieldId.startsWith('send-doc-')).map((p) => p.message);
  const recipientErrors = messagesFor(problems, FIELDS.recipientUserId!.id);
  const expiresErrors = messagesFor(problems, FIELDS.expiresAt!.id);

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="send-title-heading">
      <h3 id="send-title-heading" tabIndex={-1} ref={heading}>
        Send {clientName} documents to approve or sign
      </h3>
      <ErrorSummary problems={problems} title="Nothing was sent" />
      <fieldset className={`fieldset${kindErrors.length ? ' field--error' : ''}`} aria-describedby={kindErrors.length ? 'send-kind-error' : undefined}>
        <legend className="fieldset__legend">What to ask for</legend>
        <FieldErrors id="send-kind-error" messages={kindErrors} />
        <div className="radios">
          {KINDS.map((option) => (
            <div className="radio" key={option.value}>
              <input
                type="radio"
                id={`send-kind-${option.value}`}
                name="send-kind"
                checked={kind === option.value}
                onChange={() => setKind(option.value)}
                aria-describedby={`send-kind-${option.value}-hint`}
              />
              <label htmlFor={`send-kind-${option.value}`}>{option.label}</label>
              <p className="field__hint radio__hint" id={`send-kind-${option.value}-hint`}>
                {option.hint}
              </p>
            </div>
          ))}
        </div>
        {kind === 'signature' && balance.state === 'loaded' && (
          <p className={`notice${balance.data.signingCredits < 1 ? ' notice--warning' : ''}`}>
            The practice has {plural(balance.data.signingCredits, 'signing credit')} left.
          </p>
        )}
      </fieldset>

      <TextField
        id={FIELDS.title!.id}
        label="Title"
        hint="What the client sees in their list and in the email, such as “2024-25 accounts”."
        autoComplete="off"
        value={title}
        onChange={(event) => setTitle(event.target.value)}
        errors={messagesFor(problems, FIELDS.title!.id)}
        required
      />
      <TextAreaField
        id={FIELDS.message!.id}
        label="Message (optional)"
        hint="Shown to them above the documents."
        value={message}
        onChange={(event) => setMessage(event.target.value)}
        errors={messagesFor(problems, FIELDS.message!.id)}
      />

      <div className={`field${recipientErrors.length ? ' field--error' : ''}`}>
        <label className="field__label" htmlFor={FIELDS.recipientUserId!.id}>
          Send to
        </label>
        <p className="field__hint" id={`${FIELDS.recipientUserId!.id}-hint`}>
          One of the people who can sign in for {clientName}. They are told by email.
        </p>
        <FieldErrors id={`${FIELDS.recipientUserId!.id}-error`} messages={recipientErrors} />
        <select
          id={FIELDS.recipientUserId!.id}
          className="select"
          value={recipient}
          onChange={(event) => setRecipient(event.target.value)}
          aria-describedby={describedBy(FIELDS.recipientUserId!.id, true, recipientErrors)}
          aria-invalid={recipientErrors.length ? true : undefined}
        >
          <option value="">Choose a person</option>
          {users.map((user) => (
            <option key={user.userId} value={user.userId}>
              {clientUserName(user)}
            </option>
          ))}
        </select>
      </div>

      <fieldset className={`fieldset${documentErrors.length ? ' field--error' : ''}`} aria-describedby={['send-documents-hint', documentErrors.length ? DOCUMENTS_ERROR_ID : ''].filter(Boolean).join(' ')}>
        <legend className="fieldset__legend">Documents</legend>
        <p className="field__hint" id="send-documents-hint">
          {kind === 'signature' ? 'Only PDFs can be signed. ' : ''}The latest version of each is sent; at most 20.
        </p>
        <FieldErrors id={DOCUMENTS_ERROR_ID} messages={documentErrors} />
        <LoadState value={documents} what="the documents" />
        {documents.state === 'loaded' && list.length === 0 && <p>{clientName} has no documents yet: upload one first.</p>}
        <div className="checkboxes">
          {list.map((document) => {
            const id = `send-doc-${document.id}`;
            return (
              <div className="checkbox" key={document.id}>
                <input
                  type="checkbox"
                  id={id}
                  checked={chosen.includes(document.id)}
                  onChange={(event) => setChosen(event.target.checked ? [...chosen, document.id] : chosen.filter((c) => c !== document.id))}
                  aria-invalid={messagesFor(problems, id).length ? true : undefined}
                />
                <label htmlFor={id}>
                  {document.title} <span className="muted">(version {document.latestVersion})</span>
                </label>
              </div>
            );
          })}
        </div>
      </fieldset>

      <div className={`field${expiresErrors.length ? ' field--error' : ''}`}>
        <label className="field__label" htmlFor={FIELDS.expiresAt!.id}>
          Respond by (optional)
        </label>
        <p className="field__hint" id={`${FIELDS.expiresAt!.id}-hint`}>
          After the end of this day it can no longer be answered. Reminders are sent every 3 days until then.
        </p>
        <FieldErrors id={`${FIELDS.expiresAt!.id}-error`} messages={expiresErrors} />
        <input
          id={FIELDS.expiresAt!.id}
          className="input input--date"
          type="date"
          min={tomorrow()}
          value={expires}
          onChange={(event) => setExpires(event.target.value)}
          aria-describedby={describedBy(FIELDS.expiresAt!.id, true, expiresErrors)}
          aria-invalid={expiresErrors.length ? true : undefined}
        />
      </div>

      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          {kind === 'signature' ? 'Send for signature' : 'Send for approval'}
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
