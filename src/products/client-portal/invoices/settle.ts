import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { DecryptionError } from '../../../platform/crypto/aead.ts';
import { AppError, PROBLEM_BASE } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import type { Platform } from '../../../platform/platform.ts';
import { isUuid, SYSTEM_ACTOR, type RequestMeta, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { mailClientUsers } from '../portal-mail.ts';
import { formatPence } from '../payments/money.ts';
import type { InvoicePaymentEvent, StripePayments } from '../payments/stripe.ts';
import { OnlinePaymentNotSetUpError, parsePaymentReference, PaymentRefusedError } from './checkout.ts';
import { settlePurchase, type SettleOutcome } from './purchases.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * Stripe's webhook: the one place a payment becomes "paid". Answers, as Stripe reads them:
 * - 400: not signed with our endpoint secret, altered, older than five minutes, or not an event.
 *   Nothing is read or written.
 * - 200 `replayed`: the event id was acted on before (portal_payment_events). Nothing changes.
 * - 200 `ignored`: genuine, but nothing to do (another event type, a bank debit not yet cleared,
 *   a session that is not ours).
 * - 200 `paid` / `already-paid`: applied now, or this very payment was applied already.
 * - 409: genuine but not applicable (PaymentRefusedError: wrong amount or currency, no such
 *   invoice, void, paid by another payment). Nothing is written, so Stripe keeps the delivery
 *   failed and retries it, and the operator sees it.
 * The event id is recorded in the same transaction as the change it caused, so a delivery is acted
 * on exactly once however often it arrives, and a refused one is not remembered as handled.
 */

export interface WebhookOutcome {
  received: true;
  outcome: SettleOutcome | 'replayed' | 'ignored';
  /** Why an event was ignored. */
  reason?: string;
}

export class WebhookRefusedError extends AppError {
  constructor(detail: string) {
    super(400, `${PROBLEM_BASE}webhook-refused`, 'Webhook refused', detail);
    this.name = 'WebhookRefusedError';
  }
}

export interface WebhookDependencies {
  platform: Pick<Platform, 'inTenant' | 'queue' | 'config' | 'logger'>;
  payments: StripePayments | undefined;
}

export async function handleStripeWebhook(deps: WebhookDependencies, rawBody: Buffer, signature: string | string[] | undefined, meta: RequestMeta): Promise<WebhookOutcome> {
  const { platform, payments } = deps;
  if (!payments) throw new OnlinePaymentNotSetUpError();
  const verified = payments.verifyWebhook(rawBody, signature);
  if (!verified.ok) {
    if (verified.acknowledge) return { received: true, outcome: 'ignored', reason: verified.refusal };
    throw new WebhookRefusedError(verified.message);
  }
  const payment = verified.payment;
  const subject = parsePaymentReference(payment.invoiceId);
  if (!subject || !isUuid(payment.tenantId)) {
    // Signed by our endpoint, but made by something else on the same Stripe account.
    platform.logger.warn({ event: payment.eventId }, 'Stripe payment with a reference this portal did not make; ignored');
    return { received: true, outcome: 'ignored', reason: 'not-a-portal-payment' };
  }
  try {
    return await platform.inTenant({ tenantId: payment.tenantId, actor: SYSTEM_ACTOR, meta }, async (scope) => {
      const recorded = await scope.trx
        .insertInto('portal_payment_events')
        .values({ event_id: payment.eventId, tenant_id: scope.tenantId, type: payment.type })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('event_id')
        .executeTakeFirst();
      if (!recorded) return { received: true, outcome: 'replayed' } as const;
      const outcome =
        subject.kind === 'invoice'
          ? await settleInvoice(platform.queue, scope, subject.id, payment, platform.config.publicUrl)
          : await settlePurchase(scope, subject.id, payment);
      return { received: true, outcome } as const;
    });
  } catch (error) {
    // The metadata names an organisation that no longer exists (its keys are gone with it).
    if (error instanceof DecryptionError) throw new PaymentRefusedError('the practice it is for does not exist');
    throw error;
  }
}

/**
 * An invoice's payment arrived: checked against the invoice (amount and currency), marked paid with
 * the payment reference, audited, and a receipt emailed to the client's users.
 */
export async function settleInvoice(queue: JobQueue, scope: TenantScope, invoiceId: string, payment: InvoicePaymentEvent, publicUrl: string): Promise<SettleOutcome> {
  const row = await scope.trx
    .selectFrom('portal_invoices')
    .select(['id', 'client_id', 'number', 'status', 'gross_pence', 'vat_pence', 'currency', 'payment_intent_id', 'checkout_session_id'])
    .where('id', '=', invoiceId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new PaymentRefusedError(`no invoice ${invoiceId} in this practice`);
  const gross = Number(row.gross_pence);
  if (payment.currency !== row.currency || payment.amountPence !== gross) {
    throw new PaymentRefusedError(`the payment (${payment.amountPence} ${payment.currency}) does not match invoice ${row.number} (${gross} ${row.currency})`);
  }
  if (row.status === 'void') throw new PaymentRefusedError(`invoice ${row.number} is void; refund the payment`);
  if (row.status === 'paid') {
    const samePayment = (payment.paymentIntentId !== null && payment.paymentIntentId === row.payment_intent_id) || payment.checkoutSessionId === row.checkout_session_id;
    if (samePayment) return 'already-paid';
    throw new PaymentRefusedError(`invoice ${row.number} is already paid by another payment; refund this one`);
  }
  const paidAt = new Date();
  await scope.trx
    .updateTable('portal_invoices')
    .set({ status: 'paid', paid_at: paidAt, payment_intent_id: payment.paymentIntentId, checkout_session_id: payment.checkoutSessionId, next_reminder_at: null })
    .where('id', '=', invoiceId)
    .execute();
  await recordAudit(scope, {
    action: 'portal.invoice_paid',
    target: { type: 'portal_invoice', id: invoiceId },
    changes: {
      status: { before: 'outstanding', after: 'paid' },
      number: { after: row.number },
      grossPence: { after: gross },
      paymentReference: { after: payment.paymentIntentId },
    },
  });
  await queueReceipts(queue, scope, { id: invoiceId, clientId: row.client_id, number: row.number, grossPence: gross, vatPence: Number(row.vat_pence), paidAt, paymentReference: payment.paymentIntentId }, publicUrl);
  return 'paid';
}

/** One receipt email to each of the client's users who is not disabled; amounts only, no line descriptions. */
async function queueReceipts(
  queue: JobQueue,
  scope: TenantScope,
  invoice: { id: string; clientId: string; number: string; grossPence: number; vatPence: number; paidAt: Date; paymentReference: string | null },
  publicUrl: string,
): Promise<void> {
  const orgName = await organisationName(scope);
  const paidOn = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', dateStyle: 'long', timeStyle: 'short' }).format(invoice.paidAt);
  await mailClientUsers(queue, scope, invoice.clientId, {
    subject: `Receipt: ${orgName} received your payment for invoice ${invoice.number}`,
    text:
      `${orgName} has received your payment of ${formatPence(invoice.grossPence)} (including VAT of ${formatPence(invoice.vatPence)}) for invoice ${invoice.number}.\n\n` +
      `Paid: ${paidOn} (UK time)\n` +
      (invoice.paymentReference ? `Payment reference: ${invoice.paymentReference}\n` : '') +
      `\nThe invoice and its receipt are in your portal:\n${publicUrl}/portal/invoices/${invoice.id}\n`,
  });
}
