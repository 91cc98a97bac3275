import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError, capitalise, describeProblem } from '../../api/client.ts';
import type { MtdSummary, MtdSummaryLine, PortalMtdSummaryRecord, PortalRequest } from '../../api/portal.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { calendarDate } from '../sync/format.ts';
import { formatPence, parsePounds, penceToInput } from './money.ts';
import { TextAreaField } from './parts.tsx';
import type { RequestChanged } from './answer-form.tsx';
import { mtdPeriodLabel } from './request-parts.tsx';

type Mtd = NonNullable<PortalRequest['mtd']>;

/** The quarter, its cumulative period and HMRC's deadline; then the figures, if the practice has entered them. */
export function MtdFigures({ mtd, practice }: { mtd: Mtd; practice: boolean }) {
  return (
    <section aria-labelledby="mtd-title">
      <h2 id="mtd-title">Figures for {mtdPeriodLabel(mtd.period)}</h2>
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>Covers</dt>
          <dd>
            {calendarDate(mtd.taxYearStart)} to {calendarDate(mtd.end)} (the tax year so far)
          </dd>
        </div>
        <div>
          <dt>HMRC’s deadline</dt>
          <dd>{calendarDate(mtd.deadline)}</dd>
        </div>
        {mtd.decision && (
          <div>
            <dt>{practice ? 'The client’s answer' : 'Your answer'}</dt>
            <dd>{mtd.decision === 'approved' ? 'Approved' : 'Rejected'} (revision {mtd.decidedRevision})</dd>
          </div>
        )}
      </dl>
      {!mtd.summary && <p>The practice has not entered the figures for this quarter yet.</p>}
      {mtd.summary && <SummaryTables summary={mtd.summary} revision={mtd.summaryRevision} />}
    </section>
  );
}

function SummaryTables({ summary, revision }: { summary: MtdSummary; revision: number | null }) {
  return (
    <>
      <FiguresTable caption="Income" lines={summary.income} total={summary.totalIncomePence} />
      <FiguresTable caption="Expenses" lines={summary.expenses} total={summary.totalExpensesPence} />
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>{summary.netPence < 0 ? 'Loss' : 'Profit'} (income less expenses)</dt>
          <dd className="numeric">{formatPence(Math.abs(summary.netPence))}</dd>
        </div>
        {revision !== null && (
          <div>
            <dt>Revision</dt>
            <dd>{revision}</dd>
          </div>
        )}
      </dl>
      {summary.note && (
        <div className="portal-message">
          <p>{summary.note}</p>
        </div>
      )}
    </>
  );
}

