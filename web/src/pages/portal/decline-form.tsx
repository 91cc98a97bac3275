import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, type FormProblem } from '../../components/forms.tsx';
import { TextAreaField, useReturnFocus } from './parts.tsx';

export interface DeclineWording {
  /** The button that opens the form ("I will not sign"). */
  open: string;
  /** The form's heading and its submit button ("Decline to sign"). */
  title: string;
  /** The reason box's label and hint. */
  label: string;
  hint: string;
  /** Said when the box is left empty. */
  empty: string;
  /** Said once the practice has the answer. */
  done: string;
}

/**
 * Declining something the practice sent (a signature, a request), with the reason the practice
 * will see; asked for only once the person chooses to. POSTs `{reason}` to `url`.
 */
export function DeclineWithReason<T>({ id, url, wording, onDone }: { id: string; url: string; wording: DeclineWording; onDone: (updated: T, message: string) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const openButton = useReturnFocus(open);
  const box = useRef<HTMLDivElement>(null);
  const fieldId = `${id}-reason`;
  useEffect(() => {
    if (open) box.current?.querySelector('textarea')?.focus();
  }, [open]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (!reason.trim()) {
      setProblems([{ fieldId, message: wording.empty }]);
      return;
    }
    setBusy(true);
    try {
      const updated = await api.post<T>(url, { reason: reason.trim() });
      setProblems([]);
      onDone(updated, wording.done);
    } catch (error) {
      setProblems(problemsFrom(error, { reason: { id: fieldId, label: 'Your reason' } }));
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return (
      <div className="button-row">
        <button ref={openButton} className="button button--secondary" type="button" onClick={() => setOpen(true)}>
          {wording.open}
        </button>
      </div>
    );
  }
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{wording.title}</h2>
      <ErrorSummary problems={problems} title="Your answer was not sent" />
      <div ref={box}>
        <TextAreaField
          id={fieldId}
          label={wording.label}
          hint={wording.hint}
          value={reason}
          onChange={(event) => setReason(event.target.value)}
          errors={messagesFor(problems, fieldId)}
        />
      </div>
      <div className="button-row">
        <button className="button button--warning" type="submit" disabled={busy}>
          {wording.title}
        </button>
        <button className="button button--secondary" type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
