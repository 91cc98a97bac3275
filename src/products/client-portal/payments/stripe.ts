import crypto from 'node:crypto';
import Stripe from 'stripe';
import { z } from 'zod';
import { parseOrThrow } from '../../../platform/validation.ts';
import { MAX_AMOUNT_PENCE } from './money.ts';
import { verifyStripeWebhook, type StripeWebhookResult } from './stripe-webhook.ts';

export { verifyStripeWebhook, type InvoicePaymentEvent, type StripeWebhookResult, type StripeWebhookRefusal } from './stripe-webhook.ts';

/**
 * A thin layer over the official Stripe SDK for the client portal: a hosted Checkout Session for
 * one invoice, and (stripe-webhook.ts) the verification of the event that says it was paid.
 * Nothing here reads or writes the database; the caller owns invoices, event ids and audit.
 *
 * Only what a payment needs goes to Stripe: the amount, the invoice number and our opaque ids. No
 * client names or addresses, so Stripe holds as little about the practice's clients as possible.
 */

/** Loopback hosts are the only ones allowed plain http: a secret key never crosses a network in clear. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const stripeSettingsSchema = z.object({
  secretKey: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must be a Stripe secret or restricted key (sk_… or rk_…)'),
  webhookSecret: z.string().regex(/^whsec_\S+$/, "must be the webhook endpoint's signing secret (whsec_…)"),
  apiBase: z
    .string()
    .refine((v) => {
      const url = URL.canParse(v) ? new URL(v) : undefined;
      if (!url || url.username || url.password || url.search || url.hash || url.pathname !== '/') return false;
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
    }, 'must be an origin such as https://api.example or http://127.0.0.1:PORT (http only on loopback), with no path')
    .optional(),
});
export type StripeSettings = z.input<typeof stripeSettingsSchema>;

/**
 * The SDK has no base-URL option: it takes `host` (a bare host name, no port, no brackets), `port`
 * and `protocol` ('http' | 'https') separately, always prefixes paths with /v1/, and sends every
 * request (files and connect hosts too) to that host once it is not the default. So an apiBase
 * must be an origin only.
 */
export function sdkAddress(apiBase: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (apiBase === undefined) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    protocol,
    // node:http wants "::1", not the "[::1]" that URL keeps for IPv6 literals.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
  };
}

export function createStripeClient(settings: StripeSettings): Stripe {
  const { secretKey, apiBase } = stripeSettingsSchema.parse(settings);
  return new Stripe(secretKey, {
    ...sdkAddress(apiBase),
    // The API version stays the one this SDK release is pinned to (Stripe.API_VERSION); the webhook
    // endpoint in the dashboard must use the same version, or event payloads change shape under us.
    // Retries are safe because every create carries an idempotency key.
    maxNetworkRetries: 2,
    // A client waits on this in a browser request: fail in seconds rather than the SDK's 80.
    timeout: 20_000,
    // Latency telemetry is optional; send Stripe nothing it does not need.
    telemetry: false,
    appInfo: { name: 'Custos client portal' },
  });
}

const opaqueId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _');
const returnUrl = z
  .string()
  .max(2000)
  // Checkout replaces the literal {CHECKOUT_SESSION_ID} in success_url, so it must survive untouched.
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an absolute http(s) URL');

export const invoiceCheckoutRequestSchema = z.object({
  invoiceId: opaqueId,
  tenantId: opaqueId,
  number: z.string().trim().min(1).max(60),
  currency: z.literal('gbp'),
  // Stripe refuses card charges under £0.30 in GBP; refusing here gives the caller a clear reason.
  amountPence: z.number().int().min(30, 'must be at least 30 (Stripe’s minimum charge of £0.30)').max(MAX_AMOUNT_PENCE),
  /** Shown to the payer on the Checkout page. Keep personal data out of it. */
  description: z.string().trim().min(1).max(500),
  successUrl: returnUrl,
  cancelUrl: returnUrl,
  customerEmail: z.email().max(254).optional(),
});
export type InvoiceCheckoutRequest = z.input<typeof invoiceCheckoutRequestSchema>;

