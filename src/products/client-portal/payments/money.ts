/**
 * Invoice arithmetic for the client portal, in whole pence. Nothing here touches floating point:
 * quantities become integer hundredths, products are taken with BigInt, and every division rounds
 * with one explicit rule, so the figures a client pays are the figures the accountant issued.
 *
 * Rounding rule (one rule, used for line nets and line VAT alike): VAT is worked out line by line
 * and each line's VAT is rounded to the nearer penny, a half penny going up. HMRC's VAT Notice 700
 * (§17.5) permits line-level rounding to the nearer 1p, and its VAT Traders' Records manual
 * (VATREC12030) describes "nearer" as half-up. We do not use the concession that lets the invoice's
 * total VAT be rounded down, nor rounding to 0.1p: the invoice VAT is simply the sum of the rounded
 * line VAT, so the VAT summary, the lines and the total always agree to the penny.
 */

import { z } from 'zod';
import { ValidationError } from '../../../platform/errors.ts';

export const VAT_RATES = ['standard', 'reduced', 'zero', 'exempt', 'outside-scope'] as const;
export type VatRate = (typeof VAT_RATES)[number];

/** Percent per rate. Exempt and outside-scope carry no VAT but stay separate from zero-rated on the summary, as a VAT return treats them differently. */
export const VAT_RATE_PERCENT: Readonly<Record<VatRate, number>> = {
  standard: 20,
  reduced: 5,
  zero: 0,
  exempt: 0,
  'outside-scope': 0,
};

/** £10,000,000.00: the most any one price, line or invoice may come to. */
export const MAX_AMOUNT_PENCE = 1_000_000_000;
export const MAX_INVOICE_LINES = 200;
/** 1,000,000.00 units: far above any real quantity, low enough that nothing can overflow. */
export const MAX_QUANTITY_HUNDREDTHS = 100_000_000;

/** One line as validated by invoiceLinesSchema: the quantity is already integer hundredths (1.5 hours → 150). */
export interface InvoiceLine {
  description: string;
  quantityHundredths: number;
  unitPricePence: number;
  vatRate: VatRate;
}

export interface PricedLine extends InvoiceLine {
  netPence: number;
  vatPence: number;
  grossPence: number;
}

/** One row of the VAT summary an invoice shows: the goods at one rate and the VAT on them. */
export interface VatSummaryRow {
  vatRate: VatRate;
  ratePercent: number;
  netPence: number;
  vatPence: number;
}

export interface InvoiceTotals {
  lines: PricedLine[];
  /** In the order of VAT_RATES, only the rates the invoice uses. */
  vatSummary: VatSummaryRow[];
  netPence: number;
  vatPence: number;
  grossPence: number;
}

/** numerator / denominator rounded to the nearer integer, halves up. Both non-negative. */
function divideRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}

/** quantity × unit price, rounded to the penny by the same rule as VAT (1.5 × 3,333p = 4,999.5p → 5,000p). */
export function lineNetPence(quantityHundredths: number, unitPricePence: number): number {
  return Number(divideRoundHalfUp(BigInt(quantityHundredths) * BigInt(unitPricePence), 100n));
}

export function lineVatPence(netPence: number, vatRate: VatRate): number {
  return Number(divideRoundHalfUp(BigInt(netPence) * BigInt(VAT_RATE_PERCENT[vatRate]), 100n));
}

export function priceLine(line: InvoiceLine): PricedLine {
  const netPence = lineNetPence(line.quantityHundredths, line.unitPricePence);
  const vatPence = lineVatPence(netPence, line.vatRate);
  return { ...line, netPence, vatPence, grossPence: netPence + vatPence };
}

/**
 * Prices validated lines. The sums stay exact integers: 200 lines of at most £10m are 2·10¹¹ pence,
 * far inside Number's exact range; the invoice-level £10m limit is the schema's job.
 */
export function priceInvoice(lines: readonly InvoiceLine[]): InvoiceTotals {
  const priced = lines.map(priceLine);
  const byRate = new Map<VatRate, VatSummaryRow>();
  for (const line of priced) {
    const row = byRate.get(line.vatRate) ?? { vatRate: line.vatRate, ratePercent: VAT_RATE_PERCENT[line.vatRate], netPence: 0, vatPence: 0 };
    row.netPence += line.netPence;
    row.vatPence += line.vatPence;
    byRate.set(line.vatRate, row);
  }
  const vatSummary = VAT_RATES.flatMap((rate) => byRate.get(rate) ?? []);
  const netPence = priced.reduce((sum, l) => sum + l.netPence, 0);
  const vatPence = priced.reduce((sum, l) => sum + l.vatPence, 0);
  return { lines: priced, vatSummary, netPence, vatPence, grossPence: netPence + vatPence };
}

