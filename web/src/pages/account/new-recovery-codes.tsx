import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { RecoveryCodes } from '../../components/recovery-codes.tsx';
import { useSignedIn } from '../../session.tsx';

/** New recovery codes replace the old ones; a current code from the app proves it is you. */
export function NewRecoveryCodes() {
  const session = useSignedIn();
  const [code, setCode] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const cleaned = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(cleaned)) {
      setProblems([{ fieldId: 'recovery-totp', message: 'Enter the 6-digit code from your authenticator app' }]);
      return;
    }
    setBusy(true);
    try {
      const result = await api.post<{ recoveryCodes: string[] }>('/api/v1/auth/mfa/recovery-codes', { code: cleaned });
      setProblems([]);
      setCode('');
      setCodes(result.recoveryCodes);
    } catch (error) {
      setProblems(problemsFrom(error, { code: { id: 'recovery-totp', label: 'Code' } }));
    } finally {
      setBusy(false);
    }
  }

  if (!session.mfa.enrolled) {
    return (
      <section className="panel" aria-labelledby="mfa-title">
        <h2 id="mfa-title">Two-step verification</h2>
        <p>
          Two-step verification is off for your account. <Link href="/mfa/enrol">Set up an authenticator app</Link> so a
          stolen password alone cannot get into your account.
        </p>
      </section>
    );
  }
  return (
    <section className="panel" aria-labelledby="mfa-title">
      <h2 id="mfa-title">Recovery codes</h2>
      <div role="status">
        {codes && <p className="notice notice--success">New recovery codes made. Your old codes no longer work.</p>}
      </div>
      {codes ? (
        <>
          <p>
            <strong>These are shown only now.</strong> Download them or write them down and keep them somewhere safe.
          </p>
          <RecoveryCodes codes={codes} organisation={session.organisation.name} />
          <button className="button button--secondary" type="button" onClick={() => setCodes(null)}>
            I have saved these codes
          </button>
        </>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <p>Make a new set of 10 recovery codes if you have used some or think someone else has seen them. The old ones will stop working.</p>
          <ErrorSummary problems={problems} />
          <TextField
            id="recovery-totp"
            label="6-digit code from your authenticator app"
            className="input--code"
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={7}
            spellCheck={false}
            value={code}
            onChange={(event) => setCode(event.target.value)}
            errors={messagesFor(problems, 'recovery-totp')}
            required
          />
          <button className="button" type="submit" disabled={busy}>
            Make new recovery codes
          </button>
        </form>
      )}
    </section>
  );
}
