import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../platform/errors.ts';
import { createInvoiceCheckout, createStripeClient, createStripePayments, sdkAddress, stripeSettingsSchema, type InvoiceCheckoutRequest } from './stripe.ts';
import { startFakeStripe, type FakeStripeServer } from './testing/stripe-server.ts';

let fake: FakeStripeServer;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake.close();
});

const settings = () => ({ secretKey: fake.secretKey, webhookSecret: fake.webhookSecret, apiBase: fake.apiBase });

let invoiceSeq = 0;
function request(over: Partial<InvoiceCheckoutRequest> = {}): InvoiceCheckoutRequest {
  invoiceSeq += 1;
  return {
    invoiceId: `0b6f1c2e-8a3d-4c11-9e57-${String(invoiceSeq).padStart(12, '0')}`,
    tenantId: '5d1e0c8a-2f4b-4f6e-b1a9-3c7d2e9f0a11',
    number: `INV-${1000 + invoiceSeq}`,
    currency: 'gbp',
    amountPence: 123_45,
    description: 'Annual accounts and corporation tax return',
    successUrl: 'https://portal.example/invoices/paid?session={CHECKOUT_SESSION_ID}',
    cancelUrl: 'https://portal.example/invoices',
    ...over,
  };
}

describe('Checkout Sessions through the real SDK', () => {
  it('creates a session and sends Stripe the amount, currency, metadata and an idempotency key', async () => {
    const payments = createStripePayments(settings());
    const before = fake.requests.length;
    const input = request({ customerEmail: 'payer@client.example' });
    const checkout = await payments.createInvoiceCheckout(input);

    expect(checkout.sessionId).toMatch(/^cs_test_/);
    expect(checkout.url).toBe(`${fake.apiBase}/c/pay/${checkout.sessionId}`);
    const sent = fake.requests.slice(before);
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/v1/checkout/sessions');
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
    expect(req!.headers['stripe-version']).toBe(Stripe.API_VERSION);
    expect(req!.headers['idempotency-key']).toMatch(new RegExp(`^custos-invoice-${input.invoiceId}-12345gbp-[0-9a-f]{16}$`));
    expect(req!.form).toEqual({
      mode: 'payment',
      client_reference_id: input.invoiceId,
      metadata: { invoiceId: input.invoiceId, tenantId: input.tenantId },
      line_items: [
        {
          quantity: '1',
          price_data: {
            currency: 'gbp',
            unit_amount: '12345',
            product_data: { name: `Invoice ${input.number}`, description: input.description },
          },
        },
      ],
      payment_intent_data: { description: `Invoice ${input.number}`, metadata: { invoiceId: input.invoiceId, tenantId: input.tenantId } },
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      customer_email: 'payer@client.example',
    });
    // The {CHECKOUT_SESSION_ID} placeholder reaches Stripe intact, for Stripe to fill in.
    expect(req!.rawBody).toContain('success_url=https%3A%2F%2Fportal.example%2Finvoices%2Fpaid%3Fsession%3D%7BCHECKOUT_SESSION_ID%7D');

    const session = await payments.stripe.checkout.sessions.retrieve(checkout.sessionId);
    expect(session).toMatchObject({ amount_total: 12_345, currency: 'gbp', payment_status: 'unpaid', client_reference_id: input.invoiceId });
  });

  it('the same invoice and amount gives back the same session; a new amount makes a new one', async () => {
    const stripe = createStripeClient(settings());
    const input = request();
    const first = await createInvoiceCheckout(stripe, input);
    const again = await createInvoiceCheckout(stripe, input);
    expect(again).toEqual(first);
    expect(fake.sessions.size).toBeGreaterThan(0);
    const keys = fake.requests.slice(-2).map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toBe(keys[1]);

    const changed = await createInvoiceCheckout(stripe, { ...input, amountPence: 99_00 });
    expect(changed.sessionId).not.toBe(first.sessionId);
  });

  it('the fake holds Stripe’s idempotency rule: one key, other parameters → idempotency_error', async () => {
    const stripe = new Stripe(fake.secretKey, { ...sdkAddress(fake.apiBase), maxNetworkRetries: 0 });
    const params = { mode: 'payment' as const, line_items: [{ quantity: 1, price_data: { currency: 'gbp', unit_amount: 500, product_data: { name: 'x' } } }] };
    await stripe.checkout.sessions.create(params, { idempotencyKey: 'reused-key' });
    const reused = stripe.checkout.sessions.create({ ...params, client_reference_id: 'other' }, { idempotencyKey: 'reused-key' });
    await expect(reused).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('expires an open session (its page can no longer be paid); a completed or expired one reports false; an unknown one throws', async () => {
    const payments = createStripePayments(settings());
    const open = await payments.createInvoiceCheckout(request());
    expect(await payments.expireCheckout(open.sessionId)).toBe(true);
    expect(fake.sessions.get(open.sessionId)).toMatchObject({ status: 'expired', url: null });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: `/v1/checkout/sessions/${open.sessionId}/expire` });
    expect(() => fake.completeCheckout(open.sessionId)).toThrow(/expired and cannot be paid/);
    expect(await payments.expireCheckout(open.sessionId)).toBe(false);

    const paid = await payments.createInvoiceCheckout(request());
    fake.completeCheckout(paid.sessionId);
    expect(await payments.expireCheckout(paid.sessionId)).toBe(false);
    expect(fake.sessions.get(paid.sessionId)).toMatchObject({ status: 'complete', payment_status: 'paid' });

    await expect(payments.expireCheckout('cs_test_nosuchsession')).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('a wrong secret key gives the SDK’s authentication error', async () => {
    const stripe = createStripeClient({ ...settings(), secretKey: 'sk_test_notTheRightKey1234' });
    const error = await createInvoiceCheckout(stripe, request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(401);
    expect((error as Stripe.errors.StripeError).message).toMatch(/^Invalid API Key provided: sk_test_\*{4}1234$/);
  });

  it('answers bad parameters with Stripe’s error object, which the SDK turns into StripeInvalidRequestError', async () => {
    const stripe = createStripeClient(settings());
    const error = await stripe.checkout.sessions.create({ mode: 'payment', success_url: 'https://portal.example/ok' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400, param: 'line_items', code: 'parameter_missing' });
    expect((error as Error).message).toBe('Missing required param: line_items.');

    const missing = await stripe.checkout.sessions.retrieve('cs_test_nope').catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('refuses bad requests before calling Stripe, naming the field', async () => {
    const stripe = createStripeClient(settings());
    const before = fake.requests.length;
    for (const [over, field] of [
      [{ amountPence: 29 }, 'amountPence'],
      [{ amountPence: 12.5 }, 'amountPence'],
      [{ currency: 'eur' }, 'currency'],
      [{ invoiceId: 'a/b' }, 'invoiceId'],
      [{ successUrl: 'javascript:alert(1)' }, 'successUrl'],
      [{ customerEmail: 'not-an-email' }, 'customerEmail'],
    ] as const) {
      const error = await createInvoiceCheckout(stripe, request(over as Partial<InvoiceCheckoutRequest>)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors?.map((e) => e.field)).toEqual([field]);
    }
    expect(fake.requests.length).toBe(before);
  });
});

describe('settings', () => {
  it('maps apiBase onto the SDK’s host, port and protocol', () => {
    expect(sdkAddress(undefined)).toEqual({});
    expect(sdkAddress('http://127.0.0.1:4010')).toEqual({ protocol: 'http', host: '127.0.0.1', port: 4010 });
    expect(sdkAddress('https://stripe-mock.internal')).toEqual({ protocol: 'https', host: 'stripe-mock.internal', port: 443 });
    expect(sdkAddress('http://[::1]:12111')).toEqual({ protocol: 'http', host: '::1', port: 12111 });
  });

  it('refuses keys, secrets and bases that cannot be right', () => {
    const good = { secretKey: 'sk_test_abc', webhookSecret: 'whsec_abc' };
    expect(stripeSettingsSchema.safeParse(good).success).toBe(true);
    expect(stripeSettingsSchema.safeParse({ ...good, secretKey: 'pk_test_abc' }).success).toBe(false);
    expect(stripeSettingsSchema.safeParse({ ...good, webhookSecret: 'abc' }).success).toBe(false);
    for (const apiBase of ['http://stripe.example', 'https://x.example/v1', 'https://u:p@x.example', 'ftp://x.example', 'nonsense']) {
      expect(stripeSettingsSchema.safeParse({ ...good, apiBase }).success, apiBase).toBe(false);
    }
  });
});
