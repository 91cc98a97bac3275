import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, capitalise, describeProblem, uploadFile } from '../../api/client.ts';
import { documentContentUrl, type PortalDocument, type PortalFolder, type PortalUploaded } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { describedBy, Stamp, useReturnFocus } from './parts.tsx';

/**
 * A client's documents: the list (download, preview, new version) and the upload form. The
 * practice and its client users see the same list; the database shows a client user only their
 * own clients' documents.
 */
export function DocumentsSection({
  clientId,
  clientName,
  canUpload,
  asClient = false,
  level = 2,
  folders: givenFolders,
}: {
  clientId: string;
  clientName: string;
  canUpload: boolean;
  /** Seen by one of the client's users: new versions only of what client users added (the server holds to it too). */
  asClient?: boolean;
  level?: 2 | 3;
  /** The client's folders, when the page holds them already (and adds to them); otherwise read here. */
  folders?: PortalFolder[];
}) {
  const [documents, reload] = useApi<{ documents: PortalDocument[] }>(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/documents`);
  const [folders] = useApi<{ folders: PortalFolder[] }>(givenFolders ? null : `/api/v1/portal/clients/${encodeURIComponent(clientId)}/folders`);
  const [uploading, setUploading] = useState(false);
  const [done, setDone] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const openButton = useReturnFocus(uploading);
  const titleId = useId();
  const Heading = level === 2 ? 'h2' : 'h3';
  const folderList = givenFolders ?? (folders.state === 'loaded' ? folders.data.folders : []);
  const folderName = (id: string | null) => (id ? folderList.find((f) => f.id === id)?.name : undefined);
  const list = documents.state === 'loaded' ? documents.data.documents : undefined;

  // After an upload, focus goes to the list's heading once the list holds the new document.
  const focusWhenLoaded = useRef(false);
  useEffect(() => {
    if (focusWhenLoaded.current && documents.state !== 'loading') {
      focusWhenLoaded.current = false;
      heading.current?.focus();
    }
  }, [documents]);

  function uploaded(message: string) {
    setDone(message);
    setUploading(false);
    focusWhenLoaded.current = true;
    reload();
  }

  return (
    <section aria-labelledby={titleId} className="portal-documents">
      <Heading id={titleId} tabIndex={-1} ref={heading}>
        Documents{level === 3 ? ` of ${clientName}` : ''}
        {list ? ` (${list.length})` : ''}
      </Heading>
      <div role="status" className="status-region">
        {done && <p className="notice notice--success">{done}</p>}
      </div>
      <LoadState value={documents} what="the documents" />
      {list && list.length === 0 && <p>No documents yet.</p>}
      {list && list.length > 0 && (
        <ul className="document-list">
          {list.map((document) => (
            <DocumentCard
              key={document.id}
              level={level === 2 ? 3 : 4}
              document={document}
              folder={folderName(document.folderId)}
              canUpload={canUpload && (!asClient || document.addedBy === 'client')}
              asClient={asClient}
              onUploaded={uploaded}
            />
          ))}
        </ul>
      )}
      {canUpload && !uploading && (
        <div className="button-row">
          <button
            ref={openButton}
            className="button"
            type="button"
            onClick={() => {
              setDone('');
              setUploading(true);
            }}
          >
            Upload a document<span className="visually-hidden"> for {clientName}</span>
          </button>
        </div>
      )}
      {canUpload && uploading && (
        <UploadForm
          clientId={clientId}
          clientName={clientName}
          folders={folderList}
          level={level === 2 ? 3 : 4}
          onUploaded={(result) => uploaded(`“${result.document.title}” is uploaded.`)}
          onCancel={() => setUploading(false)}
        />
      )}
    </section>
  );
}

function DocumentCard({
  document,
  folder,
  canUpload,
  asClient,
  level,
  onUploaded,
}: {
  document: PortalDocument;
  folder?: string;
  canUpload: boolean;
  asClient: boolean;
  level: 3 | 4;
  onUploaded: (message: string) => void;
}) {
  const [versioning, setVersioning] = useState(false);
  const versionButton = useReturnFocus(versioning);
  const Heading = level === 3 ? 'h3' : 'h4';
  return (
    <li className="document-card">
      <Heading className="document-card__title">{document.title}</Heading>
      <p className="document-card__meta">
        Version {document.latestVersion}
        {folder ? `, in ${folder}` : ''}, {document.addedBy === 'practice' ? (asClient ? 'from the practice' : 'added by the practice') : 'uploaded by the client'}, changed{' '}
        <Stamp iso={document.updatedAt} />
      </p>
      <div className="button-row document-card__actions">
        <a href={documentContentUrl(document.id)} download>
          Download<span className="visually-hidden"> {document.title}</span>
        </a>
        <a href={documentContentUrl(document.id, { inline: true })} target="_blank" rel="noopener noreferrer">
          Preview<span className="visually-hidden"> {document.title}</span> (opens in a new tab)
        </a>
        {canUpload && !versioning && (
          <button ref={versionButton} className="button button--small button--secondary" type="button" onClick={() => setVersioning(true)}>
            New version<span className="visually-hidden"> of {document.title}</span>
          </button>
        )}
      </div>
      {versioning && (
        <NewVersionForm
          document={document}
          onUploaded={(result) => {
            setVersioning(false);
            onUploaded(`Version ${result.version.version} of “${result.document.title}” is uploaded.`);
          }}
          onCancel={() => setVersioning(false)}
        />
      )}
    </li>
  );
}

type UploadPhase = { kind: 'idle' } | { kind: 'uploading'; sent: number; total: number } | { kind: 'checking' };

/** Uploads one file with progress; the answer or the refusal, explained field by field. */
function useUpload(fileFieldId: string) {
  const [phase, setPhase] = useState<UploadPhase>({ kind: 'idle' });
  const busy = phase.kind !== 'idle';
  async function send(url: string, file: File): Promise<{ ok: true; result: PortalUploaded } | { ok: false; problems: FormProblem[] }> {
    setPhase({ kind: 'uploading', sent: 0, total: file.size });
    try {
      const result = await uploadFile<PortalUploaded>(url, file, {
        // What the browser says the file is: the server checks the content against it.
        contentType: file.type || undefined,
        onProgress: (sent, total) => setPhase(sent >= total ? { kind: 'checking' } : { kind: 'uploading', sent, total }),
      });
      return { ok: true, result };
    } catch (error) {
      return { ok: false, problems: uploadProblems(error, fileFieldId) };
    } finally {
      setPhase({ kind: 'idle' });
    }
  }
  return { phase, busy, send };
}

/** A refused upload: what is wrong with the file is said beside the file field. */
function uploadProblems(error: unknown, fileFieldId: string): FormProblem[] {
  if (error instanceof ApiError && error.errors.length > 0) {
    return error.errors.map((e) =>
      ['file', 'filename', 'contentType'].includes(e.field) ? { fieldId: fileFieldId, message: capitalise(`the file ${e.reason}`) } : { message: capitalise(`${e.field} ${e.reason}`) },
    );
  }
  if (error instanceof ApiError && (error.status === 413 || error.status === 415)) return [{ fieldId: fileFieldId, message: describeProblem(error) }];
  return [{ message: describeProblem(error) }];
}

function UploadProgress({ phase, id }: { phase: UploadPhase; id: string }) {
  const percent = phase.kind === 'uploading' && phase.total > 0 ? Math.floor((phase.sent / phase.total) * 100) : 0;
  return (
    <>
      <div className="status-region" role="status">
        {phase.kind === 'uploading' && <p>Uploading…</p>}
        {phase.kind === 'checking' && <p>Uploaded. Checking the file…</p>}
      </div>
      {phase.kind !== 'idle' && (
        <div className="upload-progress">
          <label className="field__label" htmlFor={id}>
            Upload progress
          </label>
          {phase.kind === 'uploading' ? (
            <progress id={id} max={100} value={percent}>
              {percent}%
            </progress>
          ) : (
            <progress id={id}>Checking…</progress>
          )}
          {phase.kind === 'uploading' && <span className="upload-progress__value"> {percent}%</span>}
        </div>
      )}
    </>
  );
}

function FileField({ id, label, hint, errors, onFile }: { id: string; label: string; hint: string; errors: string[]; onFile: (file: File | null) => void }) {
  return (
    <div className={`field${errors.length ? ' field--error' : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <p className="field__hint" id={`${id}-hint`}>
        {hint}
      </p>
      <FieldErrors id={`${id}-error`} messages={errors} />
      <input
        id={id}
        name={id}
        className="input input--file"
        type="file"
        onChange={(event) => onFile(event.target.files?.[0] ?? null)}
        aria-describedby={describedBy(id, true, errors)}
        aria-invalid={errors.length ? true : undefined}
      />
    </div>
  );
}

const FILE_HINT = 'PDF, pictures, Word, Excel and OpenDocument files, CSV or text; at most 256 MB. Every file is checked before it is kept.';

function UploadForm({
  clientId,
  clientName,
  folders,
  level,
  onUploaded,
  onCancel,
}: {
  clientId: string;
  clientName: string;
  folders: PortalFolder[];
  level: 3 | 4;
  onUploaded: (result: PortalUploaded) => void;
  onCancel: () => void;
}) {
  const Heading = level === 3 ? 'h3' : 'h4';
  const base = `upload-${clientId.slice(0, 8)}`;
  const ids = { file: `${base}-file`, title: `${base}-title`, folder: `${base}-folder`, progress: `${base}-progress` };
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState('');
  const [folderId, setFolderId] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const upload = useUpload(ids.file);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (upload.busy) return;
    if (!file) {
      setProblems([{ fieldId: ids.file, message: 'Choose the file to upload' }]);
      return;
    }
    setProblems([]);
    const query = new URLSearchParams({ filename: file.name });
    if (title.trim()) query.set('title', title.trim());
    if (folderId) query.set('folderId', folderId);
    const outcome = await upload.send(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/documents?${query.toString()}`, file);
    if (outcome.ok) onUploaded(outcome.result);
    else setProblems(outcome.problems);
  }

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby={`${base}-heading`}>
      <Heading id={`${base}-heading`} tabIndex={-1} ref={headingRef}>
        Upload a document for {clientName}
      </Heading>
      <ErrorSummary problems={problems} title="The document was not uploaded" />
      <FileField id={ids.file} label="File" hint={FILE_HINT} errors={messagesFor(problems, ids.file)} onFile={setFile} />
      <TextField
        id={ids.title}
        label="Title (optional)"
        hint="What the client sees the document as. Left empty, the file’s name is used."
        autoComplete="off"
        value={title}
        onChange={(event) => setTitle(event.target.value)}
        errors={messagesFor(problems, ids.title)}
      />
      {folders.length > 0 && (
        <div className="field">
          <label className="field__label" htmlFor={ids.folder}>
            Folder
          </label>
          <select id={ids.folder} className="select" value={folderId} onChange={(event) => setFolderId(event.target.value)}>
            <option value="">No folder</option>
            {folders.map((folder) => (
              <option key={folder.id} value={folder.id}>
                {folder.name}
              </option>
            ))}
          </select>
        </div>
      )}
      <UploadProgress phase={upload.phase} id={ids.progress} />
      <div className="button-row">
        <button className="button" type="submit" aria-disabled={upload.busy ? true : undefined}>
          Upload
        </button>
        <button className="button button--secondary" type="button" onClick={onCancel} disabled={upload.busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function NewVersionForm({ document, onUploaded, onCancel }: { document: PortalDocument; onUploaded: (result: PortalUploaded) => void; onCancel: () => void }) {
  const base = `version-${document.id.slice(0, 8)}`;
  const fileId = `${base}-file`;
  const [file, setFile] = useState<File | null>(null);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const upload = useUpload(fileId);
  const fileRef = useRef<HTMLDivElement>(null);
  useEffect(() => fileRef.current?.querySelector('input')?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (upload.busy) return;
    if (!file) {
      setProblems([{ fieldId: fileId, message: 'Choose the file of the new version' }]);
      return;
    }
    setProblems([]);
    const query = new URLSearchParams({ filename: file.name });
    const outcome = await upload.send(`/api/v1/portal/documents/${encodeURIComponent(document.id)}/versions?${query.toString()}`, file);
    if (outcome.ok) onUploaded(outcome.result);
    else setProblems(outcome.problems);
  }

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Upload a new version of ${document.title}`}>
      <ErrorSummary problems={problems} title="The new version was not uploaded" />
      <div ref={fileRef}>
        <FileField
          id={fileId}
          label={`New version of ${document.title}`}
          hint={`It becomes version ${document.latestVersion + 1}; earlier versions are kept.`}
          errors={messagesFor(problems, fileId)}
          onFile={setFile}
        />
      </div>
      <UploadProgress phase={upload.phase} id={`${base}-progress`} />
      <div className="button-row">
        <button className="button button--small" type="submit" aria-disabled={upload.busy ? true : undefined}>
          Upload the new version
        </button>
        <button className="button button--small button--secondary" type="button" onClick={onCancel} disabled={upload.busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
