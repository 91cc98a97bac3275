import { useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import { navigate } from '../../router.ts';
import { useSession, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { ChangePassword } from './change-password.tsx';
import { NewRecoveryCodes } from './new-recovery-codes.tsx';

/** /account — your own password, recovery codes and sessions. */
export function Account() {
  usePageTitle('Your account – Custos');
  const session = useSignedIn();
  return (
    <>
      <h1 id="page-title">Your account</h1>
      <p>
        Signed in as <strong>{session.user.email}</strong> in {session.organisation.name}.
      </p>
      <div className="stack">
        <ChangePassword />
        <NewRecoveryCodes />
        <SignOutEverywhere />
      </div>
    </>
  );
}

function SignOutEverywhere() {
  const { refresh } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');

  async function run() {
    try {
      await api.post('/api/v1/auth/sign-out-everywhere');
      await refresh();
      navigate('/sign-in', { replace: true, flash: 'You have been signed out on every device.' });
    } catch (problem) {
      setError(describeProblem(problem));
    }
  }

  return (
    <section className="panel" aria-labelledby="everywhere-title">
      <h2 id="everywhere-title">Sign out everywhere</h2>
      <p>Ends every session of yours, on every device, including this one. Use it if you signed in on a shared computer or lost a device.</p>
      <div role="alert">{error && <p className="notice notice--error">{error}</p>}</div>
      {confirming ? (
        <div className="button-row" role="group" aria-label="Confirm signing out everywhere">
          <button className="button button--warning" type="button" onClick={() => void run()}>
            Yes, sign out everywhere
          </button>
          <button className="button button--secondary" type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button className="button button--secondary" type="button" onClick={() => setConfirming(true)}>
          Sign out everywhere
        </button>
      )}
    </section>
  );
}
