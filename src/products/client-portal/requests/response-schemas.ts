import { z } from 'zod';
import { QUESTION_KINDS } from './questions.ts';

/** Response schemas of the request routes (the OpenAPI contract of what each route returns). */

const STATUSES = ['sent', 'answered', 'completed', 'declined', 'expired', 'cancelled'] as const;
export const REQUEST_STATUSES = STATUSES;

const questionOut = z.object({
  id: z.string(),
  text: z.string(),
  kind: z.enum(QUESTION_KINDS),
  required: z.boolean(),
  options: z.array(z.string()).optional(),
  help: z.string().optional(),
});
const sectionsOut = z.array(z.object({ title: z.string(), help: z.string().optional(), questions: z.array(questionOut) }));

export const templateOut = z
  .object({
    id: z.string().describe('A UUID, or a fixed id for a built-in template'),
    name: z.string(),
    builtIn: z.boolean().describe('Offered to every practice; cannot be changed or deleted'),
    sections: sectionsOut,
    createdBy: z.string().nullable(),
    createdAt: z.string().nullable(),
  })
  .meta({ id: 'PortalRequestTemplate' });

const mtdQuarterOut = z.object({
  period: z.string().describe("Tax year and quarter, e.g. '2026-27-Q1'"),
  taxYear: z.string(),
  quarter: z.number().int(),
  taxYearStart: z.string().describe('Updates are cumulative: figures run from here to the end of the quarter'),
  start: z.string(),
  end: z.string(),
  deadline: z.string().describe("HMRC's deadline for the update"),
});

const summaryLine = z.object({ category: z.string(), amountPence: z.number().int() });
const summaryOut = z.object({
  income: z.array(summaryLine),
  expenses: z.array(summaryLine),
  note: z.string().nullable(),
  totalIncomePence: z.number().int(),
  totalExpensesPence: z.number().int(),
  netPence: z.number().int(),
});

export const requestListItemOut = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    kind: z.enum(['questionnaire', 'mtd_quarter']),
    title: z.string(),
    recipientUserId: z.uuid(),
    status: z.enum(STATUSES),
    mtdPeriod: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    dueAt: z.string().nullable(),
    answeredAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    completedBy: z.string().nullable(),
    remindersSent: z.number().int(),
  })
  .meta({ id: 'PortalRequestListItem' });

export const requestOut = requestListItemOut
  .extend({
    message: z.string().nullable(),
    sections: sectionsOut,
    answers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])).describe('By question id; a documents answer lists document ids'),
    documents: z.array(z.object({ questionId: z.string(), documentId: z.uuid(), title: z.string() })),
    response: z.string().nullable().describe("The client's reason for declining, or comment on the figures"),
    reviewComment: z.string().nullable().describe("The practice's comment when it sent the request back"),
    mtd: mtdQuarterOut
      .extend({
        summary: summaryOut.nullable(),
        summaryRevision: z.number().int().nullable(),
        decision: z.enum(['approved', 'rejected']).nullable(),
        decidedRevision: z.number().int().nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'PortalRequest' });

export const summaryRecordOut = z
  .object({
    clientId: z.uuid(),
    period: z.string(),
    quarter: mtdQuarterOut,
    summary: summaryOut,
    revision: z.number().int(),
    updatedBy: z.string(),
    updatedAt: z.string(),
    requestId: z.uuid().nullable(),
  })
  .meta({ id: 'PortalMtdSummary' });
