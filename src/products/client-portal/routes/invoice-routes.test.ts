import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { buildServer } from '../../../http/server.ts';
import { bearer, expectProblem, testSession, type TestSession } from '../../../http/testing.ts';
import { ConfigError, loadConfig } from '../../../platform/config/config.ts';
import { inviteUser } from '../../../platform/identity/users.ts';
import type { MailMessage } from '../../../platform/mail/mail.ts';
import { addClientUser } from '../client-users.ts';
import { createClient, type Client } from '../clients.ts';
import { startFakeStripe, type FakeStripeServer } from '../payments/testing/stripe-server.ts';
import { STAFF_ROLE } from '../permissions.ts';

let fake: FakeStripeServer;
let platform: TestPlatform;
let app: FastifyInstance;
let practice: TestOrganisation;
let other: TestOrganisation;
let client: Client;
let neighbour: Client;
let payer: TestSession;
let payerEmail: string;
let outsider: TestSession;
let staff: TestSession;

const WEBHOOK = '/api/public/payments/stripe';
const run = promisify(execFile);

/** The invoice PDF as `headers` downloads it, read back as text by poppler's pdftotext. */
async function pdfText(invoiceId: string, headers: Record<string, string>): Promise<{ text: string; pages: number }> {
  const response = await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}/pdf`, headers });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toBe('application/pdf');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'custos-invoice-')), 'invoice.pdf');
  fs.writeFileSync(file, response.rawPayload);
  const text = (await run('/usr/bin/pdftotext', ['-layout', file, '-'])).stdout;
  const pages = Number(/Pages:\s+(\d+)/.exec((await run('/usr/bin/pdfinfo', [file])).stdout)![1]);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { text, pages };
}

const vatLines = [
  { description: 'Year-end accounts', quantity: '1', unitPricePence: 120_000, vatRate: 'standard' },
  { description: 'Postage and printing', quantity: '2', unitPricePence: 1_495, vatRate: 'reduced' }, // 2,990p, VAT 149.5p → 150p
  { description: 'Companies House fee', quantity: 1, unitPricePence: 1_300, vatRate: 'outside-scope' },
];

const raise = (headers: Record<string, string>, payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/v1/portal/invoices', headers, payload });
const inAMonth = () => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

/** Delivers a signed webhook exactly as Stripe would: the raw bytes and their Stripe-Signature. */
const deliver = (body: string, header: string) =>
  app.inject({ method: 'POST', url: WEBHOOK, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header }, payload: body });

const invoiceRow = (id: string) =>
  asSystem(platform, practice.id, (scope) =>
    scope.trx.selectFrom('portal_invoices').select(['status', 'paid_at', 'payment_intent_id', 'checkout_session_id']).where('id', '=', id).executeTakeFirstOrThrow(),
  );
const auditCount = async () => Number((await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow())).n);
const balance = async () => (await app.inject({ url: '/api/v1/portal/practice/balance', headers: bearer(practice.token) })).json() as { signingCredits: number; storageQuotaBytes: number; storageTerms: { bytes: number; expiresAt: string }[] };

const seenJobs = new Set<string>();
/** Mail queued since the last call, opened as the mail worker would. */
async function newMails(): Promise<MailMessage[]> {
  const jobs = await sql<{ id: string; data: { tenantId: string; sealed: string } }>`SELECT id, data FROM pgboss.job WHERE name = 'mail.send' ORDER BY created_on, id`.execute(platform.db.owner);
  const fresh = jobs.rows.filter((job) => !seenJobs.has(job.id));
  for (const job of fresh) seenJobs.add(job.id);
  return Promise.all(fresh.map(async (job) => JSON.parse(await asSystem(platform, job.data.tenantId, async (scope) => scope.cipher.open('mail.message', job.data.sealed))) as MailMessage));
}

/** Starts a checkout as `headers`, and has the fake Stripe's payer complete it. */
async function payOnline(invoiceId: string, headers: Record<string, string>): Promise<{ checkout: { sessionId: string; url: string }; event: Stripe.Event }> {
  const response = await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/checkout`, headers });
  expect(response.statusCode, response.body).toBe(201);
  const checkout = response.json();
  return { checkout, event: fake.completeCheckout(checkout.sessionId) };
}

