import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { ValidationError } from '../errors.ts';
import { MAIL_JOB, type MailMessage } from '../mail/mail.ts';
import { systemMeta } from '../tenancy/tenant-scope.ts';
import { acceptInvitation, InvalidCredentialsError, InvalidLinkError, signIn } from './accounts.ts';
import { completePasswordReset, PASSWORD_RESET_REQUEST_FLOOR_MS, requestPasswordReset } from './password-reset.ts';
import { loadSession, resolveSessionTenant } from './sessions.ts';
import { TooManyAttemptsError } from './throttle.ts';
import { hashSecret } from './tokens.ts';
import { inviteUser } from './users.ts';

const GOOD = 'Quartz-Lantern-47-Harbour';
const NEWER = 'Velvet-Orchard-93-Comet';
const meta = (ip = '192.0.2.20') => ({ ...systemMeta('test'), ip, userAgent: 'TestBrowser/1' });
const LINK = /http:\/\/custos\.test\/reset-password\/([A-Za-z0-9_-]{43})/;

let platform: TestPlatform;
let practice: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  practice = await createTestOrganisation(platform, { kind: 'practice' });
});
afterAll(async () => platform?.close());

async function activeUser(org: TestOrganisation = practice, email = fakePerson().email) {
  const invitation = await asSystem(platform, org.id, (scope) => inviteUser(scope, { email }, 'http://x'));
  await acceptInvitation(platform, { token: invitation.inviteUrl.split('/').pop()!, password: GOOD }, meta());
  return { email, userId: invitation.userId };
}

/** Every queued mail job, opened the way the mail worker opens it (in its tenant's transaction). */
async function queuedMail(): Promise<MailMessage[]> {
  const rows = await sql<{ data: { tenantId: string; sealed: string } }>`
    select data from pgboss.job where name = ${MAIL_JOB} order by created_on, id`.execute(platform.db.owner);
  const messages: MailMessage[] = [];
  for (const { data } of rows.rows) {
    messages.push(await asSystem(platform, data.tenantId, async (scope) => JSON.parse(scope.cipher.open('mail.message', data.sealed)) as MailMessage));
  }
  return messages;
}

/** Asks for a reset and returns the mails it queued. */
async function requestAndCollect(email: string, ip?: string): Promise<MailMessage[]> {
  const before = (await queuedMail()).length;
  await requestPasswordReset(platform, { email }, meta(ip));
  return (await queuedMail()).slice(before);
}

const secretIn = (mail: MailMessage) => mail.text.match(LINK)![1]!;

