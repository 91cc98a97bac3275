import { useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { ApiError, capitalise, describeProblem, uploadFile } from '../../api/client.ts';
import type { ImportFormat, ImportProblem, RunSummary } from '../../api/sync.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { ENTITY_LABELS, FORMAT_LABELS, plural } from './format.ts';
import { RunProgressBar, useLatestRunProgress } from './run-progress.tsx';
import { CountsTable, ProblemList, SyncNav } from './parts.tsx';

const FIELDS = {
  format: { id: 'import-format', label: 'Format' },
  file: { id: 'import-file', label: 'File to import' },
  mapping: { id: 'import-mapping', label: 'Column mapping' },
  dryRun: { id: 'import-dry-run', label: 'Check only' },
} as const;

/** Where the list of problems found in the file is: the error summary links here. */
const FILE_PROBLEMS_ID = 'file-problems';

const FORMATS: { value: ImportFormat; accept: string; hint: string }[] = [
  { value: 'ctf', accept: '.xml,application/xml,text/xml', hint: 'The XML file your MIS exports as a Common Transfer File.' },
  { value: 'oneroster-csv', accept: '.zip,application/zip', hint: 'The zip of OneRoster 1.1 or 1.2 CSV files.' },
  { value: 'csv', accept: '.csv,text/csv,.txt', hint: 'One report of pupils, contacts or staff, read through the column mapping below.' },
];

const MAPPING_EXAMPLE = '{"entity": "pupils", "columns": {"misId": "Adno", "legalForename": "Forename", "legalSurname": "Surname"}, "dateFormat": "DD/MM/YYYY"}';

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; sent: number; total: number }
  | { kind: 'processing' }
  | { kind: 'done'; summary: RunSummary }
  | { kind: 'failed'; fileProblems: ImportProblem[] };

/**
 * Splits a refused import into problems with this form's fields (format, mapping, …) and
 * problems found in the file (its `errors`, each named by file and line or element path).
 */
function explain(error: unknown): { problems: FormProblem[]; fileProblems: ImportProblem[] } {
  if (!(error instanceof ApiError)) return { problems: [{ message: describeProblem(error) }], fileProblems: [] };
  if (error.kind === 'validation' && error.errors.length > 0) {
    const problems: FormProblem[] = [];
    const fileProblems: ImportProblem[] = [];
    for (const e of error.errors) {
      if (e.field === 'format') problems.push({ fieldId: FIELDS.format.id, message: `Format ${e.reason}` });
      else if (e.field === 'dryRun') problems.push({ fieldId: FIELDS.dryRun.id, message: `Check only ${e.reason}` });
      else if (e.field === 'mapping') problems.push({ fieldId: FIELDS.mapping.id, message: `Column mapping ${e.reason}` });
      else if (e.field.startsWith('mapping:')) problems.push({ fieldId: FIELDS.mapping.id, message: `Column mapping, ${e.field.slice(8).trim()}: ${e.reason}` });
      else fileProblems.push({ location: e.field, message: e.reason });
    }
    if (fileProblems.length > 0) {
      const headline = error.detail ? capitalise(error.detail) : `The file has ${plural(fileProblems.length, 'problem')}; nothing was imported`;
      problems.unshift({ fieldId: FILE_PROBLEMS_ID, message: `${headline}. See each problem and where it is.` });
    }
    return { problems, fileProblems };
  }
  const fieldId = error.status === 413 || error.status === 415 ? FIELDS.file.id : undefined;
  return { problems: [{ fieldId, message: describeProblem(error) }], fileProblems: [] };
}

function summaryText(summary: RunSummary): string {
  const parts = ['pupils', 'contacts', 'staff', 'groups'].map((entity) => {
    const created = summary.created[entity] ?? 0;
    const updated = summary.updated[entity] ?? 0;
    return `${ENTITY_LABELS[entity]!.toLowerCase()}: ${created} added, ${updated} updated`;
  });
  return `${capitalise(parts.join('; '))}.`;
}

