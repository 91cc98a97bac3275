import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { disableUser } from '../access/user-roles.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { ValidationError } from '../errors.ts';
import { systemMeta } from '../tenancy/tenant-scope.ts';
import { acceptInvitation, changePassword, InvalidCredentialsError, InvalidLinkError, signIn } from './accounts.ts';
import { createSession, loadSession, resolveSessionTenant, type SessionContext } from './sessions.ts';
import { TooManyAttemptsError } from './throttle.ts';
import { getUser, inviteUser } from './users.ts';

const GOOD = 'Quartz-Lantern-47-Harbour';
const meta = () => ({ ...systemMeta('test'), ip: '192.0.2.10', userAgent: 'TestBrowser/1' });
const secretOf = (inviteUrl: string) => inviteUrl.split('/').pop()!;

let platform: TestPlatform;
let school: TestOrganisation;
let practice: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  school = await createTestOrganisation(platform, { kind: 'school' });
  practice = await createTestOrganisation(platform, { kind: 'practice' });
});
afterAll(async () => platform?.close());

describe('accepting an invitation', () => {
  it('refuses a weak password naming the field, and changes nothing', async () => {
    const person = { email: fakePerson().email, name: 'Marnie Thornwhistle' };
    const invitation = await asSystem(platform, school.id, (scope) => inviteUser(scope, { email: person.email, displayName: person.name }, 'http://x'));
    for (const weak of ['short1!', 'alllowercase-no-digits', 'Password1!', 'Thornwhistle-Harbour-47']) {
      const attempt = acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: weak }, meta());
      await expect(attempt, weak).rejects.toBeInstanceOf(ValidationError);
      await expect(attempt).rejects.toMatchObject({ errors: expect.arrayContaining([expect.objectContaining({ field: 'password' })]) });
    }
    const user = await asSystem(platform, school.id, (scope) => getUser(scope, invitation.userId));
    expect(user.status).toBe('invited');
    // The link still works: nothing was used up.
    await expect(acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta())).resolves.toMatchObject({ userId: invitation.userId });
  });

  it('sets the password once: the link cannot be used again, and a made-up link is refused alike', async () => {
    const invitation = await asSystem(platform, school.id, (scope) => inviteUser(scope, { email: fakePerson().email }, 'http://x'));
    await acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta());
    expect((await asSystem(platform, school.id, (scope) => getUser(scope, invitation.userId))).status).toBe('active');
    await expect(acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    await expect(acceptInvitation(platform, { token: 'A'.repeat(43), password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    const raw = await platform.db.owner.selectFrom('users').select('password_hash').where('id', '=', invitation.userId).executeTakeFirstOrThrow();
    expect(raw.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses an expired invitation', async () => {
    const invitation = await asSystem(platform, school.id, (scope) => inviteUser(scope, { email: fakePerson().email }, 'http://x'));
    await platform.db.owner.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', invitation.userId).execute();
    await expect(acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
  });
});

describe('signing in', () => {
  async function activeUser(org: TestOrganisation, email = fakePerson().email) {
    const invitation = await asSystem(platform, org.id, (scope) => inviteUser(scope, { email }, 'http://x'));
    await acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta());
    return { email, userId: invitation.userId };
  }

  it('gives the same answer for a wrong password and for an unknown email', async () => {
    const { email } = await activeUser(school);
    const wrong = await signIn(platform, { email, password: `${GOOD}x` }, meta()).catch((e) => e);
    const unknown = await signIn(platform, { email: 'nobody@example.test', password: GOOD }, meta()).catch((e) => e);
    expect(wrong).toBeInstanceOf(InvalidCredentialsError);
    expect(unknown).toBeInstanceOf(InvalidCredentialsError);
    expect(wrong.message).toBe(unknown.message);
  });

  it('says what MFA asks of the user (enrol at a school, nothing at a practice); no session starts MFA-verified on a password', async () => {
    const teacher = await activeUser(school);
    const atSchool = await signIn(platform, { email: teacher.email.toUpperCase(), password: GOOD }, meta());
    expect(atSchool).toMatchObject({ outcome: 'signed-in', tenantId: school.id, userId: teacher.userId, mfa: 'enrol' });
    if (atSchool.outcome !== 'signed-in') throw new Error('expected a session');
    expect(await asSystem(platform, school.id, (scope) => loadSession(scope, atSchool.session.sessionId))).toMatchObject({ mfaVerified: false });

    // mfa_verified_at records a second factor actually passed: none was, even where none is required.
    const accountant = await activeUser(practice);
    const atPractice = await signIn(platform, { email: accountant.email, password: GOOD }, meta());
    expect(atPractice).toMatchObject({ outcome: 'signed-in', mfa: 'not-required' });
    if (atPractice.outcome !== 'signed-in') throw new Error('expected a session');
    expect(await asSystem(platform, practice.id, (scope) => loadSession(scope, atPractice.session.sessionId))).toMatchObject({ mfaVerified: false });
  });

  it('notes the device signed in from', async () => {
    const { email, userId } = await activeUser(practice);
    await signIn(platform, { email, password: GOOD }, meta());
    const devices = await platform.db.owner.selectFrom('known_devices').select('device_hash').where('user_id', '=', userId).execute();
    expect(devices).toHaveLength(1);
  });

  it('asks which organisation when the same person has accounts in two', async () => {
    const email = fakePerson().email;
    await activeUser(school, email);
    await activeUser(practice, email);
    const answer = await signIn(platform, { email, password: GOOD }, meta());
    expect(answer.outcome).toBe('choose-organisation');
    if (answer.outcome !== 'choose-organisation') return;
    expect(answer.organisations.map((o) => o.id).sort()).toEqual([school.id, practice.id].sort());
    await expect(signIn(platform, { email, password: GOOD, organisationId: practice.id }, meta())).resolves.toMatchObject({ tenantId: practice.id });
  });

  it('throttles guessing: after 10 wrong passwords from one address even the right one is refused there', async () => {
    const { email } = await activeUser(practice);
    const from = (ip: string) => ({ ...meta(), ip });
    for (let i = 0; i < 10; i++) {
      await expect(signIn(platform, { email, password: `Wrong-guess-${i}!` }, from('198.51.100.7'))).rejects.toBeInstanceOf(InvalidCredentialsError);
    }
    await expect(signIn(platform, { email, password: GOOD }, from('198.51.100.7'))).rejects.toBeInstanceOf(TooManyAttemptsError);
    // Another address is not locked out by someone else's guessing (until the account lockout).
    await expect(signIn(platform, { email, password: GOOD }, from('203.0.113.9'))).resolves.toMatchObject({ outcome: 'signed-in' });
  });

  it('refuses a disabled user', async () => {
    const { email, userId } = await activeUser(practice);
    await asSystem(platform, practice.id, async (scope) => {
      await scope.trx.insertInto('users').values({ tenant_id: practice.id, email_enc: 'x', email_bidx: `second-admin-${userId}`, role: 'admin', status: 'active' }).execute();
      await disableUser(scope, userId);
    });
    await expect(signIn(platform, { email, password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidCredentialsError);
  });
});

describe('changing one\'s password', () => {
  const NEWER = 'Velvet-Orchard-93-Comet';

  async function signedInTwice(org: TestOrganisation) {
    const invitation = await asSystem(platform, org.id, (scope) => inviteUser(scope, { email: fakePerson().email }, 'http://x'));
    await acceptInvitation(platform, { token: secretOf(invitation.inviteUrl), password: GOOD }, meta());
    const email = (await asSystem(platform, org.id, (scope) => getUser(scope, invitation.userId))).email;
    const sessions = [];
    for (let i = 0; i < 2; i++) {
      const result = await signIn(platform, { email, password: GOOD }, meta());
      if (result.outcome !== 'signed-in') throw new Error('expected a session');
      sessions.push(result.session);
    }
    const here: SessionContext = { tenantId: org.id, userId: invitation.userId, sessionId: sessions[0]!.sessionId, meta: meta() };
    return { email, userId: invitation.userId, here, sessions };
  }
  const isLive = async (token: string) => (await resolveSessionTenant(platform.db.app, token)) !== undefined;

  it('ends every session, this one included, and gives this browser a new live one', async () => {
    const { email, userId, here, sessions } = await signedInTwice(practice);
    const fresh = await changePassword(platform, here, { currentPassword: GOOD, newPassword: NEWER });
    for (const old of sessions) expect(await isLive(old.token)).toBe(false);
    expect(fresh.sessionId).not.toBe(here.sessionId);
    expect(await resolveSessionTenant(platform.db.app, fresh.token)).toEqual({ tenantId: practice.id, sessionId: fresh.sessionId });
    expect(await asSystem(platform, practice.id, (scope) => loadSession(scope, fresh.sessionId))).toMatchObject({ userId, mfaVerified: false });
    await expect(signIn(platform, { email, password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(signIn(platform, { email, password: NEWER }, meta())).resolves.toMatchObject({ outcome: 'signed-in' });
    const audit = await asSystem(platform, practice.id, (scope) => listAudit(scope, { action: 'user.password_changed' }));
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: userId, targetId: userId, changes: { password: { changed: true, personal: true } } });
  });

  it('keeps a passed second factor for this browser', async () => {
    const { userId } = await signedInTwice(school);
    const verified = await asSystem(platform, school.id, (scope) => createSession(scope, userId, { mfaVerified: true }));
    const here: SessionContext = { tenantId: school.id, userId, sessionId: verified.sessionId, meta: meta() };
    const fresh = await changePassword(platform, here, { currentPassword: GOOD, newPassword: NEWER });
    expect(await asSystem(platform, school.id, (scope) => loadSession(scope, fresh.sessionId))).toMatchObject({ mfaVerified: true });
  });

  it('refuses a wrong current password or a weak new one, naming the field, and changes nothing', async () => {
    const { email, userId, here, sessions } = await signedInTwice(practice);
    const hashBefore = await platform.db.owner.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    await expect(changePassword(platform, here, { currentPassword: `${GOOD}x`, newPassword: NEWER })).rejects.toMatchObject({
      errors: [{ field: 'currentPassword', reason: 'is not your current password' }],
    });
    const weak = await changePassword(platform, here, { currentPassword: GOOD, newPassword: 'Password1!' }).catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(ValidationError);
    expect(new Set((weak as ValidationError).errors!.map((e) => e.field))).toEqual(new Set(['newPassword']));
    const hashAfter = await platform.db.owner.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(hashAfter).toEqual(hashBefore);
    for (const session of sessions) expect(await isLive(session.token)).toBe(true);
    await expect(signIn(platform, { email, password: GOOD }, meta())).resolves.toMatchObject({ outcome: 'signed-in' });
  });

  it('throttles guessing the current password on a stolen session', async () => {
    const { here } = await signedInTwice(practice);
    const from = { ...here, meta: { ...meta(), ip: '198.51.100.70' } };
    for (let i = 0; i < 10; i++) {
      await expect(changePassword(platform, from, { currentPassword: `Guess-${i}-Wrong!`, newPassword: NEWER })).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(changePassword(platform, from, { currentPassword: GOOD, newPassword: NEWER })).rejects.toBeInstanceOf(TooManyAttemptsError);
  });

  it('refuses a session that has ended', async () => {
    const { here } = await signedInTwice(practice);
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', here.sessionId).execute());
    await expect(changePassword(platform, here, { currentPassword: GOOD, newPassword: NEWER })).rejects.toMatchObject({ status: 401 });
  });
});
