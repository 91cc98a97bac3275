import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { inviteUser } from '../../src/platform/identity/users.ts';
import { addClientUser } from '../../src/products/client-portal/client-users.ts';
import { createClient } from '../../src/products/client-portal/clients.ts';
import { startFakeStripe, type FakeStripeServer } from '../../src/products/client-portal/payments/testing/stripe-server.ts';
import { runMtdQuarterPass } from '../../src/products/client-portal/requests/mtd.ts';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { expectHeading, expectPath, signInDirectly } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * Information requests and invoices in a browser, end to end. Staff send the built-in year-end
 * checklist; the client user (a phone-sized browser) saves a draft, is told which required
 * question is unanswered (and led to it from the summary), uploads a P60 for the documents
 * question and sends the answers; staff read them and mark the request complete. Staff raise an
 * invoice with a standard-rated and a zero-rated line; the client pays: the browser goes to the
 * (local, Stripe-shaped) checkout page, the payment is completed there and its signed webhook
 * delivered to the server, and the client sees the invoice paid with its receipt; staff export the
 * invoices to Excel. The administrator buys signing credits the same way. Quarterly Making Tax
 * Digital figures are entered by staff and approved by the client. Every page and state is checked
 * with axe (WCAG 2.2 AA), the client's at 360×740 without sideways scrolling. The tests run in order
 * and share state.
 */
