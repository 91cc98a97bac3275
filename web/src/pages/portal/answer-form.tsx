import { useState, type FormEvent } from 'react';
import { api, ApiError, capitalise, describeProblem } from '../../api/client.ts';
import type { AnswerValue, PortalDocument, PortalQuestion, PortalRequest } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { plural } from '../sync/format.ts';
import { DocumentsQuestion } from './documents-question.tsx';
import { parsePounds, penceToInput } from './money.ts';
import { DeclineWithReason } from './decline-form.tsx';
import { TextAreaField } from './parts.tsx';

/** The request as the server returned it after an answer, and what to say about it. */
export type RequestChanged = (request: PortalRequest, message: string) => void;

/** What the form holds for each question: typed text, a yes/no, a choice, or document ids. */
type Draft = Record<string, string | boolean | string[]>;

const questionId = (q: PortalQuestion) => `question-${q.id}`;

/** The element an error about a question leads to: its box, its first radio, or its file field. */
export function questionFieldId(q: PortalQuestion): string {
  if (q.kind === 'yes-no') return `${questionId(q)}-yes`;
  if (q.kind === 'choice') return `${questionId(q)}-0`;
  if (q.kind === 'documents') return `${questionId(q)}-file`;
  return questionId(q);
}

function initialDraft(request: PortalRequest): Draft {
  const draft: Draft = {};
  for (const q of request.sections.flatMap((s) => s.questions)) {
    const value = request.answers[q.id];
    if (value === undefined) continue;
    if (q.kind === 'money' && typeof value === 'number') draft[q.id] = penceToInput(value);
    else if (q.kind === 'number' && typeof value === 'number') draft[q.id] = String(value);
    else draft[q.id] = typeof value === 'number' ? String(value) : value;
  }
  return draft;
}

/** The draft as the API wants it (pence, numbers, booleans); what cannot be read is a problem for that question. */
function toAnswers(draft: Draft, questions: PortalQuestion[]): { answers: Record<string, AnswerValue>; problems: FormProblem[] } {
  const answers: Record<string, AnswerValue> = {};
  const problems: FormProblem[] = [];
  for (const q of questions) {
    const value = draft[q.id];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    if (q.kind === 'money') {
      const pence = parsePounds(String(value));
      if (pence === undefined) problems.push({ fieldId: questionFieldId(q), message: `Enter “${q.text}” as an amount in pounds and pence, like 1,250.00` });
      else answers[q.id] = pence;
    } else if (q.kind === 'number') {
      const number = Number(String(value).replace(/,/g, '').trim());
      if (!Number.isFinite(number)) problems.push({ fieldId: questionFieldId(q), message: `Enter “${q.text}” as a number, like 12 or 3.5` });
      else answers[q.id] = number;
    } else {
      answers[q.id] = typeof value === 'string' ? value.trim() : value;
    }
  }
  return { answers, problems };
}

/** The API's problems, each beside the question it names (`answers.<id>`), in the words of that question. */
function answerProblems(error: unknown, questions: PortalQuestion[]): FormProblem[] {
  if (!(error instanceof ApiError) || error.kind !== 'validation' || error.errors.length === 0) return [{ message: describeProblem(error) }];
  const byId = new Map(questions.map((q) => [q.id, q]));
  return error.errors.map((e) => {
    const q = e.field.startsWith('answers.') ? byId.get(e.field.slice('answers.'.length)) : undefined;
    if (!q) return { message: capitalise(`${e.field} ${e.reason}`) };
    if (e.reason === 'is required') {
      return { fieldId: questionFieldId(q), message: q.kind === 'documents' ? `Upload a document for “${q.text}”` : `Answer “${q.text}”: it is required` };
    }
    return { fieldId: questionFieldId(q), message: `The answer to “${q.text}” ${e.reason}` };
  });
}

/**
 * The recipient's questionnaire: every section and question, saved as a draft as often as they
 * like, then sent. Documents questions upload into the client's area and attach what was uploaded.
 */