beforeAll(async () => {
  fake = await startFakeStripe();
  platform = await startTestPlatform({ env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_BASE: fake.apiBase } });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  practice = await createTestOrganisation(platform, { kind: 'practice', name: 'Ashdown & Pryce Accountants (test)' });
  other = await createTestOrganisation(platform, { kind: 'practice' });
  client = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'company', name: 'Marlow Joinery Ltd' }));
  neighbour = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Dana Neighbour' }));
  payerEmail = fakePerson().email;
  const payerId = (await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, client.id, { email: payerEmail }, 'http://x'))).userId;
  payer = await testSession(platform, practice.id, payerId, { mfaVerified: true });
  const outsiderId = (await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, neighbour.id, { email: fakePerson().email }, 'http://x'))).userId;
  outsider = await testSession(platform, practice.id, outsiderId, { mfaVerified: true });
  const staffId = (await asSystem(platform, practice.id, (scope) => inviteUser(scope, { email: fakePerson().email, role: STAFF_ROLE }, 'http://x'))).userId;
  staff = await testSession(platform, practice.id, staffId, { mfaVerified: true });
  await newMails(); // the invitations
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
  await fake?.close();
});

describe('invoices paid online, end to end', () => {
  let invoiceId: string;
  let paid: { checkout: { sessionId: string; url: string }; event: Stripe.Event };

  it('staff raise an invoice with VAT per line; bad lines are named and nothing is written', async () => {
    const bad = await raise(staff.write, { clientId: client.id, dueOn: inAMonth(), lines: [{ ...vatLines[0], vatRate: '20%' }, { ...vatLines[1], unitPricePence: -5 }] });
    expect(expectProblem(bad, 400).errors!.map((e) => e.field)).toEqual(['lines[0].vatRate', 'lines[1].unitPricePence']);
    expect((await app.inject({ url: '/api/v1/portal/invoices', headers: bearer(practice.token) })).json().total).toBe(0);
    expect(await newMails()).toEqual([]);

    const created = await raise(staff.write, { clientId: client.id, dueOn: inAMonth(), lines: vatLines });
    expect(created.statusCode, created.body).toBe(201);
    const invoice = created.json();
    invoiceId = invoice.id;
    expect(invoice).toMatchObject({ number: 'INV-000001', status: 'outstanding', netPence: 124_290, vatPence: 24_150, grossPence: 148_440, paidAt: null });
    expect(invoice.vatSummary).toEqual([
      { vatRate: 'standard', ratePercent: 20, netPence: 120_000, vatPence: 24_000 },
      { vatRate: 'reduced', ratePercent: 5, netPence: 2_990, vatPence: 150 },
      { vatRate: 'outside-scope', ratePercent: 0, netPence: 1_300, vatPence: 0 },
    ]);
    expectProblem(await raise(payer.write, { clientId: client.id, dueOn: inAMonth(), lines: vatLines }), 403);

    // The client's user is told at once: the amount, the due date and a link; not what the lines say.
    const mails = await newMails();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: payerEmail, subject: 'Invoice INV-000001 from Ashdown & Pryce Accountants (test) (£1,484.40)' });
    expect(mails[0]!.text).toContain('including VAT of £241.50');
    expect(mails[0]!.text).toContain(`http://custos.test/portal/invoices/${invoiceId}`);
    expect(mails[0]!.text).not.toContain('Year-end accounts');
  });

  it('shows a client user their own clients’ invoices only; another practice sees nothing', async () => {
    const mine = await app.inject({ url: '/api/v1/portal/invoices', headers: payer.read });
    expect(mine.json().items.map((i: { id: string }) => i.id)).toEqual([invoiceId]);
    expect((await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}`, headers: payer.read })).json().lines).toHaveLength(3);
    expect((await app.inject({ url: '/api/v1/portal/invoices', headers: outsider.read })).json()).toEqual({ items: [], total: 0 });
    expectProblem(await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}`, headers: outsider.read }), 404);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/checkout`, headers: outsider.write }), 404);
    expect((await app.inject({ url: '/api/v1/portal/invoices', headers: bearer(other.token) })).json()).toEqual({ items: [], total: 0 });
    expectProblem(await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}`, headers: bearer(other.token) }), 404);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/checkout`, headers: bearer(other.token) }), 404);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/void`, headers: bearer(other.token) }), 404);
    expectProblem(await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}/receipt`, headers: bearer(other.token) }), 404);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/void`, headers: payer.write }), 403);
    expectProblem(await app.inject({ url: '/api/v1/portal/invoices?status=unpaid', headers: payer.read }), 400);
  });

  it('the client user starts a Stripe Checkout for exactly what is owed, and nothing is paid yet', async () => {
    paid = await payOnline(invoiceId, payer.write);
    expect(paid.checkout.url).toMatch(new RegExp(`^${fake.apiBase}/c/pay/cs_test_`));
    const sent = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions').at(-1)!;
    expect(sent.form).toMatchObject({
      mode: 'payment',
      client_reference_id: `invoice-${invoiceId}`,
      metadata: { invoiceId: `invoice-${invoiceId}`, tenantId: practice.id },
      line_items: [{ quantity: '1', price_data: { currency: 'gbp', unit_amount: '148440', product_data: { name: 'Invoice INV-000001' } } }],
      success_url: `http://custos.test/portal/invoices/${invoiceId}?payment=complete`,
      cancel_url: `http://custos.test/portal/invoices/${invoiceId}?payment=cancelled`,
    });
    // No client names travel to Stripe.
    expect(sent.rawBody).not.toContain('Marlow');
    expect(await invoiceRow(invoiceId)).toMatchObject({ status: 'issued', checkout_session_id: paid.checkout.sessionId, paid_at: null });
  });

  it('refuses unsigned, tampered and old deliveries with 400, changing nothing', async () => {
    const before = await auditCount();
    const { body, header } = fake.signedWebhook(paid.event);
    const tampered = body.replace('"amount_total": 148440', '"amount_total": 100');
    expect(tampered).not.toBe(body);
    expect(expectProblem(await deliver(tampered, header), 400).detail).toMatch(/signature/);
    expectProblem(await app.inject({ method: 'POST', url: WEBHOOK, headers: { 'content-type': 'application/json' }, payload: body }), 400);
    const old = fake.signedWebhook(paid.event, Math.floor(Date.now() / 1000) - 600);
    expectProblem(await deliver(old.body, old.header), 400);
    expect((await invoiceRow(invoiceId)).status).toBe('issued');
    expect(await auditCount()).toBe(before);
  });

  it('a signed completed checkout marks the invoice paid, once; the receipt is emailed and readable', async () => {
    const { body, header } = fake.signedWebhook(paid.event);
    const first = await deliver(body, header);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ received: true, outcome: 'paid' });
    const row = await invoiceRow(invoiceId);
    const paymentIntent = (fake.sessions.get(paid.checkout.sessionId)!.payment_intent as string);
    expect(row).toMatchObject({ status: 'paid', payment_intent_id: paymentIntent });
    expect(row.paid_at).toBeInstanceOf(Date);

    const receipt = await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}/receipt`, headers: payer.read });
    expect(receipt.json()).toMatchObject({ number: 'INV-000001', practiceName: 'Ashdown & Pryce Accountants (test)', paymentReference: paymentIntent, grossPence: 148_440, vatPence: 24_150, netPence: 124_290, paidAt: expect.any(String) });
    const mails = await newMails();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: payerEmail, subject: 'Receipt: Ashdown & Pryce Accountants (test) received your payment for invoice INV-000001' });
    expect(mails[0]!.text).toContain('£1,484.40');
    expect(mails[0]!.text).toContain(paymentIntent);
    expect(mails[0]!.text).not.toContain('Year-end accounts');

    // The same event again (Stripe retries, or someone replays it): 200, nothing changes.
    const before = await auditCount();
    const again = fake.signedWebhook(paid.event);
    expect((await deliver(again.body, again.header)).json()).toEqual({ received: true, outcome: 'replayed' });
    expect(await auditCount()).toBe(before);
    expect(await newMails()).toEqual([]);
    const audit = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('audit_events').select(['action', 'changes']).where('target_id', '=', invoiceId).orderBy('seq').execute());
    expect(audit.map((a) => a.action)).toEqual(['portal.invoice_created', 'portal.invoice_checkout_started', 'portal.invoice_paid']);
    expect(JSON.stringify(audit)).not.toContain('Year-end');

    // The PDF is the receipt now: the client's user downloads it; another client's user gets nothing.
    const { text } = await pdfText(invoiceId, payer.read);
    expect(text).toContain('Ashdown & Pryce Accountants (test)');
    expect(text).toContain('Invoice INV-000001');
    expect(text).toContain('Marlow Joinery Ltd');
    expect(text).toMatch(/Year-end accounts\s+1\s+£1,200\.00\s+20%\s+£1,200\.00\s+£240\.00/);
    expect(text).toMatch(/Postage and printing\s+2\s+£14\.95\s+5%\s+£29\.90\s+£1\.50/);
    expect(text).toMatch(/Total\s+£1,484\.40/);
    expect(text).toMatch(/Outside scope \(0%\)\s+net £13\.00\s+VAT £0\.00/);
    expect(text).toContain(`payment reference ${paymentIntent}`);
    expect(text).toMatch(/PAID on \d+ \w+ \d{4}/);
    expectProblem(await app.inject({ url: `/api/v1/portal/invoices/${invoiceId}/pdf`, headers: outsider.read }), 404);
    expect(expectProblem(await app.inject({ url: '/api/v1/portal/invoices/INV-000001/pdf', headers: payer.read }), 400).errors).toEqual([expect.objectContaining({ field: 'id' })]);

    expect(expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/checkout`, headers: payer.write }), 409).detail).toMatch(/already paid/);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${invoiceId}/void`, headers: staff.write }), 409);
  });

  it('refuses a genuine payment of the wrong amount with 409: the invoice stays unpaid and the event is not remembered', async () => {
    const second = (await raise(bearer(practice.token), { clientId: client.id, dueOn: inAMonth(), lines: [vatLines[0]] })).json();
    const { event } = await payOnline(second.id, staff.write);
    const object = event.data.object as unknown as { amount_total: number };
    expect(object.amount_total).toBe(144_000);
    object.amount_total = 1_440;
    const before = await auditCount();
    const { body, header } = fake.signedWebhook(event);
    const refused = await deliver(body, header);
    expect(expectProblem(refused, 409).detail).toMatch(/does not match invoice INV-000002/);
    expect((await invoiceRow(second.id)).status).toBe('issued');
    expect(await auditCount()).toBe(before);
    const remembered = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('portal_payment_events').select('event_id').where('event_id', '=', event.id).execute());
    expect(remembered).toEqual([]);
    // A payment naming another practice (or one that no longer exists) finds no invoice there.
    object.amount_total = 144_000;
    const session = event.data.object as unknown as { metadata: Record<string, string> };
    for (const tenantId of [other.id, '00000000-0000-4000-8000-000000000000']) {
      session.metadata.tenantId = tenantId;
      const elsewhere = fake.signedWebhook(event);
      expectProblem(await deliver(elsewhere.body, elsewhere.header), 409);
    }
    expect((await invoiceRow(second.id)).status).toBe('issued');
    // Events that need nothing done are acknowledged, not retried.
    const unrelated = fake.signedWebhook({ ...event, id: 'evt_other_type', type: 'customer.created' });
    expect((await deliver(unrelated.body, unrelated.header)).json()).toMatchObject({ received: true, outcome: 'ignored', reason: 'unsupported-type' });
  });

  it('voiding an invoice closes its open payment page at Stripe, so nobody pays a void invoice', async () => {
    const third = (await raise(staff.write, { clientId: client.id, dueOn: inAMonth(), lines: [vatLines[1]] })).json();
    expect(third.number).toBe('INV-000003');
    const started = await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${third.id}/checkout`, headers: payer.write });
    expect(started.statusCode, started.body).toBe(201);
    const { sessionId } = started.json();
    expect(fake.sessions.get(sessionId)).toMatchObject({ status: 'open' });

    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${third.id}/void`, headers: bearer(other.token) }), 404);
    expect(fake.sessions.get(sessionId)).toMatchObject({ status: 'open' });
    const voided = await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${third.id}/void`, headers: staff.write });
    expect(voided.statusCode, voided.body).toBe(200);
    expect(voided.json()).toMatchObject({ id: third.id, status: 'void' });
    expect(fake.sessions.get(sessionId)).toMatchObject({ status: 'expired' });
    expect(() => fake.completeCheckout(sessionId)).toThrow(/expired/);
    expect(expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${third.id}/checkout`, headers: payer.write }), 409).detail).toMatch(/void/);
    expect((await pdfText(third.id, staff.read)).text).toContain('VOID: this invoice was cancelled');
  });

  it('draws a long invoice over several pages, and text the fonts cannot show as "?"', async () => {
    const lines = Array.from({ length: 70 }, (_, i) => ({ description: `Bookkeeping, month ${i + 1}: reconciling the Łódź branch's accounts 📒 and a long explanation that wraps onto a second line of the table`, quantity: '1', unitPricePence: 1_000, vatRate: 'standard' }));
    const long = (await raise(staff.write, { clientId: client.id, dueOn: inAMonth(), lines })).json();
    const { text, pages } = await pdfText(long.id, staff.read);
    expect(pages).toBeGreaterThan(2);
    expect(text).toContain(`Invoice ${long.number} (continued)`);
    expect(text).toContain(`page ${pages} of ${pages}`);
    expect(text).toContain('month 70');
    expect(text).toContain('reconciling the ?ód?');
    expect(text).toContain("branch's accounts ? and");
    expect(text).toMatch(/Total\s+£840\.00/);
    expect(text).toMatch(/Please pay £840\.00 by/);
    await app.inject({ method: 'POST', url: `/api/v1/portal/invoices/${long.id}/void`, headers: staff.write });
  });
});

