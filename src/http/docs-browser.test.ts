import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { launchBrowser } from '../../test/browser/browser.ts';
import { startServer } from './server.ts';

let platform: TestPlatform;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;

beforeAll(async () => {
  platform = await startTestPlatform({ env: { PORT: '0', HOST: '127.0.0.1' } });
  server = await startServer(platform);
  // Fails (never skips) without Chromium: `npm test` installs it.
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await platform?.close();
});

describe('API docs in a browser', () => {
  it('render every operation under the Content-Security-Policy without a single violation', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().startsWith('CSP violation')) violations.push(message.text());
    });
    page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (event) => console.log(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`)),
    );
    await page.goto(`${server.url}/api/docs/`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    // Open a few operations and the auth dialog, so lazily rendered parts load too.
    for (const index of [0, 3, 4]) await page.locator('.opblock-summary').nth(index).click();
    await page.locator('button.authorize').click();
    await page.waitForTimeout(1000);
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(11);
    expect(violations).toEqual([]);
  }, 60_000);
});
