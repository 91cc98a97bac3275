import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client.ts';
import type { SignInResult } from '../../api/types.ts';
import { ErrorSummary, messagesFor, Notice, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { currentFlash, navigate, queryParam, safeNext, useLocation } from '../../router.ts';
import { useSession } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';

const FIELDS: FieldNames = {
  email: { id: 'email', label: 'Email address' },
  password: { id: 'password', label: 'Password' },
  organisationId: { id: 'organisation-0', label: 'Organisation' },
};

/** Where to go after a successful sign-in, keeping `next` for after MFA. */
export function afterSignIn(mfa: 'not-required' | 'enrol' | 'challenge', next: string | undefined): string {
  const carry = next ? `?next=${encodeURIComponent(next)}` : '';
  if (mfa === 'enrol') return `/mfa/enrol${carry}`;
  if (mfa === 'challenge') return `/mfa/challenge${carry}`;
  return next ?? '/home';
}

/** /sign-in — email and password; then, for people in several organisations, which one. */
export function SignIn() {
  usePageTitle('Sign in – Custos');
  const { search } = useLocation();
  const next = safeNext(queryParam(search, 'next'));
  const { refresh } = useSession();
  const [flash] = useState(currentFlash);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organisations, setOrganisations] = useState<{ id: string; name: string }[] | null>(null);
  const [organisationId, setOrganisationId] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: FormProblem[] = [];
    if (!email.trim()) local.push({ fieldId: 'email', message: 'Enter your email address' });
    if (!password) local.push({ fieldId: 'password', message: 'Enter your password' });
    if (organisations && !organisationId) local.push({ fieldId: 'organisation-0', message: 'Choose the organisation to sign in to' });
    if (local.length > 0) {
      setProblems(local);
      return;
    }
    setBusy(true);
    try {
      const result = await api.post<SignInResult>(
        '/api/v1/auth/sign-in',
        { email: email.trim(), password, ...(organisations ? { organisationId } : {}) },
        { quietAuth: true },
      );
      if (result.outcome === 'choose-organisation') {
        setProblems([]);
        setOrganisations(result.organisations);
        setOrganisationId('');
        return;
      }
      await refresh();
      navigate(afterSignIn(result.mfa, next), { replace: true });
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'invalid-credentials') {
        setOrganisations(null);
        setProblems([{ fieldId: 'email', message: 'The email address or password is not right. Check them and try again.' }]);
      } else {
        setProblems(problemsFrom(error, FIELDS));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Sign in</h1>
      {flash && <Notice>{flash}</Notice>}
      <form className="form" onSubmit={submit} noValidate>
        <ErrorSummary problems={problems} />
        {organisations ? (
          <fieldset className="fieldset" aria-describedby={messagesFor(problems, 'organisation-0').length ? 'organisation-error' : undefined}>
            <legend className="fieldset__legend">Which organisation do you want to sign in to?</legend>
            <p className="field__hint">Your email address belongs to more than one organisation. You can switch later by signing in again.</p>
            {messagesFor(problems, 'organisation-0').map((message) => (
              <p key={message} className="field__error" id="organisation-error">
                <span className="visually-hidden">Error: </span>
                {message}
              </p>
            ))}
            <div className="radios">
              {organisations.map((organisation, index) => (
                <div className="radio" key={organisation.id}>
                  <input
                    type="radio"
                    id={`organisation-${index}`}
                    name="organisationId"
                    value={organisation.id}
                    checked={organisationId === organisation.id}
                    onChange={() => setOrganisationId(organisation.id)}
                  />
                  <label htmlFor={`organisation-${index}`}>{organisation.name}</label>
                </div>
              ))}
            </div>
            <div className="button-row">
              <button className="button" type="submit" disabled={busy}>
                Continue
              </button>
              <button
                className="button button--secondary"
                type="button"
                onClick={() => {
                  setOrganisations(null);
                  setProblems([]);
                }}
              >
                Use a different account
              </button>
            </div>
          </fieldset>
        ) : (
          <>
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
            <TextField
              id="password"
              label="Password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              errors={messagesFor(problems, 'password')}
              required
            />
            <button className="button" type="submit" disabled={busy}>
              Sign in
            </button>
          </>
        )}
      </form>
      <p>
        <Link href="/reset-password">Forgotten your password?</Link>
      </p>
    </section>
  );
}
