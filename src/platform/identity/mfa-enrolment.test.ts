import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { systemMeta } from '../tenancy/tenant-scope.ts';
import { acceptInvitation, signIn } from './accounts.ts';
import { currentTotp } from './mfa/index.ts';
import {
  confirmTotpEnrolment,
  passMfaChallenge,
  regenerateRecoveryCodes,
  resetUserMfa,
  startTotpEnrolment,
} from './mfa-enrolment.ts';
import { loadSession, resolveSessionTenant, type SessionContext } from './sessions.ts';
import { TooManyAttemptsError } from './throttle.ts';
import { inviteUser } from './users.ts';

const GOOD = 'Quartz-Lantern-47-Harbour';
const WRONG_CODE = 'is not the current code from your authenticator app';
const meta = (ip = '192.0.2.50') => ({ ...systemMeta('test'), ip, userAgent: 'TestBrowser/1' });
/** The code the app shows half a minute from now: a later step, within the accepted drift. */
const nextCode = (secret: string) => currentTotp(secret, new Date(Date.now() + 30_000));
/** A six-digit code that is none of the codes accepted right now. */
function notACurrentCode(secret: string): string {
  const accepted = [-30_000, 0, 30_000].map((offset) => currentTotp(secret, new Date(Date.now() + offset)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!accepted.includes(code)) return code;
  }
}

let platform: TestPlatform;
let school: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  school = await createTestOrganisation(platform, { kind: 'school' });
});
afterAll(async () => platform?.close());

async function activeUser() {
  const email = fakePerson().email;
  const invitation = await asSystem(platform, school.id, (scope) => inviteUser(scope, { email }, 'http://x'));
  await acceptInvitation(platform, { token: invitation.inviteUrl.split('/').pop()!, password: GOOD }, meta());
  return { email, userId: invitation.userId };
}

/** Signs in with the password: a session whose second factor is not yet verified. */
async function signedIn(email: string, ip?: string) {
  const result = await signIn(platform, { email, password: GOOD }, meta(ip));
  if (result.outcome !== 'signed-in') throw new Error('expected a session');
  const context: SessionContext = { tenantId: result.tenantId, userId: result.userId, sessionId: result.session.sessionId, meta: meta(ip) };
  return { context, session: result.session, mfa: result.mfa };
}

/** A user who has set up their authenticator: its secret, their recovery codes, their verified session. */
async function enrolledUser() {
  const user = await activeUser();
  const { context } = await signedIn(user.email);
  const { secret } = await startTotpEnrolment(platform, context);
  const confirmedWith = currentTotp(secret);
  const confirmed = await confirmTotpEnrolment(platform, context, { code: confirmedWith });
  return { ...user, secret, confirmedWith, ...confirmed };
}

const isLive = async (token: string) => (await resolveSessionTenant(platform.db.app, token)) !== undefined;
const sessionOf = (sessionId: string) => asSystem(platform, school.id, (scope) => loadSession(scope, sessionId));