describe('purchases of signing credits and storage', () => {
  const buy = (headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url: '/api/v1/portal/practice/purchases', headers, payload: payload as Record<string, unknown> });

  it('buys 10 signing credits for £15.00: the balance grows by 10 when the payment arrives', async () => {
    expect(expectProblem(await buy(bearer(practice.token), { kind: 'signing', quantity: 7 }), 400).errors).toEqual([expect.objectContaining({ field: 'quantity' })]);
    expect(expectProblem(await buy(bearer(practice.token), { kind: 'gold', quantity: 10 }), 400).errors).toEqual([expect.objectContaining({ field: 'kind' })]);
    expectProblem(await buy(staff.write, { kind: 'signing', quantity: 10 }), 403);
    expectProblem(await buy(payer.write, { kind: 'signing', quantity: 10 }), 403);

    const start = await balance();
    const response = await buy(bearer(practice.token), { kind: 'signing', quantity: 10 });
    expect(response.statusCode, response.body).toBe(201);
    const { purchase, checkout } = response.json();
    expect(purchase).toMatchObject({ kind: 'signing', quantity: 10, amountPence: 1_500, status: 'pending' });
    expect(fake.sessions.get(checkout.sessionId)).toMatchObject({ amount_total: 1_500, metadata: { invoiceId: `purchase-${purchase.id}`, tenantId: practice.id } });
    expect((await balance()).signingCredits).toBe(start.signingCredits);

    // Stripe may deliver the same event twice at once: it is acted on exactly once.
    const { body, header } = fake.signedWebhook(fake.completeCheckout(checkout.sessionId));
    const outcomes = await Promise.all([deliver(body, header), deliver(body, header)]);
    expect(outcomes.map((r) => r.json().outcome).sort()).toEqual(['paid', 'replayed']);
    expect((await balance()).signingCredits).toBe(start.signingCredits + 10);
    expect((await deliver(body, header)).json()).toEqual({ received: true, outcome: 'replayed' });
    expect((await balance()).signingCredits).toBe(start.signingCredits + 10);
    const listed = (await app.inject({ url: '/api/v1/portal/practice/purchases', headers: bearer(practice.token) })).json().purchases;
    expect(listed[0]).toMatchObject({ id: purchase.id, status: 'paid', paidAt: expect.any(String) });
    expect((await app.inject({ url: '/api/v1/portal/practice/purchases', headers: bearer(other.token) })).json()).toEqual({ purchases: [] });
  });

  it('buys storage by the GB, paid through the bank: the quota grows only once the debit clears', async () => {
    const start = await balance();
    const { purchase, checkout } = (await buy(bearer(practice.token), { kind: 'storage', quantity: 2 })).json();
    expect(purchase.amountPence).toBe(400);
    const pending = fake.signedWebhook(fake.completeCheckout(checkout.sessionId, { asyncPayment: true }));
    expect((await deliver(pending.body, pending.header)).json()).toMatchObject({ outcome: 'ignored', reason: 'not-paid' });
    expect((await balance()).storageQuotaBytes).toBe(start.storageQuotaBytes);
    const cleared = fake.signedWebhook(fake.succeedAsyncPayment(checkout.sessionId));
    expect((await deliver(cleared.body, cleared.header)).json()).toEqual({ received: true, outcome: 'paid' });
    const grown = await balance();
    expect(grown.storageQuotaBytes).toBe(start.storageQuotaBytes + 2 * 1024 ** 3);

    // It is bought for a year: the term is shown, and once it has ended the quota falls back.
    const listed = (await app.inject({ url: '/api/v1/portal/practice/purchases', headers: bearer(practice.token) })).json().purchases;
    const bought = listed.find((p: { id: string }) => p.id === purchase.id);
    const year = Date.parse(bought.expiresAt) - Date.parse(bought.paidAt);
    expect(year).toBeGreaterThanOrEqual(365 * 86_400_000);
    expect(year).toBeLessThanOrEqual(366 * 86_400_000);
    expect(grown.storageTerms).toEqual([{ bytes: 2 * 1024 ** 3, expiresAt: bought.expiresAt }]);
    expect(listed.find((p: { kind: string }) => p.kind === 'signing').expiresAt).toBeNull();
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('portal_purchases').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', purchase.id).execute());
    expect(await balance()).toMatchObject({ storageQuotaBytes: start.storageQuotaBytes, storageTerms: [] });
  });
});

