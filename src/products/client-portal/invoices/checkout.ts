import Stripe from 'stripe';
import { roleCan } from '../../../platform/access/roles.ts';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { AppError, ConflictError, ForbiddenError, PROBLEM_BASE } from '../../../platform/errors.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import type { InvoiceCheckout, InvoiceCheckoutRequest } from '../payments/stripe.ts';
import { getInvoice } from './invoices.ts';

/**
 * Starting a Stripe Checkout for an invoice. The work is split around the call to Stripe: the
 * invoice is checked in one short transaction, Stripe is asked with no transaction open (a slow
 * provider must not hold a database connection), and the session id is recorded in a second one.
 *
 * What Stripe is told: the amount, the invoice number and due date, and a reference naming what
 * is paid for: `invoice-<id>` or `purchase-<id>` in the session's metadata (the `invoiceId` field
 * of the payments wrapper), so the webhook tells an invoice from a purchase of credits or storage.
 */

export type PaymentSubject = { kind: 'invoice' | 'purchase'; id: string };

const REFERENCE = /^(invoice|purchase)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function paymentReference(subject: PaymentSubject): string {
  return `${subject.kind}-${subject.id}`;
}

export function parsePaymentReference(reference: string): PaymentSubject | undefined {
  const match = REFERENCE.exec(reference);
  return match ? { kind: match[1] as PaymentSubject['kind'], id: match[2]! } : undefined;
}

/** Stripe will not take a card payment under £0.30. */
export const MIN_ONLINE_PAYMENT_PENCE = 30;

export class OnlinePaymentNotSetUpError extends ConflictError {
  constructor() {
    super('online payment is not set up');
    this.name = 'OnlinePaymentNotSetUpError';
  }
}

/** Stripe failed or refused us: our configuration or their service, never the payer's doing. */
export class PaymentProviderError extends AppError {
  constructor(status: 502 | 503, detail: string) {
    super(status, `${PROBLEM_BASE}payment-provider`, status === 503 ? 'Payment provider unavailable' : 'Payment provider error', detail);
    this.name = 'PaymentProviderError';
  }
}

/**
 * A genuine payment that must not be applied: no such invoice or purchase, another amount or
 * currency, a void invoice, or one already paid by another payment. Answered 409 so the delivery
 * stays failed in Stripe's dashboard (and is retried) until someone looks: money was taken that
 * matches nothing owed, and needs a refund or a correction by hand.
 */
export class PaymentRefusedError extends ConflictError {
  constructor(detail: string) {
    super(`payment not applied: ${detail}`);
    this.name = 'PaymentRefusedError';
  }
}

/** Runs a Stripe call, turning the SDK's errors into 502/503 problems that quote nothing of Stripe's answer. */
export async function callStripe<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeConnectionError || error instanceof Stripe.errors.StripeRateLimitError) {
      throw new PaymentProviderError(503, 'the payment provider could not be reached; try again in a minute');
    }
    if (error instanceof Stripe.errors.StripeError) throw new PaymentProviderError(502, 'the payment provider refused the request; nothing was charged');
    throw error;
  }
}

/**
 * Someone may start paying when they are one of the client's users ('portal.respond'; the database
 * already hides other clients' invoices from them) or the practice's staff ('portal.invoices.manage',
 * e.g. taking a payment over the phone). Read from the user's row now, not from a cached session.
 */
async function requirePayer(scope: TenantScope): Promise<void> {
  // API tokens reach here only with the 'admin' scope: the practice's own integration.
  if (scope.actor.type !== 'user' || !scope.actor.id) return;
  const user = await scope.trx.selectFrom('users').select('role').where('id', '=', scope.actor.id).executeTakeFirst();
  if (user && (roleCan('practice', user.role, 'portal.respond') || roleCan('practice', user.role, 'portal.invoices.manage'))) return;
  throw new ForbiddenError("your role does not include 'portal.respond' or 'portal.invoices.manage'");
}

export interface PayableInvoice {
  id: string;
  number: string;
  grossPence: number;
  currency: string;
  dueOn: string;
}

/** The invoice as it will be charged, or why it cannot be paid (404 unseen, 409 paid/void/too small). */
export async function prepareInvoiceCheckout(scope: TenantScope, invoiceId: string): Promise<PayableInvoice> {
  const invoice = await getInvoice(scope, invoiceId);
  await requirePayer(scope);
  if (invoice.status === 'paid') throw new ConflictError(`invoice ${invoice.number} is already paid`);
  if (invoice.status === 'void') throw new ConflictError(`invoice ${invoice.number} is void and cannot be paid`);
  if (invoice.grossPence < MIN_ONLINE_PAYMENT_PENCE) throw new ConflictError('invoices under £0.30 cannot be paid online');
  return { id: invoice.id, number: invoice.number, grossPence: invoice.grossPence, currency: invoice.currency, dueOn: invoice.dueOn };
}

export function invoiceCheckoutRequest(tenantId: string, invoice: PayableInvoice, publicUrl: string): InvoiceCheckoutRequest {
  const page = `${publicUrl}/portal/invoices/${invoice.id}`;
  return {
    invoiceId: paymentReference({ kind: 'invoice', id: invoice.id }),
    tenantId,
    number: invoice.number,
    currency: 'gbp',
    amountPence: invoice.grossPence,
    description: `Invoice ${invoice.number}, due ${invoice.dueOn}`,
    successUrl: `${page}?payment=complete`,
    cancelUrl: `${page}?payment=cancelled`,
  };
}

/** Remembers the latest Checkout Session of the invoice; audited with the amount only. */
export async function recordInvoiceCheckout(scope: TenantScope, invoice: PayableInvoice, checkout: InvoiceCheckout): Promise<void> {
  await scope.trx.updateTable('portal_invoices').set({ checkout_session_id: checkout.sessionId }).where('id', '=', invoice.id).where('status', '=', 'issued').execute();
  await recordAudit(scope, {
    action: 'portal.invoice_checkout_started',
    target: { type: 'portal_invoice', id: invoice.id },
    changes: { number: { after: invoice.number }, grossPence: { after: invoice.grossPence }, checkoutSession: { after: checkout.sessionId } },
  });
}
