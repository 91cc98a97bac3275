import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripePayments, verifyStripeWebhook, type StripePayments, type StripeWebhookResult } from './stripe.ts';
import { buildStripeEvent, signedWebhook, startFakeStripe, type FakeStripeServer } from './testing/stripe-server.ts';

let fake: FakeStripeServer;
let payments: StripePayments;
beforeAll(async () => {
  fake = await startFakeStripe();
  payments = createStripePayments({ secretKey: fake.secretKey, webhookSecret: fake.webhookSecret, apiBase: fake.apiBase });
});
afterAll(async () => {
  await fake.close();
});

const invoiceId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const tenantId = '9b2f4c1d-6e3a-4d8b-a5f0-1c2d3e4f5a6b';

async function paidCheckout(amountPence = 48_00) {
  const checkout = await payments.createInvoiceCheckout({
    invoiceId,
    tenantId,
    number: 'INV-2041',
    currency: 'gbp',
    amountPence,
    description: 'Self assessment return',
    successUrl: 'https://portal.example/paid',
    cancelUrl: 'https://portal.example/invoices',
  });
  return { checkout, event: fake.completeCheckout(checkout.sessionId) };
}

describe('verifyStripeWebhook', () => {
  it('accepts a correctly signed checkout.session.completed and returns the payment', async () => {
    const { checkout, event } = await paidCheckout();
    const { body, header } = fake.signedWebhook(event);
    const result = verifyStripeWebhook(Buffer.from(body), header, fake.webhookSecret);
    expect(result).toEqual({
      ok: true,
      payment: {
        eventId: event.id,
        type: 'checkout.session.completed',
        invoiceId,
        tenantId,
        amountPence: 48_00,
        currency: 'gbp',
        paymentIntentId: expect.stringMatching(/^pi_test_/),
        checkoutSessionId: checkout.sessionId,
        created: new Date(event.created * 1000),
        livemode: false,
      },
    });
    // The same delivery verifies twice: refusing the second is the caller's job (the event id).
    expect(verifyStripeWebhook(body, header, fake.webhookSecret).ok).toBe(true);
  });

  it('refuses a tampered body, a wrong secret, a missing header and an old timestamp', async () => {
    const { event } = await paidCheckout();
    const { body, header } = fake.signedWebhook(event);
    const refusal = (r: StripeWebhookResult) => (r.ok ? 'accepted' : `${r.refusal}/${r.acknowledge ? 'ack' : 'reject'}`);

    const tampered = body.replace('"amount_total": 4800', '"amount_total": 1');
    expect(tampered).not.toBe(body);
    expect(refusal(verifyStripeWebhook(tampered, header, fake.webhookSecret))).toBe('bad-signature/reject');
    expect(refusal(verifyStripeWebhook(body, header, 'whsec_someoneElsesSecret'))).toBe('bad-signature/reject');
    expect(refusal(verifyStripeWebhook(body, undefined, fake.webhookSecret))).toBe('bad-signature/reject');
    expect(refusal(verifyStripeWebhook(body, 'nonsense', fake.webhookSecret))).toBe('bad-signature/reject');
    expect(refusal(verifyStripeWebhook(body, [header, header], fake.webhookSecret))).toBe('bad-signature/reject');
    expect(refusal(verifyStripeWebhook('', header, fake.webhookSecret))).toBe('bad-signature/reject');

    const old = fake.signedWebhook(event, Math.floor(Date.now() / 1000) - 301);
    expect(refusal(verifyStripeWebhook(old.body, old.header, fake.webhookSecret))).toBe('too-old/reject');
    expect(verifyStripeWebhook(old.body, old.header, fake.webhookSecret, 600).ok).toBe(true);
    // Old and forged: reported as forged, the stronger claim.
    expect(refusal(verifyStripeWebhook(old.body, old.header, 'whsec_someoneElsesSecret'))).toBe('bad-signature/reject');
  });

  it('reports a genuine event of another type as unsupported, to be acknowledged', () => {
    const event = buildStripeEvent('customer.created', { id: 'cus_test_1', object: 'customer' });
    const { body, header } = signedWebhook(event, fake.webhookSecret);
    expect(verifyStripeWebhook(body, header, fake.webhookSecret)).toEqual({
      ok: false,
      refusal: 'unsupported-type',
      acknowledge: true,
      message: 'event type customer.created is not handled',
      eventId: event.id,
      type: 'customer.created',
    });
  });

  it('waits for a bank debit to clear: completed-but-unpaid is not a payment, async_payment_succeeded is', async () => {
    const checkout = await payments.createInvoiceCheckout({
      invoiceId,
      tenantId,
      number: 'INV-2042',
      currency: 'gbp',
      amountPence: 250_00,
      description: 'Payroll, quarter 3',
      successUrl: 'https://portal.example/paid',
      cancelUrl: 'https://portal.example/invoices',
    });
    const completed = fake.completeCheckout(checkout.sessionId, { asyncPayment: true });
    const first = fake.signedWebhook(completed);
    expect(payments.verifyWebhook(first.body, first.header)).toMatchObject({ ok: false, refusal: 'not-paid', acknowledge: true });

    const cleared = fake.succeedAsyncPayment(checkout.sessionId);
    const second = fake.signedWebhook(cleared);
    expect(payments.verifyWebhook(second.body, second.header)).toMatchObject({
      ok: true,
      payment: { type: 'checkout.session.async_payment_succeeded', invoiceId, amountPence: 250_00 },
    });
  });

  it('ignores sessions that are not ours and refuses signed bodies that are not events', () => {
    const foreign = buildStripeEvent('checkout.session.completed', {
      id: 'cs_test_foreign',
      object: 'checkout.session',
      mode: 'payment',
      payment_status: 'paid',
      amount_total: 100,
      currency: 'gbp',
      metadata: {},
      client_reference_id: null,
    });
    const a = signedWebhook(foreign, fake.webhookSecret);
    expect(verifyStripeWebhook(a.body, a.header, fake.webhookSecret)).toMatchObject({ ok: false, refusal: 'not-an-invoice-payment', acknowledge: true });

    const b = signedWebhook('just a string', fake.webhookSecret);
    expect(verifyStripeWebhook(b.body, b.header, fake.webhookSecret)).toMatchObject({ ok: false, refusal: 'malformed', acknowledge: false });
    const header = Stripe.webhooks.generateTestHeaderString({ payload: 'not json', secret: fake.webhookSecret });
    expect(verifyStripeWebhook('not json', header, fake.webhookSecret)).toMatchObject({ ok: false, refusal: 'malformed', acknowledge: false });
  });

  it('fails loudly on our own misconfiguration rather than refusing every delivery', () => {
    expect(() => verifyStripeWebhook('{}', 't=1,v1=00', fake.webhookSecret, 0)).toThrow(RangeError);
    expect(() => verifyStripeWebhook('{}', 't=1,v1=00', '')).toThrow(TypeError);
  });

  it('deliverWebhook posts the event as Stripe would, and an endpoint can verify the raw body', async () => {
    const seen: StripeWebhookResult[] = [];
    const endpoint = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const result = payments.verifyWebhook(Buffer.concat(chunks), req.headers['stripe-signature']);
        seen.push(result);
        res.writeHead(result.ok || result.acknowledge ? 200 : 400).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/webhooks/stripe`;
      const { event } = await paidCheckout(12_00);
      expect((await fake.deliverWebhook(url, event)).status).toBe(200);
      expect((await fake.deliverWebhook(url, event, Math.floor(Date.now() / 1000) - 3600)).status).toBe(400);
      expect(seen.map((r) => (r.ok ? r.payment.amountPence : r.refusal))).toEqual([12_00, 'too-old']);
    } finally {
      endpoint.closeAllConnections();
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });
});
