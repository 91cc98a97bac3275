import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, describeProblem } from '../../api/client.ts';
import type { TotpEnrolment } from '../../api/types.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { QrCode } from '../../components/qr-code.tsx';
import { RecoveryCodes } from '../../components/recovery-codes.tsx';
import { navigate, queryParam, safeNext, useLocation } from '../../router.ts';
import { useSession, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';

/** The key in groups of four, as people type it: `JBSW Y3DP EHPK 3PXP`. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

type Stage =
  | { stage: 'starting' }
  | { stage: 'failed'; message: string }
  | { stage: 'scan'; enrolment: TotpEnrolment }
  | { stage: 'codes'; recoveryCodes: string[] };

/** /mfa/enrol — add Custos to an authenticator app, prove it with a code, keep the recovery codes. */
export function MfaEnrol() {
  usePageTitle('Set up two-step verification – Custos');
  const session = useSignedIn();
  const { refresh } = useSession();
  const { search } = useLocation();
  const next = safeNext(queryParam(search, 'next'));
  const [stage, setStage] = useState<Stage>({ stage: 'starting' });
  const [code, setCode] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);
  const codesHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (session.mfa.enrolled) {
      navigate(session.mfa.verified ? '/account' : `/mfa/challenge${search}`, { replace: true });
      return;
    }
    api
      .post<TotpEnrolment>('/api/v1/auth/mfa/totp/enrolment')
      .then((enrolment) => setStage({ stage: 'scan', enrolment }))
      .catch(async (error: unknown) => {
        if (error instanceof ApiError && error.kind === 'conflict') {
          await refresh();
          navigate(`/mfa/challenge${search}`, { replace: true });
          return;
        }
        setStage({ stage: 'failed', message: describeProblem(error) });
      });
  }, [session, refresh, search]);

  useEffect(() => {
    if (stage.stage === 'codes') codesHeading.current?.focus();
  }, [stage.stage]);

  async function confirm(event: FormEvent) {
    event.preventDefault();
    const cleaned = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(cleaned)) {
      setProblems([{ fieldId: 'code', message: 'Enter the 6-digit code from your authenticator app' }]);
      return;
    }
    setBusy(true);
    try {
      const { recoveryCodes } = await api.post<{ recoveryCodes: string[] }>('/api/v1/auth/mfa/totp/enrolment/confirm', { code: cleaned });
      setProblems([]);
      setStage({ stage: 'codes', recoveryCodes });
    } catch (error) {
      setProblems(problemsFrom(error, { code: { id: 'code', label: 'Code' } }));
    } finally {
      setBusy(false);
    }
  }

  async function finish() {
    await refresh();
    navigate(next ?? '/home', { replace: true });
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Set up two-step verification</h1>
      {stage.stage === 'starting' && <p role="status">Preparing your key…</p>}
      {stage.stage === 'failed' && (
        <div className="error-summary" role="alert">
          <p>{stage.message}</p>
        </div>
      )}
      {stage.stage === 'scan' && (
        <>
          <p>
            {session.mfa.required ? `${session.organisation.name} asks everyone to` : 'You can'} confirm it is you with a code from an
            authenticator app (such as Microsoft Authenticator, Google Authenticator or 1Password) each time you sign in.
          </p>
          <ol className="steps">
            <li>
              <h2 className="steps__title">Scan the QR code with your authenticator app</h2>
              <QrCode svg={stage.enrolment.qrSvg} />
            </li>
            <li>
              <h2 className="steps__title">Or type this key into the app</h2>
              <p className="field__hint" id="secret-hint">
                Choose “time-based” if the app asks. Spaces do not matter.
              </p>
              <p className="secret">
                <code data-testid="totp-secret">{groupSecret(stage.enrolment.secret)}</code>
              </p>
            </li>
            <li>
              <h2 className="steps__title">Enter the code the app shows</h2>
              <form className="form" onSubmit={confirm} noValidate>
                <ErrorSummary problems={problems} />
                <TextField
                  id="code"
                  label="6-digit code"
                  hint="The code changes every 30 seconds."
                  className="input--code"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9 ]*"
                  maxLength={7}
                  spellCheck={false}
                  value={code}
                  onChange={(event) => setCode(event.target.value)}
                  errors={messagesFor(problems, 'code')}
                  required
                />
                <button className="button" type="submit" disabled={busy}>
                  Confirm code
                </button>
              </form>
            </li>
          </ol>
        </>
      )}
      {stage.stage === 'codes' && (
        <>
          <div role="status" className="notice notice--success">
            <p>Two-step verification is set up.</p>
          </div>
          <h2 tabIndex={-1} ref={codesHeading}>
            Save your recovery codes
          </h2>
          <p>
            If you lose your phone, each of these codes lets you sign in once instead of a code from the app.{' '}
            <strong>They are shown only now.</strong> Download them or write them down and keep them somewhere safe.
          </p>
          <RecoveryCodes codes={stage.recoveryCodes} organisation={session.organisation.name} />
          <button className="button" type="button" onClick={() => void finish()}>
            I have saved these codes – continue
          </button>
        </>
      )}
    </section>
  );
}
