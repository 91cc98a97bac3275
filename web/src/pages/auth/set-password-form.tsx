import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { PasswordRules } from '../../components/password-rules.tsx';
import { navigate } from '../../router.ts';

const FIELDS: FieldNames = {
  password: { id: 'password', label: 'New password' },
  confirm: { id: 'confirm', label: 'Confirm new password' },
};

/**
 * Choosing a password from a one-time link (invitation or reset): new password and confirmation,
 * the rules up front, the server's reasons beside the field, then on to sign-in.
 */
export function SetPasswordForm({ endpoint, token, doneMessage, submitLabel }: { endpoint: string; token: string; doneMessage: string; submitLabel: string }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [linkInvalid, setLinkInvalid] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: FormProblem[] = [];
    if (!password) local.push({ fieldId: 'password', message: 'Enter a new password' });
    if (password && password !== confirm) local.push({ fieldId: 'confirm', message: 'Confirm new password must match the new password' });
    if (local.length > 0) {
      setProblems(local);
      return;
    }
    setBusy(true);
    try {
      await api.post(endpoint, { token, password });
      navigate('/sign-in', { flash: doneMessage });
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'invalid-link') setLinkInvalid(true);
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      <ErrorSummary problems={problems} />
      {linkInvalid && (
        <p>
          Links work once and expire. <Link href="/reset-password">Ask for a new password reset link</Link>, or ask your
          administrator to invite you again.
        </p>
      )}
      <TextField
        id="password"
        label="New password"
        type="password"
        autoComplete="new-password"
        hint={<PasswordRules />}
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        errors={messagesFor(problems, 'password')}
        required
      />
      <TextField
        id="confirm"
        label="Confirm new password"
        type="password"
        autoComplete="new-password"
        value={confirm}
        onChange={(event) => setConfirm(event.target.value)}
        errors={messagesFor(problems, 'confirm')}
        required
      />
      <button className="button" type="submit" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}
