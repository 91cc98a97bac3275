import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { mailText, startSmtpServer } from '../../../test/smtp.ts';
import { currentTotp } from '../../platform/identity/mfa/index.ts';
import { buildServer } from '../server.ts';
import { bearer, expectProblem, sessionCookieFrom } from '../testing.ts';

/**
 * The web sign-in journey through the HTTP API: invitation → password → sign-in → MFA enrolment →
 * sign-out → sign-in with the second factor, plus the ways each step refuses. Real argon2, real
 * TOTP, real SMTP for the reset link.
 */
let platform: TestPlatform;
let app: FastifyInstance;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let school: TestOrganisation;
const PASSWORD = 'Kettle-Orchard-93!';

/** A browser's view of one session: its cookies, sent back as a browser would. */
class Browser {
  cookies = new Map<string, string>();
  remember(response: LightMyRequestResponse) {
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.maxAge !== undefined && cookie.maxAge <= 0) || (cookie.expires && cookie.expires.getTime() < Date.now())) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }
  headers(method: string): Record<string, string> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const csrf = this.cookies.get('custos_csrf');
    return { ...(cookie ? { cookie } : {}), ...(method !== 'GET' && csrf ? { 'x-csrf-token': csrf } : {}) };
  }
  async call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) {
    const response = await app.inject({ method, url, payload, headers: this.headers(method) });
    this.remember(response);
    return response;
  }
}

async function signIn(email: string, password = PASSWORD) {
  const browser = new Browser();
  const response = await browser.call('POST', '/api/v1/auth/sign-in', { email, password });
  return { browser, response };
}

function tokenOf(link: string): string {
  return link.split('/').at(-1)!;
}

beforeAll(async () => {
  smtp = await startSmtpServer();
  platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url } });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  school = await createTestOrganisation(platform);
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
  await smtp?.close();
});

