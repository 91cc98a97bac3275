import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatQuantity, invoiceLinesSchema, MAX_AMOUNT_PENCE, MAX_QUANTITY_HUNDREDTHS, priceInvoice, VAT_RATE_PERCENT, VAT_RATES, type InvoiceLine } from './money.ts';

const vatRate = fc.constantFrom(...VAT_RATES);
/** Any price up to £10m, skewed towards the small figures real invoices carry. */
const pence = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: MAX_AMOUNT_PENCE }));
/**
 * A quantity that keeps the line's net within £10m, as the schema demands of every line: wide
 * ranges (up to 1,000,000 units of cheap items) but never an invoice the schema would refuse per line.
 */
const invoiceLine: fc.Arbitrary<InvoiceLine> = pence.chain((unitPricePence) => {
  const most = Math.min(MAX_QUANTITY_HUNDREDTHS, Math.floor((MAX_AMOUNT_PENCE * 100) / Math.max(unitPricePence, 1)));
  return fc.record({
    description: fc.constant('Advisory work'),
    quantityHundredths: fc.oneof(fc.integer({ min: 1, max: Math.min(most, 10_000) }), fc.integer({ min: 1, max: most })),
    unitPricePence: fc.constant(unitPricePence),
    vatRate,
  });
});
const lines = fc.array(invoiceLine, { minLength: 0, maxLength: 200 });

/** The same sum worked out in exact rational arithmetic with BigInt, as an independent check. */
function referenceLine(line: InvoiceLine): { net: bigint; vat: bigint } {
  // net = q/100 × p, rounded half up: compare the remainder against half the divisor.
  const exactNet = BigInt(line.quantityHundredths) * BigInt(line.unitPricePence);
  const net = exactNet / 100n + (exactNet % 100n >= 50n ? 1n : 0n);
  const exactVat = net * BigInt(VAT_RATE_PERCENT[line.vatRate]);
  const vat = exactVat / 100n + (exactVat % 100n >= 50n ? 1n : 0n);
  return { net, vat };
}

describe('invoice arithmetic (properties)', () => {
  it('gross = net + VAT, on every line and in total', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const totals = priceInvoice(ls);
        expect(totals.grossPence).toBe(totals.netPence + totals.vatPence);
        for (const l of totals.lines) expect(l.grossPence).toBe(l.netPence + l.vatPence);
      }),
    );
  });

  it('totals and the VAT summary equal the sums of the lines', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const totals = priceInvoice(ls);
        const sum = (f: (l: (typeof totals.lines)[number]) => number) => totals.lines.reduce((s, l) => s + f(l), 0);
        expect(totals.netPence).toBe(sum((l) => l.netPence));
        expect(totals.vatPence).toBe(sum((l) => l.vatPence));
        expect(totals.vatSummary.reduce((s, r) => s + r.netPence, 0)).toBe(totals.netPence);
        expect(totals.vatSummary.reduce((s, r) => s + r.vatPence, 0)).toBe(totals.vatPence);
        for (const row of totals.vatSummary) {
          const atRate = totals.lines.filter((l) => l.vatRate === row.vatRate);
          expect(row.netPence).toBe(atRate.reduce((s, l) => s + l.netPence, 0));
          expect(row.vatPence).toBe(atRate.reduce((s, l) => s + l.vatPence, 0));
        }
        expect(new Set(totals.vatSummary.map((r) => r.vatRate)).size).toBe(totals.vatSummary.length);
      }),
    );
  });

  it('never negative, always whole pence, and never drifts from exact arithmetic', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const totals = priceInvoice(ls);
        for (const value of [totals.netPence, totals.vatPence, totals.grossPence, ...totals.lines.flatMap((l) => [l.netPence, l.vatPence])]) {
          expect(Number.isSafeInteger(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
        }
        let net = 0n;
        let vat = 0n;
        totals.lines.forEach((l, i) => {
          const ref = referenceLine(ls[i]!);
          expect(BigInt(l.netPence)).toBe(ref.net);
          expect(BigInt(l.vatPence)).toBe(ref.vat);
          net += ref.net;
          vat += ref.vat;
        });
        expect(BigInt(totals.netPence)).toBe(net);
        expect(BigInt(totals.vatPence)).toBe(vat);
      }),
    );
  });

  it('VAT on a line is within half a penny of the exact rate', () => {
    fc.assert(
      fc.property(invoiceLine, (l) => {
        const [priced] = priceInvoice([l]).lines;
        // |vat − net × rate| ≤ ½p, compared in hundredths of a penny to stay in integers.
        const diff = priced!.vatPence * 100 - priced!.netPence * VAT_RATE_PERCENT[l.vatRate];
        expect(diff).toBeGreaterThan(-50);
        expect(diff).toBeLessThanOrEqual(50);
      }),
    );
  });

  it('the schema accepts what it prints and prices it the same', () => {
    fc.assert(
      fc.property(fc.array(invoiceLine, { minLength: 1, maxLength: 20 }), (ls) => {
        const small = ls.map((l) => ({ ...l, unitPricePence: l.unitPricePence % 100_000, quantityHundredths: (l.quantityHundredths % 10_000) + 1 }));
        const input = { lines: small.map((l) => ({ description: l.description, quantity: formatQuantity(l.quantityHundredths), unitPricePence: l.unitPricePence, vatRate: l.vatRate })) };
        const parsed = invoiceLinesSchema.parse(input);
        expect(parsed.lines).toEqual(small);
      }),
    );
  });
});
