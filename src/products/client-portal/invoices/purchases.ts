import crypto from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../../platform/validation.ts';
import { actorLabel } from '../clients.ts';
import type { InvoiceCheckout, InvoiceCheckoutRequest, InvoicePaymentEvent } from '../payments/stripe.ts';
import { addToBalance, formatBytes, requirePractice } from '../practice.ts';
import { PaymentRefusedError, paymentReference } from './checkout.ts';

/**
 * What a practice buys from the portal itself: signing credits and storage.
 *
 * The price list (pence, VAT included, one Stripe payment per purchase):
 * - signing credits: £1.50 each, sold in packs of 10 (10 credits = £15.00); one credit is used per
 *   completed signature.
 * - storage: £2.00 per GB (1 GB = 1024³ bytes) for a year, 1 to 1,000 GB at a time. The quota is
 *   raised as soon as the payment arrives and falls back a year later (expires_at); files already
 *   held stay, but nothing new is taken while the practice is over its quota.
 */
export const PRICE_LIST = {
  signing: { unitPence: 150, packSize: 10, maxQuantity: 10_000, unit: 'credit' },
  storage: { unitPence: 200, packSize: 1, maxQuantity: 1_000, unit: 'GB' },
} as const;

export const BYTES_PER_GB = 1024 ** 3;

export type PurchaseKind = keyof typeof PRICE_LIST;

export const purchaseSchema = z
  .strictObject({
    kind: z.enum(['signing', 'storage'], { error: "must be 'signing' or 'storage'" }),
    quantity: z.number({ error: 'must be a whole number' }).int('must be a whole number').positive('must be at least 1'),
  })
  .superRefine((p, ctx) => {
    const price = PRICE_LIST[p.kind];
    if (p.quantity > price.maxQuantity) ctx.addIssue({ code: 'custom', path: ['quantity'], message: `must be at most ${price.maxQuantity}` });
    if (p.quantity % price.packSize !== 0) ctx.addIssue({ code: 'custom', path: ['quantity'], message: `must be a multiple of ${price.packSize} (credits come in packs of ${price.packSize})` });
  });
export type PurchaseInput = z.input<typeof purchaseSchema>;

export interface Purchase {
  id: string;
  kind: PurchaseKind;
  quantity: number;
  amountPence: number;
  status: 'pending' | 'paid';
  createdBy: string;
  createdAt: string;
  paidAt: string | null;
  /** Storage: when the year bought ends (null until paid, and for signing credits). */
  expiresAt: string | null;
}

export interface PricedPurchase {
  id: string;
  kind: PurchaseKind;
  quantity: number;
  amountPence: number;
}

/** Validates and prices a purchase (nothing written): the id is chosen now so Stripe can be asked before the row exists. */
export async function pricePurchase(scope: TenantScope, input: PurchaseInput): Promise<PricedPurchase> {
  const data = parseOrThrow(purchaseSchema, input);
  await requirePractice(scope);
  return { id: crypto.randomUUID(), kind: data.kind, quantity: data.quantity, amountPence: data.quantity * PRICE_LIST[data.kind].unitPence };
}

function describePurchase(purchase: Pick<PricedPurchase, 'kind' | 'quantity'>): string {
  return purchase.kind === 'signing'
    ? `${purchase.quantity} signing credits at £1.50 each`
    : `${purchase.quantity} GB of document storage for a year at £2.00 per GB`;
}

export function purchaseCheckoutRequest(tenantId: string, purchase: PricedPurchase, publicUrl: string): InvoiceCheckoutRequest {
  const page = `${publicUrl}/portal/practice/purchases/${purchase.id}`;
  return {
    invoiceId: paymentReference({ kind: 'purchase', id: purchase.id }),
    tenantId,
    number: `P-${purchase.id.slice(0, 8).toUpperCase()}`,
    currency: 'gbp',
    amountPence: purchase.amountPence,
    description: describePurchase(purchase),
    successUrl: `${page}?payment=complete`,
    cancelUrl: `${page}?payment=cancelled`,
  };
}