describe('invitation, sign-in and MFA enrolment', () => {
  let secret: string;
  let enrolmentCode: string;
  let recoveryCodes: string[];

  it('accepts an invitation only with an acceptable password, and only once', async () => {
    const token = tokenOf(school.inviteUrl);
    const weak = expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token, password: 'password' } }), 400);
    expect(weak.errors?.[0]?.field).toBe('password');
    const accepted = await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token, password: PASSWORD } });
    expect(accepted.statusCode, accepted.body).toBe(204);
    const again = expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token, password: PASSWORD } }), 400);
    expect(again.type).toMatch(/invalid-link$/);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const wrong = expectProblem((await signIn(school.adminEmail, 'Wrong-Password-1!')).response, 401);
    const unknown = expectProblem((await signIn(fakePerson().email, 'Wrong-Password-1!')).response, 401);
    expect({ ...wrong, requestId: '' }).toEqual({ ...unknown, requestId: '' });
    expect(wrong.type).toMatch(/invalid-credentials$/);
  });

  it('signs in with HttpOnly, SameSite=Strict cookies, and allows only the MFA step until it is done', async () => {
    const { browser, response } = await signIn(school.adminEmail);
    expect(response.json()).toEqual({ outcome: 'signed-in', mfa: 'enrol' });
    const session = response.cookies.find((c) => c.name === 'custos_session')!;
    const csrf = response.cookies.find((c) => c.name === 'custos_csrf')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session.secure).toBeFalsy();
    expect(csrf.httpOnly).toBeFalsy();
    expect(session.value).not.toBe(csrf.value);

    expect(expectProblem(await browser.call('GET', '/api/v1/users'), 403).type).toMatch(/mfa-required$/);
    const described = await browser.call('GET', '/api/v1/auth/session');
    expect(described.json()).toMatchObject({
      user: { id: school.adminUserId, email: school.adminEmail, role: 'admin' },
      organisation: { id: school.id },
      mfa: { required: true, enrolled: false, verified: false },
      permissions: [],
    });

    const enrolment = await browser.call('POST', '/api/v1/auth/mfa/totp/enrolment');
    expect(enrolment.statusCode, enrolment.body).toBe(200);
    secret = enrolment.json().secret;
    expect(enrolment.json().uri).toMatch(/^otpauth:\/\/totp\//);
    expect(enrolment.json().qrSvg).toMatch(/^<svg role="img"/);

    const wrongCode = expectProblem(await browser.call('POST', '/api/v1/auth/mfa/totp/enrolment/confirm', { code: currentTotp(secret).replace(/./, (d) => String((Number(d) + 1) % 10)) }), 400);
    expect(wrongCode.errors?.[0]?.field).toBe('code');

    const before = browser.cookies.get('custos_session')!;
    enrolmentCode = currentTotp(secret);
    const confirmed = await browser.call('POST', '/api/v1/auth/mfa/totp/enrolment/confirm', { code: enrolmentCode });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    recoveryCodes = confirmed.json().recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);
    // A new session id after MFA: the pre-MFA cookie is worth nothing now.
    expect(browser.cookies.get('custos_session')).not.toBe(before);
    expectProblem(await app.inject({ url: '/api/v1/auth/session', headers: { cookie: `custos_session=${before}` } }), 401);

    const users = await browser.call('GET', '/api/v1/users');
    expect(users.statusCode).toBe(200);
    expect((await browser.call('GET', '/api/v1/auth/session')).json().permissions).toContain('users.manage');
    expectProblem(await browser.call('POST', '/api/v1/auth/mfa/totp/enrolment'), 409);
  });

  it('ends the session a browser held when it signs in again', async () => {
    const { browser } = await signIn(school.adminEmail);
    const first = browser.cookies.get('custos_session')!;
    const again = await browser.call('POST', '/api/v1/auth/sign-in', { email: school.adminEmail, password: PASSWORD });
    expect(again.statusCode).toBe(200);
    expect(browser.cookies.get('custos_session')).not.toBe(first);
    expectProblem(await app.inject({ url: '/api/v1/auth/session', headers: { cookie: `custos_session=${first}` } }), 401);
  });

  it('signs out: the cookie is cleared and no longer admits', async () => {
    const { browser } = await signIn(school.adminEmail);
    const cookie = browser.cookies.get('custos_session')!;
    const out = await browser.call('POST', '/api/v1/auth/sign-out');
    expect(out.statusCode).toBe(204);
    expect(sessionCookieFrom(platform, out)).toBeUndefined();
    expect(browser.cookies.has('custos_session')).toBe(false);
    expectProblem(await app.inject({ url: '/api/v1/auth/session', headers: { cookie: `custos_session=${cookie}` } }), 401);
  });

  it('asks an enrolled user for a code at sign-in; a code works once, a recovery code works once', async () => {
    const first = await signIn(school.adminEmail);
    expect(first.response.json()).toEqual({ outcome: 'signed-in', mfa: 'challenge' });
    // The code used at enrolment, in the same 30-second step or the next: refused as a replay.
    const replay = expectProblem(await first.browser.call('POST', '/api/v1/auth/mfa/challenge', { code: enrolmentCode }), 400);
    expect(replay.errors?.[0]?.field).toBe('code');
    const viaRecovery = await first.browser.call('POST', '/api/v1/auth/mfa/challenge', { recoveryCode: recoveryCodes[0] });
    expect(viaRecovery.json()).toEqual({ recoveryCodesLeft: 9 });
    expect((await first.browser.call('GET', '/api/v1/users')).statusCode).toBe(200);

    const second = await signIn(school.adminEmail);
    const reused = expectProblem(await second.browser.call('POST', '/api/v1/auth/mfa/challenge', { recoveryCode: recoveryCodes[0] }), 400);
    expect(reused.errors?.[0]?.field).toBe('recoveryCode');
    expect(expectProblem(await second.browser.call('GET', '/api/v1/users'), 403).type).toMatch(/mfa-required$/);
  });

  it('changing the password ends every other session and keeps this browser signed in', async () => {
    const other = await signIn(school.adminEmail);
    await other.browser.call('POST', '/api/v1/auth/mfa/challenge', { recoveryCode: recoveryCodes[1] });
    const here = await signIn(school.adminEmail);
    await here.browser.call('POST', '/api/v1/auth/mfa/challenge', { recoveryCode: recoveryCodes[2] });
    expect((await other.browser.call('GET', '/api/v1/users')).statusCode).toBe(200);

    const wrong = expectProblem(await here.browser.call('POST', '/api/v1/auth/password', { currentPassword: 'Not-It-123!', newPassword: 'Lantern-Meadow-47?' }), 400);
    expect(wrong.errors?.[0]?.field).toBe('currentPassword');
    const changed = await here.browser.call('POST', '/api/v1/auth/password', { currentPassword: PASSWORD, newPassword: 'Lantern-Meadow-47?' });
    expect(changed.statusCode, changed.body).toBe(204);
    expectProblem(await other.browser.call('GET', '/api/v1/users'), 401);
    expect((await here.browser.call('GET', '/api/v1/users')).statusCode).toBe(200);
    expectProblem((await signIn(school.adminEmail, PASSWORD)).response, 401);
    expect((await signIn(school.adminEmail, 'Lantern-Meadow-47?')).response.statusCode).toBe(200);

    const out = await here.browser.call('POST', '/api/v1/auth/sign-out-everywhere');
    expect(out.statusCode).toBe(204);
    expectProblem(await here.browser.call('GET', '/api/v1/auth/session'), 401);
  });
});

