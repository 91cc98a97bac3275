import { usePageTitle } from '../../use-page-title.ts';
import { SetPasswordForm } from './set-password-form.tsx';

/** /reset-password/:token — the reset link from the email: choose a new password. */
export function CompletePasswordReset({ token }: { token: string }) {
  usePageTitle('Choose a new password – Custos');
  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Choose a new password</h1>
      <p>Choose a new password for your account. Your other sessions will be signed out.</p>
      <SetPasswordForm
        endpoint="/api/v1/auth/password-reset/complete"
        token={token}
        submitLabel="Change password"
        doneMessage="Your password has been changed. Sign in with your new password."
      />
    </section>
  );
}
