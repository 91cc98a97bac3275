import type { MailMessage } from '../mail/mail.ts';

/**
 * The emails identity sends about someone's own account. Each names the organisation, because
 * one person may have accounts in several and receive one email per account. No email says
 * anything the person did not already know (never "this address has no account").
 */

export function passwordResetMail(to: string, organisationName: string, resetUrl: string, ttlMinutes: number): MailMessage {
  return {
    to,
    subject: `Reset your Custos password for ${organisationName}`,
    text:
      `Someone asked to reset the password of your ${organisationName} account on Custos.\n\n` +
      `Choose a new password here (the link works once and expires in ${ttlMinutes} minutes):\n${resetUrl}\n\n` +
      'If you did not ask for this, ignore this email: your password has not changed.',
  };
}
