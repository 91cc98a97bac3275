import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { defineRole } from '../../src/platform/access/roles.ts';
import { inviteUser } from '../../src/platform/identity/users.ts';
import { fakeSchool } from '../../src/products/sync/testing/fake-school.ts';
import { startWondeServer, type WondeServer } from '../../src/products/sync/testing/wonde-server.ts';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { expectHeading, expectPath, signInDirectly } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * The sync hub's integration pages in a browser, as a school's admin uses them: save a Wonde
 * connection (pointed at a local Wonde-shaped server), see its token masked, press "Sync now" and
 * watch the run arrive (the platform runs its job workers), remove it; register an API client and
 * a webhook, each showing its secret once, replay the webhook, remove both. Validation errors are
 * named beside their fields. Every page and state is checked against WCAG 2.2 AA with axe. Then
 * someone who may only browse school data sees the lists without the buttons that change them.
 * The tests run in order and share one tab.
 */

/** A role for the read-only person: browses school data, changes nothing (no such built-in role yet). */
const VIEWER_ROLE = 'sync-viewer';
defineRole(['school'], {
  name: VIEWER_ROLE,
  label: 'School data viewer',
  description: 'Browses school data; changes nothing.',
  permissions: ['organisation.read', 'users.read', 'sync.read'],
});