describe('setting up an authenticator app', () => {
  it('gives a secret, an otpauth URI for the user and a QR code; the secret is sealed at rest', async () => {
    const { email, userId } = await activeUser();
    const { context, mfa } = await signedIn(email);
    expect(mfa).toBe('enrol');
    const enrolment = await startTotpEnrolment(platform, context);
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.uri);
    expect(decodeURIComponent(uri.pathname)).toBe(`/Custos:${email}`);
    expect(uri.searchParams.get('issuer')).toBe('Custos');
    expect(uri.searchParams.get('secret')).toBe(enrolment.secret);
    expect(enrolment.qrSvg).toMatch(/^<svg[^>]*role="img"/);
    const row = await platform.db.owner.selectFrom('users').select(['totp_secret_enc', 'totp_enrolled_at']).where('id', '=', userId).executeTakeFirstOrThrow();
    expect(row.totp_enrolled_at).toBeNull();
    expect(row.totp_secret_enc).toBeTruthy();
    expect(row.totp_secret_enc).not.toContain(enrolment.secret);
  });

  it('confirms with the current code: enrolled, 10 hashed recovery codes, and a new verified session', async () => {
    const { email, userId } = await activeUser();
    const { context, session: before } = await signedIn(email);
    const { secret } = await startTotpEnrolment(platform, context);
    const { session, recoveryCodes } = await confirmTotpEnrolment(platform, context, { code: currentTotp(secret) });

    expect(recoveryCodes).toHaveLength(10);
    const stored = await platform.db.owner.selectFrom('recovery_codes').select(['code_hash', 'used_at']).where('user_id', '=', userId).execute();
    expect(stored).toHaveLength(10);
    for (const code of recoveryCodes) expect(JSON.stringify(stored)).not.toContain(code.replace(/-/g, ''));
    const user = await platform.db.owner.selectFrom('users').select(['totp_enrolled_at', 'totp_last_step']).where('id', '=', userId).executeTakeFirstOrThrow();
    expect(user.totp_enrolled_at).not.toBeNull();
    expect(user.totp_last_step).not.toBeNull();

    expect(session.sessionId).not.toBe(before.sessionId);
    expect(await isLive(before.token)).toBe(false);
    expect(await sessionOf(session.sessionId)).toMatchObject({ userId, mfaVerified: true });
    const audit = await asSystem(platform, school.id, (scope) => listAudit(scope, { action: 'mfa.enrolled' }));
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: userId, targetId: userId });
    // From now on the password alone leads to the challenge.
    expect((await signedIn(email)).mfa).toBe('challenge');
  });

  it('refuses a wrong code, and confirmation before any start', async () => {
    const { email } = await activeUser();
    const { context } = await signedIn(email);
    await expect(confirmTotpEnrolment(platform, context, { code: '123456' })).rejects.toBeInstanceOf(ConflictError);
    const { secret } = await startTotpEnrolment(platform, context);
    const wrong = await confirmTotpEnrolment(platform, context, { code: notACurrentCode(secret) }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ValidationError);
    expect((wrong as ValidationError).errors).toEqual([{ field: 'code', reason: WRONG_CODE }]);
    // Still not enrolled, and the session is still the unverified one.
    expect(await sessionOf(context.sessionId)).toMatchObject({ mfaVerified: false });
  });

  it('a restart replaces the pending secret: only the latest one confirms', async () => {
    const { email } = await activeUser();
    const { context } = await signedIn(email);
    const first = await startTotpEnrolment(platform, context);
    const second = await startTotpEnrolment(platform, context);
    expect(second.secret).not.toBe(first.secret);
    await expect(confirmTotpEnrolment(platform, context, { code: currentTotp(first.secret) })).rejects.toBeInstanceOf(ValidationError);
    await expect(confirmTotpEnrolment(platform, context, { code: currentTotp(second.secret) })).resolves.toMatchObject({ recoveryCodes: expect.any(Array) });
  });

  it('cannot be started or confirmed again once enrolled', async () => {
    const { session, userId, secret } = await enrolledUser();
    const context: SessionContext = { tenantId: school.id, userId, sessionId: session.sessionId, meta: meta() };
    await expect(startTotpEnrolment(platform, context)).rejects.toThrow(new ConflictError('MFA is already set up for this account'));
    await expect(confirmTotpEnrolment(platform, context, { code: nextCode(secret) })).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('the MFA step at sign-in', () => {
  it('accepts a fresh code once: the code used at set-up is refused as a replay, a wrong one alike', async () => {
    const { email, userId, secret, confirmedWith } = await enrolledUser();
    const { context, session: before, mfa } = await signedIn(email);
    expect(mfa).toBe('challenge');
    const replayed = await passMfaChallenge(platform, context, { code: confirmedWith }).catch((e: unknown) => e);
    const wrong = await passMfaChallenge(platform, context, { code: notACurrentCode(secret) }).catch((e: unknown) => e);
    expect(replayed).toBeInstanceOf(ValidationError);
    expect(wrong).toBeInstanceOf(ValidationError);
    expect((replayed as ValidationError).errors).toEqual([{ field: 'code', reason: WRONG_CODE }]);
    expect((wrong as ValidationError).errors).toEqual((replayed as ValidationError).errors);

    const code = nextCode(secret);
    const passed = await passMfaChallenge(platform, context, { code });
    expect(passed.recoveryCodesLeft).toBe(10);
    expect(passed.session.sessionId).not.toBe(before.sessionId);
    expect(await isLive(before.token)).toBe(false);
    expect(await sessionOf(passed.session.sessionId)).toMatchObject({ userId, mfaVerified: true });
    const audit = await asSystem(platform, school.id, (scope) => listAudit(scope, { action: 'mfa.passed' }));
    expect(audit[0]).toMatchObject({ targetId: userId, changes: { method: { after: 'totp' } } });

    // The same code a second later, on another sign-in: refused.
    const again = await signedIn(email);
    await expect(passMfaChallenge(platform, again.context, { code })).rejects.toMatchObject({ errors: [{ field: 'code', reason: WRONG_CODE }] });
  });

  it('accepts each recovery code once', async () => {
    const { email, recoveryCodes } = await enrolledUser();
    const first = await signedIn(email);
    const passed = await passMfaChallenge(platform, first.context, { recoveryCode: recoveryCodes[0]!.toUpperCase() });
    expect(passed.recoveryCodesLeft).toBe(9);
    expect(await isLive(first.session.token)).toBe(false);

    const second = await signedIn(email);
    await expect(passMfaChallenge(platform, second.context, { recoveryCode: recoveryCodes[0]! })).rejects.toMatchObject({
      errors: [{ field: 'recoveryCode', reason: expect.any(String) }],
    });
    await expect(passMfaChallenge(platform, second.context, { recoveryCode: recoveryCodes[1]! })).resolves.toMatchObject({ recoveryCodesLeft: 8 });
    const audit = await asSystem(platform, school.id, (scope) => listAudit(scope, { action: 'mfa.passed' }));
    expect(audit[0]).toMatchObject({ changes: { method: { after: 'recovery_code' } } });
  });

  it('wants exactly one of a code and a recovery code, and an enrolled user', async () => {
    const { email, secret, recoveryCodes } = await enrolledUser();
    const { context } = await signedIn(email);
    await expect(passMfaChallenge(platform, context, {})).rejects.toMatchObject({ errors: [{ field: 'code' }] });
    await expect(passMfaChallenge(platform, context, { code: nextCode(secret), recoveryCode: recoveryCodes[0]! })).rejects.toMatchObject({
      errors: [{ field: 'recoveryCode' }],
    });
    const notEnrolled = await activeUser();
    const other = await signedIn(notEnrolled.email);
    await expect(passMfaChallenge(platform, other.context, { code: '123456' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses a session that has ended', async () => {
    const { email, secret } = await enrolledUser();
    const { context } = await signedIn(email);
    await asSystem(platform, school.id, (scope) => scope.trx.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', context.sessionId).execute());
    await expect(passMfaChallenge(platform, context, { code: nextCode(secret) })).rejects.toMatchObject({ status: 401 });
  });

  it('throttles guessing: after 5 wrong codes from one address even the right one is refused there', async () => {
    const { email, secret } = await enrolledUser();
    const guesser = '198.51.100.60';
    const { context } = await signedIn(email, guesser);
    for (let i = 0; i < 5; i++) {
      await expect(passMfaChallenge(platform, context, { code: notACurrentCode(secret) })).rejects.toBeInstanceOf(ValidationError);
    }
    const refused = await passMfaChallenge(platform, context, { code: nextCode(secret) }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyAttemptsError);
    expect((refused as TooManyAttemptsError).status).toBe(429);
    // The refusal came before the code was looked at: the session is still the unverified one.
    expect(await sessionOf(context.sessionId)).toMatchObject({ mfaVerified: false });
  });
});

describe('recovery codes and resets', () => {
  it('regenerates recovery codes with a current code: the old set stops working', async () => {
    const { email, userId, secret, session, recoveryCodes: old } = await enrolledUser();
    const context: SessionContext = { tenantId: school.id, userId, sessionId: session.sessionId, meta: meta() };
    await expect(regenerateRecoveryCodes(platform, context, { code: notACurrentCode(secret) })).rejects.toMatchObject({ errors: [{ field: 'code' }] });
    const fresh = await regenerateRecoveryCodes(platform, context, { code: nextCode(secret) });
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((code) => old.includes(code))).toEqual([]);

    const next = await signedIn(email);
    await expect(passMfaChallenge(platform, next.context, { recoveryCode: old[0]! })).rejects.toBeInstanceOf(ValidationError);
    await expect(passMfaChallenge(platform, next.context, { recoveryCode: fresh[0]! })).resolves.toMatchObject({ recoveryCodesLeft: 9 });
    const audit = await asSystem(platform, school.id, (scope) => listAudit(scope, { action: 'mfa.recovery_codes_regenerated' }));
    expect(audit[0]).toMatchObject({ actorId: userId, targetId: userId });
  });

  it("an admin's reset clears the authenticator and recovery codes and ends the user's sessions", async () => {
    const { email, userId, session } = await enrolledUser();
    expect(await isLive(session.token)).toBe(true);
    await asSystem(platform, school.id, (scope) => resetUserMfa(scope, userId));

    const user = await platform.db.owner
      .selectFrom('users')
      .select(['totp_secret_enc', 'totp_enrolled_at', 'totp_last_step'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    expect(user).toEqual({ totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null });
    expect(await platform.db.owner.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute()).toEqual([]);
    expect(await isLive(session.token)).toBe(false);
    const revoked = await platform.db.owner.selectFrom('sessions').select('revoked_reason').where('id', '=', session.sessionId).executeTakeFirstOrThrow();
    expect(revoked.revoked_reason).toBe('mfa reset');
    const audit = await asSystem(platform, school.id, (scope) => listAudit(scope, { action: 'mfa.reset' }));
    expect(audit[0]).toMatchObject({ targetId: userId });

    // Their next sign-in goes through enrolment again.
    const next = await signedIn(email);
    expect(next.mfa).toBe('enrol');
    await expect(startTotpEnrolment(platform, next.context)).resolves.toMatchObject({ secret: expect.any(String) });
  });

  it('reports an unknown user, and does not reach into another organisation', async () => {
    await expect(asSystem(platform, school.id, (scope) => resetUserMfa(scope, crypto.randomUUID()))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asSystem(platform, school.id, (scope) => resetUserMfa(scope, 'not-an-id'))).rejects.toBeInstanceOf(NotFoundError);
    const { userId } = await enrolledUser();
    const other = await createTestOrganisation(platform, { kind: 'school' });
    await expect(asSystem(platform, other.id, (scope) => resetUserMfa(scope, userId))).rejects.toBeInstanceOf(NotFoundError);
    const user = await platform.db.owner.selectFrom('users').select('totp_enrolled_at').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(user.totp_enrolled_at).not.toBeNull();
  });
});
