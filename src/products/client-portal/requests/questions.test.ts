import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../platform/errors.ts';
import { SELF_ASSESSMENT_CHECKLIST } from './built-in-templates.ts';
import { checkAnswers, questionnaireSchema, type Questionnaire } from './questions.ts';

const form: Questionnaire = questionnaireSchema.parse([
  {
    title: 'Everything',
    questions: [
      { id: 'name', text: 'Trading name', kind: 'text', required: true },
      { id: 'miles', text: 'Business miles', kind: 'number' },
      { id: 'takings', text: 'Takings', kind: 'money', required: true },
      { id: 'started', text: 'Start date', kind: 'date' },
      { id: 'vat', text: 'VAT registered?', kind: 'yes-no', required: true },
      { id: 'basis', text: 'Accounting basis', kind: 'choice', options: ['Cash', 'Accruals'] },
      { id: 'receipts', text: 'Receipts', kind: 'documents', required: true },
    ],
  },
]);

const problems = (answers: unknown, final: boolean) => {
  try {
    checkAnswers(form, answers, { final });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).errors!.map((e) => `${e.field}: ${e.reason}`);
  }
};

describe('answers checked against their questions', () => {
  it('accepts every kind, splitting documents from sealed values', () => {
    const doc = '5b0c54b4-8c5e-4a53-9f7c-0f7a0d1c2e3f';
    const checked = checkAnswers(form, { name: ' Ledger Plumbing ', miles: 1234.5, takings: 4_500_000, started: '2025-09-01', vat: false, basis: 'Cash', receipts: [doc, doc] }, { final: true });
    expect(checked).toEqual({ values: { name: 'Ledger Plumbing', miles: 1234.5, takings: 4_500_000, started: '2025-09-01', vat: false, basis: 'Cash' }, documents: { receipts: [doc] } });
  });

  it('names each bad answer by its question, and every missing required one on submission only', () => {
    const bad = { miles: '12', takings: -1, started: '2025-02-30', vat: 'no', basis: 'Barter', receipts: ['not-an-id'] };
    expect(problems(bad, false).map((p) => p.split(':')[0]).sort()).toEqual(['answers.basis', 'answers.miles', 'answers.receipts', 'answers.started', 'answers.takings', 'answers.vat']);
    expect(problems({ takings: 1.5 }, false)).toEqual(['answers.takings: must be a whole number of pence']);
    expect(problems({}, false)).toEqual([]);
    expect(problems({ name: '   ', receipts: [] }, true).sort()).toEqual(['answers.name: is required', 'answers.receipts: is required', 'answers.takings: is required', 'answers.vat: is required']);
  });

  it('refuses answers to questions the request does not have, without echoing odd keys', () => {
    expect(problems({ q99: 'x' }, false)).toEqual(['answers.q99: is not a question of this request']);
    expect(problems({ '<script>': 'x' }, false)).toEqual(['answers: holds an answer to a question this request does not have']);
    expect(problems([], false)).toEqual(['answers: must be an object of answers by question id']);
  });

  it('keeps the built-in checklist a valid questionnaire', () => {
    expect(questionnaireSchema.safeParse(SELF_ASSESSMENT_CHECKLIST.sections).success).toBe(true);
  });
});
