import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, capitalise, describeProblem } from '../../api/client.ts';
import { QUESTION_KINDS, type PortalQuestion, type PortalQuestionSection, type PortalRequestTemplate, type QuestionKind } from '../../api/portal.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { describedBy, TextAreaField } from './parts.tsx';
import { QUESTION_KIND_LABELS } from './request-parts.tsx';

type QuestionDraft = { key: number; id?: string; text: string; kind: QuestionKind; required: boolean; options: string; help: string };
type SectionDraft = { key: number; title: string; help: string; questions: QuestionDraft[] };

let nextKey = 1;
const blankQuestion = (): QuestionDraft => ({ key: nextKey++, text: '', kind: 'text', required: false, options: '', help: '' });
const blankSection = (): SectionDraft => ({ key: nextKey++, title: '', help: '', questions: [blankQuestion()] });

function toDrafts(sections: PortalQuestionSection[]): SectionDraft[] {
  return sections.map((s) => ({
    key: nextKey++,
    title: s.title,
    help: s.help ?? '',
    questions: s.questions.map((q) => ({ key: nextKey++, id: q.id, text: q.text, kind: q.kind, required: q.required, options: (q.options ?? []).join('\n'), help: q.help ?? '' })),
  }));
}

const ids = {
  name: 'template-name',
  sectionTitle: (s: number) => `template-s${s}-title`,
  sectionHelp: (s: number) => `template-s${s}-help`,
  question: (s: number, q: number, field: 'text' | 'kind' | 'required' | 'options' | 'help') => `template-s${s}-q${q}-${field}`,
};

/** A question id the server accepts, unique in the template: kept for a question that has one. */
function withIds(sections: SectionDraft[]): PortalQuestionSection[] {
  const taken = new Set(sections.flatMap((s) => s.questions.map((q) => q.id).filter((id): id is string => Boolean(id))));
  let n = 0;
  const fresh = () => {
    let id: string;
    do id = `q${++n}`;
    while (taken.has(id));
    taken.add(id);
    return id;
  };
  return sections.map((s) => ({
    title: s.title.trim(),
    ...(s.help.trim() ? { help: s.help.trim() } : {}),
    questions: s.questions.map((q): PortalQuestion => {
      const options = q.options.split('\n').map((o) => o.trim()).filter(Boolean);
      return {
        id: q.id ?? fresh(),
        text: q.text.trim(),
        kind: q.kind,
        required: q.required,
        ...(q.kind === 'choice' ? { options } : {}),
        ...(q.help.trim() ? { help: q.help.trim() } : {}),
      };
    }),
  }));
}

function templateProblems(error: unknown): FormProblem[] {
  if (!(error instanceof ApiError)) return [{ message: describeProblem(error) }];
  if (error.kind === 'conflict') return [{ fieldId: ids.name, message: capitalise(describeProblem(error)) }];
  if (error.kind !== 'validation' || error.errors.length === 0) return [{ message: describeProblem(error) }];
  return error.errors.map((e) => {
    if (e.field === 'name') return { fieldId: ids.name, message: `The name ${e.reason}` };
    const question = /^sections\.(\d+)\.questions\.(\d+)\.(text|kind|options|help|id|required)$/.exec(e.field);
    if (question) {
      const [s, q] = [Number(question[1]), Number(question[2])];
      const field = question[3] === 'id' ? 'text' : (question[3] as 'text' | 'kind' | 'options' | 'help' | 'required');
      return { fieldId: ids.question(s, q, field), message: `Question ${s + 1}.${q + 1}: ${question[3] === 'id' ? 'its id' : `the ${field}`} ${e.reason}` };
    }
    const section = /^sections\.(\d+)\.(title|help|questions)$/.exec(e.field);
    if (section) {
      const s = Number(section[1]);
      const fieldId = section[2] === 'questions' ? ids.question(s, 0, 'text') : section[2] === 'help' ? ids.sectionHelp(s) : ids.sectionTitle(s);
      return { fieldId, message: `Section ${s + 1}: the ${section[2]} ${e.reason}` };
    }
    return { message: capitalise(`${e.field} ${e.reason}`) };
  });
}