function FiguresTable({ caption, lines, total }: { caption: string; lines: MtdSummaryLine[]; total: number }) {
  return (
    <table className="table table--compact">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Category</th>
          <th scope="col" className="numeric">
            Amount
          </th>
        </tr>
      </thead>
      <tbody>
        {lines.length === 0 && (
          <tr>
            <td colSpan={2} className="muted">
              None
            </td>
          </tr>
        )}
        {lines.map((line) => (
          <tr key={line.category}>
            <td>{line.category}</td>
            <td className="numeric">{formatPence(line.amountPence)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total {caption.toLowerCase()}</th>
          <td className="numeric">{formatPence(total)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

type LineDraft = { key: number; category: string; amount: string };
type Side = 'income' | 'expenses';
let nextKey = 1;
const draftLines = (lines: MtdSummaryLine[] | undefined): LineDraft[] =>
  lines && lines.length > 0 ? lines.map((l) => ({ key: nextKey++, category: l.category, amount: penceToInput(l.amountPence) })) : [{ key: nextKey++, category: '', amount: '' }];
const lineId = (side: Side, index: number, field: 'category' | 'amount') => `mtd-${side}-${index}-${field}`;

/**
 * The practice enters or corrects a quarter's figures (income and expenses by category, year to
 * date). Each save is a new revision; figures the client already answered go back to them.
 */
export function MtdFiguresForm({ request, onSaved }: { request: PortalRequest; onSaved: (record: PortalMtdSummaryRecord) => void }) {
  const mtd = request.mtd!;
  const [lines, setLines] = useState<Record<Side, LineDraft[]>>(() => ({ income: draftLines(mtd.summary?.income), expenses: draftLines(mtd.summary?.expenses) }));
  const [note, setNote] = useState(mtd.summary?.note ?? '');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const change = (side: Side, key: number, patch: Partial<LineDraft>) => setLines((current) => ({ ...current, [side]: current[side].map((l) => (l.key === key ? { ...l, ...patch } : l)) }));
  const add = (side: Side) => {
    setLines((current) => ({ ...current, [side]: [...current[side], { key: nextKey++, category: '', amount: '' }] }));
    // The new line's first box, once it is there.
    const index = lines[side].length;
    window.setTimeout(() => document.getElementById(lineId(side, index, 'category'))?.focus(), 0);
  };
  const remove = (side: Side, key: number) => {
    setLines((current) => ({ ...current, [side]: current[side].filter((l) => l.key !== key) }));
    window.setTimeout(() => formRef.current?.querySelector<HTMLButtonElement>(`[data-add="${side}"]`)?.focus(), 0);
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    const body: Record<Side, MtdSummaryLine[]> = { income: [], expenses: [] };
    for (const side of ['income', 'expenses'] as const) {
      lines[side].forEach((line, i) => {
        if (!line.category.trim() && !line.amount.trim()) return;
        const pence = parsePounds(line.amount);
        if (!line.category.trim()) found.push({ fieldId: lineId(side, i, 'category'), message: `Enter the category of ${side} line ${i + 1}` });
        if (pence === undefined) found.push({ fieldId: lineId(side, i, 'amount'), message: `Enter ${side} line ${i + 1} as an amount in pounds and pence, like 1,250.00` });
        else if (line.category.trim()) body[side].push({ category: line.category.trim(), amountPence: pence });
      });
    }
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const record = await api.put<PortalMtdSummaryRecord>(`/api/v1/portal/clients/${encodeURIComponent(request.clientId)}/mtd-summaries/${encodeURIComponent(mtd.period)}`, {
        ...body,
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      setProblems([]);
      onSaved(record);
    } catch (error) {
      setProblems(figureProblems(error, lines));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form ref={formRef} className="form panel" onSubmit={submit} noValidate aria-labelledby="mtd-form-title">
      <h2 id="mtd-form-title">{mtd.summary ? 'Correct the figures' : 'Enter the figures'}</h2>
      <p>Totals by category from the start of the tax year to the end of the quarter. When you save, the client is emailed and asked to approve them.</p>
      <ErrorSummary problems={problems} title="The figures were not saved" />
      {(['income', 'expenses'] as const).map((side) => (
        <fieldset key={side} className="fieldset">
          <legend className="fieldset__legend">{side === 'income' ? 'Income' : 'Expenses'}</legend>
          {lines[side].map((line, i) => (
            <div key={line.key} className="figure-line" role="group" aria-label={`${side === 'income' ? 'Income' : 'Expenses'} line ${i + 1}`}>
              <TextField id={lineId(side, i, 'category')} label="Category" autoComplete="off" value={line.category} onChange={(event) => change(side, line.key, { category: event.target.value })} errors={messagesFor(problems, lineId(side, i, 'category'))} />
              <TextField
                id={lineId(side, i, 'amount')}
                label="Amount (£)"
                inputMode="decimal"
                autoComplete="off"
                className="input--short"
                value={line.amount}
                onChange={(event) => change(side, line.key, { amount: event.target.value })}
                errors={messagesFor(problems, lineId(side, i, 'amount'))}
              />
              {lines[side].length > 1 && (
                <button className="button button--small button--secondary" type="button" onClick={() => remove(side, line.key)}>
                  Remove<span className="visually-hidden"> {side} line {i + 1}</span>
                </button>
              )}
            </div>
          ))}
          <button className="button button--small button--secondary" type="button" data-add={side} onClick={() => add(side)}>
            Add {side === 'income' ? 'an income' : 'an expenses'} line
          </button>
        </fieldset>
      ))}
      <TextAreaField id="mtd-note" label="Note for the client (optional)" value={note} onChange={(event) => setNote(event.target.value)} errors={messagesFor(problems, 'mtd-note')} />
      <button className="button" type="submit" disabled={busy}>
        Save the figures and ask the client
      </button>
    </form>
  );
}

function figureProblems(error: unknown, lines: Record<Side, LineDraft[]>): FormProblem[] {
  if (!(error instanceof ApiError) || error.kind !== 'validation' || error.errors.length === 0) return [{ message: describeProblem(error) }];
  // Only the filled-in lines were sent: an index from the server counts those.
  const sentIndex = (side: Side) => lines[side].map((l, i) => ({ l, i })).filter(({ l }) => l.category.trim() || l.amount.trim()).map(({ i }) => i);
  return error.errors.map((e) => {
    const at = /^(income|expenses)\.(\d+)\.(category|amountPence)$/.exec(e.field);
    if (at) {
      const side = at[1] as Side;
      const index = sentIndex(side)[Number(at[2])] ?? 0;
      return { fieldId: lineId(side, index, at[3] === 'category' ? 'category' : 'amount'), message: capitalise(`${side} line ${index + 1}: ${at[3] === 'category' ? 'the category' : 'the amount'} ${e.reason}`) };
    }
    if (e.field === 'note') return { fieldId: 'mtd-note', message: `The note ${e.reason}` };
    return { message: capitalise(`${e.field} ${e.reason}`) };
  });
}

/** The client approves the figures, or rejects them saying what is wrong. */
export function MtdDecisionForm({ request, onDone }: { request: PortalRequest; onDone: RequestChanged }) {
  const mtd = request.mtd!;
  const [decision, setDecision] = useState<'approve' | 'reject' | ''>('');
  const [comment, setComment] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!decision) found.push({ fieldId: 'mtd-approve', message: 'Choose whether the figures are right' });
    if (decision === 'reject' && !comment.trim()) found.push({ fieldId: 'mtd-comment', message: 'Say what is wrong, so the practice can correct it' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const updated = await api.post<PortalRequest>(`/api/v1/portal/requests/${encodeURIComponent(request.id)}/summary-decision`, {
        decision,
        summaryRevision: mtd.summaryRevision,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      });
      setProblems([]);
      onDone(updated, decision === 'approve' ? 'You approved the figures. The practice has been told.' : 'You rejected the figures. The practice can see your comment.');
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'conflict') setProblems([{ message: `${describeProblem(error)}. Reload the page to see the figures as they are now.` }]);
      else if (error instanceof ApiError && error.kind === 'validation') {
        setProblems(error.errors.map((e) => (e.field === 'comment' ? { fieldId: 'mtd-comment', message: `Your comment ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) })));
      } else setProblems([{ message: describeProblem(error) }]);
    } finally {
      setBusy(false);
    }
  }

  const decisionErrors = messagesFor(problems, 'mtd-approve');
  return (
    <form className="form panel respond-form" onSubmit={submit} noValidate aria-labelledby="mtd-decision-title">
      <h2 id="mtd-decision-title">Are these figures right?</h2>
      <ErrorSummary problems={problems} title="Your answer was not sent" />
      <fieldset className={`fieldset${decisionErrors.length ? ' field--error' : ''}`} aria-describedby={decisionErrors.length ? 'mtd-decision-error' : undefined}>
        <legend className="fieldset__legend">Your answer</legend>
        <FieldErrors id="mtd-decision-error" messages={decisionErrors} />
        <div className="radios">
          <div className="radio">
            <input type="radio" id="mtd-approve" name="mtd-decision" checked={decision === 'approve'} onChange={() => setDecision('approve')} />
            <label htmlFor="mtd-approve">Yes, I approve them</label>
          </div>
          <div className="radio">
            <input type="radio" id="mtd-reject" name="mtd-decision" checked={decision === 'reject'} onChange={() => setDecision('reject')} />
            <label htmlFor="mtd-reject">No, something is wrong</label>
          </div>
        </div>
      </fieldset>
      <TextAreaField
        id="mtd-comment"
        label={decision === 'reject' ? 'What is wrong' : 'Comment (optional)'}
        hint="The practice sees it with your answer."
        value={comment}
        onChange={(event) => setComment(event.target.value)}
        errors={messagesFor(problems, 'mtd-comment')}
      />
      <button className="button" type="submit" disabled={busy}>
        Send my answer
      </button>
    </form>
  );
}