export function AnswerForm({ request, onDone }: { request: PortalRequest; onDone: RequestChanged }) {
  const questions = request.sections.flatMap((s) => s.questions);
  const [draft, setDraft] = useState<Draft>(() => initialDraft(request));
  const [titles, setTitles] = useState<Map<string, string>>(() => new Map(request.documents.map((d) => [d.documentId, d.title])));
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [summaryTitle, setSummaryTitle] = useState('Your answers were not sent');
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const [clientDocuments, reloadDocuments] = useApi<{ documents: PortalDocument[] }>(`/api/v1/portal/clients/${encodeURIComponent(request.clientId)}/documents`);
  const requiredCount = questions.filter((q) => q.required).length;

  const set = (id: string, value: string | boolean | string[]) => {
    setSaved('');
    setDraft((current) => ({ ...current, [id]: value }));
  };

  async function send(kind: 'draft' | 'submit') {
    if (busy) return;
    setSummaryTitle(kind === 'draft' ? 'Your answers were not saved' : 'Your answers were not sent');
    setSaved('');
    const { answers, problems: unreadable } = toAnswers(draft, questions);
    if (unreadable.length > 0) {
      setProblems(unreadable);
      return;
    }
    setBusy(true);
    try {
      const base = `/api/v1/portal/requests/${encodeURIComponent(request.id)}`;
      if (kind === 'draft') {
        await api.put<PortalRequest>(`${base}/answers`, { answers });
        setProblems([]);
        setSaved('Your answers are saved. Come back to them at any time; nothing is sent to the practice until you send them.');
      } else {
        const updated = await api.post<PortalRequest>(`${base}/submit`, { answers });
        setProblems([]);
        onDone(updated, `Your answers are sent to the practice${updated.documents.length > 0 ? `, with ${plural(updated.documents.length, 'document')}` : ''}. Thank you.`);
      }
    } catch (error) {
      setProblems(answerProblems(error, questions));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="form respond-form answer-form"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void send('submit');
      }}
      noValidate
      aria-labelledby="answers-title"
    >
      <h2 id="answers-title">Your answers</h2>
      <p>
        {requiredCount > 0 ? `Questions marked (required) must be answered before you send your answers; the rest only if they apply to you. ` : 'Answer the questions that apply to you. '}
        You can save your answers and come back to them.
      </p>
      <ErrorSummary problems={problems} title={summaryTitle} />
      {request.sections.map((section, s) => (
        <section key={s} className="answer-section" aria-labelledby={`answer-section-${s}`}>
          <h3 id={`answer-section-${s}`}>{section.title}</h3>
          {section.help && <p className="field__hint">{section.help}</p>}
          {section.questions.map((q) => (
            <QuestionField
              key={q.id}
              question={q}
              value={draft[q.id]}
              errors={messagesFor(problems, questionFieldId(q))}
              onChange={(value) => set(q.id, value)}
              documentProps={{
                clientId: request.clientId,
                titles,
                clientDocuments: clientDocuments.state === 'loaded' ? clientDocuments.data.documents : [],
                // A document answers one question: those attached elsewhere are not offered again.
                attachedElsewhere: new Set(questions.filter((other) => other.id !== q.id && other.kind === 'documents').flatMap((other) => (draft[other.id] as string[] | undefined) ?? [])),
                onUploaded: (document) => {
                  setTitles((current) => new Map(current).set(document.id, document.title));
                  reloadDocuments();
                },
              }}
            />
          ))}
        </section>
      ))}
      <div role="status" className="status-region">
        {saved && <p className="notice notice--success">{saved}</p>}
      </div>
      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          Send my answers
        </button>
        <button className="button button--secondary" type="button" disabled={busy} onClick={() => void send('draft')}>
          Save and come back later
        </button>
      </div>
    </form>
  );
}

interface DocumentProps {
  clientId: string;
  titles: Map<string, string>;
  clientDocuments: PortalDocument[];
  attachedElsewhere: Set<string>;
  onUploaded: (document: PortalDocument) => void;
}