/** "1.5", "1.50", 1.5 → 150. Undefined for anything that is not a non-negative decimal with at most 2 places. */
export function parseQuantityHundredths(value: string | number): number | undefined {
  // A number goes through its shortest decimal form, so 0.1 + 0.2 (0.30000000000000004) is refused rather than silently rounded.
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value.trim();
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** 150 → "1.50": the form to store in a numeric(…, 2) column or show on the invoice. */
export function formatQuantity(quantityHundredths: number): string {
  return `${Math.trunc(quantityHundredths / 100)}.${String(quantityHundredths % 100).padStart(2, '0')}`;
}

/** 123456 → "£1,234.56", built from the integer so no float ever rounds a penny away. */
export function formatPence(pence: number): string {
  const sign = pence < 0 ? '-' : '';
  const abs = Math.abs(pence);
  const pounds = Math.trunc(abs / 100).toLocaleString('en-GB');
  return `${sign}£${pounds}.${String(abs % 100).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Validation. Each message starts with the field's path in the form a person reads
// ("lines[2].quantity: …"), so a 400 says which line and which field without any lookup.

/** ['lines', 2, 'quantity'] → "lines[2].quantity". */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(body)';
}

/** Zod hands an error function the issue with its full path, so the message can name it. */
const at = (reason: string) => (issue: { path?: PropertyKey[] }) => `${formatIssuePath(issue.path ?? [])}: ${reason}`;

const invoiceLineSchema = z.object(
  {
    description: z
      .string({ error: at('is required and must be text') })
      .trim()
      .min(1, { error: at('must not be empty') })
      .max(500, { error: at('must be at most 500 characters') }),
    quantity: z
      .union([z.string(), z.number()], { error: at('must be a number such as 1 or 1.5') })
      .refine((q) => {
        const hundredths = parseQuantityHundredths(q);
        return hundredths !== undefined && hundredths > 0 && hundredths <= MAX_QUANTITY_HUNDREDTHS;
      }, { error: at('must be above 0, at most 1,000,000, with at most 2 decimal places') })
      .transform((q) => parseQuantityHundredths(q)!),
    unitPricePence: z
      .number({ error: at('must be a whole number of pence') })
      .int({ error: at('must be a whole number of pence') })
      .min(0, { error: at('must not be negative (issue a credit note instead)') })
      .max(MAX_AMOUNT_PENCE, { error: at('must not exceed £10,000,000.00') }),
    vatRate: z.enum(VAT_RATES, { error: at(`must be one of ${VAT_RATES.join(', ')}`) }),
  },
  { error: at('must be an object with description, quantity, unitPricePence and vatRate') },
);

/**
 * `{ lines: [...] }` → `{ lines: InvoiceLine[] }` (quantity as integer hundredths). Limits: 1–200
 * lines; every price, line net and the invoice gross at most £10m.
 */
export const invoiceLinesSchema = z
  .object(
    {
      lines: z
        .array(invoiceLineSchema, { error: at('must be a list of invoice lines') })
        .min(1, { error: at('must have at least one line') })
        .max(MAX_INVOICE_LINES, { error: at(`must have at most ${MAX_INVOICE_LINES} lines`) }),
    },
    { error: at('must be an object with lines') },
  )
  .transform((input) => ({
    lines: input.lines.map(({ description, quantity, unitPricePence, vatRate }): InvoiceLine => ({
      description,
      quantityHundredths: quantity,
      unitPricePence,
      vatRate,
    })),
  }))
  .superRefine(({ lines }, ctx) => {
    const totals = priceInvoice(lines);
    totals.lines.forEach((line, i) => {
      if (line.grossPence > MAX_AMOUNT_PENCE) {
        ctx.addIssue({ code: 'custom', path: ['lines', i, 'quantity'], message: `lines[${i}].quantity: the line comes to more than £10,000,000.00` });
      }
    });
    if (totals.grossPence > MAX_AMOUNT_PENCE) {
      ctx.addIssue({ code: 'custom', path: ['lines'], message: `lines: the invoice comes to ${formatPence(totals.grossPence)}, above the £10,000,000.00 limit` });
    }
  });

export type InvoiceLinesInput = z.input<typeof invoiceLinesSchema>;

/** Validates and prices in one step; bad input throws the platform's ValidationError (400) naming each field. */
export function parseInvoiceLines(input: unknown): InvoiceTotals {
  const parsed = invoiceLinesSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((issue) => {
        const field = formatIssuePath(issue.path);
        const reason = issue.message.startsWith(`${field}: `) ? issue.message.slice(field.length + 2) : issue.message;
        return { field, reason };
      }),
    );
  }
  return priceInvoice(parsed.data.lines);
}
