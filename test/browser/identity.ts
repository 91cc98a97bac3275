import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { sessionCookieNames } from '../../src/http/session-cookies.ts';
import { testSession } from '../../src/http/testing.ts';
import { currentTotp, totpStep } from '../../src/platform/identity/mfa/totp.ts';
import type { Platform } from '../../src/platform/platform.ts';

/**
 * Shared steps of the identity browser tests: each drives the real pages the way a person would
 * (labels and roles, not CSS selectors), so a broken label breaks the test as it would break a
 * screen reader.
 */

/** A password the composition rules and the guessability check both accept. */
export const STRONG_PASSWORD = 'Velvet!Harbour7Quince';

/** An emailed or factory link, moved onto the test server (the platform's public URL is custos.test). */
export function onServer(link: string, serverUrl: string): string {
  const url = new URL(link);
  return new URL(`${url.pathname}${url.search}`, serverUrl).toString();
}

/** Waits for the page's h1 (pages render after the session check). */
export async function expectHeading(page: Page, text: string | RegExp): Promise<void> {
  await expect.poll(() => page.locator('main h1').first().textContent().catch(() => ''), { timeout: 10_000 }).toMatch(text);
}

export async function expectPath(page: Page, path: string | RegExp): Promise<void> {
  await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search, { timeout: 10_000 }).toMatch(path);
}

/** From an invitation (or reset) link: choose the password and land on sign-in. */
export async function setPassword(page: Page, link: string, password: string): Promise<void> {
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Confirm new password').fill(password);
  await page.getByRole('button', { name: /Set password|Change password/ }).click();
  await expectPath(page, '/sign-in');
}

export async function signIn(page: Page, serverUrl: string, email: string, password: string): Promise<void> {
  if (new URL(page.url()).pathname !== '/sign-in') await page.goto(new URL('/sign-in', serverUrl).toString());
  await expectHeading(page, 'Sign in');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** On /mfa/enrol: reads the key shown for manual entry, confirms with its current code, returns both and the recovery codes. */
export async function enrolTotp(page: Page): Promise<{ secret: string; step: number; recoveryCodes: string[] }> {
  await expectPath(page, /^\/mfa\/enrol/);
  const secretText = await page.getByTestId('totp-secret').textContent();
  const secret = (secretText ?? '').replace(/\s+/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const step = totpStep();
  await page.getByLabel('6-digit code').fill(currentTotp(secret));
  await page.getByRole('button', { name: 'Confirm code' }).click();
  const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await expect.poll(() => codes.count(), { timeout: 10_000 }).toBe(10);
  const recoveryCodes = (await codes.allTextContents()).map((code) => code.trim());
  return { secret, step, recoveryCodes };
}

/** A TOTP code for a step later than `usedStep` (codes are accepted once): waits for the next step if needed. */
export async function freshTotp(secret: string, usedStep: number): Promise<{ code: string; step: number }> {
  while (totpStep() <= usedStep) await new Promise((resolve) => setTimeout(resolve, 250));
  // Not in the last second of a step, so the code does not expire on its way to the server.
  while ((Date.now() / 1000) % 30 > 29) await new Promise((resolve) => setTimeout(resolve, 250));
  const step = totpStep();
  return { code: currentTotp(secret), step };
}

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`; fails after `max` presses. */
export async function tabUntil(page: Page, selector: string, options: { shift?: boolean; max?: number } = {}): Promise<void> {
  const max = options.max ?? 25;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(options.shift ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`focus never reached ${selector} after ${max} presses of Tab`);
}

/**
 * Signs a browser context in as a user without the sign-in pages: a session made directly in the
 * database with MFA passed (testSession), its two cookies put in the browser as the server would
 * set them. For tests of pages other than sign-in and MFA, which have their own journeys.
 */
export async function signInDirectly(context: BrowserContext, platform: Platform, serverUrl: string, tenantId: string, userId: string): Promise<void> {
  const session = await testSession(platform, tenantId, userId, { mfaVerified: true });
  const names = sessionCookieNames(platform.config);
  await context.addCookies([
    { name: names.session, value: session.token, url: serverUrl, httpOnly: true, sameSite: 'Strict' },
    { name: names.csrf, value: session.write['x-csrf-token'], url: serverUrl, sameSite: 'Strict' },
  ]);
}
