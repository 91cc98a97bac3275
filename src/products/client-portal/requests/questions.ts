import { z } from 'zod';
import { ValidationError, type FieldProblem } from '../../../platform/errors.ts';

/**
 * The question model of information requests: a questionnaire is a list of sections, each a title
 * with questions. A request keeps a snapshot of its questionnaire, so changing or deleting the
 * template later never changes what a client was asked.
 */
export const QUESTION_KINDS = ['text', 'number', 'money', 'date', 'yes-no', 'choice', 'documents'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

/** The most documents one question may link, and the longest text answer. */
export const MAX_DOCUMENTS_PER_QUESTION = 50;
export const MAX_TEXT_ANSWER = 10_000;
/** Money is whole pence; a bound far above any personal tax figure keeps sums exact. */
const MAX_PENCE = 100_000_000_000_000;

const QUESTION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const questionId = z.string({ error: 'is required' }).regex(QUESTION_ID, 'must be 1–40 letters, digits, - or _, starting with a letter or digit');

export const questionSchema = z
  .strictObject({
    id: questionId,
    text: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
    kind: z.enum(QUESTION_KINDS, { error: `must be one of ${QUESTION_KINDS.join(', ')}` }),
    required: z.boolean({ error: 'must be true or false' }).default(false),
    options: z.array(z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters')).max(50, 'must list at most 50 options').optional(),
    help: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
  })
  .superRefine((q, ctx) => {
    if (q.kind === 'choice') {
      if (!q.options || q.options.length < 2) ctx.addIssue({ code: 'custom', path: ['options'], message: 'a choice needs at least 2 options' });
      else if (new Set(q.options).size !== q.options.length) ctx.addIssue({ code: 'custom', path: ['options'], message: 'must not repeat an option' });
    } else if (q.options !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'are for choice questions only' });
    }
  });
export type Question = z.output<typeof questionSchema>;

export const sectionSchema = z.strictObject({
  title: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  help: z.string().trim().max(1000, 'must be at most 1000 characters').optional(),
  questions: z.array(questionSchema, { error: 'must list the questions' }).min(1, 'must hold at least one question').max(100, 'must hold at most 100 questions'),
});
export type Section = z.output<typeof sectionSchema>;

export const questionnaireSchema = z
  .array(sectionSchema, { error: 'must list the sections' })
  .min(1, 'must hold at least one section')
  .max(30, 'must hold at most 30 sections')
  .superRefine((sections, ctx) => {
    const seen = new Set<string>();
    sections.forEach((section, s) =>
      section.questions.forEach((q, i) => {
        if (seen.has(q.id)) ctx.addIssue({ code: 'custom', path: [s, 'questions', i, 'id'], message: 'is already the id of another question' });
        seen.add(q.id);
      }),
    );
    if (seen.size > 300) ctx.addIssue({ code: 'custom', path: [], message: 'must hold at most 300 questions in all' });
  });
export type Questionnaire = Section[];

export function allQuestions(sections: Questionnaire): Question[] {
  return sections.flatMap((s) => s.questions);
}

/** What an answer of each kind must be (when it is given at all). */
function answerSchema(question: Question): z.ZodType {
  switch (question.kind) {
    case 'text':
      return z.string({ error: 'must be text' }).trim().max(MAX_TEXT_ANSWER, `must be at most ${MAX_TEXT_ANSWER} characters`);
    case 'number':
      return z.number({ error: 'must be a number' });
    case 'money':
      return z
        .number({ error: 'must be an amount in pence (a whole number)' })
        .int('must be a whole number of pence')
        .min(0, 'must not be negative')
        .max(MAX_PENCE, 'is too large');
    case 'date':
      return z.iso.date({ error: 'must be a date (YYYY-MM-DD)' });
    case 'yes-no':
      return z.boolean({ error: 'must be true (yes) or false (no)' });
    case 'choice':
      return z.enum(question.options as [string, ...string[]], { error: `must be one of: ${question.options!.join('; ')}` });
    case 'documents':
      return z
        .array(z.uuid({ error: 'must list document ids' }), { error: 'must list document ids' })
        .max(MAX_DOCUMENTS_PER_QUESTION, `must list at most ${MAX_DOCUMENTS_PER_QUESTION} documents`)
        .transform((ids) => [...new Set(ids)]);
  }
}

function isBlank(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '') || (Array.isArray(value) && value.length === 0);
}

export type AnswerValue = string | number | boolean | string[];

export interface CheckedAnswers {
  /** Every answer but documents, by question id: what is sealed into answers_enc. */
  values: Record<string, Exclude<AnswerValue, string[]>>;
  /** Document ids by question id: kept as links (portal_request_documents). */
  documents: Record<string, string[]>;
}

/**
 * Checks answers against the questions they answer. A draft may leave anything out; a submission
 * must answer every required question. Every problem names its question as `answers.<id>`, and
 * all of them are reported at once.
 */
export function checkAnswers(sections: Questionnaire, input: unknown, options: { final: boolean }): CheckedAnswers {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError([{ field: 'answers', reason: 'must be an object of answers by question id' }]);
  }
  const given = input as Record<string, unknown>;
  const questions = new Map(allQuestions(sections).map((q) => [q.id, q]));
  const problems: FieldProblem[] = [];
  const checked: CheckedAnswers = { values: {}, documents: {} };
  for (const id of Object.keys(given)) {
    if (questions.has(id)) continue;
    // A key that could not be a question id is not echoed back (it is whatever the caller sent).
    if (QUESTION_ID.test(id)) problems.push({ field: `answers.${id}`, reason: 'is not a question of this request' });
    else problems.push({ field: 'answers', reason: 'holds an answer to a question this request does not have' });
  }
  for (const question of questions.values()) {
    const value = given[question.id];
    if (isBlank(value)) {
      if (options.final && question.required) problems.push({ field: `answers.${question.id}`, reason: 'is required' });
      continue;
    }
    const parsed = answerSchema(question).safeParse(value);
    if (!parsed.success) {
      problems.push({ field: `answers.${question.id}`, reason: parsed.error.issues[0]?.message ?? 'is not a valid answer' });
      continue;
    }
    if (question.kind === 'documents') checked.documents[question.id] = parsed.data as string[];
    else checked.values[question.id] = parsed.data as Exclude<AnswerValue, string[]>;
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return checked;
}
