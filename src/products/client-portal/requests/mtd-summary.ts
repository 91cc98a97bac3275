import { z } from 'zod';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { requestsTrx } from './tables.ts';

/**
 * A quarterly update's summary, as the practice prepares it from the client's digital records:
 * income and expenses totals by category, year to date (MTD updates are cumulative, see
 * mtd-periods.ts), in whole pence. The client approves or rejects these figures before the
 * practice submits them; they are the client's finances, so they are sealed.
 */
const pence = z
  .number({ error: 'must be an amount in pence (a whole number)' })
  .int('must be a whole number of pence')
  .min(0, 'must not be negative')
  .max(100_000_000_000_000, 'is too large');

const line = z.strictObject({
  category: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  amountPence: pence,
});

const lines = (what: string, max: number) =>
  z
    .array(line, { error: `must list the ${what} by category` })
    .max(max, `must list at most ${max} categories`)
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const key = item.category.toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'category'], message: 'is listed twice' });
        seen.add(key);
      });
    });

export const mtdSummarySchema = z.strictObject({
  income: lines('income', 30),
  expenses: lines('expenses', 50),
  note: z.string().trim().max(2000, 'must be at most 2000 characters').optional(),
});
export type MtdSummaryInput = z.input<typeof mtdSummarySchema>;

export interface MtdSummary {
  income: { category: string; amountPence: number }[];
  expenses: { category: string; amountPence: number }[];
  note: string | null;
  totalIncomePence: number;
  totalExpensesPence: number;
  /** Income less expenses; negative for a loss. */
  netPence: number;
}

export const SUMMARY_CONTEXT = 'portal.mtd_summary';

export function withTotals(data: z.output<typeof mtdSummarySchema>): MtdSummary {
  const totalIncomePence = data.income.reduce((n, l) => n + l.amountPence, 0);
  const totalExpensesPence = data.expenses.reduce((n, l) => n + l.amountPence, 0);
  return { income: data.income, expenses: data.expenses, note: data.note ?? null, totalIncomePence, totalExpensesPence, netPence: totalIncomePence - totalExpensesPence };
}

/** The figures for a client's quarter, with their revision; undefined until the practice has entered them. */
export async function openSummary(scope: TenantScope, clientId: string, period: string): Promise<{ summary: MtdSummary; revision: number; updatedAt: string; updatedBy: string } | undefined> {
  const row = await requestsTrx(scope)
    .selectFrom('portal_mtd_summaries')
    .select(['summary_enc', 'revision', 'updated_at', 'updated_by'])
    .where('client_id', '=', clientId)
    .where('mtd_period', '=', period)
    .executeTakeFirst();
  if (!row) return undefined;
  const stored = JSON.parse(scope.cipher.open(SUMMARY_CONTEXT, row.summary_enc)) as z.output<typeof mtdSummarySchema>;
  return { summary: withTotals(stored), revision: row.revision, updatedAt: new Date(row.updated_at).toISOString(), updatedBy: row.updated_by };
}
