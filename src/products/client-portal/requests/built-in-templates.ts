import type { Questionnaire } from './questions.ts';

/**
 * Templates every practice is offered without writing them: served beside the practice's own,
 * with fixed ids (not UUIDs) and never stored, so an improvement here reaches every practice. A
 * practice that wants changes saves its own copy.
 */
export interface BuiltInTemplate {
  id: string;
  name: string;
  sections: Questionnaire;
}

const q = (id: string, kind: Questionnaire[number]['questions'][number]['kind'], text: string, extra: { required?: boolean; help?: string; options?: string[] } = {}) => ({
  id,
  kind,
  text,
  required: extra.required ?? false,
  ...(extra.options ? { options: extra.options } : {}),
  ...(extra.help ? { help: extra.help } : {}),
});

export const SELF_ASSESSMENT_CHECKLIST: BuiltInTemplate = {
  id: 'builtin-self-assessment-year-end',
  name: 'Self-assessment year-end checklist',
  sections: [
    {
      title: 'About you',
      help: 'Everything below is about the tax year that ended on 5 April.',
      questions: [
        q('details-changed', 'yes-no', 'Have your address, bank details or marital status changed since we last heard from you?', { required: true }),
        q('details-changes', 'text', 'If so, what has changed?'),
        q('tax-payment', 'choice', 'How would you prefer to pay any tax due?', { options: ['Bank transfer or card', 'Through my PAYE tax code, if eligible', 'A budget payment plan'] }),
      ],
    },
    {
      title: 'Employment',
      questions: [
        q('employed', 'yes-no', 'Were you employed, or a company director, at any time in the year?', { required: true }),
        q('employers', 'text', 'Which employers, and from when to when if you changed job?'),
        q('p60', 'documents', 'Your P60 for each employment (and P45 if you left a job)', { help: 'Your employer gives you a P60 after the year ends.' }),
        q('p11d', 'documents', 'Any P11D (benefits such as a company car or private medical cover)'),
      ],
    },
    {
      title: 'Self-employment',
      questions: [
        q('self-employed', 'yes-no', 'Did you work for yourself (sole trader or partner) in the year?', { required: true }),
        q('business-started-or-ended', 'date', 'If the business started or stopped in the year, on what date?'),
        q('turnover', 'money', 'Business takings (turnover) for the year'),
        q('business-expenses', 'money', 'Allowable business expenses for the year'),
        q('business-records', 'documents', 'Your business records: sales, expenses and business bank statements'),
      ],
    },
    {
      title: 'Property income',
      questions: [
        q('property', 'yes-no', 'Did you receive rent from property, including a room in your own home?', { required: true }),
        q('rent', 'money', 'Rent received in the year'),
        q('property-expenses', 'money', 'Letting costs: agent fees, repairs, insurance, service charges'),
        q('finance-costs', 'money', 'Mortgage interest and other finance costs on let property'),
        q('property-statements', 'documents', 'Letting agent statements or your rent records'),
      ],
    },
    {
      title: 'Savings, dividends and interest',
      questions: [
        q('bank-interest', 'money', 'Interest from UK banks and building societies (outside ISAs)'),
        q('interest-statements', 'documents', 'Bank interest statements or certificates of interest'),
        q('dividends', 'money', 'Dividends received (outside ISAs)'),
        q('dividend-vouchers', 'documents', 'Dividend vouchers or broker tax summaries'),
      ],
    },
    {
      title: 'Pensions',
      questions: [
        q('pension-income', 'money', 'State, workplace or personal pensions you received'),
        q('pension-contributions', 'money', 'Personal pension contributions you paid yourself (not through payroll)'),
        q('pension-statements', 'documents', 'Pension statements or P60s from pension providers'),
      ],
    },
    {
      title: 'Capital gains',
      questions: [
        q('disposals', 'yes-no', 'Did you sell or give away shares, crypto-assets, a second property or other valuable assets?', { required: true }),
        q('disposal-details', 'text', 'What, when, and for how much?'),
        q('disposal-documents', 'documents', 'Completion statements, contract notes or exchange reports'),
      ],
    },
    {
      title: 'Expenses and reliefs',
      questions: [
        q('gift-aid', 'money', 'Gift Aid donations made in the year'),
        q('employment-expenses', 'money', 'Work expenses your employer did not repay (professional fees, uniform, mileage)'),
        q('child-benefit', 'yes-no', 'Did you or your partner receive Child Benefit?'),
        q('student-loan', 'yes-no', 'Are you repaying a student or postgraduate loan?'),
      ],
    },
    {
      title: 'Anything else',
      questions: [
        q('other-income', 'text', 'Any other income: foreign income, trusts, tips, one-off payments'),
        q('other-documents', 'documents', 'Anything else you would like us to see'),
      ],
    },
  ],
};

export const BUILT_IN_TEMPLATES: readonly BuiltInTemplate[] = [SELF_ASSESSMENT_CHECKLIST];

export function builtInTemplate(id: string): BuiltInTemplate | undefined {
  return BUILT_IN_TEMPLATES.find((t) => t.id === id);
}