describe('password reset by email', () => {
  it('sends a link to the account owner only, which sets a new password once and never skips MFA', async () => {
    const practice = await createTestOrganisation(platform, { kind: 'practice' });
    await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token: tokenOf(practice.inviteUrl), password: PASSWORD } });
    const live = await signIn(practice.adminEmail);
    expect(live.response.json()).toEqual({ outcome: 'signed-in', mfa: 'not-required' });

    const mailsBefore = smtp.received.length;
    for (const email of [practice.adminEmail, fakePerson().email]) {
      const response = await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset', payload: { email } });
      expect(response.statusCode).toBe(202);
      expect(response.body).toBe('');
    }
    // The practice's own invitation mail may arrive in between; wait for the reset link itself.
    await expect.poll(() => smtp.received.slice(mailsBefore).some((m) => /reset-password/.test(mailText(m))), { timeout: 20_000 }).toBe(true);
    const resets = smtp.received.slice(mailsBefore).filter((m) => /reset-password/.test(mailText(m)));
    expect(resets).toHaveLength(1);
    const mail = resets[0];
    expect(mail!.to).toEqual([practice.adminEmail]);
    const link = mailText(mail!).match(/https?:\/\/\S+\/reset-password\/([A-Za-z0-9_-]+)/);
    expect(link).not.toBeNull();
    const token = link![1]!;

    const weak = expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password: 'short' } }), 400);
    expect(weak.errors?.[0]?.field).toBe('password');
    const done = await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password: 'Harbour-Violet-58#' } });
    expect(done.statusCode, done.body).toBe(204);
    expect(sessionCookieFrom(platform, done)).toBeUndefined();
    expectProblem(await live.browser.call('GET', '/api/v1/users'), 401);
    const reused = expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password: 'Harbour-Violet-59#' } }), 400);
    expect(reused.type).toMatch(/invalid-link$/);
    expect((await signIn(practice.adminEmail, 'Harbour-Violet-58#')).response.statusCode).toBe(200);
  });
});

describe('revocation and throttling', () => {
  it("ends a user's sessions when an admin disables them", async () => {
    const colleague = fakePerson();
    const invited = await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(school.token), payload: { email: colleague.email, role: 'member' } });
    await expect.poll(() => smtp.received.some((m) => m.to.includes(colleague.email)), { timeout: 20_000 }).toBe(true);
    const mail = smtp.received.find((m) => m.to.includes(colleague.email));
    const token = mailText(mail!).match(/\/invite\/([A-Za-z0-9_-]+)/)![1]!;
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token, password: PASSWORD } })).statusCode).toBe(204);
    const { browser } = await signIn(colleague.email);
    expect((await browser.call('GET', '/api/v1/auth/session')).statusCode).toBe(200);
    const disabled = await app.inject({ method: 'POST', url: `/api/v1/users/${invited.json().userId}/disable`, headers: bearer(school.token) });
    expect(disabled.statusCode).toBe(204);
    expectProblem(await browser.call('GET', '/api/v1/auth/session'), 401);
    expectProblem((await signIn(colleague.email)).response, 401);
  });

  it('throttles repeated sign-in failures with 429 and Retry-After, whether or not the account exists', async () => {
    for (const email of [fakePerson().email, school.adminEmail]) {
      let last: LightMyRequestResponse | undefined;
      for (let attempt = 0; attempt < 12; attempt++) {
        last = (await signIn(email, `Wrong-${attempt}-Password!`)).response;
        if (last.statusCode === 429) break;
        expect(last.statusCode).toBe(401);
      }
      const problem = expectProblem(last!, 429);
      expect(problem.type).toMatch(/too-many-attempts$/);
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('throttles guessing of API tokens by address', async () => {
    let last: LightMyRequestResponse | undefined;
    for (let attempt = 0; attempt < 105; attempt++) {
      last = await app.inject({ url: '/api/v1/organisation', headers: bearer(`cst_guess${attempt}${'x'.repeat(30)}`), remoteAddress: '198.51.100.7' });
      if (last.statusCode === 429) break;
      expect(last.statusCode).toBe(401);
    }
    expect(expectProblem(last!, 429).type).toMatch(/too-many-attempts$/);
    // A valid token from the same address still works: the counter is for guesses.
    expect((await app.inject({ url: '/api/v1/organisation', headers: bearer(school.token), remoteAddress: '198.51.100.7' })).statusCode).toBe(200);
  });
});