describe('information requests and invoices in a browser', () => {
  let fake: FakeStripeServer;
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let practice: TestOrganisation;
  let staffContext: BrowserContext;
  let clientContext: BrowserContext;
  let staff: Page;
  let client: Page;
  let workDir: string;
  let p60File = '';
  const problems = new Map<Page, string[]>();
  const titles = new Map<string, { title: string; address: string }>();
  const PRACTICE_NAME = 'Ashcombe & Reed Accountants (test)';
  const clientEmail = fakePerson().email;
  let clientId = '';
  let clientUserId = '';
  let neighbourUserId = '';
  let requestUrl = '';
  let invoiceUrl = '';

  const at = (p: string) => new URL(p, server.url).toString();
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const checkoutPage = () => new RegExp(`^${escape(fake.apiBase)}/c/pay/(cs_test_\\w+)$`);

  beforeAll(async () => {
    await ensureWebBuilt();
    fake = await startFakeStripe();
    platform = await startTestPlatform({
      env: { PORT: '0', HOST: '127.0.0.1', STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_BASE: fake.apiBase },
    });
    server = await startServer(platform);
    practice = await createTestOrganisation(platform, { kind: 'practice', name: PRACTICE_NAME });
    const staffUserId = await asSystem(platform, practice.id, async (scope) => {
      const invited = await inviteUser(scope, { email: fakePerson().email, displayName: 'Morgan Staff', role: 'staff' }, 'http://custos.test');
      // In Making Tax Digital: the quarterly figures are asked of this client too.
      const robin = await createClient(scope, { kind: 'individual', name: 'Robin Ledger', mtdItsa: true });
      clientId = robin.id;
      clientUserId = (await addClientUser(platform.queue, scope, robin.id, { email: clientEmail, displayName: 'Robin Ledger' }, 'http://custos.test')).userId;
      // Another client of the practice: its client user must never see Robin's requests or invoices.
      const neighbour = await createClient(scope, { kind: 'company', name: 'Neighbouring Widgets Ltd' });
      neighbourUserId = (await addClientUser(platform.queue, scope, neighbour.id, { email: fakePerson().email }, 'http://custos.test')).userId;
      return invited.userId;
    });

    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-requests-browser-'));
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const sheet = doc.addPage([595, 842]);
    ['P60 End of Year Certificate', 'Tax year to 5 April 2026', 'Employer: Harbour Ledger Ltd'].forEach((line, i) => sheet.drawText(line, { x: 72, y: 760 - i * 24, size: i === 0 ? 18 : 11, font }));
    p60File = path.join(workDir, 'p60.pdf');
    fs.writeFileSync(p60File, await doc.save());

    browser = await launchBrowser();
    staffContext = await browser.newContext();
    await signInDirectly(staffContext, platform, server.url, practice.id, staffUserId);
    staff = await staffContext.newPage();
    staff.setDefaultTimeout(8_000);
    problems.set(staff, await watchPageProblems(staff));

    clientContext = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    await signInDirectly(clientContext, platform, server.url, practice.id, clientUserId);
    client = await clientContext.newPage();
    client.setDefaultTimeout(8_000);
    // The client's page is refused once on purpose (a required answer missing): that 400 is not a page problem.
    problems.set(client, await watchPageProblems(client, { allowHttpErrors: true }));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    await fake?.close();
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

  /** One state of a page: axe finds nothing, and (for the client) it fits the phone. */
  async function checkState(page: Page, label: string): Promise<void> {
    await expectNoViolations(page, label);
    if (page === client) await expectNoSidewaysScroll(page, label);
  }

  /** The h1 has loaded, there is one, the title is the page's own; axe finds nothing; nothing went wrong in the page. */
  async function checkPage(page: Page, label: string, h1: string | RegExp): Promise<void> {
    await expectHeading(page, h1);
    await expect.poll(() => page.getByText(/^Loading/).count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('h1').count(), `${label} has one h1`).toBe(1);
    const title = await page.title();
    expect(title, label).toMatch(/ – Custos$/);
    titles.set(label, { title, address: new URL(page.url()).pathname });
    await checkState(page, label);
    expect(problems.get(page), label).toEqual([]);
  }

  async function open(page: Page, p: string, h1: string | RegExp, label = p): Promise<void> {
    problems.get(page)!.length = 0;
    await page.goto(at(p));
    await checkPage(page, label, h1);
  }

  const alert = (page: Page, title: string) => page.getByRole('alert').filter({ hasText: title });
  const status = (page: Page, text: RegExp) => page.getByRole('status').filter({ hasText: text });
  const summary = (page: Page) => page.getByRole('main').locator('dl').first();
  /** The fake Stripe's hosted page is not a real one: the browser's visit is answered here, and its address kept. */
  const stubCheckoutPage = (page: Page) =>
    page.route(`${fake.apiBase}/c/pay/**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><html lang="en"><head><title>Checkout (test)</title></head><body><main><h1>Pay (test)</h1></main></body></html>' }),
    );

  describe('a year-end questionnaire', () => {
    it('staff send the built-in self-assessment checklist to the client user; missing choices are named first', async () => {
      await open(staff, '/portal/requests', 'Information requests');
      expect(await status(staff, /request/).textContent()).toBe('No requests.');
      expect(await staff.getByRole('navigation', { name: 'Client portal' }).getByRole('link', { name: 'Requests' }).getAttribute('aria-current')).toBe('page');

      await staff.getByRole('button', { name: 'Send questions to a client' }).click();
      const form = staff.getByRole('form', { name: 'Send questions to a client' });
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('request-send-heading');
      // The built-in checklist is offered first.
      await expect.poll(() => form.getByLabel('Questions').inputValue()).toBe('builtin-self-assessment-year-end');
      await checkState(staff, '/portal/requests with the send form open');

      await form.getByRole('button', { name: 'Send the questions' }).click();
      await expect.poll(() => alert(staff, 'Nothing was sent').textContent()).toMatch(/Choose the client the questions are for/);
      expect(await form.getByLabel('Client').getAttribute('aria-invalid')).toBe('true');
      await checkState(staff, '/portal/requests with send errors');

      await form.getByLabel('Client').selectOption({ label: 'Robin Ledger' });
      // The client's only user is chosen for them.
      await expect.poll(() => form.getByLabel('Send to').inputValue()).toBe(clientUserId);
      await form.getByLabel('Title (optional)').fill('Your 2025-26 tax return');
      await form.getByLabel('Message (optional)').fill('Please have this back to us by the end of the month.');
      await form.getByRole('button', { name: 'Send the questions' }).click();
      await expectPath(staff, /^\/portal\/requests\/[0-9a-f-]{36}$/);
      requestUrl = new URL(staff.url()).pathname;
      await checkPage(staff, '/portal/requests/:id (practice, waiting)', 'Your 2025-26 tax return');
      expect(await status(staff, /is sent/).textContent()).toMatch(/“Your 2025-26 tax return” is sent/);
      await expect.poll(() => summary(staff).textContent()).toMatch(/StatusWaiting for the client.*ClientRobin Ledger.*Sent toRobin Ledger/);
      expect(await staff.getByRole('region', { name: 'Answers' }).textContent()).toMatch(/Were you employed.*Not answered/);
      expect(await staff.title()).toBe('Your 2025-26 tax return – Request – Custos');
    });

    it('the client saves a draft on a phone; sending without a required answer names the question and leads to it', async () => {
      await open(client, '/portal', 'Your portal', '/portal (client)');
      const questions = client.getByRole('region', { name: 'Questions to answer (1)' });
      expect(await questions.textContent()).toMatch(/Your 2025-26 tax return.*Waiting for you.*Questions to answer/);
      await questions.getByRole('link', { name: 'Your 2025-26 tax return' }).click();
      await expectPath(client, requestUrl);
      problems.get(client)!.length = 0;
      await checkPage(client, '/portal/requests/:id (client, answering)', 'Your 2025-26 tax return');
      expect(await client.getByRole('main').textContent()).toContain(`${PRACTICE_NAME} asks you to answer these questions`);
      expect(await client.getByRole('region', { name: 'Message from the practice' }).textContent()).toMatch(/end of the month/);

      const form = client.getByRole('form', { name: 'Your answers' });
      await form.getByRole('group', { name: /^Were you employed/ }).getByLabel('Yes').check();
      await form.getByLabel(/^Which employers/).fill('Harbour Ledger Ltd');
      await form.getByLabel(/^Interest from UK banks/).fill('42.10');
      const [draft] = await Promise.all([client.waitForRequest((r) => r.url().endsWith('/answers') && r.method() === 'PUT'), form.getByRole('button', { name: 'Save and come back later' }).click()]);
      expect(draft.postDataJSON()).toEqual({ answers: { employed: true, employers: 'Harbour Ledger Ltd', 'bank-interest': 4210 } });
      await expect.poll(() => status(client, /Your answers are saved/).count()).toBe(1);
      await checkState(client, '/portal/requests/:id (client) with a draft saved');

      // The draft is there after a reload.
      await client.reload();
      await expectHeading(client, 'Your 2025-26 tax return');
      await expect.poll(() => form.getByLabel(/^Interest from UK banks/).inputValue()).toBe('42.10');
      expect(await form.getByRole('group', { name: /^Were you employed/ }).getByLabel('Yes').isChecked()).toBe(true);
      expect(await summary(client).textContent()).toMatch(/Questions answered3 of \d+/);

      // A wrong amount is caught before anything is sent.
      await form.getByLabel(/^Interest from UK banks/).fill('forty-two');
      await form.getByRole('button', { name: 'Send my answers' }).click();
      await expect.poll(() => alert(client, 'Your answers were not sent').textContent()).toMatch(/Enter “Interest from UK banks.*” as an amount in pounds and pence/);
      await form.getByLabel(/^Interest from UK banks/).fill('42.10');

      const [refused] = await Promise.all([client.waitForResponse((r) => r.url().endsWith('/submit')), form.getByRole('button', { name: 'Send my answers' }).click()]);
      expect(refused.status()).toBe(400);
      const errors = alert(client, 'Your answers were not sent');
      await expect.poll(() => errors.textContent()).toMatch(/Answer “Have your address, bank details or marital status changed since we last heard from you\?”: it is required/);
      expect(await errors.textContent()).toMatch(/Did you work for yourself.*Did you receive rent.*Did you sell or give away/);
      await expect.poll(() => client.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      const changed = form.getByRole('group', { name: /^Have your address/ });
      expect(await changed.getAttribute('aria-describedby')).toBe('question-details-changed-error');
      expect(await changed.locator('.field__error').textContent()).toMatch(/it is required/);
      await checkState(client, '/portal/requests/:id (client) with a required answer missing');

      // The summary's first link leads to the question: its first answer takes focus.
      await client.keyboard.press('Tab');
      expect(await client.evaluate(() => document.activeElement?.textContent)).toMatch(/^Answer “Have your address/);
      await client.keyboard.press('Enter');
      expect(await client.evaluate(() => document.activeElement?.id)).toBe('question-details-changed-yes');
      await client.keyboard.press('ArrowDown');
      expect(await changed.getByLabel('No').isChecked()).toBe(true);
    });

    it('the client uploads a P60 for its question and sends the answers', async () => {
      const form = client.getByRole('form', { name: 'Your answers' });
      for (const question of [/^Did you work for yourself/, /^Did you receive rent/, /^Did you sell or give away/]) {
        await form.getByRole('group', { name: question }).getByLabel('No').check();
      }
      await form.getByRole('group', { name: /^How would you prefer to pay/ }).getByLabel('A budget payment plan').check();

      const p60 = form.getByRole('group', { name: /^Your P60 for each employment/ });
      expect(await p60.textContent()).toMatch(/Your employer gives you a P60 after the year ends\..*Nothing attached yet/);
      await p60.getByRole('button', { name: /^Upload and attach/ }).click();
      await expect.poll(() => p60.locator('.field__error').textContent()).toMatch(/Choose a file to upload first/);
      await p60.getByLabel('Upload a file').setInputFiles(p60File);
      await p60.getByRole('button', { name: /^Upload and attach/ }).click();
      await expect.poll(() => status(client, /“p60\.pdf” is uploaded and attached/).count(), { timeout: 15_000 }).toBe(1);
      await expect.poll(() => p60.getByRole('link', { name: 'p60.pdf' }).count()).toBe(1);
      expect(await p60.textContent()).toMatch(/Attached: one document/);
      await checkState(client, '/portal/requests/:id (client) with a P60 attached');

      const [sent] = await Promise.all([client.waitForRequest((r) => r.url().endsWith('/submit')), form.getByRole('button', { name: 'Send my answers' }).click()]);
      const answers = (sent.postDataJSON() as { answers: Record<string, unknown> }).answers;
      expect(answers).toMatchObject({ 'details-changed': false, employed: true, 'self-employed': false, property: false, disposals: false, 'bank-interest': 4210, 'tax-payment': 'A budget payment plan' });
      expect(answers.p60).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);
      await expect.poll(() => status(client, /Your answers are sent to the practice, with 1 document/).count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => client.evaluate(() => document.activeElement?.className)).toBe('portal-outcome');
      expect(await summary(client).textContent()).toMatch(/StatusSent to the practice/);
      expect(await client.getByRole('form', { name: 'Your answers' }).count()).toBe(0);
      expect(await client.getByRole('region', { name: 'Answers' }).textContent()).toMatch(/Your P60 for each employment.*p60\.pdf/);
      await checkState(client, '/portal/requests/:id (client) after sending');

      await open(client, '/portal/requests', 'Your requests', '/portal/requests (client)');
      expect(await client.getByRole('region', { name: 'Waiting for you (0)' }).textContent()).toMatch(/Nothing is waiting for you/);
      expect(await client.getByRole('region', { name: 'Answered or closed' }).textContent()).toMatch(/Your 2025-26 tax return.*Sent to the practice/);
    });

    it('staff read the answers with the P60, and mark the request complete', async () => {
      await open(staff, requestUrl, 'Your 2025-26 tax return', '/portal/requests/:id (practice, answered)');
      expect(await summary(staff).textContent()).toMatch(/StatusAnswered/);
      const answers = staff.getByRole('region', { name: 'Answers' });
      expect(await answers.textContent()).toMatch(/Were you employed.*YesWhich employers.*Harbour Ledger Ltd/);
      expect(await answers.textContent()).toContain('£42.10');
      expect(await answers.textContent()).toContain('A budget payment plan');
      const [download] = await Promise.all([staff.waitForEvent('download'), answers.getByRole('link', { name: 'p60.pdf' }).click()]);
      expect(fs.readFileSync((await download.path())!)).toEqual(fs.readFileSync(p60File));

      // Sending back asks for a comment; Cancel puts it away.
      await staff.getByRole('button', { name: 'Send back to the client' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('send-back-comment');
      await staff.getByRole('button', { name: 'Send it back' }).click();
      await expect.poll(() => alert(staff, 'It was not sent back').textContent()).toMatch(/Say what is missing/);
      await checkState(staff, '/portal/requests/:id sending back without a comment');
      await staff.getByRole('form', { name: 'Send back to the client' }).getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.textContent)).toBe('Send back to the client');

      await staff.getByRole('button', { name: 'Mark as complete' }).click();
      await expect.poll(() => status(staff, /is complete/).count()).toBe(1);
      expect(await summary(staff).textContent()).toMatch(/StatusComplete.*Completed/);
      expect(await staff.getByRole('button', { name: /^Withdraw/ }).count()).toBe(0);
      await checkState(staff, '/portal/requests/:id (practice, complete)');

      await open(staff, '/portal/requests', 'Information requests', '/portal/requests (practice)');
      const row = staff.getByRole('row').filter({ hasText: 'Your 2025-26 tax return' });
      expect(await row.textContent()).toMatch(/Robin Ledger.*Questions.*Complete/);
    });

    it('staff add a template of their own; the built-in one cannot be changed, only copied', async () => {
      await open(staff, '/portal/request-templates', 'Request templates');
      const builtIn = staff.getByRole('listitem').filter({ has: staff.getByRole('heading', { name: /^Self-assessment year-end checklist/ }) });
      expect(await builtIn.textContent()).toMatch(/Built in.*questions in 9 sections/);
      expect(await builtIn.getByRole('button', { name: /^Change/ }).count()).toBe(0);
      await builtIn.getByText('Show the questions').click();
      await checkState(staff, '/portal/request-templates with questions shown');

      await staff.getByRole('button', { name: 'Add a template' }).click();
      const form = staff.getByRole('form', { name: 'Add a template' });
      await form.getByLabel('Kind of answer to question 1.1').selectOption({ label: 'One of a list' });
      await form.getByRole('button', { name: 'Save the template' }).click();
      await expect.poll(() => alert(staff, 'The template was not saved').textContent()).toMatch(/Enter a name.*Section 1: enter its title.*Question 1\.1: enter the question.*at least 2 options/);
      await checkState(staff, '/portal/request-templates with template errors');

      await form.getByLabel('Name', { exact: true }).fill('Rental income');
      await form.getByLabel('Title of section 1').fill('Your lettings');
      await form.getByLabel('Question 1.1', { exact: true }).fill('Who manages the property?');
      await form.getByLabel('Options for question 1.1').fill('I do\nA letting agent');
      await form.getByRole('button', { name: /^Add a question/ }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('template-s0-q1-text');
      await staff.keyboard.type('Rent received in the year');
      await form.getByLabel('Kind of answer to question 1.2').selectOption({ label: 'Amount of money' });
      await form.getByLabel('The client must answer question 1.2').check();
      await checkState(staff, '/portal/request-templates with a template being written');
      await form.getByRole('button', { name: 'Save the template' }).click();
      await expect.poll(() => status(staff, /“Rental income” is added/).count()).toBe(1);
      const added = staff.getByRole('listitem').filter({ has: staff.getByRole('heading', { name: 'Rental income' }) });
      expect(await added.textContent()).toMatch(/2 questions in 1 section, 1 required/);
      await checkState(staff, '/portal/request-templates with a template added');
    });
  });

  describe('quarterly figures for Making Tax Digital', () => {
    let quarterUrl = '';
    const MTD_TITLE = 'Making Tax Digital quarterly update 2026-27 Q3 (2026-10-06 to 2027-01-05)';

    it('staff enter the quarter’s figures; amounts are checked first', async () => {
      // The daily job makes the quarter's request once the quarter has ended (here: the one to 5 January 2027).
      expect(await runMtdQuarterPass(platform, { today: '2027-01-06' })).toEqual({ period: '2026-27-Q3', created: 1 });
      await open(staff, '/portal/requests', 'Information requests', '/portal/requests (practice)');
      await staff.getByRole('link', { name: MTD_TITLE }).click();
      await expectPath(staff, /^\/portal\/requests\/[0-9a-f-]{36}$/);
      quarterUrl = new URL(staff.url()).pathname;
      problems.get(staff)!.length = 0;
      await checkPage(staff, '/portal/requests/:id (practice, quarterly figures)', MTD_TITLE);
      expect(await staff.getByRole('region', { name: 'Figures for Quarter 3 of 2026-27' }).textContent()).toMatch(/Covers6 Apr 2026 to 5 Jan 2027.*HMRC’s deadline7 Feb 2027.*has not entered the figures/);

      const form = staff.getByRole('form', { name: 'Enter the figures' });
      await form.getByRole('group', { name: 'Income line 1' }).getByLabel('Category').fill('Rent received');
      await form.getByRole('group', { name: 'Income line 1' }).getByLabel('Amount (£)').fill('twelve thousand');
      await form.getByRole('button', { name: 'Save the figures and ask the client' }).click();
      await expect.poll(() => alert(staff, 'The figures were not saved').textContent()).toMatch(/Enter income line 1 as an amount/);
      await checkState(staff, '/portal/requests/:id with a wrong figure');

      await form.getByRole('group', { name: 'Income line 1' }).getByLabel('Amount (£)').fill('12,600.00');
      await form.getByRole('group', { name: 'Expenses line 1' }).getByLabel('Category').fill('Letting agent fees');
      await form.getByRole('group', { name: 'Expenses line 1' }).getByLabel('Amount (£)').fill('1512');
      await form.getByRole('button', { name: 'Add an expenses line' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('mtd-expenses-1-category');
      await staff.keyboard.type('Repairs');
      await form.getByRole('group', { name: 'Expenses line 2' }).getByLabel('Amount (£)').fill('520.00');
      await form.getByRole('button', { name: 'Save the figures and ask the client' }).click();
      await expect.poll(() => status(staff, /The figures are saved \(revision 1\)/).count()).toBe(1);
      const figures = staff.getByRole('region', { name: 'Figures for Quarter 3 of 2026-27' });
      await expect.poll(() => figures.textContent()).toMatch(/Rent received£12,600\.00.*Total income£12,600\.00.*Letting agent fees£1,512\.00.*Repairs£520\.00.*Total expenses£2,032\.00.*Profit \(income less expenses\)£10,568\.00/);
      await checkState(staff, '/portal/requests/:id with figures entered');
    });

    it('the client approves the figures on a phone, and staff complete the request', async () => {
      await open(client, quarterUrl, MTD_TITLE, '/portal/requests/:id (client, quarterly figures)');
      const form = client.getByRole('form', { name: 'Are these figures right?' });
      await form.getByRole('button', { name: 'Send my answer' }).click();
      await expect.poll(() => alert(client, 'Your answer was not sent').textContent()).toMatch(/Choose whether the figures are right/);
      await checkState(client, '/portal/requests/:id (client) without an answer to the figures');
      await form.getByLabel('Yes, I approve them').check();
      const [decision] = await Promise.all([client.waitForRequest('**/summary-decision'), form.getByRole('button', { name: 'Send my answer' }).click()]);
      expect(decision.postDataJSON()).toEqual({ decision: 'approve', summaryRevision: 1 });
      await expect.poll(() => status(client, /You approved the figures/).count()).toBe(1);
      expect(await client.getByRole('region', { name: 'Figures for Quarter 3 of 2026-27' }).textContent()).toMatch(/Your answerApproved \(revision 1\)/);
      await checkState(client, '/portal/requests/:id (client) after approving the figures');

      await open(staff, quarterUrl, MTD_TITLE, '/portal/requests/:id (practice, quarterly figures)');
      await staff.getByRole('button', { name: 'Mark as complete' }).click();
      await expect.poll(() => summary(staff).textContent()).toMatch(/StatusComplete/);
    });
  });

  describe('an invoice paid online', () => {
    it('staff raise an invoice with a standard-rated and a zero-rated line, and see the totals as they type', async () => {
      await open(staff, '/portal/invoices', 'Invoices');
      expect(await status(staff, /invoice/i).textContent()).toBe('No invoices.');
      await staff.getByRole('link', { name: 'Raise an invoice' }).click();
      await expectPath(staff, '/portal/invoices/new');
      await checkPage(staff, '/portal/invoices/new', 'Raise an invoice');

      const form = staff.getByRole('form', { name: 'Raise an invoice' });
      await form.getByRole('button', { name: 'Raise the invoice' }).click();
      await expect.poll(() => alert(staff, 'The invoice was not raised').textContent()).toMatch(/Choose the client to invoice.*Line 1: enter what it is for.*Line 1: enter the unit price/);
      await expect.poll(() => staff.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      await checkState(staff, '/portal/invoices/new with errors');

      await form.getByLabel('Client').selectOption({ label: 'Robin Ledger' });
      const first = form.getByRole('group', { name: 'Line 1' });
      await first.getByLabel('Description').fill('Self-assessment tax return 2025-26');
      await first.getByLabel('Unit price (£, before VAT)').fill('1,200.00');
      expect(await first.getByLabel('VAT rate').inputValue()).toBe('standard');
      await expect.poll(() => first.textContent()).toMatch(/Line total: £1,440\.00 \(£1,200\.00 and £240\.00 VAT\)/);

      await form.getByRole('button', { name: 'Add a line' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('line-1-description');
      await staff.keyboard.type('Companies House filing fee');
      const second = form.getByRole('group', { name: 'Line 2' });
      await second.getByLabel('Unit price (£, before VAT)').fill('34');
      await second.getByLabel('VAT rate').selectOption({ label: 'Zero rate (0%)' });
      // A third line, taken off again: focus goes back to "Add a line".
      await form.getByRole('button', { name: 'Add a line' }).click();
      await form.getByRole('button', { name: 'Remove line 3' }).click();
      await expect.poll(() => staff.evaluate(() => document.activeElement?.id)).toBe('invoice-add-line');
      expect(await form.getByRole('group', { name: /^Line \d$/ }).count()).toBe(2);

      const totals = staff.getByRole('region', { name: 'VAT summary' });
      await expect.poll(() => totals.textContent()).toMatch(/Standard rate \(20%\)£1,200\.00£240\.00Zero rate \(0%\)£34\.00£0\.00Net total£1,234\.00VAT£240\.00Total to pay£1,474\.00/);
      await checkState(staff, '/portal/invoices/new with two lines');

      const [raised] = await Promise.all([staff.waitForRequest((r) => r.url().endsWith('/api/v1/portal/invoices') && r.method() === 'POST'), form.getByRole('button', { name: 'Raise the invoice' }).click()]);
      expect((raised.postDataJSON() as { lines: unknown[] }).lines).toEqual([
        { description: 'Self-assessment tax return 2025-26', quantity: '1', unitPricePence: 120_000, vatRate: 'standard' },
        { description: 'Companies House filing fee', quantity: '1', unitPricePence: 3_400, vatRate: 'zero' },
      ]);
      await expectPath(staff, /^\/portal\/invoices\/[0-9a-f-]{36}$/);
      invoiceUrl = new URL(staff.url()).pathname;
      await checkPage(staff, '/portal/invoices/:id (practice, outstanding)', 'Invoice INV-000001');
      expect(await status(staff, /is raised/).textContent()).toMatch(/Invoice INV-000001 is raised for £1,474\.00/);
      await expect.poll(() => summary(staff).textContent()).toMatch(/StatusOutstanding.*ClientRobin Ledger.*Total to pay£1,474\.00/);
      expect(await staff.getByRole('region', { name: 'VAT summary' }).textContent()).toMatch(/Standard rate \(20%\)£1,200\.00£240\.00Zero rate \(0%\)£34\.00£0\.00/);
      // Staff do not pay their own invoices here.
      expect(await staff.getByRole('button', { name: /^Pay/ }).count()).toBe(0);
    });

    it('the client opens it on a phone and pays: the browser goes to the checkout page', async () => {
      await open(client, '/portal', 'Your portal', '/portal (client)');
      const toPay = client.getByRole('region', { name: 'Invoices to pay (1)' });
      expect(await toPay.textContent()).toMatch(/Invoice INV-000001.*Outstanding.*£1,474\.00/);
      await toPay.getByRole('link', { name: 'Invoice INV-000001' }).click();
      await expectPath(client, invoiceUrl);
      problems.get(client)!.length = 0;
      await checkPage(client, '/portal/invoices/:id (client, outstanding)', 'Invoice INV-000001');
      // The lines' table scrolls in its own box; the page does not.
      expect(await client.getByRole('region', { name: 'Lines of invoice INV-000001' }).getAttribute('tabindex')).toBe('0');

      await stubCheckoutPage(client);
      await client.getByRole('button', { name: 'Pay £1,474.00' }).click();
      await client.waitForURL(checkoutPage(), { timeout: 10_000 });
      const sessionId = checkoutPage().exec(client.url())![1]!;
      expect(fake.sessions.get(sessionId)).toMatchObject({
        amount_total: 147_400,
        success_url: `http://custos.test${invoiceUrl}?payment=complete`,
        metadata: { invoiceId: `invoice-${invoiceUrl.split('/').pop()}`, tenantId: practice.id },
      });

      // Stripe sends the payer back before its webhook may have arrived: the page says so.
      await open(client, `${invoiceUrl}?payment=complete`, 'Invoice INV-000001', '/portal/invoices/:id (client, payment being confirmed)');
      await expect.poll(() => status(client, /being confirmed/).count()).toBe(1);
      expect(await summary(client).textContent()).toMatch(/StatusOutstanding/);

      // The payer completed the payment at Stripe, which delivers its signed event to the server.
      const delivered = await fake.deliverWebhook(at('/api/public/payments/stripe'), fake.completeCheckout(sessionId));
      expect(delivered.status, delivered.body).toBe(200);
      expect(JSON.parse(delivered.body)).toEqual({ received: true, outcome: 'paid' });

      await open(client, invoiceUrl, 'Invoice INV-000001', '/portal/invoices/:id (client, paid)');
      expect(await summary(client).textContent()).toMatch(/StatusPaid/);
      const receipt = client.getByRole('region', { name: 'Receipt' });
      expect(await receipt.textContent()).toContain(`Received by${PRACTICE_NAME}`);
      expect(await receipt.textContent()).toMatch(/Amount paid£1,474\.00 \(of which VAT £240\.00\)/);
      expect(await receipt.textContent()).toContain(`Payment reference${fake.sessions.get(sessionId)!.payment_intent as string}`);
      expect(await client.getByRole('button', { name: /^Pay/ }).count()).toBe(0);
      // The PDF, which is the receipt now, downloads in the client's own session.
      const pdfLink = client.getByRole('link', { name: 'Download invoice INV-000001 as a PDF (it is the receipt too)' });
      const [pdf] = await Promise.all([client.waitForEvent('download'), pdfLink.click()]);
      expect(pdf.suggestedFilename()).toBe('INV-000001.pdf');
      const pdfBytes = fs.readFileSync((await pdf.path())!);
      expect(pdfBytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      await open(client, '/portal', 'Your portal', '/portal (client)');
      expect(await client.getByRole('region', { name: 'Invoices to pay (0)' }).textContent()).toMatch(/Nothing to pay/);
      await open(client, '/portal/invoices', 'Your invoices', '/portal/invoices (client)');
      expect(await client.getByRole('region', { name: 'Paid or cancelled' }).textContent()).toMatch(/Invoice INV-000001.*Paid/);
    });

    it('staff see it paid and export the invoices to Excel', async () => {
      await open(staff, '/portal/invoices', 'Invoices', '/portal/invoices (practice)');
      expect(await staff.getByRole('row').filter({ hasText: 'INV-000001' }).textContent()).toMatch(/Robin Ledger.*£1,474\.00.*Paid/);
      await staff.getByLabel('Show', { exact: true }).selectOption({ label: 'Paid' });
      await expect.poll(() => status(staff, /invoice/).textContent()).toBe('1 invoice.');
      const link = staff.getByRole('link', { name: /as a spreadsheet/ });
      expect(await link.getAttribute('href')).toBe('/api/v1/portal/invoices/export.xlsx?status=paid');
      await checkState(staff, '/portal/invoices (practice) showing paid invoices');

      const [download] = await Promise.all([staff.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/^invoices-\d{4}-\d{2}-\d{2}\.xlsx$/);
      const response = await staffContext.request.get(at('/api/v1/portal/invoices/export.xlsx?status=paid'));
      expect(response.status()).toBe(200);
      expect(response.headers()['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(fs.readFileSync((await download.path())!) as unknown as ExcelJS.Buffer);
      const sheet = workbook.getWorksheet('Invoices')!;
      expect(sheet.getRow(2).getCell(1).value).toBe('INV-000001');
      expect(sheet.getRow(2).getCell(2).value).toBe('Robin Ledger');
      expect(sheet.getRow(2).getCell(8).value).toBe(1_474);
      expect(problems.get(staff)).toEqual([]);
    });
  });

  describe('the practice’s administrator', () => {
    let admin: Page;

    beforeAll(async () => {
      const context = await browser.newContext();
      await signInDirectly(context, platform, server.url, practice.id, practice.adminUserId);
      admin = await context.newPage();
      admin.setDefaultTimeout(8_000);
      problems.set(admin, await watchPageProblems(admin));
    });

    it('sees the balance, and buying 10 signing credits goes to the checkout page; the credits arrive with the payment', async () => {
      await open(admin, '/portal', 'Client portal', '/portal (administrator)');
      await admin.getByRole('link', { name: 'Buy signing credits or storage' }).click();
      await expectPath(admin, '/portal/billing');
      await checkPage(admin, '/portal/billing', 'Credits and storage');
      const balance = admin.getByRole('region', { name: 'What the practice has' });
      expect(await balance.textContent()).toMatch(/Signing credits0 credits left.*Storage.* of 5\.0 GB used/);
      expect(await admin.getByRole('region', { name: 'Purchases' }).textContent()).toMatch(/Nothing bought yet/);

      const form = admin.getByRole('form', { name: 'Buy more' });
      expect(await form.getByLabel('Signing credits').isChecked()).toBe(true);
      await form.getByLabel('How many credits').fill('7');
      await form.getByRole('button', { name: 'Continue to payment' }).click();
      await expect.poll(() => alert(admin, 'Nothing was bought').textContent()).toMatch(/in tens/);
      await checkState(admin, '/portal/billing with a wrong quantity');
      await form.getByLabel('How many credits').fill('10');
      expect(await form.textContent()).toContain('Price: £15.00 including VAT.');

      await stubCheckoutPage(admin);
      await form.getByRole('button', { name: 'Continue to payment' }).click();
      await admin.waitForURL(checkoutPage(), { timeout: 10_000 });
      const sessionId = checkoutPage().exec(admin.url())![1]!;
      const session = fake.sessions.get(sessionId)!;
      expect(session).toMatchObject({ amount_total: 1_500, metadata: { invoiceId: expect.stringMatching(/^purchase-[0-9a-f-]{36}$/), tenantId: practice.id } });
      const purchaseId = (session.metadata as { invoiceId: string }).invoiceId.slice('purchase-'.length);
      expect(session.success_url).toBe(`http://custos.test/portal/practice/purchases/${purchaseId}?payment=complete`);

      // Back from Stripe before the payment is confirmed, then after.
      await open(admin, `/portal/practice/purchases/${purchaseId}?payment=complete`, 'Credits and storage', '/portal/practice/purchases/:id');
      expect(await status(admin, /being confirmed/).textContent()).toMatch(/Your payment for 10 signing credits is being confirmed/);
      const delivered = await fake.deliverWebhook(at('/api/public/payments/stripe'), fake.completeCheckout(sessionId));
      expect(JSON.parse(delivered.body)).toEqual({ received: true, outcome: 'paid' });
      await open(admin, `/portal/practice/purchases/${purchaseId}?payment=complete`, 'Credits and storage', '/portal/practice/purchases/:id');
      expect(await status(admin, /payment is received/).textContent()).toMatch(/10 signing credits are added/);
      expect(await admin.getByRole('region', { name: 'What the practice has' }).textContent()).toMatch(/Signing credits10 credits left/);
      expect(await admin.getByRole('region', { name: 'Purchases' }).getByRole('row').nth(1).textContent()).toMatch(/10 signing credits£15\.00Paid/);

      // Storage is bought for a year: the balance and the list say until when.
      await asSystem(platform, practice.id, (scope) =>
        scope.trx
          .insertInto('portal_purchases')
          .values({ tenant_id: practice.id, kind: 'storage', quantity: 2, amount_pence: 400, status: 'paid', paid_at: new Date(), expires_at: new Date(Date.now() + 365 * 86_400_000), created_by: 'test' })
          .execute(),
      );
      await open(admin, '/portal/billing', 'Credits and storage', '/portal/billing with storage bought');
      await expect.poll(() => admin.getByRole('region', { name: 'What the practice has' }).textContent()).toMatch(/of 7\.0 GB used.*Storage bought2\.0 GB, until \d\d:\d\d, \d+ \w+ \d{4}/);
      expect(await admin.getByRole('region', { name: 'Purchases' }).getByRole('row').nth(1).textContent()).toMatch(/2 GB of storage.*Paid.*\(until /);
    });
  });

  it('keeps a client user of another client out of all of it', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    await signInDirectly(context, platform, server.url, practice.id, neighbourUserId);
    const neighbour = await context.newPage();
    neighbour.setDefaultTimeout(8_000);
    problems.set(neighbour, await watchPageProblems(neighbour, { allowHttpErrors: true }));
    await open(neighbour, '/portal', 'Your portal', '/portal (another client)');
    await expect.poll(() => neighbour.getByRole('region', { name: 'Questions to answer (0)' }).count()).toBe(1);
    await expect.poll(() => neighbour.getByRole('region', { name: 'Invoices to pay (0)' }).count()).toBe(1);
    await neighbour.goto(at(invoiceUrl));
    await expect.poll(() => neighbour.getByRole('alert').textContent()).toMatch(/Could not load the invoice/);
    await neighbour.goto(at('/portal/invoices/new'));
    await expectHeading(neighbour, 'You do not have permission to see this page');
    await context.close();
  });

  it('every page checked has its own title', () => {
    const addresses = new Map<string, Set<string>>();
    for (const { title, address } of titles.values()) addresses.set(title, (addresses.get(title) ?? new Set()).add(address));
    for (const [title, where] of addresses) expect([...where], title).toHaveLength(1);
  });
});