describe('the Excel export', () => {
  async function readBack(response: LightMyRequestResponse): Promise<ExcelJS.Worksheet> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ExcelJS.Buffer);
    return workbook.getWorksheet('Invoices')!;
  }

  it('streams the practice’s invoices as .xlsx to staff, and to nobody else', async () => {
    const response = await app.inject({ url: '/api/v1/portal/invoices/export.xlsx', headers: staff.read });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="invoices-\d{4}-\d{2}-\d{2}\.xlsx"/);
    const sheet = await readBack(response);
    const first = sheet.getRow(2);
    expect(first.getCell(1).value).toBe('INV-000001');
    expect(first.getCell(2).value).toBe('Marlow Joinery Ltd');
    expect(first.getCell(5).value).toBe('paid');
    expect(first.getCell(8).value).toBe(1_484.4);
    expect(sheet.getRow(3).getCell(1).value).toBe('INV-000002');
    expect(sheet.getRow(4).getCell(1).value).toBe('INV-000003');
    expect(sheet.getRow(4).getCell(5).value).toBe('void');
    expect(sheet.getRow(5).getCell(1).value).toBe('INV-000004');
    expect(sheet.getRow(6).getCell(1).value).toBe('Total');

    const onlyPaid = await readBack(await app.inject({ url: '/api/v1/portal/invoices/export.xlsx?status=paid', headers: bearer(practice.token) }));
    expect(onlyPaid.getRow(3).getCell(1).value).toBe('Total');
    expectProblem(await app.inject({ url: '/api/v1/portal/invoices/export.xlsx', headers: payer.read }), 403);
    const theirs = await readBack(await app.inject({ url: '/api/v1/portal/invoices/export.xlsx', headers: bearer(other.token) }));
    expect(theirs.getRow(2).getCell(1).value).toBe('Total');
  });
});

