import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../audit/audit-writer.ts';
import { AppError, ConflictError, PROBLEM_BASE, UnauthorizedError, ValidationError } from '../errors.ts';
import type { Platform } from '../platform.ts';
import type { RequestMeta, TenantScope } from '../tenancy/tenant-scope.ts';
import { noteSignInDevice } from './devices.ts';
import { assertPasswordAcceptable, checkPassword, type PasswordPolicyMode } from './password-policy.ts';
import { dummyVerify, hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import {
  createSession,
  lockOwnSession,
  ownAccountContext,
  revokeSessions,
  type NewSession,
  type SessionContext,
} from './sessions.ts';
import { hashSecret } from './tokens.ts';

/**
 * Accounts: accepting an invitation (setting one's own password), signing in and changing one's
 * password. The first two start before any tenant is known, through the narrow definer functions
 * of migration 0004; everything after that runs in the account's own tenant transaction.
 * (Password reset by email is in password-reset.ts, the second factor in mfa-enrolment.ts.)
 */

/** One answer for every failed sign-in, whether or not the account exists. */
export class InvalidCredentialsError extends AppError {
  constructor() {
    super(401, `${PROBLEM_BASE}invalid-credentials`, 'Sign-in failed', 'the email address or password is not right');
  }
}

export class InvalidLinkError extends AppError {
  constructor() {
    super(400, `${PROBLEM_BASE}invalid-link`, 'Link not valid', 'this link is not valid: it may have been used already or have expired');
  }
}

const passwordField = z.string({ error: 'is required' }).min(1, 'is required').max(1024, 'is too long');

/** A submitted password's basic shape (present, not absurdly long), naming the field when not. */
export function parsePasswordInput(field: string, value: unknown): string {
  const parsed = passwordField.safeParse(value);
  if (!parsed.success) throw new ValidationError([{ field, reason: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

/** The organisation's password rules and the user's own details, reported under `field`. */
export function assertNewPasswordAcceptable(
  password: string,
  rules: { mode: PasswordPolicyMode; userInputs: string[] },
  field: string,
): void {
  const result = checkPassword(password, rules);
  if (!result.ok) throw new ValidationError(result.reasons.map((reason) => ({ field, reason })));
}

/** The user (locked for this transaction), their organisation's settings, and the words their password may not use. */
export async function accountContext(scope: TenantScope, userId: string) {
  const user = await scope.trx
    .selectFrom('users')
    .select(['id', 'email_enc', 'display_name_enc', 'status', 'password_hash', 'totp_enrolled_at'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const organisation = await scope.trx
    .selectFrom('organisations')
    .select(['name', 'password_mode', 'require_mfa', 'kind'])
    .where('id', '=', scope.tenantId)
    .executeTakeFirstOrThrow();
  const email = scope.cipher.open('users.email', user.email_enc);
  const displayName = scope.cipher.openOptional('users.display_name', user.display_name_enc);
  const userInputs = [email, email.split('@')[0]!, organisation.name, ...(displayName ? displayName.split(/\s+/) : [])];
  return { user, organisation, email, userInputs };
}

/** Finds which tenant a one-time secret (invitation or reset link) belongs to. */
export async function resolveLink(platform: Platform, kind: 'invitation' | 'password_reset', secret: string) {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(secret)) return undefined;
  const result = await sql<{ tenant_id: string; subject_id: string }>`
    select tenant_id, subject_id from custos_resolve_secret(${kind}, ${hashSecret(secret)})`.execute(platform.db.app);
  const row = result.rows[0];
  return row ? { tenantId: row.tenant_id, subjectId: row.subject_id } : undefined;
}

/**
 * The throttled way in through a one-time link: counts the attempt per address, refuses an
 * unknown, used or expired link with one message, and returns the link's tenant and subject.
 * The caller records success once it knows the link was genuine.
 */
export async function resolveLinkOrRefuse(
  platform: Platform,
  kind: 'invitation' | 'password_reset',
  meta: RequestMeta,
  secret: unknown,
): Promise<{ tenantId: string; subjectId: string; subject: { ip: string } }> {
  const path = kind === 'invitation' ? 'invitation' : 'password-reset';
  // Per address only: the link itself is the account, and 256 random bits need no account lockout.
  const subject = { ip: meta.ip ?? 'unknown' };
  await platform.throttle.check(path, subject);
  const link = await resolveLink(platform, kind, String(secret ?? ''));
  if (!link) {
    await platform.throttle.recordFailure(path, subject);
    throw new InvalidLinkError();
  }
  return { ...link, subject };
}

/**
 * The invited user chooses their password: checked against the organisation's password rules and
 * the user's own details, hashed with argon2id; the invitation is used up and the account active.
 */
export async function acceptInvitation(
  platform: Platform,
  input: { token: string; password: string },
  meta: RequestMeta,
): Promise<{ tenantId: string; userId: string }> {
  const password = parsePasswordInput('password', input.password);
  const link = await resolveLinkOrRefuse(platform, 'invitation', meta, input.token);
  const subject = link.subject;
  const accepted = await platform.inTenant({ tenantId: link.tenantId, actor: { type: 'system', id: null }, meta }, async (scope) => {
    const invitation = await scope.trx
      .selectFrom('invitations')
      .select(['id', 'user_id'])
      .where('id', '=', link.subjectId)
      .where('accepted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!invitation) throw new InvalidLinkError();
    const { user, organisation, userInputs } = await accountContext(scope, invitation.user_id);
    if (user.status === 'disabled') throw new InvalidLinkError();
    assertPasswordAcceptable(password, { mode: organisation.password_mode, userInputs });
    const now = new Date();
    await scope.trx
      .updateTable('users')
      .set({ password_hash: await hashPassword(password), password_changed_at: now, status: 'active', updated_at: now })
      .where('id', '=', user.id)
      .execute();
    await scope.trx.updateTable('invitations').set({ accepted_at: now }).where('id', '=', invitation.id).execute();
    const actingScope = { ...scope, actor: { type: 'user' as const, id: user.id } };
    await recordAudit(actingScope, {
      action: 'user.invitation_accepted',
      target: { type: 'user', id: user.id },
      changes: { password: { personal: true }, status: { before: user.status, after: 'active' } },
    });
    await revokeSessions(actingScope, 'password changed', user.id);
    return { tenantId: link.tenantId, userId: user.id };
  });
  await platform.throttle.recordSuccess('invitation', subject);
  return accepted;
}

/**
 * Someone's accounts in every organisation, found by the platform-wide keyed hash of their email
 * (not disabled, organisation active). Runs before any tenant is known, through the definer
 * function: the application role sees no users otherwise.
 */
export async function findAccountsByEmail(platform: Platform, email: string): Promise<{ tenantId: string; userId: string }[]> {
  const lookup = platform.keys.platformLookup('users.email', email);
  const result = await sql<{ tenant_id: string; user_id: string }>`
    select tenant_id, user_id from custos_sign_in_candidates(${lookup})`.execute(platform.db.app);
  return result.rows.map((row) => ({ tenantId: row.tenant_id, userId: row.user_id }));
}

export type SignInResult =
  | { outcome: 'signed-in'; tenantId: string; userId: string; session: NewSession; mfa: 'not-required' | 'enrol' | 'challenge' }
  | { outcome: 'choose-organisation'; organisations: { id: string; name: string }[] };

/**
 * Email and password. The email finds the person's accounts in every organisation through the
 * platform-wide lookup hash; the password must match one of them. Failures all look alike and
 * take about as long (a dummy verification runs when there is no account). Every session starts
 * with its second factor unverified: mfa_verified_at records that one was actually passed, and
 * only the MFA step sets it. Whether an unverified session may be used is the caller's decision
 * (`mfa` says what the organisation asks of this user).
 */
export async function signIn(
  platform: Platform,
  input: { email: string; password: string; organisationId?: string },
  meta: RequestMeta,
): Promise<SignInResult> {
  const email = String(input.email ?? '').trim();
  const password = String(input.password ?? '');
  // Throttled per address, per account and address, and per account, before any password is
  // checked; the account is the email as typed, so unknown emails are limited like real ones.
  const subject = { account: email.slice(0, 254), ip: meta.ip ?? 'unknown' };
  await platform.throttle.check('sign-in', subject);
  const fail = async (): Promise<never> => {
    await platform.throttle.recordFailure('sign-in', subject);
    throw new InvalidCredentialsError();
  };
  if (!email || !password || email.length > 254 || password.length > 1024) {
    // Same time as any other failure: nothing to learn from a fast refusal.
    await dummyVerify(password.slice(0, 1024));
    return fail();
  }
  const candidates = (await findAccountsByEmail(platform, email)).filter((c) => !input.organisationId || c.tenantId === input.organisationId);
  if (candidates.length === 0) {
    await dummyVerify(password);
    return fail();
  }
  const matches: { tenantId: string; userId: string; name: string }[] = [];
  for (const candidate of candidates) {
    // Read the hash in the tenant's transaction, verify after it: argon2 takes tens of
    // milliseconds, and a connection (on PGlite, the only one) should not wait on it.
    const stored = await platform.inTenant({ tenantId: candidate.tenantId, actor: { type: 'system', id: null }, meta }, async (scope) => ({
      hash: (await scope.trx.selectFrom('users').select('password_hash').where('id', '=', candidate.userId).executeTakeFirst())?.password_hash ?? null,
      name: (await scope.trx.selectFrom('organisations').select('name').where('id', '=', candidate.tenantId).executeTakeFirstOrThrow()).name,
    }));
    const ok = stored.hash ? await verifyPassword(stored.hash, password) : await dummyVerify(password);
    if (ok) matches.push({ tenantId: candidate.tenantId, userId: candidate.userId, name: stored.name });
  }
  if (matches.length === 0) return fail();
  await platform.throttle.recordSuccess('sign-in', subject);
  if (matches.length > 1) {
    return { outcome: 'choose-organisation', organisations: matches.map((m) => ({ id: m.tenantId, name: m.name })) };
  }
  const match = matches[0]!;
  return platform.inTenant({ tenantId: match.tenantId, actor: { type: 'user', id: match.userId }, meta }, async (scope) => {
    const { user, organisation } = await accountContext(scope, match.userId);
    if (user.password_hash && needsRehash(user.password_hash)) {
      await scope.trx.updateTable('users').set({ password_hash: await hashPassword(password) }).where('id', '=', user.id).execute();
    }
    const enrolled = user.totp_enrolled_at !== null;
    // Operator staff always need MFA, whatever the setting says.
    const required = organisation.require_mfa || organisation.kind === 'operator' || enrolled;
    const mfa = !required ? 'not-required' : enrolled ? 'challenge' : 'enrol';
    const session = await createSession(scope, user.id, { mfaVerified: false });
    await noteSignInDevice(platform, scope, user.id);
    return { outcome: 'signed-in', tenantId: match.tenantId, userId: user.id, session, mfa };
  });
}

/**
 * Changing one's own password while signed in. The current password is checked first (argon2 runs
 * between transactions, so no connection waits on it; throttled like sign-in, on the account),
 * the new one against the organisation's rules. Every session of the user ends, this browser's
 * included, and a fresh session replaces it here with the same second-factor state: someone who
 * had the old password and a session elsewhere is out, the person changing it stays in.
 */
export async function changePassword(
  platform: Platform,
  context: SessionContext,
  input: { currentPassword: string; newPassword: string },
): Promise<NewSession> {
  const currentPassword = parsePasswordInput('currentPassword', input.currentPassword);
  const newPassword = parsePasswordInput('newPassword', input.newPassword);
  const subject = { account: context.userId, ip: context.meta.ip ?? 'unknown' };
  await platform.throttle.check('sign-in', subject);
  const account = await platform.inTenant(ownAccountContext(context), async (scope) => {
    if (!(await lockOwnSession(scope, context))) throw new UnauthorizedError();
    const { user, organisation, userInputs } = await accountContext(scope, context.userId);
    return { passwordHash: user.password_hash, mode: organisation.password_mode, userInputs };
  });
  const verified = account.passwordHash ? await verifyPassword(account.passwordHash, currentPassword) : await dummyVerify(currentPassword);
  if (!verified) {
    await platform.throttle.recordFailure('sign-in', subject);
    throw new ValidationError([{ field: 'currentPassword', reason: 'is not your current password' }]);
  }
  await platform.throttle.recordSuccess('sign-in', subject);
  assertNewPasswordAcceptable(newPassword, account, 'newPassword');
  const newHash = await hashPassword(newPassword);
  return platform.inTenant(ownAccountContext(context), async (scope) => {
    const session = await lockOwnSession(scope, context);
    if (!session) throw new UnauthorizedError();
    const { user } = await accountContext(scope, context.userId);
    // Changed by a reset or another tab while we were hashing: the password just verified is gone.
    if (user.password_hash !== account.passwordHash) throw new ConflictError('the password was changed meanwhile; sign in again');
    const now = new Date();
    await scope.trx
      .updateTable('users')
      .set({ password_hash: newHash, password_changed_at: now, updated_at: now })
      .where('id', '=', user.id)
      .execute();
    await recordAudit(scope, { action: 'user.password_changed', target: { type: 'user', id: user.id }, changes: { password: { personal: true } } });
    await revokeSessions(scope, 'password changed', user.id);
    return createSession(scope, user.id, { mfaVerified: session.mfaVerified });
  });
}
