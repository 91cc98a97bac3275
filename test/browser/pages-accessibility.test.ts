import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { createTestOrganisation, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { enrolTotp, expectHeading, expectPath, onServer, signIn, STRONG_PASSWORD, tabUntil } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * Every page of the identity and access shell, signed out and signed in, against WCAG 2.2 AA with
 * axe-core; plus what axe cannot see: one h1 and a unique title per page, a visible focus ring that
 * nothing covers, and a sign-in that works with Tab and Enter alone.
 */
describe('identity pages: accessibility', () => {
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let org: TestOrganisation;
  let recoveryCodes: string[] = [];
  let pageProblems: string[] = [];
  /** Title of every page checked, by path: each must be different. */
  const titles = new Map<string, string>();

  const at = (path: string) => new URL(path, server.url).toString();

  beforeAll(async () => {
    await ensureWebBuilt();
    platform = await startTestPlatform({ env: { PORT: '0', HOST: '127.0.0.1' } });
    server = await startServer(platform);
    org = await createTestOrganisation(platform, { kind: 'school' });
    browser = await launchBrowser();
    const context = await browser.newContext();
    page = await context.newPage();
    pageProblems = await watchPageProblems(page, { allowHttpErrors: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
  });

  async function expectNoViolations(label: string): Promise<void> {
    const violations = await checkAccessibility(page);
    if (violations.length > 0) console.error(`axe violations on ${label}:\n${formatViolations(violations)}`);
    expect(violations.map((v) => `${label}: ${v.id}`)).toEqual([]);
  }

  /**
   * Focus the first control inside main with the keyboard (from main, Tab once) and check the ring:
   * an outline of at least 2px, and the control is the topmost thing at its own centre, so no
   * header or banner hides it (WCAG 2.4.7, 2.4.11).
   */
  async function expectVisibleFocus(label: string): Promise<void> {
    const controls = await page.locator('main').locator('a[href], button, input, select, textarea').count();
    if (controls === 0) return; // nothing to focus on this page (a read-only table, say)
    await page.focus('#main');
    await page.keyboard.press('Tab');
    // Focus scrolls the control into view, smoothly where motion is welcome: let it arrive.
    await expect
      .poll(() => page.evaluate(() => {
        const box = document.activeElement!.getBoundingClientRect();
        return box.top >= 0 && box.bottom <= window.innerHeight;
      }), { timeout: 3_000 })
      .toBe(true);
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      // The first line box: a link that wraps has a bounding box whose centre may be between lines.
      const line = element.getClientRects()[0] ?? box;
      const hit = document.elementFromPoint(line.left + Math.min(line.width / 2, 10), line.top + line.height / 2);
      return {
        what: `${element.tagName} ${element.id || element.textContent?.slice(0, 40)}`,
        inMain: element.closest('main') !== null,
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        onScreen: box.top >= 0 && box.bottom <= window.innerHeight && box.width > 0,
        unobscured: hit !== null && (hit === element || element.contains(hit) || (element as HTMLInputElement).labels?.[0]?.contains(hit) === true),
      };
    });
    expect({ label, ...focused }).toMatchObject({ label, inMain: true, onScreen: true, unobscured: true });
    expect(focused.outlineStyle, `${label}: ${focused.what}`).not.toBe('none');
    expect(focused.outlineWidth, `${label}: ${focused.what}`).toBeGreaterThanOrEqual(2);
  }

  /** Opens a page, waits for its h1, and checks title, single h1, axe and the focus ring. */
  async function checkPage(path: string, h1: string | RegExp, options: { focus?: boolean } = {}): Promise<void> {
    pageProblems.length = 0;
    await page.goto(at(path));
    await expectHeading(page, h1);
    const title = await page.title();
    expect(title).toMatch(/ – Custos$|^Custos — /);
    expect(await page.locator('h1').count(), `${path} has one h1`).toBe(1);
    titles.set(new URL(page.url()).pathname.replace(/\/[A-Za-z0-9_-]{20,}$/, '/:token'), title);
    await expectNoViolations(path);
    if (options.focus !== false) await expectVisibleFocus(path);
    expect(pageProblems).toEqual([]);
  }

  describe('signed out', () => {
    it('every public page passes', async () => {
      await checkPage('/', 'Five services, one security core');
      await checkPage('/sign-in', 'Sign in');
      await checkPage('/reset-password', 'Reset your password');
      await checkPage('/reset-password/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', 'Choose a new password');
      await checkPage(new URL(org.inviteUrl).pathname, 'Set your password');
      await checkPage('/no/such/page', 'Page not found');
    });

    it('sign-in errors are summarised, linked to the field and tied to it', async () => {
      await page.goto(at('/sign-in'));
      await expectHeading(page, 'Sign in');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const summary = page.getByRole('alert');
      await expect.poll(() => summary.textContent()).toMatch(/Enter your email address.*Enter your password/);
      // The summary takes focus, so it is read out at once.
      expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      const email = page.getByLabel('Email address');
      expect(await email.getAttribute('aria-invalid')).toBe('true');
      expect(await email.getAttribute('aria-describedby')).toBe('email-error');
      expect(await page.locator('#email-error').textContent()).toMatch(/Enter your email address/);
      await summary.getByRole('link', { name: 'Enter your password' }).click();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
      await expectNoViolations('/sign-in with errors');

      await page.getByLabel('Email address').fill('nobody@example.test');
      await page.getByLabel('Password', { exact: true }).fill('Wrong-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => summary.textContent()).toMatch(/email address or password is not right/);
    });

    it('the invitation page states the rules first and shows the server’s reasons beside the field', async () => {
      await page.goto(onServer(org.inviteUrl, server.url));
      await expectHeading(page, 'Set your password');
      const password = page.getByLabel('New password', { exact: true });
      const hint = await page.locator(`#${(await password.getAttribute('aria-describedby'))!.split(' ')[0]}`).textContent();
      expect(hint).toMatch(/at least 8 characters/);
      expect(hint).toMatch(/upper-case letter, a lower-case letter, a digit and a symbol/);
      await password.fill('password');
      await page.getByLabel('Confirm new password').fill('password');
      await page.getByRole('button', { name: 'Set password' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/New password must contain at least one upper-case letter/);
      expect(await password.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('#password-error').textContent()).toMatch(/New password must contain at least one digit/);
      await expectNoViolations('/invite/:token with errors');

      await page.getByLabel('Confirm new password').fill('something else');
      await page.getByRole('button', { name: 'Set password' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/must match the new password/);
    });

    it('asking for a reset link always gives the same answer', async () => {
      await page.goto(at('/reset-password'));
      await expectHeading(page, 'Reset your password');
      await page.getByLabel('Email address').fill('nobody-here@example.test');
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toMatch(/If an account exists for nobody-here@example\.test, we have sent a link/);
      await expectNoViolations('/reset-password after sending');
    });

    it('a protected page sends you to sign in, keeping only a same-site next path', async () => {
      for (const path of ['/home', '/users', '/settings', '/audit', '/permissions', '/account', '/mfa/enrol', '/mfa/challenge']) {
        await page.goto(at(`${path}?x=1`));
        await expectPath(page, `/sign-in?next=${encodeURIComponent(`${path}?x=1`)}`);
      }
    });
  });

  describe('signing in', () => {
    it('the sign-in form can be completed with Tab, typing and Enter alone (an off-site next is ignored)', async () => {
      await page.goto(onServer(org.inviteUrl, server.url));
      await page.getByLabel('New password', { exact: true }).fill(STRONG_PASSWORD);
      await page.getByLabel('Confirm new password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Set password' }).click();
      await expectPath(page, '/sign-in');

      await page.goto(at('/sign-in?next=%2F%2Fevil.example%2Fhome'));
      await expectHeading(page, 'Sign in');
      await tabUntil(page, '#email');
      await page.keyboard.type(org.adminEmail);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
      await page.keyboard.type(STRONG_PASSWORD);
      await page.keyboard.press('Enter');
      // Not evil.example: MFA set-up, with no next carried.
      await expectPath(page, '/mfa/enrol');
    });

    it('MFA set-up passes, before and after the recovery codes are shown', async () => {
      await checkPage('/mfa/enrol', 'Set up two-step verification');
      const enrolled = await enrolTotp(page);
      recoveryCodes = enrolled.recoveryCodes;
      await expectNoViolations('/mfa/enrol showing recovery codes');
      await page.getByRole('button', { name: /I have saved these codes/ }).click();
      await expectPath(page, '/home');
    });
  });

  describe('signed in', () => {
    it('every signed-in page passes, and the header shows what this role may open', async () => {
      await checkPage('/home', /^Welcome/);
      const nav = page.getByRole('navigation', { name: 'Main' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Home', 'School data', 'Users', 'Settings', 'Audit log', 'Permissions', 'Account']);
      expect(await nav.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
      await checkPage('/users', 'Users');
      await checkPage('/settings', 'Organisation settings');
      await checkPage('/audit', 'Audit log');
      await checkPage('/permissions', 'Roles and permissions');
      await checkPage('/account', 'Your account');
      // Signed in, the sign-in page moves on.
      await page.goto(at('/sign-in'));
      await expectPath(page, '/home');
    });

    it('the users page passes with a confirmation open and with invitation errors', async () => {
      await page.goto(at('/users'));
      await expectHeading(page, 'Users');
      await page.getByRole('button', { name: 'Send invitation' }).click();
      await expect.poll(() => page.getByRole('alert').filter({ hasText: 'There is a problem' }).textContent()).toMatch(/Enter the email address/);
      await expectNoViolations('/users with invitation errors');
      await page.getByLabel('Email address').fill('new.colleague@example.test');
      await page.getByRole('button', { name: 'Send invitation' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Invitation sent/);
      const row = page.getByRole('row').filter({ hasText: 'new.colleague@example.test' });
      await row.getByRole('button', { name: /^Disable/ }).click();
      await expect.poll(() => row.getByRole('button', { name: 'Yes, disable' }).count()).toBe(1);
      await expectNoViolations('/users confirming disable');
      await row.getByRole('button', { name: 'Yes, disable' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/has been disabled/);
      await expect.poll(() => page.getByRole('row').filter({ hasText: 'new.colleague@example.test' }).textContent()).toMatch(/disabled/);
    });

    it('settings, audit and account pass after their actions', async () => {
      await page.goto(at('/settings'));
      await expectHeading(page, 'Organisation settings');
      await page.getByLabel(/At least 12 characters/).check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Settings saved.');
      await expectNoViolations('/settings after saving');
      await page.getByLabel(/At least 8 characters/).check();
      await page.getByRole('button', { name: 'Save settings' }).click();

      await page.goto(at('/audit'));
      await expectHeading(page, 'Audit log');
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await expect.poll(() => page.getByText(/Chain verified/).count()).toBe(1);
      await expectNoViolations('/audit after verifying');

      await page.goto(at('/account'));
      await expectHeading(page, 'Your account');
      await page.getByRole('button', { name: 'Change password' }).click();
      await expect.poll(() => page.getByRole('alert').filter({ hasText: 'There is a problem' }).textContent()).toMatch(/Enter your current password/);
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await expectNoViolations('/account with errors and a confirmation');
    });

    it('the MFA challenge passes, and can be completed with the keyboard using a recovery code', async () => {
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await expectPath(page, '/sign-in');
      await signIn(page, server.url, org.adminEmail, STRONG_PASSWORD);
      await expectPath(page, '/mfa/challenge');
      await checkPage('/mfa/challenge', 'Confirm it is you');
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Enter the 6-digit code/);
      await expectNoViolations('/mfa/challenge with an error');

      await page.focus('#main');
      await tabUntil(page, 'button.link-button');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Use a recovery code instead');
      await page.keyboard.press('Enter');
      await tabUntil(page, '#recovery-code', { shift: true });
      await page.keyboard.type(recoveryCodes[0]!);
      await page.keyboard.press('Enter');
      await expectPath(page, '/home');
      await expectHeading(page, /^Welcome/);
    });

    it('every page has its own title', async () => {
      const seen = [...titles.entries()];
      expect(seen.length).toBeGreaterThanOrEqual(14);
      const byTitle = new Map<string, string[]>();
      for (const [path, title] of seen) byTitle.set(title, [...(byTitle.get(title) ?? []), path]);
      const shared = [...byTitle.entries()].filter(([, paths]) => paths.length > 1);
      expect(shared).toEqual([]);
    });
  });
});
