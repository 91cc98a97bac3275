import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { navigate, queryParam, safeNext, useLocation } from '../../router.ts';
import { useSession } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';

/** /mfa/challenge — the second step of sign-in: a code from the app, or a recovery code. */
export function MfaChallenge() {
  usePageTitle('Enter your verification code – Custos');
  const { refresh, signOut } = useSession();
  const { search } = useLocation();
  const next = safeNext(queryParam(search, 'next'));
  const [useRecovery, setUseRecovery] = useState(false);
  const [value, setValue] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const fieldId = useRecovery ? 'recovery-code' : 'code';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const cleaned = value.trim();
    if (!useRecovery && !/^\d{6}$/.test(cleaned.replace(/\s+/g, ''))) {
      setProblems([{ fieldId, message: 'Enter the 6-digit code from your authenticator app' }]);
      return;
    }
    if (useRecovery && !cleaned) {
      setProblems([{ fieldId, message: 'Enter one of your recovery codes' }]);
      return;
    }
    setBusy(true);
    try {
      const body = useRecovery ? { recoveryCode: cleaned } : { code: cleaned.replace(/\s+/g, '') };
      const { recoveryCodesLeft } = await api.post<{ recoveryCodesLeft: number }>('/api/v1/auth/mfa/challenge', body);
      await refresh();
      const flash = useRecovery
        ? `You signed in with a recovery code. You have ${recoveryCodesLeft} left${recoveryCodesLeft <= 3 ? ': make new ones on your account page' : ''}.`
        : undefined;
      navigate(next ?? '/home', { replace: true, flash });
    } catch (error) {
      setProblems(
        problemsFrom(error, {
          code: { id: 'code', label: 'Code' },
          recoveryCode: { id: 'recovery-code', label: 'Recovery code' },
        }),
      );
    } finally {
      setBusy(false);
    }
  }

  function switchMode() {
    setUseRecovery(!useRecovery);
    setValue('');
    setProblems([]);
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Confirm it is you</h1>
      <form className="form" onSubmit={submit} noValidate>
        <ErrorSummary problems={problems} />
        {useRecovery ? (
          <TextField
            key="recovery"
            id="recovery-code"
            label="Recovery code"
            hint="One of the codes you saved when you set up two-step verification. Each works once."
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            errors={messagesFor(problems, 'recovery-code')}
            required
          />
        ) : (
          <TextField
            key="code"
            id="code"
            label="6-digit code from your authenticator app"
            className="input--code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            maxLength={7}
            spellCheck={false}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            errors={messagesFor(problems, 'code')}
            required
          />
        )}
        <button className="button" type="submit" disabled={busy}>
          Continue
        </button>
      </form>
      <div className="button-row">
        <button className="link-button" type="button" onClick={switchMode}>
          {useRecovery ? 'Use a code from your authenticator app instead' : 'Use a recovery code instead'}
        </button>
        <button
          className="link-button"
          type="button"
          onClick={() => void signOut().then(() => navigate('/sign-in', { replace: true }))}
        >
          Sign out
        </button>
      </div>
    </section>
  );
}
