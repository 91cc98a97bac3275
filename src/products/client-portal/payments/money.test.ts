import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../platform/errors.ts';
import {
  formatPence,
  formatQuantity,
  invoiceLinesSchema,
  lineVatPence,
  parseInvoiceLines,
  parseQuantityHundredths,
  priceInvoice,
} from './money.ts';

function problemsOf(input: unknown): { field: string; reason: string }[] {
  try {
    parseInvoiceLines(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).errors ?? [];
  }
  throw new Error('expected a ValidationError');
}

const line = (over: Record<string, unknown> = {}) => ({ description: 'Year-end accounts', quantity: '1', unitPricePence: 10_000, vatRate: 'standard', ...over });

describe('invoice arithmetic', () => {
  it('prices lines, rounds each line’s VAT half up, and summarises by rate', () => {
    const totals = parseInvoiceLines({
      lines: [
        line({ description: 'Bookkeeping', quantity: '1.5', unitPricePence: 3_333 }), // 4,999.5p → 5,000p; VAT 1,000p
        line({ description: 'Payroll', quantity: 3, unitPricePence: 1_999 }), // 5,997p; VAT 1,199.4p → 1,199p
        line({ description: 'Postage', quantity: '1', unitPricePence: 2_990, vatRate: 'reduced' }), // VAT 149.5p → 150p
        line({ description: 'Companies House fee', quantity: 1, unitPricePence: 1_300, vatRate: 'outside-scope' }),
        line({ description: 'Training', quantity: '2.25', unitPricePence: 4_000, vatRate: 'exempt' }),
      ],
    });
    expect(totals.lines.map((l) => [l.netPence, l.vatPence])).toEqual([
      [5_000, 1_000],
      [5_997, 1_199],
      [2_990, 150],
      [1_300, 0],
      [9_000, 0],
    ]);
    expect(totals.vatSummary).toEqual([
      { vatRate: 'standard', ratePercent: 20, netPence: 10_997, vatPence: 2_199 },
      { vatRate: 'reduced', ratePercent: 5, netPence: 2_990, vatPence: 150 },
      { vatRate: 'exempt', ratePercent: 0, netPence: 9_000, vatPence: 0 },
      { vatRate: 'outside-scope', ratePercent: 0, netPence: 1_300, vatPence: 0 },
    ]);
    expect([totals.netPence, totals.vatPence, totals.grossPence]).toEqual([24_287, 2_349, 26_636]);
  });

  it('rounds half a penny up and anything less down', () => {
    expect(lineVatPence(2_990, 'reduced')).toBe(150); // 149.5
    expect(lineVatPence(2_989, 'reduced')).toBe(149); // 149.45
    expect(lineVatPence(2, 'standard')).toBe(0); // 0.4
    expect(lineVatPence(3, 'standard')).toBe(1); // 0.6
    expect(lineVatPence(0, 'standard')).toBe(0);
  });

  it('reads quantities exactly, refusing what would need a float', () => {
    expect(parseQuantityHundredths('1.5')).toBe(150);
    expect(parseQuantityHundredths(' 2.25 ')).toBe(225);
    expect(parseQuantityHundredths(0.1)).toBe(10);
    expect(parseQuantityHundredths(0.1 + 0.2)).toBeUndefined();
    expect(parseQuantityHundredths('1.005')).toBeUndefined();
    expect(parseQuantityHundredths('-1')).toBeUndefined();
    expect(parseQuantityHundredths('1e3')).toBeUndefined();
    expect(parseQuantityHundredths(Number.NaN)).toBeUndefined();
    expect(formatQuantity(150)).toBe('1.50');
    expect(formatQuantity(5)).toBe('0.05');
    expect(formatPence(123_456_789)).toBe('£1,234,567.89');
    expect(formatPence(7)).toBe('£0.07');
  });

  it('an empty invoice totals nothing', () => {
    expect(priceInvoice([])).toEqual({ lines: [], vatSummary: [], netPence: 0, vatPence: 0, grossPence: 0 });
  });
});

describe('invoiceLinesSchema', () => {
  it('names the line and field in every message', () => {
    const result = invoiceLinesSchema.safeParse({
      lines: [line(), line({ quantity: '1.234' }), line({ unitPricePence: 10.5, vatRate: 'luxury' }), line({ description: '   ' })],
    });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => i.message);
    expect(messages).toEqual([
      expect.stringMatching(/^lines\[1\]\.quantity: must be above 0.*2 decimal places/),
      expect.stringMatching(/^lines\[2\]\.unitPricePence: must be a whole number of pence/),
      expect.stringMatching(/^lines\[2\]\.vatRate: must be one of standard, reduced, zero, exempt, outside-scope/),
      expect.stringMatching(/^lines\[3\]\.description: must not be empty/),
    ]);
  });

  it('reports fields in bracket form through the platform ValidationError', () => {
    expect(problemsOf({ lines: [line({ quantity: 0 }), line({ unitPricePence: -1 })] })).toEqual([
      { field: 'lines[0].quantity', reason: expect.stringMatching(/above 0/) },
      { field: 'lines[1].unitPricePence', reason: expect.stringMatching(/negative/) },
    ]);
    expect(problemsOf({ lines: [{ quantity: true }] })).toEqual([
      { field: 'lines[0].description', reason: expect.any(String) },
      { field: 'lines[0].quantity', reason: expect.stringMatching(/number/) },
      { field: 'lines[0].unitPricePence', reason: expect.any(String) },
      { field: 'lines[0].vatRate', reason: expect.any(String) },
    ]);
    expect(problemsOf({})).toEqual([{ field: 'lines', reason: expect.stringMatching(/list/) }]);
    expect(problemsOf(null)).toEqual([{ field: '(body)', reason: expect.any(String) }]);
  });

  it('holds the limits: 1–200 lines, £10m per price, line and invoice', () => {
    expect(problemsOf({ lines: [] })).toEqual([{ field: 'lines', reason: 'must have at least one line' }]);
    expect(problemsOf({ lines: Array.from({ length: 201 }, () => line()) })).toEqual([{ field: 'lines', reason: 'must have at most 200 lines' }]);
    expect(parseInvoiceLines({ lines: Array.from({ length: 200 }, () => line()) }).grossPence).toBe(200 * 12_000);
    expect(problemsOf({ lines: [line({ unitPricePence: 1_000_000_001 })] })[0]!.field).toBe('lines[0].unitPricePence');
    // £10m net is allowed as a price, but with 20% VAT the line passes the limit.
    expect(problemsOf({ lines: [line({ unitPricePence: 1_000_000_000 })] }).map((p) => p.field)).toEqual(['lines[0].quantity', 'lines']);
    expect(problemsOf({ lines: [line({ unitPricePence: 600_000_000, vatRate: 'zero' }), line({ unitPricePence: 600_000_000, vatRate: 'zero' })] })).toEqual([
      { field: 'lines', reason: expect.stringMatching(/£12,000,000\.00, above the £10,000,000\.00 limit/) },
    ]);
    expect(parseInvoiceLines({ lines: [line({ unitPricePence: 1_000_000_000, vatRate: 'zero' })] }).grossPence).toBe(1_000_000_000);
  });
});
