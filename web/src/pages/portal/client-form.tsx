import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { PortalClient, PortalClientKind } from '../../api/portal.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, problemsFrom, TextField } from '../../components/forms.tsx';

const FIELDS: FieldNames = {
  kind: { id: 'client-kind-individual', label: 'Kind of client' },
  name: { id: 'client-name', label: 'Name' },
  companyNumber: { id: 'client-company-number', label: 'Company number' },
  reference: { id: 'client-reference', label: 'Reference' },
  email: { id: 'client-email', label: 'Email address' },
  mtdItsa: { id: 'client-mtd', label: 'Making Tax Digital for Income Tax' },
};

const KINDS: { value: PortalClientKind; label: string; hint: string }[] = [
  { value: 'individual', label: 'An individual', hint: 'A person: a sole trader, a landlord, someone with a tax return.' },
  { value: 'company', label: 'A company', hint: 'A limited company or LLP registered at Companies House.' },
];

/** Adds a client: a person or a company, with the details the practice files it under. */
export function ClientForm({ onSaved, onCancel }: { onSaved: (client: PortalClient) => void; onCancel: () => void }) {
  const [kind, setKind] = useState<PortalClientKind>('individual');
  const [name, setName] = useState('');
  const [companyNumber, setCompanyNumber] = useState('');
  const [reference, setReference] = useState('');
  const [email, setEmail] = useState('');
  const [mtd, setMtd] = useState(false);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!name.trim()) found.push({ fieldId: FIELDS.name!.id, message: kind === 'company' ? 'Enter the company’s name' : 'Enter the client’s name' });
    if (kind === 'company' && companyNumber.trim() && !/^(\d{8}|[A-Za-z]{2}\d{6})$/.test(companyNumber.trim())) {
      found.push({ fieldId: FIELDS.companyNumber!.id, message: 'Enter the Companies House number: 8 digits, or 2 letters and 6 digits' });
    }
    if (email.trim() && !/^[^\s@]+@[^\s@]+$/.test(email.trim())) found.push({ fieldId: FIELDS.email!.id, message: 'Enter an email address like name@example.com' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const body: Record<string, unknown> = { kind, name: name.trim() };
    if (kind === 'company' && companyNumber.trim()) body.companyNumber = companyNumber.trim();
    if (reference.trim()) body.reference = reference.trim();
    if (email.trim()) body.email = email.trim();
    if (kind === 'individual') body.mtdItsa = mtd;
    setBusy(true);
    try {
      const created = await api.post<PortalClient>('/api/v1/portal/clients', body);
      setProblems([]);
      onSaved(created);
    } catch (error) {
      // The only conflict is a reference another client already has.
      if (error instanceof ApiError && error.kind === 'conflict') setProblems([{ fieldId: FIELDS.reference!.id, message: 'Another client already has this reference: choose another' }]);
      else setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const kindErrors = messagesFor(problems, FIELDS.kind!.id);
  const mtdErrors = messagesFor(problems, FIELDS.mtdItsa!.id);
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="new-client-title">
      <h2 id="new-client-title" tabIndex={-1} ref={heading}>
        Add a client
      </h2>
      <p>The client gets their own area for documents, approvals and signatures. Names and email addresses are stored encrypted.</p>
      <ErrorSummary problems={problems} />
      <fieldset className={`fieldset${kindErrors.length ? ' field--error' : ''}`} aria-describedby={kindErrors.length ? 'client-kind-error' : undefined}>
        <legend className="fieldset__legend">Kind of client</legend>
        <FieldErrors id="client-kind-error" messages={kindErrors} />
        <div className="radios">
          {KINDS.map((option) => (
            <div className="radio" key={option.value}>
              <input
                type="radio"
                id={`client-kind-${option.value}`}
                name="client-kind"
                checked={kind === option.value}
                onChange={() => setKind(option.value)}
                aria-describedby={`client-kind-${option.value}-hint`}
              />
              <label htmlFor={`client-kind-${option.value}`}>{option.label}</label>
              <p className="field__hint radio__hint" id={`client-kind-${option.value}-hint`}>
                {option.hint}
              </p>
            </div>
          ))}
        </div>
      </fieldset>
      <TextField
        id={FIELDS.name!.id}
        label={kind === 'company' ? 'Company name' : 'Full name'}
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        errors={messagesFor(problems, FIELDS.name!.id)}
        required
      />
      {kind === 'company' && (
        <TextField
          id={FIELDS.companyNumber!.id}
          label="Company number (optional)"
          hint="As Companies House shows it: 8 digits, or 2 letters and 6 digits (SC123456)."
          autoComplete="off"
          spellCheck={false}
          className="input--code"
          value={companyNumber}
          onChange={(event) => setCompanyNumber(event.target.value)}
          errors={messagesFor(problems, FIELDS.companyNumber!.id)}
        />
      )}
      <TextField
        id={FIELDS.reference!.id}
        label="Reference (optional)"
        hint="The practice’s own code for the client; each client’s is different. Letters, digits, spaces and . _ / -"
        autoComplete="off"
        spellCheck={false}
        value={reference}
        onChange={(event) => setReference(event.target.value)}
        errors={messagesFor(problems, FIELDS.reference!.id)}
      />
      <TextField
        id={FIELDS.email!.id}
        label="Email address (optional)"
        hint="Where the practice writes to the client. To let someone sign in, give them access on the client’s page."
        type="email"
        autoComplete="off"
        spellCheck={false}
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        errors={messagesFor(problems, FIELDS.email!.id)}
      />
      {kind === 'individual' && (
        <div className={`field${mtdErrors.length ? ' field--error' : ''}`}>
          <FieldErrors id={`${FIELDS.mtdItsa!.id}-error`} messages={mtdErrors} />
          <div className="checkbox">
            <input
              type="checkbox"
              id={FIELDS.mtdItsa!.id}
              checked={mtd}
              onChange={(event) => setMtd(event.target.checked)}
              aria-describedby={[`${FIELDS.mtdItsa!.id}-hint`, mtdErrors.length ? `${FIELDS.mtdItsa!.id}-error` : ''].filter(Boolean).join(' ')}
            />
            <label htmlFor={FIELDS.mtdItsa!.id}>In scope for Making Tax Digital for Income Tax</label>
          </div>
          <p className="field__hint checkbox__hint" id={`${FIELDS.mtdItsa!.id}-hint`}>
            Sole traders and landlords above the income threshold send quarterly updates.
          </p>
        </div>
      )}
      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          Add the client
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