/** /sync/import — upload an MIS export; see what it added, updated and marked as left (sync.manage). */
export function SyncImport() {
  usePageTitle('Import a file – Custos');
  const [format, setFormat] = useState<ImportFormat>('ctf');
  const [file, setFile] = useState<File | null>(null);
  const [dryRun, setDryRun] = useState(false);
  const [mapping, setMapping] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [startedAt, setStartedAt] = useState<string | null>(null);
  const resultHeading = useRef<HTMLHeadingElement>(null);
  const busy = phase.kind === 'uploading' || phase.kind === 'processing';
  // Once uploaded, the run's own progress (which kind of record, how many) as the server reports it.
  const runProgress = useLatestRunProgress(phase.kind === 'processing', startedAt);
  const chosen = FORMATS.find((f) => f.value === format)!;

  useEffect(() => {
    if (phase.kind === 'done') resultHeading.current?.focus();
  }, [phase]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!file) found.push({ fieldId: FIELDS.file.id, message: 'Choose the file to import' });
    let compactMapping: string | undefined;
    if (format === 'csv') {
      if (!mapping.trim()) {
        found.push({ fieldId: FIELDS.mapping.id, message: 'Enter the column mapping for the CSV file' });
      } else {
        try {
          compactMapping = JSON.stringify(JSON.parse(mapping));
        } catch {
          found.push({ fieldId: FIELDS.mapping.id, message: 'Column mapping must be JSON, like the example' });
        }
      }
    }
    if (found.length > 0 || !file) {
      setPhase({ kind: 'idle' });
      setProblems(found);
      return;
    }
    const query = new URLSearchParams({ format });
    if (dryRun) query.set('dryRun', 'true');
    if (compactMapping !== undefined) query.set('mapping', compactMapping);
    setProblems([]);
    setPhase({ kind: 'uploading', sent: 0, total: file.size });
    setStartedAt(new Date().toISOString());
    try {
      const summary = await uploadFile<RunSummary>(`/api/v1/sync/imports?${query.toString()}`, file, {
        onProgress: (sent, total) => setPhase(sent >= total ? { kind: 'processing' } : { kind: 'uploading', sent, total }),
      });
      setPhase({ kind: 'done', summary });
    } catch (error) {
      const explained = explain(error);
      setPhase({ kind: 'failed', fileProblems: explained.fileProblems });
      setProblems(explained.problems);
    }
  }

  const percent = phase.kind === 'uploading' && phase.total > 0 ? Math.floor((phase.sent / phase.total) * 100) : 0;
  const formatErrors = messagesFor(problems, FIELDS.format.id);
  const fileErrors = messagesFor(problems, FIELDS.file.id);
  const mappingErrors = messagesFor(problems, FIELDS.mapping.id);
  const dryRunErrors = messagesFor(problems, FIELDS.dryRun.id);

  return (
    <>
      <SyncNav />
      <h1 id="page-title">Import a file</h1>
      <p className="narrow">
        Upload an export from your MIS. Records are matched on their MIS id: new ones are added, changed ones updated, and
        anyone missing from a whole-school file is marked as left. If the file has any error, nothing is imported.
      </p>

      <form className="form" onSubmit={submit} noValidate aria-labelledby="page-title">
        <ErrorSummary problems={problems} title={phase.kind === 'failed' ? 'The file was not imported' : 'There is a problem'} />

        <div className={`field${formatErrors.length ? ' field--error' : ''}`}>
          <label className="field__label" htmlFor={FIELDS.format.id}>
            Format
          </label>
          <p className="field__hint" id={`${FIELDS.format.id}-hint`}>
            {chosen.hint}
          </p>
          <FieldErrors id={`${FIELDS.format.id}-error`} messages={formatErrors} />
          <select
            id={FIELDS.format.id}
            className="select"
            value={format}
            onChange={(event) => setFormat(event.target.value as ImportFormat)}
            aria-describedby={[`${FIELDS.format.id}-hint`, formatErrors.length ? `${FIELDS.format.id}-error` : ''].filter(Boolean).join(' ')}
            aria-invalid={formatErrors.length ? true : undefined}
          >
            {FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {FORMAT_LABELS[f.value]}
              </option>
            ))}
          </select>
        </div>

        <div className={`field${fileErrors.length ? ' field--error' : ''}`}>
          <label className="field__label" htmlFor={FIELDS.file.id}>
            File to import
          </label>
          <p className="field__hint" id={`${FIELDS.file.id}-hint`}>
            At most 100 MB. It is read, imported and then deleted; only what it held is kept.
          </p>
          <FieldErrors id={`${FIELDS.file.id}-error`} messages={fileErrors} />
          <input
            id={FIELDS.file.id}
            name={FIELDS.file.id}
            className="input input--file"
            type="file"
            accept={chosen.accept}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            aria-describedby={[`${FIELDS.file.id}-hint`, fileErrors.length ? `${FIELDS.file.id}-error` : ''].filter(Boolean).join(' ')}
            aria-invalid={fileErrors.length ? true : undefined}
          />
        </div>

        {format === 'csv' && (
          <div className={`field${mappingErrors.length ? ' field--error' : ''}`}>
            <label className="field__label" htmlFor={FIELDS.mapping.id}>
              Column mapping (JSON)
            </label>
            <div className="field__hint" id={`${FIELDS.mapping.id}-hint`}>
              <p>
                Which column of the CSV holds which field. Name the kind of records (<code>pupils</code>, <code>contacts</code>{' '}
                or <code>staff</code>) and, for each field, its column header. For example:
              </p>
              <pre className="code-example">
                <code>{MAPPING_EXAMPLE}</code>
              </pre>
            </div>
            <FieldErrors id={`${FIELDS.mapping.id}-error`} messages={mappingErrors} />
            <textarea
              id={FIELDS.mapping.id}
              name={FIELDS.mapping.id}
              className="textarea"
              rows={6}
              spellCheck={false}
              value={mapping}
              onChange={(event) => setMapping(event.target.value)}
              aria-describedby={[`${FIELDS.mapping.id}-hint`, mappingErrors.length ? `${FIELDS.mapping.id}-error` : ''].filter(Boolean).join(' ')}
              aria-invalid={mappingErrors.length ? true : undefined}
            />
          </div>
        )}

        <div className={`field${dryRunErrors.length ? ' field--error' : ''}`}>
          <FieldErrors id={`${FIELDS.dryRun.id}-error`} messages={dryRunErrors} />
          <div className="checkbox">
            <input
              type="checkbox"
              id={FIELDS.dryRun.id}
              checked={dryRun}
              onChange={(event) => setDryRun(event.target.checked)}
              aria-describedby={[`${FIELDS.dryRun.id}-hint`, dryRunErrors.length ? `${FIELDS.dryRun.id}-error` : ''].filter(Boolean).join(' ')}
            />
            <label htmlFor={FIELDS.dryRun.id}>Check only: count what would change, without saving anything</label>
          </div>
          <p className="field__hint checkbox__hint" id={`${FIELDS.dryRun.id}-hint`}>
            Use this to see what a new file would do before you import it.
          </p>
        </div>

        <button className="button" type="submit" aria-disabled={busy ? true : undefined}>
          {dryRun ? 'Check the file' : 'Import the file'}
        </button>
      </form>

      <div className="status-region" role="status">
        {phase.kind === 'uploading' && <p>Uploading {file?.name}…</p>}
        {phase.kind === 'processing' && <p>Uploaded. Reading the file and {dryRun ? 'checking' : 'importing'} it; a large school can take a minute…</p>}
      </div>
      {phase.kind === 'processing' && runProgress && <RunProgressBar progress={runProgress} id="upload-progress" />}
      {busy && !(phase.kind === 'processing' && runProgress) && (
        <div className="upload-progress">
          <label className="field__label" htmlFor="upload-progress">
            {phase.kind === 'uploading' ? 'Upload progress' : 'Import in progress'}
          </label>
          {phase.kind === 'uploading' ? (
            <progress id="upload-progress" max={100} value={percent}>
              {percent}%
            </progress>
          ) : (
            <progress id="upload-progress">Working…</progress>
          )}
          {phase.kind === 'uploading' && <span className="upload-progress__value"> {percent}%</span>}
        </div>
      )}

      {phase.kind === 'failed' && phase.fileProblems.length > 0 && (
        <section id={FILE_PROBLEMS_ID} tabIndex={-1} aria-labelledby="file-problems-title" className="panel panel--error">
          <h2 id="file-problems-title">Problems in the file ({phase.fileProblems.length})</h2>
          <p>Correct these in your MIS or the file, and upload it again. Nothing from it was imported.</p>
          <ul className="problem-list">
            {phase.fileProblems.map((problem, index) => (
              <li key={index}>
                <span className="problem-list__location">{problem.location}</span>
                <span className="problem-list__message">{problem.message}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {phase.kind === 'done' && <ImportResult summary={phase.summary} headingRef={resultHeading} />}
    </>
  );
}


function ImportResult({ summary, headingRef }: { summary: RunSummary; headingRef: RefObject<HTMLHeadingElement | null> }) {
  return (
    <section aria-labelledby="result-title" className="panel panel--success">
      <h2 id="result-title" tabIndex={-1} ref={headingRef}>
        {summary.dryRun ? 'Check finished: nothing was saved' : 'Import finished'}
      </h2>
      <p>{summaryText(summary)}</p>
      <CountsTable counts={summary} caption={summary.dryRun ? 'What importing this file would change' : 'What the import changed'} />
      {summary.warnings.length === 0 && <p>No warnings.</p>}
      <ProblemList problems={summary.warnings} title="Warnings" tone="warning" level={3} />
      <ProblemList problems={summary.errors} title="Errors" tone="error" level={3} />
      {summary.runId && (
        <p>
          <Link href={`/sync/runs/${summary.runId}`}>{summary.dryRun ? 'See this check in the import history' : 'See this import and every record it changed'}</Link>
        </p>
      )}
    </section>
  );
}