export interface InvoiceCheckout {
  sessionId: string;
  /** Stripe's hosted payment page: send the payer's browser here (303). */
  url: string;
}

/**
 * Same invoice, same amount, same request → same key, so a double click or a retried request gets
 * back the session already made rather than a second one (Stripe keeps keys for at least 24 hours,
 * about as long as a session stays open). The hash of the whole request is part of the key because
 * Stripe refuses a key reused with different parameters (an idempotency_error): a second payer
 * with another email gets a session of their own instead of an error.
 */
export function checkoutIdempotencyKey(request: z.output<typeof invoiceCheckoutRequestSchema>): string {
  const digest = crypto.createHash('sha256').update(JSON.stringify(checkoutParams(request))).digest('hex').slice(0, 16);
  return `custos-invoice-${request.invoiceId}-${request.amountPence}${request.currency}-${digest}`;
}

function checkoutParams(request: z.output<typeof invoiceCheckoutRequestSchema>): Stripe.Checkout.SessionCreateParams {
  const metadata = { invoiceId: request.invoiceId, tenantId: request.tenantId };
  return {
    mode: 'payment',
    client_reference_id: request.invoiceId,
    metadata,
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: request.currency,
          unit_amount: request.amountPence,
          product_data: { name: `Invoice ${request.number}`, description: request.description },
        },
      },
    ],
    // The same ids on the PaymentIntent, so refunds and disputes (charge.* events) lead back to the invoice.
    payment_intent_data: { description: `Invoice ${request.number}`, metadata },
    success_url: request.successUrl,
    cancel_url: request.cancelUrl,
    ...(request.customerEmail ? { customer_email: request.customerEmail } : {}),
  };
}

/**
 * Creates a hosted Checkout Session for one invoice. Bad input throws the platform's ValidationError
 * (a 400 naming the field); Stripe's own refusals arrive as the SDK's errors (Stripe.errors.StripeAuthenticationError
 * for a wrong key, StripeInvalidRequestError, StripeConnectionError, …), which are ours or Stripe's
 * fault, never the payer's: map them to 502/503.
 */
export async function createInvoiceCheckout(stripe: Stripe, input: InvoiceCheckoutRequest): Promise<InvoiceCheckout> {
  const request = parseOrThrow(invoiceCheckoutRequestSchema, input);
  const session = await stripe.checkout.sessions.create(checkoutParams(request), { idempotencyKey: checkoutIdempotencyKey(request) });
  if (!session.url) throw new Error(`Stripe returned Checkout Session ${session.id} without a payment page URL`);
  return { sessionId: session.id, url: session.url };
}

/**
 * Closes a Checkout Session's payment page: true when it was open and is now expired, false when
 * it had already completed or expired (Stripe answers 400 then; nothing is left to close).
 */
export async function expireCheckout(stripe: Stripe, sessionId: string): Promise<boolean> {
  try {
    await stripe.checkout.sessions.expire(sessionId);
    return true;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 400) return false;
    throw error;
  }
}

export interface StripePayments {
  stripe: Stripe;
  createInvoiceCheckout(request: InvoiceCheckoutRequest): Promise<InvoiceCheckout>;
  expireCheckout(sessionId: string): Promise<boolean>;
  verifyWebhook(rawBody: Buffer | string, signatureHeader: string | string[] | undefined, toleranceSeconds?: number): StripeWebhookResult;
}

/** The client and the webhook secret bound together, for the routes to be handed one object. */
export function createStripePayments(settings: StripeSettings): StripePayments {
  const { webhookSecret } = stripeSettingsSchema.parse(settings);
  const stripe = createStripeClient(settings);
  return {
    stripe,
    createInvoiceCheckout: (request) => createInvoiceCheckout(stripe, request),
    expireCheckout: (sessionId) => expireCheckout(stripe, sessionId),
    verifyWebhook: (rawBody, header, toleranceSeconds) => verifyStripeWebhook(rawBody, header, webhookSecret, toleranceSeconds),
  };
}
