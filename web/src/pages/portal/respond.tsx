import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import type { PortalFlowWithTimeline, SignatureInput } from '../../api/portal.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, problemsFrom, TextField } from '../../components/forms.tsx';
import { plural } from '../sync/format.ts';
import { DeclineWithReason } from './decline-form.tsx';
import { describedBy, TextAreaField } from './parts.tsx';
import { SignaturePad } from './signature-pad.tsx';

/** The recipient's answer reached the server: the flow as it now stands, and what to say about it. */
export type Responded = (flow: PortalFlowWithTimeline, message: string) => void;

const APPROVAL_FIELDS: FieldNames = {
  decision: { id: 'respond-approve', label: 'Your answer' },
  comment: { id: 'respond-comment', label: 'Comment' },
};

/** Approve, or reject saying what must change. Radios and a box: all of it works from the keyboard. */
export function ApprovalForm({ flow, onDone }: { flow: PortalFlowWithTimeline; onDone: Responded }) {
  const [decision, setDecision] = useState<'approve' | 'reject' | ''>('');
  const [comment, setComment] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!decision) found.push({ fieldId: APPROVAL_FIELDS.decision!.id, message: 'Choose whether you approve or reject' });
    if (decision === 'reject' && !comment.trim()) found.push({ fieldId: APPROVAL_FIELDS.comment!.id, message: 'Say what needs to change, so the practice can put it right' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, string> = { decision };
      if (comment.trim()) body.comment = comment.trim();
      const updated = await api.post<PortalFlowWithTimeline>(`/api/v1/portal/flows/${encodeURIComponent(flow.id)}/response`, body);
      setProblems([]);
      onDone(updated, decision === 'approve' ? 'You approved it. The practice has been told.' : 'You rejected it. The practice can see your comment.');
    } catch (error) {
      setProblems(problemsFrom(error, APPROVAL_FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const decisionErrors = messagesFor(problems, APPROVAL_FIELDS.decision!.id);
  return (
    <form className="form panel respond-form" onSubmit={submit} noValidate aria-labelledby="respond-title">
      <h2 id="respond-title">Your answer</h2>
      <ErrorSummary problems={problems} title="Your answer was not sent" />
      <fieldset className={`fieldset${decisionErrors.length ? ' field--error' : ''}`} aria-describedby={decisionErrors.length ? 'respond-decision-error' : undefined}>
        <legend className="fieldset__legend">Do you approve {flow.documents.length === 1 ? 'this document' : 'these documents'}?</legend>
        <FieldErrors id="respond-decision-error" messages={decisionErrors} />
        <div className="radios">
          <div className="radio">
            <input type="radio" id="respond-approve" name="respond-decision" checked={decision === 'approve'} onChange={() => setDecision('approve')} />
            <label htmlFor="respond-approve">Yes, I approve</label>
          </div>
          <div className="radio">
            <input type="radio" id="respond-reject" name="respond-decision" checked={decision === 'reject'} onChange={() => setDecision('reject')} aria-describedby="respond-reject-hint" />
            <label htmlFor="respond-reject">No, something needs to change</label>
            <p className="field__hint radio__hint" id="respond-reject-hint">
              Say what in the comment.
            </p>
          </div>
        </div>
      </fieldset>
      <TextAreaField
        id={APPROVAL_FIELDS.comment!.id}
        label={decision === 'reject' ? 'What needs to change' : 'Comment (optional)'}
        hint="The practice sees it with your answer."
        value={comment}
        onChange={(event) => setComment(event.target.value)}
        errors={messagesFor(problems, APPROVAL_FIELDS.comment!.id)}
      />
      <button className="button" type="submit" disabled={busy}>
        Send my answer
      </button>
    </form>
  );
}

const SIGN_FIELDS: FieldNames = {
  signature: { id: 'sign-method-typed', label: 'Signature' },
  'signature.kind': { id: 'sign-method-typed', label: 'Signature' },
  'signature.text': { id: 'sign-typed', label: 'Your name' },
  'signature.png': { id: 'sign-pad', label: 'The drawn signature' },
  consent: { id: 'sign-consent', label: 'Agreement to sign electronically' },
};

/** Sign every document: a typed name (always possible with a keyboard) or a drawn signature, with explicit consent. */
export function SignatureForm({ flow, signerName, onDone }: { flow: PortalFlowWithTimeline; signerName: string; onDone: Responded }) {
  const [method, setMethod] = useState<'typed' | 'drawn'>('typed');
  const [typed, setTyped] = useState('');
  const [drawn, setDrawn] = useState<string | null>(null);
  const [consent, setConsent] = useState(false);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const count = flow.documents.length;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (method === 'typed' && !typed.trim()) found.push({ fieldId: 'sign-typed', message: 'Type your full name as your signature' });
    if (method === 'drawn' && !drawn) found.push({ fieldId: 'sign-pad', message: 'Draw your signature on the pad, or choose to type your name instead' });
    if (!consent) found.push({ fieldId: 'sign-consent', message: 'Tick the box to agree to sign electronically' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const signature: SignatureInput = method === 'typed' ? { kind: 'typed', text: typed.trim() } : { kind: 'drawn', png: drawn! };
    setBusy(true);
    try {
      const updated = await api.post<PortalFlowWithTimeline>(`/api/v1/portal/flows/${encodeURIComponent(flow.id)}/signature`, { signature, consent: true });
      setProblems([]);
      onDone(updated, `You signed ${count === 1 ? 'the document' : plural(count, 'document')}. You can download the signed ${count === 1 ? 'copy' : 'copies'} below.`);
    } catch (error) {
      setProblems(problemsFrom(error, SIGN_FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const consentErrors = messagesFor(problems, 'sign-consent');
  const padErrors = messagesFor(problems, 'sign-pad');
  return (
    <form className="form panel respond-form" onSubmit={submit} noValidate aria-labelledby="sign-title">
      <h2 id="sign-title">Sign {count === 1 ? 'the document' : `the ${plural(count, 'document')}`}</h2>
      <p>Your signature is added to each document with the date and time, and the practice’s seal shows if anything is changed afterwards.</p>
      <ErrorSummary problems={problems} title="Nothing was signed" />
      <fieldset className="fieldset">
        <legend className="fieldset__legend">How do you want to sign?</legend>
        <div className="radios">
          <div className="radio">
            <input type="radio" id="sign-method-typed" name="sign-method" checked={method === 'typed'} onChange={() => setMethod('typed')} />
            <label htmlFor="sign-method-typed">Type my name</label>
          </div>
          <div className="radio">
            <input type="radio" id="sign-method-drawn" name="sign-method" checked={method === 'drawn'} onChange={() => setMethod('drawn')} aria-describedby="sign-method-drawn-hint" />
            <label htmlFor="sign-method-drawn">Draw my signature</label>
            <p className="field__hint radio__hint" id="sign-method-drawn-hint">
              With a mouse, a finger or a stylus.
            </p>
          </div>
        </div>
      </fieldset>

      {method === 'typed' && (
        <>
          <TextField
            id="sign-typed"
            label="Your full name"
            hint={`Typed here, it is your signature${signerName ? ` (the practice knows you as ${signerName})` : ''}.`}
            autoComplete="name"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            errors={messagesFor(problems, 'sign-typed')}
            maxLength={100}
          />
          {typed.trim() && (
            <p className="typed-signature" aria-hidden="true">
              {typed.trim()}
            </p>
          )}
        </>
      )}
      {method === 'drawn' && (
        <div className={`field${padErrors.length ? ' field--error' : ''}`}>
          <p className="field__label" id="sign-pad-label">
            Your signature
          </p>
          <p className="field__hint" id="sign-pad-hint">
            Draw it in the box below. If you cannot draw, choose “Type my name” above instead.
          </p>
          <FieldErrors id="sign-pad-error" messages={padErrors} />
          <SignaturePad id="sign-pad" describedBy={describedBy('sign-pad', true, padErrors)} invalid={padErrors.length > 0} onChange={setDrawn} />
        </div>
      )}

      <div className={`field${consentErrors.length ? ' field--error' : ''}`}>
        <FieldErrors id="sign-consent-error" messages={consentErrors} />
        <div className="checkbox">
          <input
            type="checkbox"
            id="sign-consent"
            checked={consent}
            onChange={(event) => setConsent(event.target.checked)}
            aria-describedby={['sign-consent-hint', consentErrors.length ? 'sign-consent-error' : ''].filter(Boolean).join(' ')}
            aria-invalid={consentErrors.length ? true : undefined}
          />
          <label htmlFor="sign-consent">I agree to sign electronically, and mean this signature to count as my own</label>
        </div>
        <p className="field__hint checkbox__hint" id="sign-consent-hint">
          The time, your address on the internet and your browser are recorded with your signature as evidence.
        </p>
      </div>
      <button className="button" type="submit" disabled={busy}>
        {count === 1 ? 'Sign the document' : `Sign ${plural(count, 'document')}`}
      </button>
    </form>
  );
}

/** Decline to sign, with a reason; asked for only once they choose to. */
export function DeclineForm({ flow, onDone }: { flow: PortalFlowWithTimeline; onDone: Responded }) {
  return (
    <DeclineWithReason<PortalFlowWithTimeline>
      id="decline"
      url={`/api/v1/portal/flows/${encodeURIComponent(flow.id)}/decline`}
      wording={{
        open: 'I will not sign',
        title: 'Decline to sign',
        label: 'Why are you not signing?',
        hint: 'The practice sees your reason. Nothing is signed.',
        empty: 'Say why you are not signing',
        done: 'You declined to sign. The practice can see your reason.',
      }}
      onDone={onDone}
    />
  );
}
