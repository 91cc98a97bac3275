import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import type { PortalClient, PortalClientUser, PortalRequest, PortalRequestTemplate } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, problemsFrom, TextField } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { plural } from '../sync/format.ts';
import { clientUserName } from './format.ts';
import { localDate } from './money.ts';
import { describedBy, TextAreaField } from './parts.tsx';

const FIELDS: FieldNames = {
  clientId: { id: 'request-client', label: 'Client' },
  recipientUserId: { id: 'request-recipient', label: 'Send to' },
  templateId: { id: 'request-template', label: 'Questions' },
  title: { id: 'request-title', label: 'Title' },
  message: { id: 'request-message', label: 'Message' },
  dueOn: { id: 'request-due', label: 'Answer by' },
};

function SelectField({ id, label, hint, errors, value, onChange, children }: { id: string; label: string; hint?: string; errors: string[]; value: string; onChange: (value: string) => void; children: ReactNode }) {
  return (
    <div className={`field${errors.length ? ' field--error' : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {hint && (
        <p className="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldErrors id={`${id}-error`} messages={errors} />
      <select id={id} className="select" value={value} onChange={(event) => onChange(event.target.value)} aria-describedby={describedBy(id, Boolean(hint), errors)} aria-invalid={errors.length ? true : undefined}>
        {children}
      </select>
    </div>
  );
}

/**
 * Sends a client user questions to answer, from a template (the built-in year-end checklist or one
 * of the practice's own). The client is chosen first; then one of the people who sign in for them.
 */
export function RequestSendForm({ clients, initialClientId, onSent, onCancel }: { clients: PortalClient[]; initialClientId?: string; onSent: (request: PortalRequest) => void; onCancel: () => void }) {
  const [templates] = useApi<{ templates: PortalRequestTemplate[] }>('/api/v1/portal/request-templates');
  const [clientId, setClientId] = useState(initialClientId ?? (clients.length === 1 ? clients[0]!.id : ''));
  const [users] = useApi<{ users: PortalClientUser[] }>(clientId ? `/api/v1/portal/clients/${encodeURIComponent(clientId)}/users` : null);
  const [recipient, setRecipient] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [title, setTitle] = useState('');
  const [message, setMessage] = useState('');
  const [dueOn, setDueOn] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const templateList = templates.state === 'loaded' ? templates.data.templates : [];
  const chosenTemplate = templateList.find((t) => t.id === templateId);
  const people = users.state === 'loaded' && clientId ? users.data.users.filter((u) => u.status !== 'disabled') : [];
  const clientName = clients.find((c) => c.id === clientId)?.name;

  // The first template (the built-in checklist) is offered to start with; the only person, too.
  useEffect(() => {
    if (!templateId && templateList[0]) setTemplateId(templateList[0].id);
  }, [templateId, templateList]);
  useEffect(() => {
    if (users.state !== 'loaded') return;
    const active = users.data.users.filter((u) => u.status !== 'disabled');
    setRecipient((current) => (active.some((u) => u.userId === current) ? current : active.length === 1 ? active[0]!.userId : ''));
  }, [users]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!clientId) found.push({ fieldId: FIELDS.clientId!.id, message: 'Choose the client the questions are for' });
    else if (!recipient) found.push({ fieldId: FIELDS.recipientUserId!.id, message: people.length === 0 ? `Nobody can sign in for ${clientName ?? 'this client'} yet: give someone access first` : 'Choose who to send it to' });
    if (!templateId) found.push({ fieldId: FIELDS.templateId!.id, message: 'Choose the questions to send' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const body: Record<string, string> = { clientId, recipientUserId: recipient, templateId };
    if (title.trim()) body.title = title.trim();
    if (message.trim()) body.message = message.trim();
    if (dueOn) body.dueOn = dueOn;
    setBusy(true);
    try {
      const sent = await api.post<PortalRequest>('/api/v1/portal/requests', body);
      setProblems([]);
      onSent(sent);
    } catch (error) {
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const questionCount = chosenTemplate ? chosenTemplate.sections.reduce((n, s) => n + s.questions.length, 0) : 0;
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="request-send-heading">
      <h2 id="request-send-heading" tabIndex={-1} ref={heading}>
        Send questions to a client
      </h2>
      <ErrorSummary problems={problems} title="Nothing was sent" />
      <SelectField id={FIELDS.clientId!.id} label="Client" errors={messagesFor(problems, FIELDS.clientId!.id)} value={clientId} onChange={setClientId}>
        <option value="">Choose a client</option>
        {clients.map((client) => (
          <option key={client.id} value={client.id}>
            {client.name}
          </option>
        ))}
      </SelectField>
      <SelectField
        id={FIELDS.recipientUserId!.id}
        label="Send to"
        hint={clientName ? `One of the people who sign in for ${clientName}. They are told by email, and reminded every 3 days until they answer.` : 'Choose the client first.'}
        errors={messagesFor(problems, FIELDS.recipientUserId!.id)}
        value={recipient}
        onChange={setRecipient}
      >
        <option value="">{clientId && users.state === 'loaded' && people.length === 0 ? 'Nobody has access yet' : 'Choose a person'}</option>
        {people.map((user) => (
          <option key={user.userId} value={user.userId}>
            {clientUserName(user)}
          </option>
        ))}
      </SelectField>
      <LoadState value={templates} what="the templates" />
      <SelectField
        id={FIELDS.templateId!.id}
        label="Questions"
        hint={chosenTemplate ? `${plural(questionCount, 'question')} in ${plural(chosenTemplate.sections.length, 'section')}. Later changes to the template do not change what was sent.` : 'A template of questions.'}
        errors={messagesFor(problems, FIELDS.templateId!.id)}
        value={templateId}
        onChange={setTemplateId}
      >
        <option value="">Choose a template</option>
        {templateList.map((template) => (
          <option key={template.id} value={template.id}>
            {template.name}
            {template.builtIn ? ' (built in)' : ''}
          </option>
        ))}
      </SelectField>
      <TextField
        id={FIELDS.title!.id}
        label="Title (optional)"
        hint={`What the client sees in their list and in the email. Left empty: ${chosenTemplate ? `“${chosenTemplate.name}”` : 'the template’s name'}.`}
        autoComplete="off"
        value={title}
        onChange={(event) => setTitle(event.target.value)}
        errors={messagesFor(problems, FIELDS.title!.id)}
        maxLength={200}
      />
      <TextAreaField
        id={FIELDS.message!.id}
        label="Message (optional)"
        hint="Shown to them above the questions, and in the email."
        value={message}
        onChange={(event) => setMessage(event.target.value)}
        errors={messagesFor(problems, FIELDS.message!.id)}
      />
      <TextField
        id={FIELDS.dueOn!.id}
        className="input--date"
        type="date"
        label="Answer by (optional)"
        hint="The day you need the answers by. After it, reminders say the answers are overdue; they can still be given."
        min={localDate()}
        value={dueOn}
        onChange={(event) => setDueOn(event.target.value)}
        errors={messagesFor(problems, FIELDS.dueOn!.id)}
      />
      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          Send the questions
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
