import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { currentTotp, totpStep } from '../../src/platform/identity/mfa/totp.ts';
import { createTestOrganisation, fakePerson, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { mailText, startSmtpServer } from '../smtp.ts';
import { launchBrowser, watchPageProblems } from './browser.ts';
import { enrolTotp, expectHeading, expectPath, freshTotp, onServer, setPassword, signIn, STRONG_PASSWORD } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * The whole identity journey through the web app, on a real server with a real SMTP server:
 * an invited admin sets a password, signs in, sets up MFA, invites a colleague, reads the audit log,
 * signs out and back in with a code from the app; the colleague's emailed link works.
 * The tests run in order and share one tab, as one person's afternoon would.
 */
describe('identity journey in a browser', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let org: TestOrganisation;
  let pageProblems: string[] = [];
  const colleague = fakePerson();
  let totp: { secret: string; step: number; recoveryCodes: string[] };

  const at = (path: string) => new URL(path, server.url).toString();

  beforeAll(async () => {
    await ensureWebBuilt();
    smtp = await startSmtpServer();
    platform = await startTestPlatform({
      runWorkers: true,
      env: { PORT: '0', HOST: '127.0.0.1', SMTP_URL: smtp.url, SMTP_FROM: 'Custos <no-reply@custos.test>' },
    });
    server = await startServer(platform);
    org = await createTestOrganisation(platform, { kind: 'school' });
    browser = await launchBrowser();
    const context = await browser.newContext({ acceptDownloads: true });
    page = await context.newPage();
    pageProblems = await watchPageProblems(page, { allowHttpErrors: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    await smtp?.close();
  });

  it('the invited admin sets a password from the link and is sent to sign in', async () => {
    await setPassword(page, onServer(org.inviteUrl, server.url), STRONG_PASSWORD);
    expect(await page.title()).toBe('Sign in – Custos');
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Your password is set/);
  });

  it('a second use of the invitation link is refused with a way forward', async () => {
    await page.goto(onServer(org.inviteUrl, server.url));
    await page.getByLabel('New password', { exact: true }).fill(STRONG_PASSWORD);
    await page.getByLabel('Confirm new password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/expired or has already been used/);
    expect(await page.getByRole('link', { name: 'Ask for a new password reset link' }).getAttribute('href')).toBe('/reset-password');
  });

  it('signs in, is sent to set up MFA (the school requires it), and gets 10 recovery codes once', async () => {
    await signIn(page, server.url, org.adminEmail, STRONG_PASSWORD);
    await expectPath(page, '/mfa/enrol');
    await expectHeading(page, 'Set up two-step verification');
    // The QR code is the server's SVG as an image, with alternative text that does not give the secret.
    const qr = page.locator('img.qr-code');
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    expect(await qr.getAttribute('alt')).toMatch(/QR code/);
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    // A wrong code is refused, announced and tied to the field.
    await page.getByLabel('6-digit code').fill('000000');
    await page.getByRole('button', { name: 'Confirm code' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Code is not the current code/);
    expect(await page.getByLabel('6-digit code').getAttribute('aria-invalid')).toBe('true');

    totp = await enrolTotp(page);
    expect(new Set(totp.recoveryCodes).size).toBe(10);
    for (const code of totp.recoveryCodes) expect(code).toMatch(/^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download the codes/ }).click()]);
    expect(download.suggestedFilename()).toBe('custos-recovery-codes.txt');
    const text = await new Promise<string>((resolve, reject) => {
      download.createReadStream().then((stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        stream.on('error', reject);
      }, reject);
    });
    for (const code of totp.recoveryCodes) expect(text).toContain(code);

    await page.getByRole('button', { name: /I have saved these codes/ }).click();
    await expectPath(page, '/home');
    await expectHeading(page, /^Welcome/);
    expect(await page.getByRole('main').textContent()).toContain(org.name);
  });

  it('invites a colleague on the users page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await expectHeading(page, 'Users');
    expect(await page.title()).toBe('Users – Custos');
    await page.getByLabel('Email address').fill(colleague.email);
    await page.getByLabel('Name (optional)').fill(colleague.name);
    await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe(`Invitation sent to ${colleague.email}.`);
    const row = page.getByRole('row').filter({ hasText: colleague.email });
    await expect.poll(() => row.textContent()).toMatch(/invited/);
    expect(await row.textContent()).toContain(colleague.name);
  });

  it('reads the invitation in the audit log, verifies the chain and downloads the CSV', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await expectHeading(page, 'Audit log');
    const invited = page.getByRole('row').filter({ hasText: 'user.invited' }).filter({ hasText: colleague.email });
    await expect.poll(() => invited.count(), { timeout: 10_000 }).toBe(1);
    // The actor is the admin, named by email.
    expect(await invited.textContent()).toContain(org.adminEmail);

    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => page.getByText(/Chain verified/).count()).toBe(1);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('user.invited');
  });

  it('signs out; protected pages then send you to sign in and back', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectPath(page, '/sign-in');
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/You have signed out/);
    await page.goto(at('/audit'));
    await expectPath(page, '/sign-in?next=%2Faudit');
  });

  it('signs in again: the code used at enrolment is refused, a fresh one is accepted and `next` is honoured', async () => {
    await signIn(page, server.url, org.adminEmail, STRONG_PASSWORD);
    await expectPath(page, '/mfa/challenge?next=%2Faudit');
    await expectHeading(page, 'Confirm it is you');
    // Each code works once: the enrolment code (still inside the ±1 step window) is a replay.
    if (totpStep() - totp.step <= 1) {
      await page.getByLabel(/6-digit code/).fill(currentTotp(totp.secret, new Date(totp.step * 30_000)));
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Code is not the current code/);
      expect(await page.getByLabel(/6-digit code/).getAttribute('aria-invalid')).toBe('true');
    }
    const fresh = await freshTotp(totp.secret, totp.step);
    await page.getByLabel(/6-digit code/).fill(fresh.code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectPath(page, '/audit');
    await expectHeading(page, 'Audit log');
    totp.step = fresh.step;
  }, 60_000);

  it('signs in with a recovery code instead, which then cannot be used again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectPath(page, '/sign-in');
    await signIn(page, server.url, org.adminEmail, STRONG_PASSWORD);
    await expectPath(page, '/mfa/challenge');
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(totp.recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectPath(page, '/home');
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/recovery code\. You have 9 left/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectPath(page, '/sign-in');
    await signIn(page, server.url, org.adminEmail, STRONG_PASSWORD);
    await expectPath(page, '/mfa/challenge');
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(totp.recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Recovery code is not one of your unused recovery codes/);
    // Leave signed out for the colleague, who uses this same tab.
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await expectPath(page, '/sign-in');
  });

  it('the colleague opens the link from the email they received and sets a password', async () => {
    await smtp.waitFor(2);
    const mail = smtp.received.find((m) => m.to.includes(colleague.email));
    expect(mail, `no mail to ${colleague.email}`).toBeDefined();
    const link = /https?:\/\/\S+\/invite\/[A-Za-z0-9_-]+/.exec(mailText(mail!))?.[0];
    expect(link).toBeDefined();
    await setPassword(page, onServer(link!, server.url), 'Marble$Orchid9Tundra');
    await signIn(page, server.url, colleague.email, 'Marble$Orchid9Tundra');
    // The school requires MFA of everyone, the new member included.
    await expectPath(page, '/mfa/enrol');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectPath(page, '/sign-in');
  });

  it('a forgotten password is reset from the emailed link, and the old one stops working', async () => {
    // The sign-out just before leaves calls in flight (the MFA page's enrolment, the session re-read):
    // let the sign-in page settle before leaving it, or a late answer may land after the click.
    await expectHeading(page, 'Sign in');
    await page.waitForLoadState('networkidle');
    await page.getByRole('link', { name: 'Forgotten your password?' }).click();
    await expectHeading(page, 'Reset your password');
    await page.getByLabel('Email address').fill(colleague.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/If an account exists/);
    const mails = await smtp.waitFor(3);
    const mail = mails.slice(2).find((m) => m.to.includes(colleague.email));
    const link = /https?:\/\/\S+\/reset-password\/[A-Za-z0-9_-]+/.exec(mailText(mail!))?.[0];
    expect(link).toBeDefined();
    await page.goto(onServer(link!, server.url));
    await expectHeading(page, 'Choose a new password');
    await setPassword(page, onServer(link!, server.url), 'Copper#Meadow4Lantern');
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/password has been changed/);
    await signIn(page, server.url, colleague.email, 'Marble$Orchid9Tundra');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/email address or password is not right/);
    await signIn(page, server.url, colleague.email, 'Copper#Meadow4Lantern');
    await expectPath(page, '/mfa/enrol');
    expect(pageProblems).toEqual([]);
  });
});
