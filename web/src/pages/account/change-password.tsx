import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, StatusMessage, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { PasswordRules } from '../../components/password-rules.tsx';
import { useSession } from '../../session.tsx';

const FIELDS: FieldNames = {
  currentPassword: { id: 'current-password', label: 'Current password' },
  newPassword: { id: 'new-password', label: 'New password' },
  password: { id: 'new-password', label: 'New password' },
  confirm: { id: 'confirm-password', label: 'Confirm new password' },
};

export function ChangePassword() {
  const { refresh } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone('');
    const local: FormProblem[] = [];
    if (!current) local.push({ fieldId: 'current-password', message: 'Enter your current password' });
    if (!next) local.push({ fieldId: 'new-password', message: 'Enter a new password' });
    if (next && next !== confirm) local.push({ fieldId: 'confirm-password', message: 'Confirm new password must match the new password' });
    if (local.length > 0) {
      setProblems(local);
      return;
    }
    setBusy(true);
    try {
      await api.post('/api/v1/auth/password', { currentPassword: current, newPassword: next });
      setProblems([]);
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone('Your password has been changed. Any other sessions have been signed out.');
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'invalid-credentials') {
        setProblems([{ fieldId: 'current-password', message: 'Current password is not right' }]);
      } else {
        setProblems(problemsFrom(error, FIELDS));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="change-password-title">
      <h2 id="change-password-title">Change your password</h2>
      <StatusMessage>{done}</StatusMessage>
      <ErrorSummary problems={problems} />
      <TextField
        id="current-password"
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(event) => setCurrent(event.target.value)}
        errors={messagesFor(problems, 'current-password')}
        required
      />
      <TextField
        id="new-password"
        label="New password"
        type="password"
        autoComplete="new-password"
        hint={<PasswordRules />}
        value={next}
        onChange={(event) => setNext(event.target.value)}
        errors={messagesFor(problems, 'new-password')}
        required
      />
      <TextField
        id="confirm-password"
        label="Confirm new password"
        type="password"
        autoComplete="new-password"
        value={confirm}
        onChange={(event) => setConfirm(event.target.value)}
        errors={messagesFor(problems, 'confirm-password')}
        required
      />
      <button className="button" type="submit" disabled={busy}>
        Change password
      </button>
    </form>
  );
}
