import { recordAudit } from '../audit/audit-writer.ts';
import { ConflictError, NotFoundError, UnauthorizedError, ValidationError, type FieldProblem } from '../errors.ts';
import type { Platform } from '../platform.ts';
import { isUuid, type TenantScope } from '../tenancy/tenant-scope.ts';
import {
  matchRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  openTotpSecret,
  sealTotpSecret,
  totpQrSvg,
  totpUri,
  verifyTotp,
} from './mfa/index.ts';
import {
  lockOwnSession,
  ownAccountContext,
  revokeSessions,
  upgradeSessionAfterMfa,
  type NewSession,
  type SessionContext,
} from './sessions.ts';

/**
 * The second factor of one's own account: setting up an authenticator app (TOTP), passing the
 * MFA step at sign-in with a code or a recovery code, new recovery codes, and an admin's reset
 * for a colleague who lost both.
 *
 * Every code check is throttled on the 'mfa' path (account = user id) before the tenant
 * transaction opens and settled after it closes (on the embedded database a throttle call inside
 * the transaction would wait for the connection that transaction holds). The user row is locked
 * for the check, so two requests racing with one code cannot both pass: the second sees the step
 * the first stored.
 */

export interface TotpEnrolment {
  /** Base32, for people who type it in rather than scan. */
  secret: string;
  uri: string;
  qrSvg: string;
}

const ISSUER = 'Custos';
const WRONG_CODE = 'is not the current code from your authenticator app';
const MALFORMED_CODE = 'must be the 6-digit code from your authenticator app';
const WRONG_RECOVERY_CODE = 'is not one of your unused recovery codes';

