import { setTimeout as sleep } from 'node:timers/promises';
import { recordAudit } from '../audit/audit-writer.ts';
import { enqueueMail } from '../mail/mail.ts';
import type { Platform } from '../platform.ts';
import { SYSTEM_ACTOR, type RequestMeta, type TenantContext, type TenantScope } from '../tenancy/tenant-scope.ts';
import {
  accountContext,
  assertNewPasswordAcceptable,
  findAccountsByEmail,
  InvalidLinkError,
  parsePasswordInput,
  resolveLinkOrRefuse,
} from './accounts.ts';
import { passwordResetMail } from './identity-mail.ts';
import { hashPassword } from './password-hash.ts';
import { revokeSessions } from './sessions.ts';
import { newSecret } from './tokens.ts';
import { organisationName } from '../organisations/name.ts';

/**
 * "Forgotten password": a single-use link by email, then a new password. The request never says
 * whether the address has an account; the link proves control of the mailbox, nothing more, so
 * completing it neither signs in nor counts as a second factor.
 */
export const PASSWORD_RESET_TTL_MINUTES = 60;

/**
 * Every request takes at least this long. Where an account exists the request writes a reset,
 * an audit entry and a queued email (a few milliseconds to tens of them); without one it writes
 * nothing. Padding both to the same floor keeps the response time from telling them apart.
 */
export const PASSWORD_RESET_REQUEST_FLOOR_MS = 250;

const MAX_EMAIL_LENGTH = 254;

export async function requestPasswordReset(platform: Platform, input: { email: string }, meta: RequestMeta): Promise<void> {
  const started = Date.now();
  const email = String(input.email ?? '').trim();
  // Throttled on the email as typed, so an unknown address is limited exactly like a known one.
  // Every request counts: it sends mail to someone, so there is no "success" to give back.
  await platform.throttle.check('password-reset', { account: email.slice(0, MAX_EMAIL_LENGTH), ip: meta.ip ?? 'unknown' });
  try {
    if (!email || email.length > MAX_EMAIL_LENGTH) return;
    for (const account of await findAccountsByEmail(platform, email)) {
      await platform.inTenant({ tenantId: account.tenantId, actor: SYSTEM_ACTOR, meta }, (scope) => issueReset(platform, scope, account.userId));
    }
  } finally {
    await sleep(Math.max(0, started + PASSWORD_RESET_REQUEST_FLOOR_MS - Date.now()));
  }
}

/** A new link for one active account (earlier ones stop working), audited and emailed in one transaction. */
async function issueReset(platform: Platform, scope: TenantScope, userId: string): Promise<void> {
  const user = await scope.trx.selectFrom('users').select(['id', 'email_enc', 'status']).where('id', '=', userId).forUpdate().executeTakeFirst();
  // Invited people set their password through their invitation; disabled ones not at all.
  if (!user || user.status !== 'active') return;
  const orgName = await organisationName(scope);
  const now = new Date();
  await retireUnusedResets(scope, user.id, now);
  const { secret, hash } = newSecret();
  await scope.trx
    .insertInto('password_resets')
    .values({
      tenant_id: scope.tenantId,
      user_id: user.id,
      token_hash: hash,
      created_at: now,
      expires_at: new Date(now.getTime() + PASSWORD_RESET_TTL_MINUTES * 60_000),
    })
    .execute();
  await recordAudit(scope, { action: 'user.password_reset_requested', target: { type: 'user', id: user.id } });
  const email = scope.cipher.open('users.email', user.email_enc);
  const resetUrl = `${platform.config.publicUrl}/reset-password/${secret}`;
  await enqueueMail(platform.queue, scope, passwordResetMail(email, orgName, resetUrl, PASSWORD_RESET_TTL_MINUTES));
}

/**
 * Ends every reset link of the user that could still be used. `used_at` means "no longer
 * usable": used, or replaced by a later link or a completed reset.
 */
async function retireUnusedResets(scope: TenantScope, userId: string, now: Date): Promise<void> {
  await scope.trx.updateTable('password_resets').set({ used_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
}

/**
 * The user behind a reset link that is still usable, in this transaction (locked, so two
 * concurrent completions of one link queue up and the second finds it used).
 */
async function userOfLiveReset(scope: TenantScope, resetId: string) {
  const reset = await scope.trx
    .selectFrom('password_resets')
    .select('user_id')
    .where('id', '=', resetId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .forUpdate()
    .executeTakeFirst();
  if (!reset) throw new InvalidLinkError();
  const account = await accountContext(scope, reset.user_id);
  if (account.user.status !== 'active') throw new InvalidLinkError();
  return account;
}

export async function completePasswordReset(
  platform: Platform,
  input: { token: string; password: string },
  meta: RequestMeta,
): Promise<{ tenantId: string; userId: string }> {
  const password = parsePasswordInput('password', input.password);
  const link = await resolveLinkOrRefuse(platform, 'password_reset', meta, input.token);
  const subject = link.subject;
  const context: TenantContext = { tenantId: link.tenantId, actor: SYSTEM_ACTOR, meta };
  const rules = await platform.inTenant(context, async (scope) => {
    const { user, organisation, userInputs } = await userOfLiveReset(scope, link.subjectId);
    return { userId: user.id, mode: organisation.password_mode, userInputs };
  });
  // A genuine link: the attempt was no guess, whatever the password chosen.
  await platform.throttle.recordSuccess('password-reset', subject);
  assertNewPasswordAcceptable(password, rules, 'password');
  // argon2 between the transactions, so no connection waits on it.
  const passwordHash = await hashPassword(password);
  const asUser: TenantContext = { ...context, actor: { type: 'user', id: rules.userId } };
  await platform.inTenant(asUser, async (scope) => {
    const { user } = await userOfLiveReset(scope, link.subjectId);
    const now = new Date();
    await scope.trx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: now, updated_at: now }).where('id', '=', user.id).execute();
    await retireUnusedResets(scope, user.id, now);
    await recordAudit(scope, { action: 'user.password_reset', target: { type: 'user', id: user.id }, changes: { password: { personal: true } } });
    // Whoever knew the old password is signed out everywhere; the person resetting signs in afresh
    // (and passes MFA there if they have it).
    await revokeSessions(scope, 'password changed', user.id);
  });
  return { tenantId: link.tenantId, userId: rules.userId };
}
