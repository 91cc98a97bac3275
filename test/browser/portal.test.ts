import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { inviteUser } from '../../src/platform/identity/users.ts';
import { listClientUsers } from '../../src/products/client-portal/client-users.ts';
import { createClient } from '../../src/products/client-portal/clients.ts';
import { addToBalance } from '../../src/products/client-portal/practice.ts';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { expectHeading, expectPath, signInDirectly, tabUntil } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * The client portal in a browser, end to end: a member of the practice's staff adds a client, gives
 * a client user access, uploads PDFs through the page and sends them for approval; the client user
 * (a second browser, phone-sized) rejects with a comment; staff sees it, sends for signature; the
 * client signs once with a typed name (keyboard alone) and once drawing on the pad; staff downloads
 * the signed copy and its audit certificate, and the public verification page accepts the signed
 * file and refuses an altered one. Every page and state is checked with axe (WCAG 2.2 AA), the
 * client's pages at 360×740 without sideways scrolling. The tests run in order and share state.
 */
describe('client portal pages in a browser', () => {
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let practice: TestOrganisation;
  let staffContext: BrowserContext;
  let clientContext: BrowserContext;
  let staff: Page;
  let client: Page;
  let workDir: string;
  const files: Record<'engagement' | 'engagementV2' | 'taxReturn' | 'receipts', string> = { engagement: '', engagementV2: '', taxReturn: '', receipts: '' };
  const problems = new Map<Page, string[]>();
  /** Title and address of every page checked, by label: each address has its own title. */
  const titles = new Map<string, { title: string; address: string }>();
  const clientEmail = fakePerson().email;
  const PRACTICE_NAME = 'Harrowgate & Vale Accountants (test)';
  let clientId = '';
  let clientUserId = '';
  let approvalFlowUrl = '';
  let typedFlowUrl = '';
  let drawnFlowUrl = '';
  let signedCopy = '';
  let engagementId = '';

  const at = (p: string) => new URL(p, server.url).toString();

  async function writePdf(name: string, lines: string[]): Promise<string> {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const sheet = doc.addPage([595, 842]);
    lines.forEach((line, i) => sheet.drawText(line, { x: 72, y: 760 - i * 24, size: i === 0 ? 18 : 11, font }));
    const file = path.join(workDir, name);
    fs.writeFileSync(file, await doc.save());
    return file;
  }

  beforeAll(async () => {
    await ensureWebBuilt();
    platform = await startTestPlatform({ env: { PORT: '0', HOST: '127.0.0.1' } });
    server = await startServer(platform);
    practice = await createTestOrganisation(platform, { kind: 'practice', name: PRACTICE_NAME });
    const staffUserId = await asSystem(platform, practice.id, async (scope) => {
      const invited = await inviteUser(scope, { email: fakePerson().email, displayName: 'Morgan Staff', role: 'staff' }, 'http://custos.test');
      // Bought signing credits: one is spent for each completed signature.
      await addToBalance(scope, { kind: 'signing', amount: 5, reason: 'test purchase', by: 'test' });
      // Another client of the practice: its client user must never see it.
      await createClient(scope, { kind: 'company', name: 'Neighbouring Widgets Ltd', companyNumber: '01234567' });
      return invited.userId;
    });

    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-portal-browser-'));
    files.engagement = await writePdf('engagement.pdf', ['Letter of engagement', 'Services for the 2025-26 tax year.']);
    files.engagementV2 = await writePdf('engagement-v2.pdf', ['Letter of engagement (revised)', 'Services for the 2025-26 tax year, with payroll.']);
    files.taxReturn = await writePdf('tax-return.pdf', ['Self assessment tax return', 'Summary of income for 2024-25.']);
    files.receipts = await writePdf('receipts.pdf', ['Receipts', 'Fuel and stationery, April to June.']);

    browser = await launchBrowser();
    staffContext = await browser.newContext();
    await signInDirectly(staffContext, platform, server.url, practice.id, staffUserId);
    staff = await staffContext.newPage();
    staff.setDefaultTimeout(8_000);
    problems.set(staff, await watchPageProblems(staff));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function expectNoViolations(page: Page, label: string): Promise<void> {
    const violations = await checkAccessibility(page);
    if (violations.length > 0) console.error(`axe violations on ${label}:\n${formatViolations(violations)}`);
    expect(violations.map((v) => `${label}: ${v.id}`)).toEqual([]);
  }

  /** A client's page fits a 360 px phone: nothing scrolls sideways. */
  async function expectNoSidewaysScroll(page: Page, label: string): Promise<void> {
    const widths = await page.evaluate(() => ({ content: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth }));
    expect(widths.content, `${label} fits ${widths.viewport} px`).toBeLessThanOrEqual(widths.viewport);
  }

  /** The h1 has loaded, there is one, the title is the page's own; axe finds nothing; nothing went wrong in the page. */
  async function checkPage(page: Page, label: string, h1: string | RegExp): Promise<void> {
    await expectHeading(page, h1);
    await expect.poll(() => page.getByText(/^Loading/).count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('h1').count(), `${label} has one h1`).toBe(1);
    const title = await page.title();
    expect(title, label).toMatch(/ – Custos$/);
    titles.set(label, { title, address: new URL(page.url()).pathname });
    await expectNoViolations(page, label);
    if (page === client) await expectNoSidewaysScroll(page, label);
    expect(problems.get(page), label).toEqual([]);
  }

  async function open(page: Page, p: string, h1: string | RegExp, label = p): Promise<void> {
    problems.get(page)!.length = 0;
    await page.goto(at(p));
    await checkPage(page, label, h1);
  }

  const alert = (page: Page, title: string) => page.getByRole('alert').filter({ hasText: title });
  const status = (page: Page, text: RegExp) => page.getByRole('status').filter({ hasText: text });

  /** On the client's page, as staff: send the chosen documents for approval or signature; returns the flow's address. */
  async function send(kind: 'Approval' | 'Signature', title: string, documents: RegExp[]): Promise<string> {
    await staff.goto(at(`/portal/clients/${clientId}`));
    await expectHeading(staff, 'Robin Ledger');
    await staff.getByRole('button', { name: 'Send for approval or signature' }).click();
    const form = staff.getByRole('form', { name: /Send Robin Ledger documents/ });
    await form.getByLabel(kind, { exact: true }).check();
    await form.getByLabel('Title', { exact: true }).fill(title);
    for (const document of documents) await form.getByLabel(document).check();
    await form.getByRole('button', { name: kind === 'Approval' ? 'Send for approval' : 'Send for signature' }).click();
    await expectPath(staff, /^\/portal\/flows\/[0-9a-f-]{36}$/);
    await expectHeading(staff, title);
    return new URL(staff.url()).pathname;
  }

  describe('the practice', () => {
    it('finds the portal in the header; its overview and client list pass while empty', async () => {
      await staff.goto(at('/home'));
      await expectHeading(staff, /^Welcome/);
      await staff.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Client portal' }).click();
      await expectPath(staff, '/portal');
      await checkPage(staff, '/portal (practice)', 'Client portal');
      expect(await staff.getByRole('region', { name: 'Recently sent' }).textContent()).toMatch(/Nothing sent yet/);
      expect(await staff.getByRole('list').filter({ hasText: 'Waiting' }).first().textContent()).toMatch(/0\s*Waiting/);
      await open(staff, '/portal/clients', 'Clients');
      expect(await status(staff, /client/).textContent()).toBe('1 client.');
    });

    it('adds a client: missing and wrong details are named beside their fields first', async () => {
      await staff.getByRole('button', { name: 'Add a client' }).click();
      const form = staff.getByRole('form', { name: 'Add a client' });
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('new-client-title');
      await expectNoViolations(staff, '/portal/clients with the form open');

      await form.getByRole('button', { name: 'Add the client' }).click();
      await expect.poll(() => alert(staff, 'There is a problem').textContent()).toMatch(/Enter the client’s name/);
      expect(await form.getByLabel('Full name').getAttribute('aria-invalid')).toBe('true');
      await expectNoViolations(staff, '/portal/clients with a missing name');

      // A company number must look like one; the server's rules are the same.
      await form.getByLabel('A company').check();
      await form.getByLabel('Company name').fill('Robin Ledger');
      await form.getByLabel('Company number (optional)').fill('12AB');
      await form.getByRole('button', { name: 'Add the client' }).click();
      await expect.poll(() => alert(staff, 'There is a problem').textContent()).toMatch(/Companies House number/);
      expect(await form.getByLabel('Company number (optional)').getAttribute('aria-describedby')).toContain('client-company-number-error');
      await expectNoViolations(staff, '/portal/clients with a wrong company number');

      await form.getByLabel('An individual').check();
      await form.getByLabel('Full name').fill('Robin Ledger');
      await form.getByLabel('Reference (optional)').fill('LED-001');
      await form.getByLabel('Email address (optional)').fill('robin.ledger@example.test');
      await form.getByLabel(/Making Tax Digital/).check();
      await form.getByRole('button', { name: 'Add the client' }).click();
      await expectPath(staff, /^\/portal\/clients\/[0-9a-f-]{36}$/);
      clientId = new URL(staff.url()).pathname.split('/').pop()!;
      await checkPage(staff, '/portal/clients/:id', 'Robin Ledger');
      expect(await staff.getByRole('status').filter({ hasText: 'is added' }).textContent()).toMatch(/Robin Ledger is added/);
      expect(await staff.getByRole('main').textContent()).toMatch(/ReferenceLED-001/);
      expect(await staff.title()).toBe('Robin Ledger – Clients – Custos');
    });

    it('gives a client user access by email', async () => {
      const form = staff.getByRole('form', { name: 'Give someone access' });
      await form.getByRole('button', { name: 'Give access' }).click();
      await expect.poll(() => alert(staff, 'There is a problem').textContent()).toMatch(/Enter the email address/);
      await expectNoViolations(staff, '/portal/clients/:id with a missing email');

      await form.getByLabel('Email address', { exact: true }).fill(clientEmail);
      await form.getByLabel('Name (optional)').fill('Robin Ledger');
      await form.getByRole('button', { name: 'Give access' }).click();
      await expect.poll(() => status(staff, /is invited/).count()).toBe(1);
      const users = staff.getByRole('table', { name: 'Client users of Robin Ledger' });
      await expect.poll(() => users.getByRole('row').count()).toBe(2);
      expect(await users.getByRole('row').nth(1).textContent()).toMatch(new RegExp(`Robin Ledger${clientEmail.replace(/\./g, '\\.')}Invited`));
      // Remove asks first; Cancel leaves it be.
      await users.getByRole('button', { name: /^Remove: / }).click();
      await expectNoViolations(staff, '/portal/clients/:id confirming a removal');
      await users.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Remove: /);
      await expectNoViolations(staff, '/portal/clients/:id with a client user');

      clientUserId = (await asSystem(platform, practice.id, (scope) => listClientUsers(scope, clientId))).find((u) => u.email === clientEmail)!.userId;
    });

    it('adds a folder, uploads a PDF into it with its progress shown, downloads it, and adds a new version', async () => {
      const folders = staff.getByRole('region', { name: 'Folders' });
      await folders.getByRole('button', { name: 'Add the folder' }).click();
      await expect.poll(() => folders.getByRole('alert').textContent()).toMatch(/Enter a name for the folder/);
      await expectNoViolations(staff, '/portal/clients/:id with a folder missing its name');
      await folders.getByLabel('New folder').fill('Engagement');
      await folders.getByRole('button', { name: 'Add the folder' }).click();
      await expect.poll(() => status(staff, /The folder “Engagement” is added/).count()).toBe(1);
      await expect.poll(() => folders.getByRole('listitem').allTextContents()).toEqual(['Engagement']);

      await staff.getByRole('button', { name: /^Upload a document/ }).click();
      const form = staff.getByRole('form', { name: 'Upload a document for Robin Ledger' });
      await expectNoViolations(staff, '/portal/clients/:id with the upload form open');
      await form.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect.poll(() => alert(staff, 'The document was not uploaded').textContent()).toMatch(/Choose the file to upload/);
      await expectNoViolations(staff, '/portal/clients/:id with no file chosen');

      // Hold the upload a moment, so its progress can be seen.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      await staff.route('**/api/v1/portal/clients/*/documents?**', async (route) => {
        await held;
        await route.continue();
      });
      await form.getByLabel('File', { exact: true }).setInputFiles(files.engagement);
      await form.getByLabel('Title (optional)').fill('Engagement letter 2025');
      await form.getByLabel('Folder').selectOption({ label: 'Engagement' });
      await form.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect.poll(() => status(staff, /Uploading|Checking the file/).count()).toBe(1);
      await expect.poll(() => staff.getByRole('progressbar', { name: 'Upload progress' }).count()).toBe(1);
      await expectNoViolations(staff, '/portal/clients/:id while uploading');
      release();
      await expect.poll(() => status(staff, /“Engagement letter 2025” is uploaded/).count(), { timeout: 15_000 }).toBe(1);
      await staff.unroute('**/api/v1/portal/clients/*/documents?**');
      // Focus goes to the list once it holds the new document.
      await expect.poll(() => staff.evaluate(() => document.activeElement?.textContent)).toMatch(/^Documents \(1\)/);
      const card = staff.getByRole('listitem').filter({ has: staff.getByRole('heading', { name: 'Engagement letter 2025' }) });
      expect(await card.textContent()).toMatch(/Version 1, in Engagement, added by the practice, changed/);

      // The download is the file as uploaded; the preview opens it in the browser.
      const [download] = await Promise.all([staff.waitForEvent('download'), card.getByRole('link', { name: /^Download/ }).click()]);
      expect(download.suggestedFilename()).toBe('engagement.pdf');
      expect(fs.readFileSync((await download.path())!)).toEqual(fs.readFileSync(files.engagement));
      expect(await card.getByRole('link', { name: /^Preview/ }).getAttribute('href')).toMatch(/\/content\?disposition=inline$/);
      engagementId = (await card.getByRole('link', { name: /^Download/ }).getAttribute('href'))!.split('/')[5]!;

      await card.getByRole('button', { name: 'New version of Engagement letter 2025' }).click();
      await expectNoViolations(staff, '/portal/clients/:id with the new version form open');
      await card.getByLabel('New version of Engagement letter 2025', { exact: true }).setInputFiles(files.engagementV2);
      await card.getByRole('button', { name: 'Upload the new version' }).click();
      await expect.poll(() => status(staff, /Version 2 of “Engagement letter 2025” is uploaded/).count(), { timeout: 15_000 }).toBe(1);
      await expect.poll(() => card.textContent()).toMatch(/Version 2/);

      // A second document, to be signed by drawing.
      await staff.getByRole('button', { name: /^Upload a document/ }).click();
      await form.getByLabel('File', { exact: true }).setInputFiles(files.taxReturn);
      await form.getByLabel('Title (optional)').fill('Tax return 2024-25');
      await form.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect.poll(() => status(staff, /“Tax return 2024-25” is uploaded/).count(), { timeout: 15_000 }).toBe(1);
      expect(problems.get(staff)).toEqual([]);
    });

    it('sends a document for approval; a form with errors names them first', async () => {
      await staff.getByRole('button', { name: 'Send for approval or signature' }).click();
      const form = staff.getByRole('form', { name: /Send Robin Ledger documents/ });
      await expectNoViolations(staff, '/portal/clients/:id with the send form open');
      // The only client user is chosen already.
      expect(await form.getByLabel('Send to').inputValue()).toBe(clientUserId);
      await form.getByRole('button', { name: 'Send for approval' }).click();
      const summary = alert(staff, 'Nothing was sent');
      await expect.poll(() => summary.textContent()).toMatch(/Enter a title.*Choose at least one document/);
      await expectNoViolations(staff, '/portal/clients/:id with send errors');
      await form.getByRole('button', { name: 'Cancel' }).click();

      approvalFlowUrl = await send('Approval', 'Engagement letter for approval', [/^Engagement letter 2025/]);
      await checkPage(staff, '/portal/flows/:id (approval, practice)', 'Engagement letter for approval');
      const summaryList = staff.getByRole('main').locator('dl').first();
      expect(await summaryList.textContent()).toMatch(/StatusWaiting/);
      expect(await summaryList.textContent()).toContain(`Sent toRobin Ledger (${clientEmail})`);
      expect(await staff.getByRole('region', { name: 'History' }).textContent()).toMatch(/Sent for approval.*by Morgan Staff/);
    });
  });

  describe('the client user, on a phone', () => {
    beforeAll(async () => {
      clientContext = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      await signInDirectly(clientContext, platform, server.url, practice.id, clientUserId);
      client = await clientContext.newPage();
      client.setDefaultTimeout(8_000);
      problems.set(client, await watchPageProblems(client));
    });

    it('sees what is waiting for them and their own documents only, and uploads one', async () => {
      await open(client, '/portal', 'Your portal', '/portal (client)');
      const waiting = client.getByRole('region', { name: 'Waiting for you (1)' });
      expect(await waiting.textContent()).toMatch(/Engagement letter for approval.*One document to approve for Robin Ledger/);
      const main = (await client.getByRole('main').textContent())!;
      expect(main).toMatch(/Engagement letter 2025/);
      expect(main).not.toMatch(/Neighbouring Widgets/);
      // The practice's pages are not for them.
      await client.goto(at('/portal/clients'));
      await expectHeading(client, 'You do not have permission to see this page');

      await client.goto(at('/portal'));
      await expectHeading(client, 'Your portal');
      await client.getByRole('button', { name: /^Upload a document/ }).click();
      await expectNoViolations(client, '/portal (client) with the upload form open');
      await expectNoSidewaysScroll(client, '/portal (client) with the upload form open');
      await client.getByLabel('File', { exact: true }).setInputFiles(files.receipts);
      await client.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect.poll(() => status(client, /“receipts\.pdf” is uploaded/).count(), { timeout: 15_000 }).toBe(1);
      await expectNoViolations(client, '/portal (client) after uploading');
      // New versions of their own upload, not of the practice's letter.
      const theirs = client.getByRole('listitem').filter({ has: client.getByRole('heading', { name: 'receipts.pdf' }) });
      await expect.poll(() => theirs.textContent()).toMatch(/uploaded by the client/);
      expect(await theirs.getByRole('button', { name: 'New version of receipts.pdf' }).count()).toBe(1);
      const letter = client.getByRole('listitem').filter({ has: client.getByRole('heading', { name: 'Engagement letter 2025' }) });
      expect(await letter.textContent()).toMatch(/from the practice/);
      expect(await letter.getByRole('button', { name: /^New version/ }).count()).toBe(0);
    });

    it('rejects with a comment, using the keyboard alone; a rejection without one is refused first', async () => {
      await client.getByRole('link', { name: 'Engagement letter for approval' }).click();
      await expectPath(client, approvalFlowUrl);
      problems.get(client)!.length = 0;
      await checkPage(client, '/portal/flows/:id (approval, client)', 'Engagement letter for approval');
      expect(await client.getByRole('main').textContent()).toMatch(`${PRACTICE_NAME} asks you to approve this document`);

      await client.focus('#main');
      await tabUntil(client, '#respond-approve', { max: 40 });
      await client.keyboard.press('ArrowDown');
      expect(await client.getByLabel('No, something needs to change').isChecked()).toBe(true);
      // Straight to the button, leaving the comment empty.
      await tabUntil(client, 'button[type="submit"]');
      await client.keyboard.press('Enter');
      const summary = alert(client, 'Your answer was not sent');
      await expect.poll(() => summary.textContent()).toMatch(/Say what needs to change/);
      await expect.poll(() => client.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      await expectNoViolations(client, '/portal/flows/:id with a rejection missing its comment');
      await expectNoSidewaysScroll(client, '/portal/flows/:id with errors');

      // The summary's link leads to the box.
      await client.keyboard.press('Tab');
      await client.keyboard.press('Enter');
      expect(await client.evaluate(() => document.activeElement?.id)).toBe('respond-comment');
      await client.keyboard.type('Please add the payroll fees to the schedule.');
      await client.keyboard.press('Tab');
      expect(await client.evaluate(() => document.activeElement?.textContent)).toBe('Send my answer');
      await client.keyboard.press('Enter');
      await expect.poll(() => status(client, /You rejected it/).count()).toBe(1);
      await expect.poll(() => client.evaluate(() => document.activeElement?.className)).toBe('portal-outcome');
      expect(await client.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusRejected.*What needs to changePlease add the payroll fees/);
      await expectNoViolations(client, '/portal/flows/:id after rejecting');
      await expectNoSidewaysScroll(client, '/portal/flows/:id after rejecting');
    });
  });

  describe('signatures', () => {
    it('staff sees the rejection and its comment, and sends for signature', async () => {
      await open(staff, approvalFlowUrl, 'Engagement letter for approval', '/portal/flows/:id (approval, practice)');
      expect(await staff.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusRejected.*What needs to changePlease add the payroll fees to the schedule\./);
      expect(await staff.getByRole('region', { name: 'History' }).textContent()).toMatch(/Rejected.*by Robin Ledger/);
      // Nothing to withdraw once answered.
      expect(await staff.getByRole('button', { name: /^Withdraw/ }).count()).toBe(0);
      await open(staff, '/portal', 'Client portal', '/portal (practice)');
      expect(await staff.getByRole('region', { name: 'Approvals and signatures' }).textContent()).toMatch(/1\s*Rejected/);

      typedFlowUrl = await send('Signature', 'Engagement letter to sign', [/^Engagement letter 2025/]);
      await checkPage(staff, '/portal/flows/:id (signature, practice)', 'Engagement letter to sign');
    });

    it('the client signs with a typed name, with the keyboard alone; consent is required', async () => {
      await open(client, typedFlowUrl, 'Engagement letter to sign', '/portal/flows/:id (signature, client)');
      // Declining is offered too: its form opens, and can be put away.
      await client.getByRole('button', { name: 'I will not sign' }).click();
      await expect.poll(() => client.evaluate(() => document.activeElement?.id)).toBe('decline-reason');
      await expectNoViolations(client, '/portal/flows/:id with the decline form open');
      await client.getByRole('form', { name: 'Decline to sign' }).getByRole('button', { name: 'Cancel' }).click();
      // Focus goes back to the button that opened it.
      await expect.poll(() => client.evaluate(() => document.activeElement?.textContent)).toBe('I will not sign');

      await client.focus('#main');
      await tabUntil(client, '#sign-method-typed', { max: 40 });
      expect(await client.getByLabel('Type my name').isChecked()).toBe(true);
      await client.keyboard.press('Tab');
      expect(await client.evaluate(() => document.activeElement?.id)).toBe('sign-typed');
      await client.keyboard.type('Robin Ledger');
      await tabUntil(client, 'button[type="submit"]');
      expect(await client.evaluate(() => document.activeElement?.textContent)).toBe('Sign the document');
      await client.keyboard.press('Enter');
      await expect.poll(() => alert(client, 'Nothing was signed').textContent()).toMatch(/Tick the box to agree to sign electronically/);
      await expect.poll(() => client.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      await expectNoViolations(client, '/portal/flows/:id without consent');
      await expectNoSidewaysScroll(client, '/portal/flows/:id without consent');

      await client.keyboard.press('Tab');
      await client.keyboard.press('Enter');
      expect(await client.evaluate(() => document.activeElement?.id)).toBe('sign-consent');
      await client.keyboard.press('Space');
      await client.keyboard.press('Tab');
      expect(await client.evaluate(() => document.activeElement?.textContent)).toBe('Sign the document');
      const [signing] = await Promise.all([client.waitForRequest('**/signature'), client.keyboard.press('Enter')]);
      expect(signing.postDataJSON()).toEqual({ signature: { kind: 'typed', text: 'Robin Ledger' }, consent: true });
      await expect.poll(() => status(client, /You signed the document/).count(), { timeout: 20_000 }).toBe(1);
      expect(await client.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusSigned/);
      await expect.poll(() => client.getByRole('link', { name: /^Download the signed copy/ }).count()).toBe(1);
      await expectNoViolations(client, '/portal/flows/:id after signing');
      await expectNoSidewaysScroll(client, '/portal/flows/:id after signing');
    });

    it('a second request is signed by drawing on the pad with the mouse', async () => {
      drawnFlowUrl = await send('Signature', 'Tax return to sign', [/^Tax return 2024-25/]);
      await open(client, drawnFlowUrl, 'Tax return to sign', '/portal/flows/:id (drawn signature, client)');
      await client.getByLabel('Draw my signature').check();
      const pad = client.getByRole('img', { name: 'Signature pad, empty' });
      expect(await pad.getAttribute('aria-describedby')).toBe('sign-pad-hint');
      await expectNoViolations(client, '/portal/flows/:id with the signature pad');
      await expectNoSidewaysScroll(client, '/portal/flows/:id with the signature pad');
      await client.getByLabel(/I agree to sign electronically/).check();
      await client.getByRole('button', { name: 'Sign the document' }).click();
      await expect.poll(() => alert(client, 'Nothing was signed').textContent()).toMatch(/Draw your signature on the pad/);
      await expectNoViolations(client, '/portal/flows/:id with an empty pad');

      await pad.scrollIntoViewIfNeeded();
      const box = (await pad.boundingBox())!;
      expect(box.width).toBeLessThanOrEqual(360);
      await client.mouse.move(box.x + 20, box.y + box.height * 0.7);
      await client.mouse.down();
      await client.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2, { steps: 8 });
      await client.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 8 });
      await client.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.3, { steps: 8 });
      await client.mouse.up();
      await expect.poll(() => client.getByRole('img', { name: 'Signature pad, with your signature drawn on it' }).count()).toBe(1);
      expect(await client.getByRole('button', { name: 'Clear the signature pad' }).isEnabled()).toBe(true);
      const [signing] = await Promise.all([client.waitForRequest('**/signature'), client.getByRole('button', { name: 'Sign the document' }).click()]);
      // What was drawn goes as a PNG image, base64 without a data: prefix.
      const sent = signing.postDataJSON() as { signature: { kind: string; png: string }; consent: boolean };
      expect(sent.signature.kind).toBe('drawn');
      expect(sent.consent).toBe(true);
      expect(Buffer.from(sent.signature.png, 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      await expect.poll(() => status(client, /You signed the document/).count(), { timeout: 20_000 }).toBe(1);
      expect(await client.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusSigned/);
      await open(client, '/portal', 'Your portal', '/portal (client)');
      expect(await client.getByRole('region', { name: 'Waiting for you (0)' }).textContent()).toMatch(/Nothing is waiting for you/);
      await expect.poll(() => client.getByRole('region', { name: 'Answered or closed' }).getByRole('listitem').count()).toBe(3);
    });

    it('staff sees it signed and downloads the signed copy and the audit certificate', async () => {
      await open(staff, typedFlowUrl, 'Engagement letter to sign', '/portal/flows/:id (signature, practice)');
      expect(await staff.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusSigned/);
      expect(await staff.getByRole('region', { name: 'History' }).textContent()).toMatch(/Signed.*by Robin Ledger/);
      const documents = staff.getByRole('region', { name: 'Documents (1)' });
      expect(await documents.textContent()).toMatch(/Sent as version 2; signed copy is version 3/);
      expect(await documents.textContent()).toContain(engagementId);

      const [signed] = await Promise.all([staff.waitForEvent('download'), documents.getByRole('link', { name: /^Download the signed copy/ }).click()]);
      signedCopy = path.join(workDir, 'signed.pdf');
      await signed.saveAs(signedCopy);
      const bytes = fs.readFileSync(signedCopy);
      expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
      expect(bytes.equals(fs.readFileSync(files.engagementV2))).toBe(false);

      const [certificate] = await Promise.all([staff.waitForEvent('download'), documents.getByRole('link', { name: /^Download the audit certificate/ }).click()]);
      expect(certificate.suggestedFilename()).toBe('Engagement letter 2025 (audit certificate).pdf');
      expect(fs.readFileSync((await certificate.path())!).subarray(0, 5).toString()).toBe('%PDF-');
      expect(problems.get(staff)).toEqual([]);
    });

    it('staff withdraws a request still waiting', async () => {
      await send('Approval', 'Tax return for a second look', [/^Tax return 2024-25/]);
      await staff.getByRole('button', { name: 'Withdraw: “Tax return for a second look”' }).click();
      await expectNoViolations(staff, '/portal/flows/:id confirming the withdrawal');
      await staff.getByRole('button', { name: /^Yes, withdraw/ }).click();
      await expect.poll(() => status(staff, /is withdrawn/).count()).toBe(1);
      expect(await staff.getByRole('main').locator('dl').first().textContent()).toMatch(/StatusWithdrawn/);
      expect(await staff.getByRole('region', { name: 'History' }).textContent()).toMatch(/Withdrawn by the practice/);
    });
  });

  describe('the practice’s administrator', () => {
    it('also sees the signing credits left and the storage used', async () => {
      const context = await browser.newContext();
      await signInDirectly(context, platform, server.url, practice.id, practice.adminUserId);
      const admin = await context.newPage();
      admin.setDefaultTimeout(8_000);
      problems.set(admin, await watchPageProblems(admin));
      await open(admin, '/portal', 'Client portal', '/portal (administrator)');
      // Five bought, two signatures completed.
      expect(await admin.getByRole('region', { name: 'Credits and storage' }).textContent()).toMatch(/Signing credits3 credits left.*Storage[\d.]+ [KM]B of 5\.0 GB used/);
      expect(await admin.getByRole('region', { name: 'Approvals and signatures' }).textContent()).toMatch(/0\s*Waiting.*1\s*Rejected.*2\s*Signed.*1\s*Withdrawn/);
      await context.close();
    });
  });

  describe('checking a signed document, signed in or not', () => {
    let visitor: Page;

    beforeAll(async () => {
      const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
      visitor = await context.newPage();
      visitor.setDefaultTimeout(8_000);
      problems.set(visitor, await watchPageProblems(visitor));
    });

    it('the signed file matches, naming the practice and when; an altered file does not', async () => {
      await open(visitor, `/verify?documentId=${engagementId}`, 'Check a signed document', '/verify');
      await expectNoSidewaysScroll(visitor, '/verify');
      expect(await visitor.getByLabel('Document id').inputValue()).toBe(engagementId);
      await visitor.getByRole('button', { name: 'Check the document' }).click();
      await expect.poll(() => alert(visitor, 'The document could not be checked').textContent()).toMatch(/Choose the signed file to check/);
      await expectNoViolations(visitor, '/verify with no file');

      await visitor.getByLabel('Signed file').setInputFiles(signedCopy);
      await visitor.getByRole('button', { name: 'Check the document' }).click();
      const matched = visitor.getByRole('region', { name: 'It matches: this is the signed document' });
      await expect.poll(() => matched.count(), { timeout: 10_000 }).toBe(1);
      expect(await matched.textContent()).toContain(`Signed through${PRACTICE_NAME}`);
      expect(await matched.textContent()).toMatch(/Signed\d{2}:\d{2}, \d{1,2} [A-Z][a-z]{2}/);
      await expect.poll(() => visitor.evaluate(() => document.activeElement?.id)).toBe('verify-result-title');
      await expectNoViolations(visitor, '/verify with a match');
      await expectNoSidewaysScroll(visitor, '/verify with a match');

      const altered = path.join(workDir, 'altered.pdf');
      fs.writeFileSync(altered, Buffer.concat([fs.readFileSync(signedCopy), Buffer.from('\n% one more line\n')]));
      await visitor.getByLabel('Signed file').setInputFiles(altered);
      await visitor.getByRole('button', { name: 'Check the document' }).click();
      const refused = visitor.getByRole('region', { name: 'No match: this is not the signed document' });
      await expect.poll(() => refused.count(), { timeout: 10_000 }).toBe(1);
      expect(await refused.textContent()).not.toContain(PRACTICE_NAME);
      await expectNoViolations(visitor, '/verify with no match');
      await expectNoSidewaysScroll(visitor, '/verify with no match');
      expect(problems.get(visitor)).toEqual([]);
    });

    it('every page checked has its own title', () => {
      // The same address may be checked twice (before and after a change, or as staff and as the client): one title per address.
      const addresses = new Map<string, Set<string>>();
      for (const { title, address } of titles.values()) addresses.set(title, (addresses.get(title) ?? new Set()).add(address));
      for (const [title, where] of addresses) expect([...where], title).toHaveLength(1);
      expect(addresses.size).toBe(8);
    });
  });
});
