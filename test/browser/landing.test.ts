import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { ensureWebBuilt } from './web-build.ts';

const LANDING_TITLE = 'Custos — secure services for schools, local authorities and accountancy practices';

describe('landing page in a browser', () => {
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let context: BrowserContext;
  /**
   * One tab for the whole file, navigated afresh by each test: every goto is a new document, and
   * a new tab costs this machine more than the test itself.
   */
  let page: Page;
  /** Anything the browser refused under the server's CSP, or any script error, since the last goto. */
  let pageProblems: string[] = [];

  beforeAll(async () => {
    // Built before the server starts: it serves web/dist only if the folder exists at start-up.
    await ensureWebBuilt();
    platform = await startTestPlatform({ env: { PORT: '0', HOST: '127.0.0.1' } });
    server = await startServer(platform);
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    pageProblems = await watchPageProblems(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
  });

  async function open(path: string): Promise<Page> {
    pageProblems.length = 0;
    const response = await page.goto(new URL(path, server.url).toString());
    expect(response?.status()).toBe(200);
    return page;
  }

  /** The status line is filled in by a fetch after load; wait until it has an answer. */
  async function settledStatus(page: Page): Promise<string> {
    const status = page.getByRole('status');
    await expect.poll(async () => status.textContent(), { timeout: 5_000 }).not.toMatch(/checking/);
    return (await status.textContent()) ?? '';
  }

  it('has a descriptive title, one h1 and the header, main and footer landmarks', async () => {
    const page = await open('/');
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.title()).toBe(LANDING_TITLE);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').allTextContents()).toEqual(['Five services, one security core']);
    expect(await page.getByRole('banner').count()).toBe(1);
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await page.getByRole('contentinfo').count()).toBe(1);
    expect(await page.getByRole('heading', { level: 3 }).allTextContents()).toEqual([
      'Sync', 'Messaging', 'Cashless', 'Looked-after', 'Client portal',
    ]);
    expect(await page.getByRole('link', { name: 'Read the API documentation' }).getAttribute('href')).toBe('/api/docs');
  });

  it('shows the live status from GET /api/health as ok', async () => {
    const page = await open('/');
    expect(await settledStatus(page)).toMatch(/^Service status: ok\b/);
  });

  it('has no WCAG 2.2 AA violations reported by axe-core', async () => {
    const page = await open('/');
    await settledStatus(page);
    const violations = await checkAccessibility(page);
    if (violations.length > 0) console.error(`axe violations on /:\n${formatViolations(violations)}`);
    expect(violations.map((v) => v.id)).toEqual([]);
  });

  it('first Tab focuses the skip link with a visible focus ring, and Enter moves focus to main', async () => {
    const page = await open('/');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      return {
        text: element.textContent,
        href: element.getAttribute('href'),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        onScreen: box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight && box.width > 0,
      };
    });
    expect(focused.text).toBe('Skip to main content');
    expect(focused.href).toBe('#main');
    expect(focused.outlineStyle).not.toBe('none');
    expect(focused.outlineWidth).toBeGreaterThanOrEqual(2);
    expect(focused.onScreen).toBe(true);

    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  });

  it('runs under the server CSP with no refused resource and no script error', async () => {
    const page = await open('/');
    await settledStatus(page);
    expect(pageProblems).toEqual([]);
  });

  it('answers an unknown path with the app and a "Page not found" heading', async () => {
    const page = await open('/no/such/page');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Page not found');
    const violations = await checkAccessibility(page);
    if (violations.length > 0) console.error(`axe violations on the not-found page:\n${formatViolations(violations)}`);
    expect(violations.map((v) => v.id)).toEqual([]);
  });

  it('leads a practice to sign up: errors named beside each field, then "check your email", and the organisation exists', async () => {
    const page = await open('/');
    await page.getByRole('link', { name: 'Sign up your practice' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign up your practice' }).waitFor();
    expect(await page.title()).toBe('Sign up your practice – Custos');
    await page.getByRole('button', { name: 'Sign up' }).click();
    const summary = page.getByRole('alert');
    await expect.poll(() => summary.textContent()).toMatch(/Enter the name of your practice/);
    expect(await page.getByLabel('Your work email address').getAttribute('aria-invalid')).toBe('true');
    let violations = await checkAccessibility(page);
    expect(formatViolations(violations)).toBe('');

    await page.getByLabel('Practice name').fill('Seaview Bookkeeping (test)');
    await page.getByLabel('Your name').fill('Morgan Testing');
    await page.getByLabel('Your work email address').fill('morgan@seaview-bookkeeping.example.test');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your email' }).waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Check your email');
    violations = await checkAccessibility(page);
    expect(formatViolations(violations)).toBe('');
    expect(pageProblems).toEqual([]);
    const created = await platform.db.owner.selectFrom('organisations').select('kind').where('name', '=', 'Seaview Bookkeeping (test)').executeTakeFirst();
    expect(created).toEqual({ kind: 'practice' });
  });
});
