import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { disableUser } from '../access/user-roles.ts';
import { ValidationError } from '../errors.ts';
import { systemMeta } from '../tenancy/tenant-scope.ts';
import { acceptInvitation, InvalidCredentialsError, InvalidLinkError, signIn } from './accounts.ts';
import { loadSession } from './sessions.ts';
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

  it('starts an unverified session where MFA is required (schools), a full one where it is not (practices)', async () => {
    const teacher = await activeUser(school);
    const atSchool = await signIn(platform, { email: teacher.email.toUpperCase(), password: GOOD }, meta());
    expect(atSchool).toMatchObject({ outcome: 'signed-in', tenantId: school.id, userId: teacher.userId, mfa: 'enrol' });
    if (atSchool.outcome !== 'signed-in') throw new Error('expected a session');
    expect(await asSystem(platform, school.id, (scope) => loadSession(scope, atSchool.session.sessionId))).toMatchObject({ mfaVerified: false });

    const accountant = await activeUser(practice);
    const atPractice = await signIn(platform, { email: accountant.email, password: GOOD }, meta());
    expect(atPractice).toMatchObject({ outcome: 'signed-in', mfa: 'not-required' });
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
