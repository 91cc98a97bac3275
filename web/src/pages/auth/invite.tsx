import { usePageTitle } from '../../use-page-title.ts';
import { SetPasswordForm } from './set-password-form.tsx';

/** /invite/:token — the invitation link from the email: choose a password to activate the account. */
export function AcceptInvitation({ token }: { token: string }) {
  usePageTitle('Set your password – Custos');
  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Set your password</h1>
      <p>You have been invited to Custos. Choose a password to finish setting up your account; you will then sign in with it.</p>
      <SetPasswordForm
        endpoint="/api/v1/auth/invitations/accept"
        token={token}
        submitLabel="Set password"
        doneMessage="Your password is set. Sign in with your email address and new password."
      />
    </section>
  );
}