function QuestionField({ question: q, value, errors, onChange, documentProps }: { question: PortalQuestion; value: string | boolean | string[] | undefined; errors: string[]; onChange: (value: string | boolean | string[]) => void; documentProps: DocumentProps }) {
  const id = questionId(q);
  const label = `${q.text}${q.required ? ' (required)' : ''}`;
  const text = typeof value === 'string' ? value : '';
  switch (q.kind) {
    case 'text':
      return <TextAreaField id={id} label={label} hint={q.help} rows={3} value={text} onChange={(event) => onChange(event.target.value)} errors={errors} maxLength={10_000} />;
    case 'number':
      return <TextField id={id} label={label} hint={q.help} inputMode="decimal" autoComplete="off" className="input--short" value={text} onChange={(event) => onChange(event.target.value)} errors={errors} />;
    case 'money':
      return (
        <TextField
          id={id}
          label={label}
          hint={q.help ? `${q.help} In pounds, like 1,250.00.` : 'In pounds, like 1,250.00.'}
          inputMode="decimal"
          autoComplete="off"
          className="input--short"
          value={text}
          onChange={(event) => onChange(event.target.value)}
          errors={errors}
        />
      );
    case 'date':
      return <TextField id={id} label={label} hint={q.help} type="date" className="input--date" value={text} onChange={(event) => onChange(event.target.value)} errors={errors} />;
    case 'yes-no':
      return (
        <RadioQuestion
          question={q}
          label={label}
          errors={errors}
          options={[
            { id: `${id}-yes`, label: 'Yes', checked: value === true, choose: () => onChange(true) },
            { id: `${id}-no`, label: 'No', checked: value === false, choose: () => onChange(false) },
          ]}
        />
      );
    case 'choice':
      return <RadioQuestion question={q} label={label} errors={errors} options={(q.options ?? []).map((option, i) => ({ id: `${id}-${i}`, label: option, checked: value === option, choose: () => onChange(option) }))} />;
    case 'documents':
      return <DocumentsQuestion question={q} label={label} errors={errors} attached={Array.isArray(value) ? value : []} onChange={onChange} {...documentProps} />;
  }
}

function RadioQuestion({ question: q, label, errors, options }: { question: PortalQuestion; label: string; errors: string[]; options: { id: string; label: string; checked: boolean; choose: () => void }[] }) {
  const base = questionId(q);
  const describedBy = [q.help ? `${base}-hint` : '', errors.length ? `${base}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <fieldset className={`fieldset${errors.length ? ' field--error' : ''}`} aria-describedby={describedBy}>
      <legend className="fieldset__legend">{label}</legend>
      {q.help && (
        <p className="field__hint" id={`${base}-hint`}>
          {q.help}
        </p>
      )}
      <FieldErrors id={`${base}-error`} messages={errors} />
      <div className={`radios${q.kind === 'yes-no' ? ' radios--inline' : ''}`}>
        {options.map((option) => (
          <div className="radio" key={option.id}>
            <input type="radio" id={option.id} name={base} checked={option.checked} onChange={option.choose} aria-invalid={errors.length ? true : undefined} />
            <label htmlFor={option.id}>{option.label}</label>
          </div>
        ))}
      </div>
    </fieldset>
  );
}

/** Decline to answer, with a reason; asked for only once they choose to. */
export function DeclineRequestForm({ request, onDone }: { request: PortalRequest; onDone: RequestChanged }) {
  return (
    <DeclineWithReason<PortalRequest>
      id="decline-request"
      url={`/api/v1/portal/requests/${encodeURIComponent(request.id)}/decline`}
      wording={{
        open: 'I will not answer these questions',
        title: 'Decline to answer',
        label: 'Why are you not answering?',
        hint: 'The practice sees your reason. Your saved answers are not sent.',
        empty: 'Say why you are not answering',
        done: 'You declined to answer. The practice can see your reason.',
      }}
      onDone={onDone}
    />
  );
}
