import { VAT_RATE_PERCENT, VAT_RATES, type InvoiceStatus, type PortalInvoiceSummary, type VatRate, type VatSummaryRow } from '../../api/portal.ts';

/**
 * Money on the portal's pages: whole pence from the API, pounds as people type them. Nothing goes
 * through floating point, and the live totals of the invoice form use the server's rule (each
 * line's net and VAT rounded to the nearer penny, halves up), so what the form shows is what the
 * invoice will say.
 */

/** 123456 → "£1,234.56". */
export function formatPence(pence: number): string {
  const sign = pence < 0 ? '-' : '';
  const abs = Math.abs(pence);
  return `${sign}£${Math.trunc(abs / 100).toLocaleString('en-GB')}.${String(abs % 100).padStart(2, '0')}`;
}

/** 123456 → "1234.56": an amount as it goes back into a box to be changed. */
export function penceToInput(pence: number): string {
  return `${Math.trunc(pence / 100)}.${String(pence % 100).padStart(2, '0')}`;
}

/** "£1,234.5", "1234.50", "12" → pence; undefined unless it is a non-negative amount with at most 2 decimal places. */
export function parsePounds(text: string): number | undefined {
  const cleaned = text.trim().replace(/^£/, '').replace(/,/g, '').trim();
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(cleaned);
  if (!match) return undefined;
  const pence = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(pence) ? pence : undefined;
}

/** "1.5" → 150 (hundredths); undefined unless above 0 with at most 2 decimal places. */
export function parseQuantity(text: string): number | undefined {
  const match = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const hundredths = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return hundredths > 0 ? hundredths : undefined;
}

/** numerator / denominator to the nearer integer, halves up (both non-negative). */
function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}

export interface PricedDraftLine {
  netPence: number;
  vatPence: number;
}

/** One line as the server will price it; undefined while its quantity or price is not a valid amount. */
export function priceDraftLine(quantityHundredths: number | undefined, unitPricePence: number | undefined, rate: VatRate): PricedDraftLine | undefined {
  if (quantityHundredths === undefined || unitPricePence === undefined) return undefined;
  const net = divideHalfUp(BigInt(quantityHundredths) * BigInt(unitPricePence), 100n);
  const vat = divideHalfUp(net * BigInt(VAT_RATE_PERCENT[rate]), 100n);
  return { netPence: Number(net), vatPence: Number(vat) };
}

/** The VAT summary of priced lines, one row per rate used, in the server's order. */
export function summariseVat(lines: { rate: VatRate; priced: PricedDraftLine }[]): VatSummaryRow[] {
  return VAT_RATES.flatMap((rate) => {
    const at = lines.filter((l) => l.rate === rate);
    if (at.length === 0) return [];
    return [{ vatRate: rate, ratePercent: VAT_RATE_PERCENT[rate], netPence: at.reduce((n, l) => n + l.priced.netPence, 0), vatPence: at.reduce((n, l) => n + l.priced.vatPence, 0) }];
  });
}

export const VAT_RATE_LABELS: Record<VatRate, string> = {
  standard: 'Standard rate (20%)',
  reduced: 'Reduced rate (5%)',
  zero: 'Zero rate (0%)',
  exempt: 'Exempt',
  'outside-scope': 'Outside the scope of VAT',
};

/** Where an invoice stands, in words: overdue is an outstanding invoice past its due date. */
export function invoiceStatusLabel(invoice: Pick<PortalInvoiceSummary, 'status' | 'overdue'>): string {
  if (invoice.status === 'outstanding') return invoice.overdue ? 'Overdue' : 'Outstanding';
  return INVOICE_STATUS_LABELS[invoice.status];
}

const INVOICE_STATUS_LABELS: Record<InvoiceStatus, string> = { outstanding: 'Outstanding', paid: 'Paid', void: 'Void' };

export function invoiceStatusTone(invoice: Pick<PortalInvoiceSummary, 'status' | 'overdue'>): 'active' | 'invited' | 'disabled' {
  if (invoice.status === 'paid') return 'active';
  if (invoice.status === 'void' || invoice.overdue) return 'disabled';
  return 'invited';
}

/** Today (or `days` later) where the reader is, as YYYY-MM-DD. */
export function localDate(days = 0): string {
  const when = new Date(Date.now() + days * 86_400_000);
  return `${when.getFullYear()}-${String(when.getMonth() + 1).padStart(2, '0')}-${String(when.getDate()).padStart(2, '0')}`;
}