describe('asking for a password reset', () => {
  it('emails a single-use link whose secret the database knows only by its hash', async () => {
    const { email, userId } = await activeUser();
    const mails = await requestAndCollect(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toBe(email);
    expect(mails[0]!.subject).toContain(practice.name);
    const secret = secretIn(mails[0]!);

    const rows = await platform.db.owner.selectFrom('password_resets').selectAll().where('user_id', '=', userId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(hashSecret(secret));
    expect(JSON.stringify(rows)).not.toContain(secret);
    const expiresInMinutes = (new Date(rows[0]!.expires_at).getTime() - Date.now()) / 60_000;
    expect(expiresInMinutes).toBeGreaterThan(58);
    expect(expiresInMinutes).toBeLessThanOrEqual(60);

    const audit = await asSystem(platform, practice.id, (scope) => listAudit(scope, { action: 'user.password_reset_requested' }));
    expect(audit[0]).toMatchObject({ targetId: userId });
    expect(JSON.stringify(audit[0])).not.toContain(email);
  });

  it('gives the same answer, in about the same time, for an unknown email, and queues no mail', async () => {
    const { email } = await activeUser();
    const unknown = `nobody.${Date.now()}@example.test`;
    expect(await requestAndCollect(email)).toHaveLength(1);
    expect(await requestAndCollect(unknown)).toEqual([]);
    const timed = async (address: string) => {
      const start = performance.now();
      const result = await requestPasswordReset(platform, { email: address }, meta('192.0.2.22'));
      return { result, ms: performance.now() - start };
    };
    // The fastest of three of each: on a busy test machine a single run measures the machine.
    const fastest = async (address: string) => {
      const runs = [await timed(address), await timed(address), await timed(address)];
      for (const run of runs) expect(run.result).toBeUndefined();
      return runs.reduce((best, run) => (run.ms < best.ms ? run : best));
    };
    const known = await fastest(email);
    const nobody = await fastest(unknown);
    // The writes for a real account fit inside the floor that every request is padded to.
    expect(known.ms).toBeGreaterThanOrEqual(PASSWORD_RESET_REQUEST_FLOOR_MS - 5);
    expect(nobody.ms).toBeGreaterThanOrEqual(PASSWORD_RESET_REQUEST_FLOOR_MS - 5);
    expect(Math.abs(known.ms - nobody.ms)).toBeLessThan(100);
  });

  it('sends nothing for an invited account that has not set a password yet, or a blank or silly address', async () => {
    const email = fakePerson().email;
    await asSystem(platform, practice.id, (scope) => inviteUser(scope, { email }, 'http://x'));
    expect(await requestAndCollect(email)).toEqual([]);
    expect(await requestAndCollect('')).toEqual([]);
    expect(await requestAndCollect(`${'a'.repeat(300)}@example.test`)).toEqual([]);
  });

  it('sends one link per organisation to someone with accounts in two', async () => {
    const school = await createTestOrganisation(platform, { kind: 'school' });
    const { email } = await activeUser(practice);
    await activeUser(school, email);
    const mails = await requestAndCollect(email.toUpperCase());
    expect(mails.map((m) => m.subject).sort()).toEqual([practice.name, school.name].map((n) => `Reset your Custos password for ${n}`).sort());
  });

  it('throttles repeated requests for one address from one client', async () => {
    const email = `target.${Date.now()}@example.test`;
    for (let i = 0; i < 10; i++) await requestPasswordReset(platform, { email }, meta('198.51.100.30'));
    await expect(requestPasswordReset(platform, { email }, meta('198.51.100.30'))).rejects.toBeInstanceOf(TooManyAttemptsError);
    // Someone else, elsewhere, is not held up by it.
    await expect(requestPasswordReset(platform, { email }, meta('203.0.113.30'))).resolves.toBeUndefined();
  });
});

describe('completing a password reset', () => {
  it('sets the new password once: the link cannot be used again', async () => {
    const { email, userId } = await activeUser();
    const [mail] = await requestAndCollect(email);
    const token = secretIn(mail!);
    await expect(completePasswordReset(platform, { token, password: NEWER }, meta())).resolves.toEqual({ tenantId: practice.id, userId });
    await expect(completePasswordReset(platform, { token, password: `${NEWER}!` }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    await expect(signIn(platform, { email, password: GOOD }, meta())).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(signIn(platform, { email, password: NEWER }, meta())).resolves.toMatchObject({ outcome: 'signed-in', userId });
    const audit = await asSystem(platform, practice.id, (scope) => listAudit(scope, { action: 'user.password_reset' }));
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: userId, targetId: userId, changes: { password: { changed: true, personal: true } } });
  });

  it('refuses a link that has expired, a made-up one and one replaced by a newer request', async () => {
    const { email, userId } = await activeUser();
    const [first] = await requestAndCollect(email);
    const [second] = await requestAndCollect(email);
    await expect(completePasswordReset(platform, { token: secretIn(first!), password: NEWER }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    await expect(completePasswordReset(platform, { token: 'A'.repeat(43), password: NEWER }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    await asSystem(platform, practice.id, (scope) =>
      scope.trx.updateTable('password_resets').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', userId).execute(),
    );
    await expect(completePasswordReset(platform, { token: secretIn(second!), password: NEWER }, meta())).rejects.toBeInstanceOf(InvalidLinkError);
    await expect(signIn(platform, { email, password: GOOD }, meta())).resolves.toMatchObject({ outcome: 'signed-in' });
  });

  it('signs the user out everywhere and signs no one in', async () => {
    const { email, userId } = await activeUser();
    const signedIn = await signIn(platform, { email, password: GOOD }, meta());
    if (signedIn.outcome !== 'signed-in') throw new Error('expected a session');
    const [mail] = await requestAndCollect(email);
    await completePasswordReset(platform, { token: secretIn(mail!), password: NEWER }, meta());
    expect(await resolveSessionTenant(platform.db.app, signedIn.session.token)).toBeUndefined();
    expect(await asSystem(platform, practice.id, (scope) => loadSession(scope, signedIn.session.sessionId))).toBeUndefined();
    const live = await platform.db.owner.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    expect(live).toEqual([]);
    const revoked = await platform.db.owner.selectFrom('sessions').select('revoked_reason').where('id', '=', signedIn.session.sessionId).executeTakeFirstOrThrow();
    expect(revoked.revoked_reason).toBe('password changed');
  });

  it('refuses a weak password naming the field, and changes nothing', async () => {
    const { email, userId } = await activeUser();
    const [mail] = await requestAndCollect(email);
    const token = secretIn(mail!);
    const hashBefore = await platform.db.owner.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    for (const weak of ['short1!', 'Password1!', '']) {
      const error = await completePasswordReset(platform, { token, password: weak }, meta()).catch((e: unknown) => e);
      expect(error, weak).toBeInstanceOf(ValidationError);
      const fields = (error as ValidationError).errors!.map((e) => e.field);
      expect(fields.length, weak).toBeGreaterThan(0);
      expect(new Set(fields), weak).toEqual(new Set(['password']));
    }
    const hashAfter = await platform.db.owner.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(hashAfter).toEqual(hashBefore);
    const reset = await platform.db.owner.selectFrom('password_resets').select('used_at').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(reset.used_at).toBeNull();
    // The link still works.
    await expect(completePasswordReset(platform, { token, password: NEWER }, meta())).resolves.toMatchObject({ userId });
  });

  it('throttles guessing links from one address: after 100 wrong ones even a real link is refused there', async () => {
    const { email } = await activeUser();
    const [mail] = await requestAndCollect(email);
    const guesser = '198.51.100.40';
    for (let i = 0; i < 100; i++) {
      await expect(completePasswordReset(platform, { token: `guess${String(i).padStart(38, '0')}`, password: NEWER }, meta(guesser))).rejects.toBeInstanceOf(
        InvalidLinkError,
      );
    }
    await expect(completePasswordReset(platform, { token: secretIn(mail!), password: NEWER }, meta(guesser))).rejects.toBeInstanceOf(TooManyAttemptsError);
    await expect(completePasswordReset(platform, { token: secretIn(mail!), password: NEWER }, meta('203.0.113.40'))).resolves.toBeDefined();
  });
});
