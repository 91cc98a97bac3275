import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { usePageTitle } from '../../use-page-title.ts';

/** /reset-password — ask for a reset link. The answer never says whether the address has an account. */
export function RequestPasswordReset() {
  usePageTitle('Reset your password – Custos');
  const [email, setEmail] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim()) {
      setProblems([{ fieldId: 'email', message: 'Enter your email address' }]);
      return;
    }
    setBusy(true);
    try {
      await api.post('/api/v1/auth/password-reset', { email: email.trim() });
      setProblems([]);
      setSent(true);
    } catch (error) {
      setProblems(problemsFrom(error, { email: { id: 'email', label: 'Email address' } }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Reset your password</h1>
      <div role="status">
        {sent && (
          <div className="notice notice--success">
            <p>
              If an account exists for <strong>{email.trim()}</strong>, we have sent a link to reset its password. The link
              works once and expires soon. Check your spam folder if it does not arrive within a few minutes.
            </p>
          </div>
        )}
      </div>
      {sent ? (
        <p>
          <Link href="/sign-in">Back to sign in</Link>
        </p>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <ErrorSummary problems={problems} />
          <p>Enter the email address you sign in with and we will email you a link to choose a new password.</p>
          <TextField
            id="email"
            label="Email address"
            type="email"
            autoComplete="username"
            spellCheck={false}
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            errors={messagesFor(problems, 'email')}
            required
          />
          <button className="button" type="submit" disabled={busy}>
            Send reset link
          </button>
          <p>
            <Link href="/sign-in">Back to sign in</Link>
          </p>
        </form>
      )}
    </section>
  );
}