/** Adds a template, or changes one of the practice's own: its name and its sections of questions. */
export function TemplateForm({ template, copyOf, level = 2, onSaved, onCancel }: { template?: PortalRequestTemplate; copyOf?: PortalRequestTemplate; level?: 2 | 4; onSaved: (template: PortalRequestTemplate) => void; onCancel: () => void }) {
  const Heading = level === 2 ? 'h2' : 'h4';
  const start = template ?? copyOf;
  const [name, setName] = useState(template ? template.name : copyOf ? `${copyOf.name} (our copy)` : '');
  const [sections, setSections] = useState<SectionDraft[]>(() => (start ? toDrafts(start.sections) : [blankSection()]));
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const title = template ? `Change “${template.name}”` : copyOf ? `Copy “${copyOf.name}”` : 'Add a template';

  const focusSoon = (id: string) => window.setTimeout(() => document.getElementById(id)?.focus(), 0);
  const changeSection = (key: number, patch: Partial<SectionDraft>) => setSections((all) => all.map((s) => (s.key === key ? { ...s, ...patch } : s)));
  const changeQuestion = (sectionKey: number, questionKey: number, patch: Partial<QuestionDraft>) =>
    setSections((all) => all.map((s) => (s.key === sectionKey ? { ...s, questions: s.questions.map((q) => (q.key === questionKey ? { ...q, ...patch } : q)) } : s)));

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!name.trim()) found.push({ fieldId: ids.name, message: 'Enter a name for the template' });
    sections.forEach((section, s) => {
      if (!section.title.trim()) found.push({ fieldId: ids.sectionTitle(s), message: `Section ${s + 1}: enter its title` });
      section.questions.forEach((q, i) => {
        if (!q.text.trim()) found.push({ fieldId: ids.question(s, i, 'text'), message: `Question ${s + 1}.${i + 1}: enter the question` });
        if (q.kind === 'choice' && q.options.split('\n').filter((o) => o.trim()).length < 2) found.push({ fieldId: ids.question(s, i, 'options'), message: `Question ${s + 1}.${i + 1}: give at least 2 options, one on each line` });
      });
    });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const body = { name: name.trim(), sections: withIds(sections) };
      const saved = template
        ? await api.put<PortalRequestTemplate>(`/api/v1/portal/request-templates/${encodeURIComponent(template.id)}`, body)
        : await api.post<PortalRequestTemplate>('/api/v1/portal/request-templates', body);
      setProblems([]);
      onSaved(saved);
    } catch (error) {
      setProblems(templateProblems(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form panel template-form" onSubmit={submit} noValidate aria-labelledby="template-form-title">
      <Heading id="template-form-title" tabIndex={-1} ref={heading}>
        {title}
      </Heading>
      {template && <p>Requests already sent keep the questions they were sent with.</p>}
      <ErrorSummary problems={problems} title="The template was not saved" />
      <TextField id={ids.name} label="Name" hint="What staff choose when they send it, such as “Rental income”." autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} errors={messagesFor(problems, ids.name)} maxLength={200} />
      {sections.map((section, s) => (
        <fieldset key={section.key} className="fieldset template-section">
          <legend className="fieldset__legend">Section {s + 1}</legend>
          <TextField id={ids.sectionTitle(s)} label={`Title of section ${s + 1}`} autoComplete="off" value={section.title} onChange={(event) => changeSection(section.key, { title: event.target.value })} errors={messagesFor(problems, ids.sectionTitle(s))} />
          <TextField id={ids.sectionHelp(s)} label={`Note for section ${s + 1} (optional)`} autoComplete="off" value={section.help} onChange={(event) => changeSection(section.key, { help: event.target.value })} errors={messagesFor(problems, ids.sectionHelp(s))} />
          {section.questions.map((q, i) => (
            <QuestionEditor
              key={q.key}
              number={`${s + 1}.${i + 1}`}
              question={q}
              fieldId={(field) => ids.question(s, i, field)}
              problems={problems}
              onChange={(patch) => changeQuestion(section.key, q.key, patch)}
              onRemove={
                section.questions.length > 1
                  ? () => {
                      changeSection(section.key, { questions: section.questions.filter((other) => other.key !== q.key) });
                      focusSoon(`template-s${s}-add-question`);
                    }
                  : undefined
              }
            />
          ))}
          <div className="button-row">
            <button
              id={`template-s${s}-add-question`}
              className="button button--small button--secondary"
              type="button"
              onClick={() => {
                changeSection(section.key, { questions: [...section.questions, blankQuestion()] });
                focusSoon(ids.question(s, section.questions.length, 'text'));
              }}
            >
              Add a question<span className="visually-hidden"> to section {s + 1}</span>
            </button>
            {sections.length > 1 && (
              <button
                className="button button--small button--warning"
                type="button"
                onClick={() => {
                  setSections((all) => all.filter((other) => other.key !== section.key));
                  focusSoon('template-add-section');
                }}
              >
                Remove section {s + 1}
              </button>
            )}
          </div>
        </fieldset>
      ))}
      <div className="button-row">
        <button
          id="template-add-section"
          className="button button--secondary"
          type="button"
          onClick={() => {
            setSections((all) => [...all, blankSection()]);
            focusSoon(ids.sectionTitle(sections.length));
          }}
        >
          Add a section
        </button>
      </div>
      <div className="button-row">
        <button className="button" type="submit" disabled={busy}>
          Save the template
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function QuestionEditor({
  number,
  question: q,
  fieldId,
  problems,
  onChange,
  onRemove,
}: {
  number: string;
  question: QuestionDraft;
  fieldId: (field: 'text' | 'kind' | 'required' | 'options' | 'help') => string;
  problems: FormProblem[];
  onChange: (patch: Partial<QuestionDraft>) => void;
  onRemove?: () => void;
}) {
  const kindErrors = messagesFor(problems, fieldId('kind'));
  return (
    <div className="template-question">
      <TextField id={fieldId('text')} label={`Question ${number}`} autoComplete="off" value={q.text} onChange={(event) => onChange({ text: event.target.value })} errors={messagesFor(problems, fieldId('text'))} maxLength={500} />
      <div className={`field${kindErrors.length ? ' field--error' : ''}`}>
        <label className="field__label" htmlFor={fieldId('kind')}>
          Kind of answer to question {number}
        </label>
        <FieldErrors id={`${fieldId('kind')}-error`} messages={kindErrors} />
        <select id={fieldId('kind')} className="select" value={q.kind} onChange={(event) => onChange({ kind: event.target.value as QuestionKind })} aria-describedby={describedBy(fieldId('kind'), false, kindErrors)}>
          {QUESTION_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {QUESTION_KIND_LABELS[kind]}
            </option>
          ))}
        </select>
      </div>
      {q.kind === 'choice' && (
        <TextAreaField id={fieldId('options')} label={`Options for question ${number}`} hint="One on each line; at least 2." rows={3} value={q.options} onChange={(event) => onChange({ options: event.target.value })} errors={messagesFor(problems, fieldId('options'))} />
      )}
      <TextField id={fieldId('help')} label={`Help for the client with question ${number} (optional)`} autoComplete="off" value={q.help} onChange={(event) => onChange({ help: event.target.value })} errors={messagesFor(problems, fieldId('help'))} />
      <div className="checkbox">
        <input type="checkbox" id={fieldId('required')} checked={q.required} onChange={(event) => onChange({ required: event.target.checked })} />
        <label htmlFor={fieldId('required')}>The client must answer question {number}</label>
      </div>
      {onRemove && (
        <div className="button-row">
          <button className="button button--small button--secondary" type="button" onClick={onRemove}>
            Remove question {number}
          </button>
        </div>
      )}
    </div>
  );
}