type PurchaseRow = {
  id: string;
  kind: PurchaseKind;
  quantity: number | string;
  amount_pence: number | string;
  status: 'pending' | 'paid';
  checkout_session_id: string | null;
  created_by: string;
  created_at: Date;
  paid_at: Date | null;
  expires_at: Date | null;
};

const COLUMNS = ['id', 'kind', 'quantity', 'amount_pence', 'status', 'checkout_session_id', 'created_by', 'created_at', 'paid_at', 'expires_at'] as const;

function toPurchase(row: PurchaseRow): Purchase {
  return {
    id: row.id,
    kind: row.kind,
    quantity: Number(row.quantity),
    amountPence: Number(row.amount_pence),
    status: row.status,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    paidAt: row.paid_at ? new Date(row.paid_at).toISOString() : null,
    expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
  };
}

/** Records the purchase, pending, once Stripe has its Checkout Session. */
export async function recordPurchase(scope: TenantScope, purchase: PricedPurchase, checkout: InvoiceCheckout): Promise<Purchase> {
  await requirePractice(scope);
  const row = await scope.trx
    .insertInto('portal_purchases')
    .values({
      id: purchase.id,
      tenant_id: scope.tenantId,
      kind: purchase.kind,
      quantity: purchase.quantity,
      amount_pence: purchase.amountPence,
      checkout_session_id: checkout.sessionId,
      created_by: actorLabel(scope),
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'portal.purchase_started',
    target: { type: 'portal_purchase', id: purchase.id },
    changes: { kind: { after: purchase.kind }, quantity: { after: purchase.quantity }, amountPence: { after: purchase.amountPence }, checkoutSession: { after: checkout.sessionId } },
  });
  return toPurchase(row as PurchaseRow);
}

export async function listPurchases(scope: TenantScope, limit = 100): Promise<Purchase[]> {
  const rows = await scope.trx.selectFrom('portal_purchases').select(COLUMNS).orderBy('created_at', 'desc').limit(Math.max(1, Math.min(500, limit))).execute();
  return rows.map((r) => toPurchase(r as PurchaseRow));
}

export type SettleOutcome = 'paid' | 'already-paid';

/**
 * A purchase's payment arrived: checked against what was priced, marked paid, and the credits or
 * storage added to the practice's balance, all in the webhook's transaction.
 */
export async function settlePurchase(scope: TenantScope, purchaseId: string, payment: InvoicePaymentEvent): Promise<SettleOutcome> {
  const row = (await scope.trx.selectFrom('portal_purchases').select(COLUMNS).where('id', '=', purchaseId).forUpdate().executeTakeFirst()) as PurchaseRow | undefined;
  if (!row) throw new PaymentRefusedError(`no purchase ${purchaseId} in this practice`);
  const purchase = toPurchase(row);
  if (payment.currency !== 'gbp' || payment.amountPence !== purchase.amountPence) {
    throw new PaymentRefusedError(`the payment (${payment.amountPence} ${payment.currency}) does not match purchase ${purchaseId} (${purchase.amountPence} gbp)`);
  }
  if (purchase.status === 'paid') {
    if (row.checkout_session_id === payment.checkoutSessionId) return 'already-paid';
    throw new PaymentRefusedError(`purchase ${purchaseId} is already paid by another Checkout Session; refund this one`);
  }
  await scope.trx
    .updateTable('portal_purchases')
    .set({
      status: 'paid',
      paid_at: sql<Date>`now()`,
      checkout_session_id: payment.checkoutSessionId,
      expires_at: purchase.kind === 'storage' ? sql<Date>`now() + interval '1 year'` : null,
    })
    .where('id', '=', purchaseId)
    .execute();
  const amount = purchase.kind === 'signing' ? purchase.quantity : purchase.quantity * BYTES_PER_GB;
  await addToBalance(scope, { kind: purchase.kind, amount, reason: purchase.kind === 'signing' ? 'purchase' : `purchase of ${formatBytes(amount)}`, purchaseId, by: 'system:stripe' });
  await recordAudit(scope, {
    action: 'portal.purchase_paid',
    target: { type: 'portal_purchase', id: purchaseId },
    changes: { status: { before: 'pending', after: 'paid' }, amountPence: { after: purchase.amountPence }, paymentReference: { after: payment.paymentIntentId } },
  });
  return 'paid';
}
