import { useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { ApiError, capitalise, describeProblem, uploadFile } from '../../api/client.ts';
import type { VerificationAnswer } from '../../api/portal.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { queryParam, useLocation } from '../../router.ts';
import { usePageTitle } from '../../use-page-title.ts';
import { describedBy, Stamp } from './parts.tsx';

const FIELDS = {
  documentId: { id: 'verify-document-id', label: 'Document id' },
  file: { id: 'verify-file', label: 'Signed file' },
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Result = { answer: VerificationAnswer; filename: string };

function explain(error: unknown): FormProblem[] {
  if (error instanceof ApiError && error.errors.length > 0) {
    return error.errors.map((e) => {
      const field = e.field === 'documentId' ? FIELDS.documentId : e.field === 'file' ? FIELDS.file : undefined;
      return field ? { fieldId: field.id, message: `${field.label} ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) };
    });
  }
  if (error instanceof ApiError && error.status === 413) return [{ fieldId: FIELDS.file.id, message: 'The file is larger than any signed document (at most 32 MB)' }];
  return [{ message: describeProblem(error) }];
}

/**
 * /verify — public: anyone holding a signed copy checks it is byte for byte what was signed. The
 * file is hashed by the server as it arrives and not kept; only the practice and the time of
 * signing are told, and only for a match.
 */
export function VerifyDocument() {
  usePageTitle('Check a signed document – Custos');
  const { search } = useLocation();
  const [documentId, setDocumentId] = useState(() => queryParam(search, 'documentId') ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const resultHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (result) resultHeading.current?.focus();
  }, [result]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const id = documentId.trim();
    const found: FormProblem[] = [];
    if (!id) found.push({ fieldId: FIELDS.documentId.id, message: 'Enter the document id from the audit certificate' });
    else if (!UUID.test(id)) found.push({ fieldId: FIELDS.documentId.id, message: 'Enter the document id exactly as the audit certificate shows it: 36 letters, digits and dashes' });
    if (!file) found.push({ fieldId: FIELDS.file.id, message: 'Choose the signed file to check' });
    if (found.length > 0 || !file) {
      setResult(null);
      setProblems(found);
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      const answer = await uploadFile<VerificationAnswer>(`/api/public/verify?${new URLSearchParams({ documentId: id }).toString()}`, file);
      setProblems([]);
      setResult({ answer, filename: file.name });
    } catch (error) {
      setProblems(explain(error));
    } finally {
      setBusy(false);
    }
  }

  const fileErrors = messagesFor(problems, FIELDS.file.id);
  return (
    <div className="portal-client-view">
      <h1 id="page-title">Check a signed document</h1>
      <p className="narrow">
        If you were given a document signed through Custos, you can check here that it is exactly the document that was signed:
        not a byte changed since. You need the file and the document id printed on its audit certificate. The file is not kept.
      </p>
      <form className="form" onSubmit={submit} noValidate aria-labelledby="page-title">
        <ErrorSummary problems={problems} title="The document could not be checked" />
        <TextField
          id={FIELDS.documentId.id}
          label="Document id"
          hint="On the audit certificate, for example 1b4e28ba-2fa1-11d2-883f-0016d3cca427."
          autoComplete="off"
          spellCheck={false}
          className="input--id"
          value={documentId}
          onChange={(event) => setDocumentId(event.target.value)}
          errors={messagesFor(problems, FIELDS.documentId.id)}
          required
        />
        <div className={`field${fileErrors.length ? ' field--error' : ''}`}>
          <label className="field__label" htmlFor={FIELDS.file.id}>
            Signed file
          </label>
          <p className="field__hint" id={`${FIELDS.file.id}-hint`}>
            The PDF exactly as you received it.
          </p>
          <FieldErrors id={`${FIELDS.file.id}-error`} messages={fileErrors} />
          <input
            id={FIELDS.file.id}
            name={FIELDS.file.id}
            className="input input--file"
            type="file"
            accept=".pdf,application/pdf"
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            aria-describedby={describedBy(FIELDS.file.id, true, fileErrors)}
            aria-invalid={fileErrors.length ? true : undefined}
          />
        </div>
        <button className="button" type="submit" disabled={busy}>
          Check the document
        </button>
      </form>
      <div role="status" className="status-region">
        {busy && <p>Checking…</p>}
      </div>
      {result && <VerificationResult result={result} headingRef={resultHeading} />}
    </div>
  );
}

function VerificationResult({ result, headingRef }: { result: Result; headingRef: RefObject<HTMLHeadingElement | null> }) {
  const { answer, filename } = result;
  if (!answer.matches) {
    return (
      <section className="panel panel--error" aria-labelledby="verify-result-title">
        <h2 id="verify-result-title" tabIndex={-1} ref={headingRef}>
          No match: this is not the signed document
        </h2>
        <p>
          {filename} is not the document signed under that id. It may have been changed since it was signed, or the id may be
          wrong. Do not rely on it; ask whoever sent it for the original.
        </p>
        <p className="portal-code">SHA-256 of the file: {answer.sha256}</p>
      </section>
    );
  }
  return (
    <section className="panel panel--success" aria-labelledby="verify-result-title">
      <h2 id="verify-result-title" tabIndex={-1} ref={headingRef}>
        It matches: this is the signed document
      </h2>
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>Signed through</dt>
          <dd>{answer.practiceName}</dd>
        </div>
        <div>
          <dt>Signed</dt>
          <dd>{answer.signedAt ? <Stamp iso={answer.signedAt} /> : 'Not recorded'}</dd>
        </div>
        <div>
          <dt>File checked</dt>
          <dd>{filename}</dd>
        </div>
      </dl>
      <p className="portal-code">SHA-256 of the file: {answer.sha256}</p>
    </section>
  );
}