describe('documentation and settings', () => {
  it('documents every invoice route with its credentials; the webhook needs none', async () => {
    const spec = (await app.inject({ url: '/api/openapi.json' })).json();
    for (const [path, method] of [
      ['/api/v1/portal/invoices', 'post'],
      ['/api/v1/portal/invoices', 'get'],
      ['/api/v1/portal/invoices/export.xlsx', 'get'],
      ['/api/v1/portal/invoices/{id}', 'get'],
      ['/api/v1/portal/invoices/{id}/void', 'post'],
      ['/api/v1/portal/invoices/{id}/receipt', 'get'],
      ['/api/v1/portal/invoices/{id}/checkout', 'post'],
      ['/api/v1/portal/practice/purchases', 'get'],
      ['/api/v1/portal/practice/purchases', 'post'],
    ] as const) {
      expect(spec.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
    }
    expect(spec.paths[WEBHOOK].post.security).toBeUndefined();
  });

  it('takes the Stripe key and webhook secret together, and a mock base only over loopback', () => {
    const setting = (env: Record<string, string>) => {
      try {
        return loadConfig(env).stripe;
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.setting);
      }
    };
    expect(setting({})).toBeUndefined();
    expect(setting({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' })).toEqual({ secretKey: 'sk_test_abc', webhookSecret: 'whsec_abc' });
    expect(setting({ STRIPE_SECRET_KEY: 'sk_test_abc' })).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(setting({ STRIPE_SECRET_KEY: 'pk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' })).toEqual(['STRIPE_SECRET_KEY']);
    expect(setting({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc', STRIPE_API_BASE: 'http://stripe.example' })).toEqual(['STRIPE_API_BASE']);
    expect(setting({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc', STRIPE_API_BASE: 'http://127.0.0.1:12111' })).toMatchObject({ apiBase: 'http://127.0.0.1:12111' });
    expect(setting({ STRIPE_API_BASE: 'https://stripe-mock.internal' })).toEqual(['STRIPE_API_BASE']);
  });
});

describe('without Stripe settings', () => {
  it('answers 409 for paying online and the webhook; invoices still work', async () => {
    const bare = await buildServer({ ...platform, config: { ...platform.config, stripe: undefined } }, { webDistDir: '/nonexistent' });
    try {
      const created = await bare.inject({ method: 'POST', url: '/api/v1/portal/invoices', headers: bearer(practice.token), payload: { clientId: client.id, dueOn: inAMonth(), lines: [vatLines[0]] } });
      expect(created.statusCode, created.body).toBe(201);
      const checkout = await bare.inject({ method: 'POST', url: `/api/v1/portal/invoices/${created.json().id}/checkout`, headers: bearer(practice.token) });
      expect(expectProblem(checkout, 409).detail).toBe('online payment is not set up');
      expectProblem(await bare.inject({ method: 'POST', url: '/api/v1/portal/practice/purchases', headers: bearer(practice.token), payload: { kind: 'signing', quantity: 10 } }), 409);
      expectProblem(await bare.inject({ method: 'POST', url: WEBHOOK, headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, payload: '{}' }), 409);
    } finally {
      await bare.close();
    }
  });
});
