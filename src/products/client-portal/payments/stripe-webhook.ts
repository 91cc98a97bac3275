import Stripe from 'stripe';

/**
 * Checks that a webhook delivery came from Stripe and turns an invoice payment into plain fields.
 * Every bad request is an answer, never an exception, so a forged or garbled delivery cannot
 * become a 500.
 *
 * Replay: a genuine delivery can arrive more than once (Stripe retries until it sees a 2xx, and
 * anyone who captured one can resend it within the tolerance). Stopping a second use of the same
 * event id is the caller's job, in the same transaction that marks the invoice paid (a unique
 * constraint on the event id); this module has no database and cannot remember anything.
 * The caller must also check that the invoice exists in that tenant and that amountPence and
 * currency match what is owed before marking it paid.
 */

export type StripeWebhookRefusal =
  /** Not signed with our secret: forged, altered in transit, or the wrong endpoint secret. Answer 400. */
  | 'bad-signature'
  /** Signed correctly but older than the tolerance: a replay, or a badly skewed clock. Answer 400; Stripe re-signs each retry. */
  | 'too-old'
  /** Signed correctly but not a readable event. Answer 400. */
  | 'malformed'
  /** Genuine, but a type we do not act on. Answer 2xx, or Stripe keeps retrying for days. */
  | 'unsupported-type'
  /** A genuine completed checkout whose money has not arrived yet (a bank debit): answer 2xx and wait for async_payment_succeeded. */
  | 'not-paid'
  /** Genuine, but not a session this module made (no invoice metadata, or not a one-off payment). Answer 2xx. */
  | 'not-an-invoice-payment';

export interface InvoicePaymentEvent {
  /** Stripe's event id (evt_…): the caller's replay key. */
  eventId: string;
  type: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded';
  invoiceId: string;
  tenantId: string;
  amountPence: number;
  currency: string;
  paymentIntentId: string | null;
  checkoutSessionId: string;
  /** When Stripe created the event. */
  created: Date;
  livemode: boolean;
}

export type StripeWebhookResult =
  | { ok: true; payment: InvoicePaymentEvent }
  | {
      ok: false;
      refusal: StripeWebhookRefusal;
      /**
       * True when the delivery is genuinely Stripe's and simply needs nothing done: answer 2xx so
       * Stripe stops retrying. False (bad signature, too old, malformed): answer 400.
       */
      acknowledge: boolean;
      message: string;
      eventId?: string;
      type?: string;
    };

const PAYMENT_EVENT_TYPES: ReadonlySet<string> = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

function refuse(refusal: StripeWebhookRefusal, message: string, event?: { id: string; type: string }): StripeWebhookResult {
  const acknowledge = refusal === 'unsupported-type' || refusal === 'not-paid' || refusal === 'not-an-invoice-payment';
  return { ok: false, refusal, acknowledge, message, ...(event ? { eventId: event.id, type: event.type } : {}) };
}

/**
 * `rawBody` must be the bytes as received (Fastify: a raw-body content parser for this route),
 * never re-serialised JSON, or no signature will ever match.
 */
export function verifyStripeWebhook(
  rawBody: Buffer | string,
  signatureHeader: string | string[] | undefined,
  webhookSecret: string,
  toleranceSeconds = 300,
): StripeWebhookResult {
  // Both are our configuration, not the sender's input: a mistake there should fail loudly.
  // (A tolerance of 0 would make the SDK skip the age check altogether.)
  if (!Number.isInteger(toleranceSeconds) || toleranceSeconds <= 0) throw new RangeError('toleranceSeconds must be a positive whole number');
  if (!webhookSecret.startsWith('whsec_')) throw new TypeError('the webhook secret must be the endpoint signing secret (whsec_…)');

  // Node joins repeated headers into one string; an array here means a framework passed something odd.
  if (typeof signatureHeader !== 'string' || signatureHeader === '') return refuse('bad-signature', 'missing Stripe-Signature header');
  if (rawBody.length === 0) return refuse('bad-signature', 'empty body');

  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signatureHeader, webhookSecret, toleranceSeconds);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      return signedIgnoringAge(rawBody, signatureHeader, webhookSecret)
        ? refuse('too-old', `signature timestamp is more than ${toleranceSeconds}s old`)
        : refuse('bad-signature', 'signature does not match the body and the endpoint secret');
    }
    // The signature held (the SDK verifies before parsing) but the body is not an event.
    return refuse('malformed', 'signed body is not a Stripe event');
  }
  if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || typeof event.type !== 'string') {
    return refuse('malformed', 'signed body is not a Stripe event');
  }
  if (!PAYMENT_EVENT_TYPES.has(event.type)) return refuse('unsupported-type', `event type ${event.type} is not handled`, event);
  return fromCheckoutSession(event as Stripe.CheckoutSessionCompletedEvent | Stripe.CheckoutSessionAsyncPaymentSucceededEvent);
}

/**
 * The SDK reports a bad signature and an old timestamp with the same error class; checking again
 * with the age check off (tolerance 0) tells them apart without reading its message text.
 */
function signedIgnoringAge(rawBody: Buffer | string, header: string, secret: string): boolean {
  try {
    return Stripe.webhooks.signature?.verifyHeader(rawBody, header, secret, 0) === true;
  } catch {
    return false;
  }
}

function fromCheckoutSession(event: Stripe.CheckoutSessionCompletedEvent | Stripe.CheckoutSessionAsyncPaymentSucceededEvent): StripeWebhookResult {
  const session = event.data?.object;
  if (typeof session !== 'object' || session === null || typeof session.id !== 'string') {
    return refuse('malformed', 'event carries no Checkout Session', event);
  }
  const invoiceId = session.metadata?.invoiceId;
  const tenantId = session.metadata?.tenantId;
  // client_reference_id is set from the same invoice id: a disagreement means someone else's session.
  if (session.mode !== 'payment' || !invoiceId || !tenantId || session.client_reference_id !== invoiceId) {
    return refuse('not-an-invoice-payment', `Checkout Session ${session.id} is not an invoice payment`, event);
  }
  // checkout.session.completed also fires for bank debits before the money clears (payment_status 'unpaid').
  if (session.payment_status !== 'paid') {
    return refuse('not-paid', `Checkout Session ${session.id} is ${String(session.payment_status)}, not paid`, event);
  }
  if (!Number.isSafeInteger(session.amount_total) || (session.amount_total ?? -1) < 0 || typeof session.currency !== 'string') {
    return refuse('malformed', `Checkout Session ${session.id} has no amount`, event);
  }
  const paymentIntent = session.payment_intent;
  return {
    ok: true,
    payment: {
      eventId: event.id,
      type: event.type,
      invoiceId,
      tenantId,
      amountPence: session.amount_total!,
      currency: session.currency,
      paymentIntentId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? null),
      checkoutSessionId: session.id,
      created: new Date(event.created * 1000),
      livemode: event.livemode === true,
    },
  };
}