describe('school data integrations in a browser', () => {
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let wonde: WondeServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let org: TestOrganisation;
  let pageProblems: string[] = [];
  const titles = new Map<string, string>();
  /** What the API client page showed once. */
  let client: { id: string; secret: string } | undefined;

  const at = (p: string) => new URL(p, server.url).toString();
  const main = () => page.getByRole('main');
  const statusText = () => page.getByRole('status').filter({ hasText: /\S/ }).first().textContent();
  const summary = () => page.getByRole('alert').filter({ hasText: 'There is a problem' });
  const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
  /** The focused element's name: its aria-label, else its text. */
  const focusedName = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');

  beforeAll(async () => {
    await ensureWebBuilt();
    // Job workers run here, so "Sync now" really runs the connection.
    platform = await startTestPlatform({ runWorkers: true, env: { PORT: '0', HOST: '127.0.0.1' } });
    server = await startServer(platform);
    org = await createTestOrganisation(platform, { kind: 'school' });
    wonde = await startWondeServer(fakeSchool({ pupils: 12, seed: 2027 }));

    browser = await launchBrowser();
    context = await browser.newContext();
    await signInDirectly(context, platform, server.url, org.id, org.adminUserId);
    page = await context.newPage();
    page.setDefaultTimeout(8_000);
    // Refused forms answer 400, which Chromium logs.
    pageProblems = await watchPageProblems(page, { allowHttpErrors: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    await wonde?.close();
  });

  async function expectNoViolations(label: string, on: Page = page): Promise<void> {
    const violations = await checkAccessibility(on);
    if (violations.length > 0) console.error(`axe violations on ${label}:\n${formatViolations(violations)}`);
    expect(violations.map((v) => `${label}: ${v.id}`)).toEqual([]);
  }

  async function checkPage(label: string, h1: string | RegExp, on: Page = page): Promise<void> {
    await expectHeading(on, h1);
    await expect.poll(() => on.getByText(/^Loading/).count(), { timeout: 10_000 }).toBe(0);
    expect(await on.locator('h1').count(), `${label} has one h1`).toBe(1);
    const title = await on.title();
    expect(title, label).toMatch(/ – Custos$/);
    if (on === page) titles.set(label, title);
    await expectNoViolations(label, on);
  }

  async function open(p: string, h1: string | RegExp, label = p): Promise<void> {
    pageProblems.length = 0;
    await page.goto(at(p));
    await checkPage(label, h1);
    expect(pageProblems, label).toEqual([]);
  }

  /** The field's error, as a screen reader reaches it: through aria-describedby. */
  async function describedBy(label: string | RegExp): Promise<string> {
    const field = page.getByLabel(label, { exact: typeof label === 'string' });
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    const ids = (await field.getAttribute('aria-describedby')) ?? '';
    const texts = await Promise.all(ids.split(' ').filter(Boolean).map((id) => page.locator(`#${id}`).textContent()));
    return texts.join(' ');
  }

  const connectionCount = () =>
    asSystem(platform, org.id, async (scope) => (await scope.trx.selectFrom('sync_connections').select('id').where('disabled_at', 'is', null).execute()).length);

  describe('MIS connections', () => {
    it('is reached from the overview and the section navigation, and passes empty', async () => {
      await open('/sync', 'School data', '/sync');
      const cards = page.getByRole('region', { name: 'Browse and manage' });
      for (const name of ['MIS connections', 'API clients', 'Webhooks']) expect(await cards.getByRole('link', { name }).count(), name).toBe(1);
      await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'MIS connections' }).click();
      await expectPath(page, '/sync/connections');
      await checkPage('/sync/connections', 'MIS connections');
      expect(await main().textContent()).toMatch(/No connections yet/);
      expect(await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'MIS connections' }).getAttribute('aria-current')).toBe('page');
    });

    it('names what is missing and what the server refused, beside each field; nothing is saved', async () => {
      const add = page.getByRole('button', { name: 'Add a connection' });
      expect(await add.getAttribute('aria-expanded')).toBe('false');
      await add.click();
      expect(await add.getAttribute('aria-expanded')).toBe('true');
      const form = page.getByRole('form', { name: 'Add a connection' });
      await expect.poll(() => form.count()).toBe(1);
      // Wonde's settings first; the secret is a password field.
      expect(await page.getByLabel('Wonde API token').getAttribute('type')).toBe('password');
      await expectNoViolations('/sync/connections with the form open');

      // OneRoster asks for other settings.
      await page.getByLabel('OneRoster REST API').check();
      expect(await page.getByLabel('Wonde API token').count()).toBe(0);
      expect(await page.getByLabel('Client secret').getAttribute('type')).toBe('password');
      await page.getByLabel('Name', { exact: true }).fill('Rostering service');
      await page.getByRole('button', { name: 'Save the connection' }).click();
      await expect.poll(() => summary().textContent()).toMatch(/Enter the API base URL.*Enter the token URL.*Enter the client ID.*Enter the client secret/);
      expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      expect(await describedBy('API base URL')).toContain('Enter the API base URL');
      await expectNoViolations('/sync/connections with missing settings');

      // The server's own reasons (problem+json, per field) land beside the fields they name.
      await page.getByLabel('API base URL').fill('not a web address');
      await page.getByLabel('Token URL').fill('https://mis.example.test/oauth/token');
      await page.getByLabel('Client ID').fill('custos');
      await page.getByLabel('Client secret').fill('s3cret-value');
      await page.getByRole('button', { name: 'Save the connection' }).click();
      await expect.poll(() => summary().textContent()).toMatch(/API base URL must be an http\(s\) URL/);
      expect(await describedBy('API base URL')).toContain('API base URL must be an http(s) URL');
      // The summary's entry leads to the field.
      await summary().getByRole('link', { name: /API base URL/ }).click();
      await expect.poll(focusedId).toBe('conn-base-url');
      await expectNoViolations('/sync/connections with the server’s error');
      expect(await connectionCount()).toBe(0);

      // Cancel closes the form and gives focus back to the button.
      await page.getByRole('button', { name: 'Cancel' }).click();
      expect(await form.count()).toBe(0);
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Add a connection');
      expect(pageProblems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    });

    it('saves a Wonde connection and never shows its token again', async () => {
      await page.getByRole('button', { name: 'Add a connection' }).click();
      await page.getByLabel('Wonde', { exact: true }).check();
      await page.getByLabel('Name', { exact: true }).fill('Wonde (SIMS)');
      await page.getByLabel('Wonde school ID').fill(wonde.schoolId);
      await page.getByLabel('Wonde API token').fill(wonde.token);
      await page.getByLabel(/Wonde API address/).fill(wonde.url);
      await page.getByLabel('Only when someone presses Sync now').check();
      await page.getByRole('button', { name: 'Save the connection' }).click();

      await expect.poll(statusText).toMatch(/^Wonde \(SIMS\) is saved\. Its secret is stored encrypted/);
      expect(await page.getByRole('form', { name: 'Add a connection' }).count()).toBe(0);
      await expect.poll(focusedId).toBe('connections-title');
      const panel = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Wonde (SIMS)' }) });
      await expect.poll(() => panel.count()).toBe(1);
      const text = (await panel.textContent())!;
      expect(text).toContain('KindWonde');
      expect(text).toContain('Only on Sync now (manual)');
      expect(text).toContain(`Wonde school ID${wonde.schoolId}`);
      expect(text).toContain('Wonde API token********');
      expect(text).toContain('Last runNot run yet');
      expect(await page.content()).not.toContain(wonde.token);
      await expectNoViolations('/sync/connections with a connection');

      // Read again from the server: still masked.
      await page.reload();
      await expectHeading(page, 'MIS connections');
      await expect.poll(() => panel.count()).toBe(1);
      expect(await panel.textContent()).toContain('Wonde API token********');
      expect(await page.content()).not.toContain(wonde.token);
      expect(await connectionCount()).toBe(1);
    });

    it('"Sync now" queues a run, says when it has finished, and the last run links to it', async () => {
      pageProblems.length = 0;
      const panel = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Wonde (SIMS)' }) });
      const button = page.getByRole('button', { name: 'Sync now: Wonde (SIMS)' });
      await button.click();
      await expect.poll(statusText).toMatch(/^Wonde \(SIMS\): a sync is queued/);
      await expect.poll(focusedName).toBe('Sync now: Wonde (SIMS)');
      await expectNoViolations('/sync/connections with a sync queued');

      // The job runs the connection against the Wonde server; the page reads the list until the run has finished.
      await expect.poll(statusText, { timeout: 30_000 }).toMatch(/^Wonde \(SIMS\): the sync succeeded\. See the run$/);
      expect(wonde.calls.some((call) => call.includes(`/v1.0/schools/${wonde.schoolId}/students`))).toBe(true);
      await expect.poll(() => panel.textContent()).toMatch(/Last runSucceeded \d{2}:\d{2}, /);
      await expectNoViolations('/sync/connections after a sync');
      expect(pageProblems).toEqual([]);

      await panel.getByRole('link', { name: /\(run of Wonde \(SIMS\)\)$/ }).click();
      await expectPath(page, /^\/sync\/runs\/[0-9a-f-]{36}$/);
      await expectHeading(page, /^Import run of /);
      expect(await main().textContent()).toMatch(/Succeeded/);
      await page.goBack();
      await expectHeading(page, 'MIS connections');
    });

    it('removes a connection after asking', async () => {
      const remove = page.getByRole('button', { name: 'Remove: Wonde (SIMS)' });
      await remove.click();
      const confirm = page.getByRole('group', { name: 'Confirm: remove Wonde (SIMS)' });
      await expect.poll(() => confirm.count()).toBe(1);
      await expect.poll(focusedName).toBe('Yes, remove Wonde (SIMS)');
      await expectNoViolations('/sync/connections confirming a removal');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      expect(await confirm.count()).toBe(0);
      await expect.poll(focusedName).toBe('Remove: Wonde (SIMS)');

      await remove.click();
      await confirm.getByRole('button', { name: /^Yes, remove/ }).click();
      await expect.poll(statusText).toMatch(/^Wonde \(SIMS\) is removed/);
      await expect.poll(() => main().textContent()).toMatch(/No connections yet/);
      await expect.poll(focusedId).toBe('connections-title');
      expect(await connectionCount()).toBe(0);
    });

    it('a sync that fails says so, and its run says why', async () => {
      // Made through the API, with a token Wonde does not accept.
      const made = await fetch(at('/api/v1/sync/connections'), {
        method: 'POST',
        headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'wonde', name: 'Wonde (old token)', settings: { baseUrl: wonde.url, token: 'not-the-token', schoolId: wonde.schoolId } }),
      });
      expect(made.status, await made.clone().text()).toBe(201);
      pageProblems.length = 0;
      await page.reload();
      await expectHeading(page, 'MIS connections');
      await page.getByRole('button', { name: 'Sync now: Wonde (old token)' }).click();
      await expect.poll(statusText, { timeout: 30_000 }).toBe('Wonde (old token): the sync failed: see the run for why. See the run');
      const panel = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Wonde (old token)' }) });
      await expect.poll(() => panel.textContent()).toMatch(/Last runFailed \d{2}:\d{2}, /);
      await page.getByRole('status').getByRole('link', { name: 'See the run' }).click();
      await expectPath(page, /^\/sync\/runs\/[0-9a-f-]{36}$/);
      await expect.poll(() => page.getByRole('region', { name: /^Errors/ }).textContent()).toMatch(/Wonde did not accept the API token/);
      expect(pageProblems).toEqual([]);
    });
  });

  describe('API clients', () => {
    it('registers an app and shows its credentials this once, copy-able', async () => {
      await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'API clients' }).click();
      await expectPath(page, '/sync/api-clients');
      await checkPage('/sync/api-clients', 'API clients');
      expect(await main().textContent()).toMatch(/No apps are registered/);

      await page.getByRole('button', { name: 'Register the app' }).click();
      await expect.poll(() => summary().textContent()).toMatch(/Enter the name of the app/);
      expect(await describedBy('Name')).toContain('Enter the name of the app');
      await expectNoViolations('/sync/api-clients with a missing name');

      await page.getByLabel('Name', { exact: true }).fill('Timetabler Pro');
      await page.getByRole('button', { name: 'Register the app' }).click();
      const shown = page.getByRole('region', { name: 'Timetabler Pro is registered: copy its credentials now' });
      await expect.poll(() => shown.count()).toBe(1);
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Timetabler Pro is registered: copy its credentials now');
      expect(await shown.textContent()).toMatch(/This is the only time it is shown/);
      const secretField = shown.getByLabel('Client secret');
      const idField = shown.getByLabel('Client ID');
      expect(await secretField.getAttribute('readonly')).not.toBeNull();
      client = { id: await idField.inputValue(), secret: await secretField.inputValue() };
      expect(client.id).toMatch(/^orc-[0-9a-f]{32}$/);
      expect(client.secret).toMatch(/^ors_/);
      expect(await shown.getByLabel('Token URL').inputValue()).toBe(at('/ims/oneroster/v1p2/token'));
      expect(await shown.getByLabel('OneRoster base URL').inputValue()).toBe(at('/ims/oneroster/rostering/v1p2'));
      await expectNoViolations('/sync/api-clients with the secret shown');

      // Copying says what happened (copied, or selected for Ctrl+C where the browser will not let a page copy).
      await shown.getByRole('button', { name: 'Copy client secret' }).click();
      await expect.poll(() => shown.getByRole('status').textContent()).toMatch(/^Client secret (copied|is selected)/);

      // The credentials work: the app can swap them for a token.
      const token = await fetch(at('/ims/oneroster/v1p2/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }).toString(),
      });
      expect(token.status).toBe(200);

      await shown.getByRole('button', { name: 'I have copied it' }).click();
      expect(await shown.count()).toBe(0);
      await expect.poll(focusedId).toBe('clients-title');
      const panel = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Timetabler Pro' }) });
      await expect.poll(() => panel.count()).toBe(1);
      expect(await panel.textContent()).toContain(`Client ID${client.id}`);
      expect(await panel.textContent()).toMatch(/May readNothing yet/);
      expect(await page.content()).not.toContain(client.secret);
      await expectNoViolations('/sync/api-clients with an app');
    });
  });

  describe('webhooks', () => {
    it('names what is missing and refuses plain http to another host, beside the address', async () => {
      await open('/sync/webhooks', 'Webhooks');
      expect(await main().textContent()).toMatch(/No webhooks/);
      await page.getByRole('button', { name: 'Add the webhook' }).click();
      await expect.poll(() => summary().textContent()).toMatch(/Choose the app to send changes to.*Enter the address to send changes to/);
      expect(await describedBy('App')).toContain('Choose the app to send changes to');
      await expectNoViolations('/sync/webhooks with missing fields');

      // The app just registered is offered, marked as not granted anything yet.
      const option = page.locator('#webhook-grantee option', { hasText: 'Timetabler Pro' });
      expect(await option.textContent()).toBe(`Timetabler Pro (API client ${client!.id}) (no grant yet: nothing is sent)`);
      await page.getByLabel('App', { exact: true }).selectOption(client!.id);
      await page.getByLabel('Address', { exact: true }).fill('http://hooks.example.test/custos');
      await page.getByRole('button', { name: 'Add the webhook' }).click();
      await expect.poll(() => summary().textContent()).toMatch(/Address must use https \(plain http only to 127\.0\.0\.1 or localhost\)/);
      expect(await describedBy('Address')).toContain('Address must use https');
      await expectNoViolations('/sync/webhooks with the server’s error');
    });

    it('adds a webhook, shows its signing secret once, sends changes again, and removes it', async () => {
      const url = 'http://127.0.0.1:9/custos-hook';
      await page.getByLabel('Address', { exact: true }).fill(url);
      await page.getByRole('button', { name: 'Add the webhook' }).click();
      const shown = page.getByRole('region', { name: 'Webhook added: copy its signing secret now' });
      await expect.poll(() => shown.count()).toBe(1);
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Webhook added: copy its signing secret now');
      const secret = await shown.getByLabel('Signing secret').inputValue();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(await shown.getByLabel('Signing secret').getAttribute('readonly')).not.toBeNull();
      expect(await shown.textContent()).toMatch(/This is the only time it is shown/);
      await expectNoViolations('/sync/webhooks with the secret shown');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await expect.poll(focusedId).toBe('webhooks-title');

      const panel = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Changes for Timetabler Pro (API client)' }) });
      await expect.poll(() => panel.count()).toBe(1);
      expect(await panel.textContent()).toContain(`Sent to${url}`);
      expect(await panel.textContent()).toContain('Signing secret********');
      expect(await page.content()).not.toContain(secret);
      await expectNoViolations('/sync/webhooks with a webhook');

      // The newest change number is given, so the app's last one can be checked against it.
      expect(await panel.textContent()).toMatch(/The newest change is number \d+\./);
      // Sending again: a bad number is named beside the field (and focused, so it is read out).
      const since = panel.getByLabel('Send again the changes after number');
      await since.fill('seven');
      await panel.getByRole('button', { name: `Send again to ${url}` }).click();
      await expect.poll(() => since.getAttribute('aria-invalid')).toBe('true');
      expect(await focusedId()).toMatch(/^replay-/);
      expect(await panel.locator(`#${await since.getAttribute('id')}-error`).textContent()).toMatch(/Enter a whole number/);
      await expectNoViolations('/sync/webhooks with a bad change number');
      // From 0: the one import (the Wonde sync) is queued again.
      await since.fill('0');
      await panel.getByRole('button', { name: `Send again to ${url}` }).click();
      await expect.poll(statusText).toBe(`The changes after number 0 will be sent again to ${url}: 1 delivery, one per import.`);
      expect(await since.getAttribute('aria-invalid')).toBeNull();

      await panel.getByRole('button', { name: `Remove: the webhook to ${url}` }).click();
      await page.getByRole('group', { name: `Confirm: remove the webhook to ${url}` }).getByRole('button', { name: /^Yes, remove/ }).click();
      await expect.poll(statusText).toMatch(/^The webhook to .* is removed/);
      await expect.poll(() => main().textContent()).toMatch(/No webhooks/);
      await expect.poll(focusedId).toBe('webhooks-title');
    });
  });

  describe('revoking an API client', () => {
    it('asks first; the app’s credentials stop working', async () => {
      await open('/sync/api-clients', 'API clients', '/sync/api-clients with an app');
      await page.getByRole('button', { name: 'Revoke: Timetabler Pro' }).click();
      const confirm = page.getByRole('group', { name: 'Confirm: revoke Timetabler Pro' });
      await expect.poll(() => confirm.count()).toBe(1);
      await expectNoViolations('/sync/api-clients confirming a revocation');
      await confirm.getByRole('button', { name: 'Yes, revoke Timetabler Pro' }).click();
      await expect.poll(statusText).toMatch(/^Timetabler Pro is revoked/);
      await expect.poll(() => main().textContent()).toMatch(/No apps are registered/);
      await expect.poll(focusedId).toBe('clients-title');
      const token = await fetch(at('/ims/oneroster/v1p2/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client!.id, client_secret: client!.secret }).toString(),
      });
      expect(token.status).toBe(401);
    });
  });

  describe('someone who may only browse school data', () => {
    let viewer: BrowserContext;
    let viewerPage: Page;
    const hookUrl = 'https://hooks.example.test/custos';

    beforeAll(async () => {
      // Something to see: a connection and a webhook, made through the API.
      const headers = { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' };
      const made = await fetch(at('/api/v1/sync/connections'), {
        method: 'POST',
        headers,
        body: JSON.stringify({ kind: 'wonde', name: 'Nightly Wonde', settings: { baseUrl: wonde.url, token: wonde.token, schoolId: wonde.schoolId }, schedule: 'nightly' }),
      });
      expect(made.status, await made.clone().text()).toBe(201);
      const hook = await fetch(at('/api/v1/sync/webhooks'), { method: 'POST', headers, body: JSON.stringify({ grantee: 'messaging', url: hookUrl }) });
      expect(hook.status, await hook.clone().text()).toBe(201);

      const { userId } = await asSystem(platform, org.id, async (scope) => {
        const invited = await inviteUser(scope, { email: 'viewer@example.test', role: 'member' }, platform.config.publicUrl);
        await scope.trx.updateTable('users').set({ role: VIEWER_ROLE }).where('id', '=', invited.userId).execute();
        return invited;
      });
      viewer = await browser.newContext();
      await signInDirectly(viewer, platform, server.url, org.id, userId);
      viewerPage = await viewer.newPage();
      viewerPage.setDefaultTimeout(8_000);
    });

    afterAll(async () => {
      await viewer?.close();
    });

    it('sees connections without the buttons that change them, and neither webhooks (their addresses may hold tokens) nor API clients', async () => {
      const problems = await watchPageProblems(viewerPage);
      await viewerPage.goto(at('/sync'));
      await checkPage('/sync as a viewer', 'School data', viewerPage);
      const cards = viewerPage.getByRole('region', { name: 'Browse and manage' });
      expect(await cards.getByRole('link', { name: 'MIS connections' }).count()).toBe(1);
      expect(await cards.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
      expect(await cards.getByRole('link', { name: 'API clients' }).count()).toBe(0);
      const nav = viewerPage.getByRole('navigation', { name: 'School data' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(expect.arrayContaining(['MIS connections']));
      expect(await nav.getByRole('link', { name: 'API clients' }).count()).toBe(0);
      expect(await nav.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);

      await nav.getByRole('link', { name: 'MIS connections' }).click();
      await checkPage('/sync/connections as a viewer', 'MIS connections', viewerPage);
      const panel = viewerPage.getByRole('listitem').filter({ has: viewerPage.getByRole('heading', { level: 3, name: 'Nightly Wonde' }) });
      await expect.poll(() => panel.count()).toBe(1);
      expect(await panel.textContent()).toContain('Wonde API token********');
      expect(await panel.textContent()).toContain('Every night at 02:00 (UK time)');
      expect(await viewerPage.getByRole('main').getByRole('button').count()).toBe(0);
      expect(await viewerPage.content()).not.toContain(wonde.token);

      await viewerPage.goto(at('/sync/webhooks'));
      await expectHeading(viewerPage, 'You do not have permission to see this page');
      expect(await viewerPage.content()).not.toContain(hookUrl);

      await viewerPage.goto(at('/sync/api-clients'));
      await expectHeading(viewerPage, 'You do not have permission to see this page');
      expect(problems).toEqual([]);
    });
  });

  it('each page has its own title', () => {
    const byPage = new Map<string, string>();
    for (const [label, title] of titles) byPage.set(label.replace(/ .*$/, ''), title);
    expect(byPage.get('/sync/connections')).toBe('MIS connections – Custos');
    expect(byPage.get('/sync/webhooks')).toBe('Webhooks – Custos');
    expect(byPage.get('/sync/api-clients')).toBe('API clients – Custos');
    expect(new Set(byPage.values()).size).toBe(byPage.size);
  });
});