/** The user's second-factor state, locked for this transaction. */
async function lockMfaState(scope: TenantScope, userId: string) {
  const user = await scope.trx
    .selectFrom('users')
    .select(['id', 'email_enc', 'totp_secret_enc', 'totp_enrolled_at', 'totp_last_step'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (!user) throw new UnauthorizedError();
  return {
    ...user,
    enrolled: user.totp_enrolled_at !== null,
    // bigint: a number on pg (see db/database.ts), whatever the embedded driver hands back.
    lastStep: user.totp_last_step === null ? null : Number(user.totp_last_step),
  };
}
type MfaState = Awaited<ReturnType<typeof lockMfaState>>;

/** Either the attempt's result, or the field problem that refuses it (counted as a failure). */
type Attempt<T> = { ok: true; value: T } | { ok: false; problem: FieldProblem };

/**
 * One throttled code check in the caller's own tenant transaction, on their still-live session.
 * A refusal commits nothing but is counted; a pass gives the attempt back.
 */
async function mfaAttempt<T>(
  platform: Platform,
  context: SessionContext,
  work: (scope: TenantScope, user: MfaState) => Promise<Attempt<T>>,
): Promise<T> {
  const subject = { account: context.userId, ip: context.meta.ip ?? 'unknown' };
  await platform.throttle.check('mfa', subject);
  const attempt = await platform.inTenant(ownAccountContext(context), async (scope) => {
    if (!(await lockOwnSession(scope, context))) throw new UnauthorizedError();
    return work(scope, await lockMfaState(scope, context.userId));
  });
  if (!attempt.ok) {
    await platform.throttle.recordFailure('mfa', subject);
    throw new ValidationError([attempt.problem]);
  }
  await platform.throttle.recordSuccess('mfa', subject);
  return attempt.value;
}

/**
 * Checks an app code once-only: a code for a step at or before the last one used is refused like
 * a wrong one (so a code seen over someone's shoulder is worth nothing), and the matched step is
 * stored in the same transaction.
 */
async function useTotpCode(scope: TenantScope, user: MfaState, code: string): Promise<FieldProblem | undefined> {
  if (!user.totp_secret_enc) return { field: 'code', reason: WRONG_CODE };
  const secret = openTotpSecret(scope.cipher, user.totp_secret_enc);
  const result = verifyTotp({ secret, code: String(code ?? ''), lastUsedStep: user.lastStep });
  if (!result.ok) return { field: 'code', reason: result.reason === 'malformed' ? MALFORMED_CODE : WRONG_CODE };
  await scope.trx.updateTable('users').set({ totp_last_step: result.step }).where('id', '=', user.id).execute();
  return undefined;
}

/** A recovery code works once: marked used only if no one else marked it first. */
async function useRecoveryCode(scope: TenantScope, userId: string, code: string): Promise<FieldProblem | undefined> {
  const unused = await scope.trx.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).where('used_at', 'is', null).execute();
  const matched = matchRecoveryCode(String(code ?? ''), unused.map((row) => row.code_hash));
  if (!matched) return { field: 'recoveryCode', reason: WRONG_RECOVERY_CODE };
  const used = await scope.trx
    .updateTable('recovery_codes')
    .set({ used_at: new Date() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', matched)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(used.numUpdatedRows) === 1 ? undefined : { field: 'recoveryCode', reason: WRONG_RECOVERY_CODE };
}

/** A fresh set of recovery codes replaces every earlier one, used or not; only hashes are kept. */
async function replaceRecoveryCodes(scope: TenantScope, userId: string): Promise<string[]> {
  const { codes, hashes } = newRecoveryCodes();
  await scope.trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await scope.trx
    .insertInto('recovery_codes')
    .values(hashes.map((code_hash) => ({ tenant_id: scope.tenantId, user_id: userId, code_hash })))
    .execute();
  return codes;
}

async function unusedRecoveryCodes(scope: TenantScope, userId: string): Promise<number> {
  const row = await scope.trx
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function assertEnrolled(user: MfaState): void {
  if (!user.enrolled) throw new ConflictError('MFA is not set up for this account');
}

export async function startTotpEnrolment(platform: Platform, context: SessionContext): Promise<TotpEnrolment> {
  const secret = newTotpSecret();
  const uri = await platform.inTenant(ownAccountContext(context), async (scope) => {
    if (!(await lockOwnSession(scope, context))) throw new UnauthorizedError();
    const user = await lockMfaState(scope, context.userId);
    if (user.enrolled) throw new ConflictError('MFA is already set up for this account');
    // A restart replaces the pending secret: only the app that scanned the latest code will confirm.
    await scope.trx
      .updateTable('users')
      .set({ totp_secret_enc: sealTotpSecret(scope.cipher, secret), totp_last_step: null })
      .where('id', '=', user.id)
      .execute();
    await recordAudit(scope, { action: 'mfa.enrolment_started', target: { type: 'user', id: user.id } });
    return totpUri({ secret, accountName: scope.cipher.open('users.email', user.email_enc), issuer: ISSUER });
  });
  // Drawn after the transaction: nothing in the database waits on it.
  return { secret, uri, qrSvg: await totpQrSvg(uri) };
}

export async function confirmTotpEnrolment(
  platform: Platform,
  context: SessionContext,
  input: { code: string },
): Promise<{ session: NewSession; recoveryCodes: string[] }> {
  return mfaAttempt(platform, context, async (scope, user) => {
    if (user.enrolled) throw new ConflictError('MFA is already set up for this account');
    if (!user.totp_secret_enc) throw new ConflictError('MFA set-up has not been started');
    const problem = await useTotpCode(scope, user, input.code);
    if (problem) return { ok: false, problem };
    await scope.trx.updateTable('users').set({ totp_enrolled_at: new Date() }).where('id', '=', user.id).execute();
    const recoveryCodes = await replaceRecoveryCodes(scope, user.id);
    await recordAudit(scope, { action: 'mfa.enrolled', target: { type: 'user', id: user.id }, changes: { method: { after: 'totp' } } });
    // Confirming proves the second factor: this browser continues on a new, verified session.
    const session = await upgradeSessionAfterMfa(scope, context.sessionId);
    return { ok: true, value: { session, recoveryCodes } };
  });
}

function oneSecondFactor(input: { code?: string; recoveryCode?: string }): { method: 'totp' | 'recovery_code'; value: string } {
  const given = (value: string | undefined) => typeof value === 'string' && value.trim() !== '';
  if (given(input.code) && given(input.recoveryCode)) {
    throw new ValidationError([{ field: 'recoveryCode', reason: 'give either a code or a recovery code, not both' }]);
  }
  if (given(input.code)) return { method: 'totp', value: input.code! };
  if (given(input.recoveryCode)) return { method: 'recovery_code', value: input.recoveryCode! };
  throw new ValidationError([{ field: 'code', reason: 'is required (or a recovery code)' }]);
}

export async function passMfaChallenge(
  platform: Platform,
  context: SessionContext,
  input: { code?: string; recoveryCode?: string },
): Promise<{ session: NewSession; recoveryCodesLeft: number }> {
  const factor = oneSecondFactor(input);
  return mfaAttempt(platform, context, async (scope, user) => {
    assertEnrolled(user);
    const problem = factor.method === 'totp' ? await useTotpCode(scope, user, factor.value) : await useRecoveryCode(scope, user.id, factor.value);
    if (problem) return { ok: false, problem };
    await recordAudit(scope, { action: 'mfa.passed', target: { type: 'user', id: user.id }, changes: { method: { after: factor.method } } });
    const session = await upgradeSessionAfterMfa(scope, context.sessionId);
    return { ok: true, value: { session, recoveryCodesLeft: await unusedRecoveryCodes(scope, user.id) } };
  });
}

export async function regenerateRecoveryCodes(platform: Platform, context: SessionContext, input: { code: string }): Promise<string[]> {
  return mfaAttempt(platform, context, async (scope, user) => {
    assertEnrolled(user);
    const problem = await useTotpCode(scope, user, input.code);
    if (problem) return { ok: false, problem };
    const codes = await replaceRecoveryCodes(scope, user.id);
    await recordAudit(scope, { action: 'mfa.recovery_codes_regenerated', target: { type: 'user', id: user.id } });
    return { ok: true, value: codes };
  });
}

/**
 * For a colleague who lost both their authenticator and their recovery codes: the second factor
 * is removed and every session of theirs ends, so their next sign-in goes through enrolment again
 * (where the organisation requires MFA). The caller has checked the admin's permission.
 */
export async function resetUserMfa(scope: TenantScope, userId: string): Promise<void> {
  if (!isUuid(userId)) throw new NotFoundError('user');
  const user = await scope.trx.selectFrom('users').select(['id', 'totp_enrolled_at']).where('id', '=', userId).forUpdate().executeTakeFirst();
  if (!user) throw new NotFoundError('user');
  await scope.trx
    .updateTable('users')
    .set({ totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null, updated_at: new Date() })
    .where('id', '=', user.id)
    .execute();
  await scope.trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
  await recordAudit(scope, { action: 'mfa.reset', target: { type: 'user', id: user.id }, changes: { enrolled: { before: user.totp_enrolled_at !== null, after: false } } });
  await revokeSessions(scope, 'mfa reset', user.id);
}
