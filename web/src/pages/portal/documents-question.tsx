import { useRef, useState } from 'react';
import { ApiError, capitalise, describeProblem, uploadFile } from '../../api/client.ts';
import { documentContentUrl, type PortalDocument, type PortalQuestion, type PortalUploaded } from '../../api/portal.ts';
import { FieldErrors } from '../../components/forms.tsx';

type Phase = { kind: 'idle' } | { kind: 'uploading'; name: string; percent: number } | { kind: 'checking'; name: string };

/** Why an upload was refused, in words about the file. */
function uploadMessage(error: unknown, name: string): string {
  if (error instanceof ApiError && error.errors.length > 0) {
    return error.errors.map((e) => (['file', 'filename', 'contentType'].includes(e.field) ? capitalise(`“${name}” was not uploaded: the file ${e.reason}`) : capitalise(`${e.field} ${e.reason}`))).join('. ');
  }
  return `“${name}” was not uploaded. ${describeProblem(error)}`;
}

/**
 * A documents question: what is attached (each can be taken off again), a file to upload and
 * attach, or one of the client's documents already uploaded. The upload goes through the ordinary
 * upload into the client's area (checked and scanned there); the answer is the documents' ids.
 */
export function DocumentsQuestion({
  question: q,
  label,
  errors,
  attached,
  onChange,
  clientId,
  titles,
  clientDocuments,
  attachedElsewhere,
  onUploaded,
}: {
  question: PortalQuestion;
  label: string;
  errors: string[];
  attached: string[];
  onChange: (ids: string[]) => void;
  clientId: string;
  titles: Map<string, string>;
  clientDocuments: PortalDocument[];
  attachedElsewhere: Set<string>;
  onUploaded: (document: PortalDocument) => void;
}) {
  const base = `question-${q.id}`;
  const fileId = `${base}-file`;
  const [file, setFile] = useState<File | null>(null);
  const [fileKey, setFileKey] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [uploadError, setUploadError] = useState('');
  const [done, setDone] = useState('');
  const [existing, setExisting] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  const count = useRef<HTMLParagraphElement>(null);
  const titleOf = (id: string) => titles.get(id) ?? clientDocuments.find((d) => d.id === id)?.title ?? 'A document';
  const offered = clientDocuments.filter((d) => !attached.includes(d.id) && !attachedElsewhere.has(d.id));
  const allErrors = [...errors, ...(uploadError ? [uploadError] : [])];
  const describedBy = [q.help ? `${base}-hint` : '', `${base}-attached`, allErrors.length ? `${base}-error` : ''].filter(Boolean).join(' ');

  async function upload() {
    if (phase.kind !== 'idle') return;
    setDone('');
    if (!file) {
      setUploadError('Choose a file to upload first');
      fileInput.current?.focus();
      return;
    }
    setUploadError('');
    setPhase({ kind: 'uploading', name: file.name, percent: 0 });
    try {
      const result = await uploadFile<PortalUploaded>(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/documents?${new URLSearchParams({ filename: file.name }).toString()}`, file, {
        contentType: file.type || undefined,
        onProgress: (sent, total) => setPhase(sent >= total ? { kind: 'checking', name: file.name } : { kind: 'uploading', name: file.name, percent: Math.floor((sent / total) * 100) }),
      });
      onUploaded(result.document);
      onChange([...attached, result.document.id]);
      setDone(`“${result.document.title}” is uploaded and attached. Send or save your answers to keep it with them.`);
      setFile(null);
      setFileKey((k) => k + 1);
    } catch (error) {
      setUploadError(uploadMessage(error, file.name));
    } finally {
      setPhase({ kind: 'idle' });
    }
  }

  return (
    <fieldset className={`fieldset documents-question${allErrors.length ? ' field--error' : ''}`} aria-describedby={describedBy}>
      <legend className="fieldset__legend">{label}</legend>
      {q.help && (
        <p className="field__hint" id={`${base}-hint`}>
          {q.help}
        </p>
      )}
      <FieldErrors id={`${base}-error`} messages={allErrors} />
      <p id={`${base}-attached`} className="documents-question__count" tabIndex={-1} ref={count}>
        {attached.length === 0 ? 'Nothing attached yet.' : `Attached: ${attached.length === 1 ? 'one document' : `${attached.length} documents`}.`}
      </p>
      {attached.length > 0 && (
        <ul className="attached-list">
          {attached.map((id) => (
            <li key={id} className="attached-list__item">
              <a href={documentContentUrl(id)} download className="attached-list__name">
                {titleOf(id)}
              </a>
              <button
                className="button button--small button--secondary"
                type="button"
                onClick={() => {
                  onChange(attached.filter((a) => a !== id));
                  setDone(`“${titleOf(id)}” is taken off this answer; it stays in your documents.`);
                  // The button goes with the document: focus stays with the list instead of being lost.
                  count.current?.focus();
                }}
              >
                Remove<span className="visually-hidden"> {titleOf(id)} from this answer</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="field">
        <label className="field__label" htmlFor={fileId}>
          Upload a file
        </label>
        <p className="field__hint" id={`${fileId}-hint`}>
          PDF, a photo or a scan, Word or Excel; at most 256 MB.
        </p>
        <input
          key={fileKey}
          ref={fileInput}
          id={fileId}
          className="input input--file"
          type="file"
          onChange={(event) => {
            setFile(event.target.files?.[0] ?? null);
            setUploadError('');
          }}
          aria-describedby={[`${fileId}-hint`, allErrors.length ? `${base}-error` : ''].filter(Boolean).join(' ')}
          aria-invalid={allErrors.length ? true : undefined}
        />
      </div>
      <div className="status-region" role="status">
        {phase.kind === 'uploading' && <p>Uploading “{phase.name}”… {phase.percent}%</p>}
        {phase.kind === 'checking' && <p>Uploaded. Checking “{phase.name}”…</p>}
        {phase.kind === 'idle' && done && <p className="notice notice--success">{done}</p>}
      </div>
      <div className="button-row">
        <button className="button button--secondary" type="button" onClick={() => void upload()} aria-disabled={phase.kind !== 'idle' ? true : undefined}>
          Upload and attach<span className="visually-hidden"> to “{q.text}”</span>
        </button>
      </div>
      {offered.length > 0 && (
        <div className="inline-form attach-existing">
          <div className="field">
            <label className="field__label" htmlFor={`${base}-existing`}>
              Or attach one of your documents
            </label>
            <select id={`${base}-existing`} className="select" value={existing} onChange={(event) => setExisting(event.target.value)}>
              <option value="">Choose a document</option>
              {offered.map((document) => (
                <option key={document.id} value={document.id}>
                  {document.title}
                </option>
              ))}
            </select>
          </div>
          <button
            className="button button--small button--secondary"
            type="button"
            onClick={() => {
              if (!existing) {
                setUploadError('Choose which of your documents to attach');
                return;
              }
              setUploadError('');
              onChange([...attached, existing]);
              setDone(`“${titleOf(existing)}” is attached.`);
              setExisting('');
            }}
          >
            Attach<span className="visually-hidden"> the chosen document to “{q.text}”</span>
          </button>
        </div>
      )}
    </fieldset>
  );
}
