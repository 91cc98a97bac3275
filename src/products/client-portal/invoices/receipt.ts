import { ConflictError } from '../../../platform/errors.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import type { VatSummaryRow } from '../payments/money.ts';
import { getInvoice } from './invoices.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

export interface InvoiceReceipt {
  invoiceId: string;
  clientId: string;
  number: string;
  practiceName: string;
  paidAt: string;
  paymentReference: string | null;
  currency: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  vatSummary: VatSummaryRow[];
}

/** The receipt of a paid invoice: when, the payment reference and the amounts (409 until paid). */
export async function invoiceReceipt(scope: TenantScope, invoiceId: string): Promise<InvoiceReceipt> {
  const invoice = await getInvoice(scope, invoiceId);
  if (invoice.status !== 'paid' || !invoice.paidAt) throw new ConflictError(`invoice ${invoice.number} is not paid, so it has no receipt`);
  const orgName = await organisationName(scope);
  return {
    invoiceId: invoice.id,
    clientId: invoice.clientId,
    number: invoice.number,
    practiceName: orgName,
    paidAt: invoice.paidAt,
    paymentReference: invoice.paymentReference,
    currency: invoice.currency,
    netPence: invoice.netPence,
    vatPence: invoice.vatPence,
    grossPence: invoice.grossPence,
    vatSummary: invoice.vatSummary,
  };
}
