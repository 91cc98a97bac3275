import { useState, type FormEvent } from 'react';
import { api, ApiError, describeProblem } from '../../api/client.ts';
import type { PortalClient, PortalClientUser, PortalFlow, PortalFolder } from '../../api/portal.ts';
import { useApi, type Loadable } from '../../api/use-api.ts';
import { ErrorSummary, messagesFor, Notice, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash, navigate } from '../../router.ts';
import { usePageTitle } from '../../use-page-title.ts';
import { ClientUsersSection } from './client-users.tsx';
import { DocumentsSection } from './documents.tsx';
import { CLIENT_KIND_LABELS } from './format.ts';
import { FlowsTable, PortalNav, Stamp, useReturnFocus } from './parts.tsx';
import { SendForm } from './send-form.tsx';

/**
 * /portal/clients/:id — one client: details, who can sign in for them, folders, documents, and
 * what was sent to them for approval or signature (portal.clients.manage).
 */
export function PortalClientPage({ id }: { id: string }) {
  const base = `/api/v1/portal/clients/${encodeURIComponent(id)}`;
  const [client] = useApi<PortalClient>(base);
  const [users, reloadUsers] = useApi<{ users: PortalClientUser[] }>(`${base}/users`);
  const [folders, reloadFolders] = useApi<{ folders: PortalFolder[] }>(`${base}/folders`);
  const [flash] = useState(currentFlash);
  const loaded = client.state === 'loaded' ? client.data : undefined;
  usePageTitle(loaded ? `${loaded.name} – Clients – Custos` : 'Client – Custos');

  return (
    <>
      <PortalNav />
      <p className="back-link">
        <Link href="/portal/clients">All clients</Link>
      </p>
      {!loaded && (
        <>
          <h1 id="page-title">Client</h1>
          <LoadState value={client} what="the client" />
        </>
      )}
      {loaded && (
        <>
          <h1 id="page-title">{loaded.name}</h1>
          {flash && <Notice>{flash}</Notice>}
          <ClientDetails client={loaded} />
          <ClientUsersSection clientId={loaded.id} clientName={loaded.name} users={users} onChange={reloadUsers} />
          <FoldersSection client={loaded} folders={folders} onAdded={reloadFolders} />
          <DocumentsSection clientId={loaded.id} clientName={loaded.name} canUpload folders={folders.state === 'loaded' ? folders.data.folders : []} />
          <ClientFlowsSection client={loaded} users={users.state === 'loaded' ? users.data.users : undefined} />
        </>
      )}
    </>
  );
}

function ClientDetails({ client }: { client: PortalClient }) {
  return (
    <dl className="summary-list summary-list--compact">
      <div>
        <dt>Kind</dt>
        <dd>{CLIENT_KIND_LABELS[client.kind]}</dd>
      </div>
      {client.kind === 'company' && (
        <div>
          <dt>Company number</dt>
          <dd>{client.companyNumber ?? <span className="muted">Not recorded</span>}</dd>
        </div>
      )}
      <div>
        <dt>Reference</dt>
        <dd>{client.reference ?? <span className="muted">None</span>}</dd>
      </div>
      <div>
        <dt>Email address</dt>
        <dd>{client.email ?? <span className="muted">Not recorded</span>}</dd>
      </div>
      {client.kind === 'individual' && (
        <div>
          <dt>Making Tax Digital for Income Tax</dt>
          <dd>{client.mtdItsa ? 'In scope' : 'Not in scope'}</dd>
        </div>
      )}
      <div>
        <dt>Added</dt>
        <dd>
          <Stamp iso={client.createdAt} />
        </dd>
      </div>
    </dl>
  );
}

function FoldersSection({ client, folders, onAdded }: { client: PortalClient; folders: Loadable<{ folders: PortalFolder[] }>; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const list = folders.state === 'loaded' ? folders.data.folders : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    if (!name.trim()) {
      setProblems([{ fieldId: 'folder-name', message: 'Enter a name for the folder' }]);
      return;
    }
    setBusy(true);
    try {
      const created = await api.post<PortalFolder>(`/api/v1/portal/clients/${encodeURIComponent(client.id)}/folders`, { name: name.trim() });
      setProblems([]);
      setName('');
      setDone(`The folder “${created.name}” is added.`);
      onAdded();
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'conflict') setProblems([{ fieldId: 'folder-name', message: `${describeProblem(error)}` }]);
      else setProblems(problemsFrom(error, { name: { id: 'folder-name', label: 'Folder name' } }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="folders-title">
      <h2 id="folders-title">Folders</h2>
      <div role="status" className="status-region">
        {done && <p className="notice notice--success">{done}</p>}
      </div>
      <LoadState value={folders} what="the folders" />
      {list && list.length === 0 && <p>No folders: every document is unfiled.</p>}
      {list && list.length > 0 && (
        <ul className="folder-list">
          {list.map((folder) => (
            <li key={folder.id}>{folder.name}</li>
          ))}
        </ul>
      )}
      <form className="form folder-form" onSubmit={submit} noValidate aria-label={`Add a folder for ${client.name}`}>
        <ErrorSummary problems={problems} />
        <TextField id="folder-name" label="New folder" autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} errors={messagesFor(problems, 'folder-name')} />
        <button className="button button--secondary" type="submit" disabled={busy}>
          Add the folder
        </button>
      </form>
    </section>
  );
}

function ClientFlowsSection({ client, users }: { client: PortalClient; users: PortalClientUser[] | undefined }) {
  const [flows] = useApi<{ flows: PortalFlow[] }>(`/api/v1/portal/flows?clientId=${encodeURIComponent(client.id)}&limit=100`);
  const [sending, setSending] = useState(false);
  const sendButton = useReturnFocus(sending);
  const list = flows.state === 'loaded' ? flows.data.flows : undefined;

  return (
    <section aria-labelledby="flows-title">
      <h2 id="flows-title">Approvals and signatures</h2>
      {!sending && users && users.length === 0 && (
        <p>To send documents for approval or signature, first give someone access to {client.name} (above).</p>
      )}
      {!sending && users && users.length > 0 && (
        <div className="button-row">
          <button ref={sendButton} className="button" type="button" onClick={() => setSending(true)}>
            Send for approval or signature
          </button>
        </div>
      )}
      {sending && users && (
        <SendForm
          clientId={client.id}
          clientName={client.name}
          users={users}
          onSent={(flow) => navigate(`/portal/flows/${flow.id}`, { flash: `“${flow.title}” is sent. They have been told by email.` })}
          onCancel={() => setSending(false)}
        />
      )}
      <LoadState value={flows} what="what was sent" />
      {list && list.length === 0 && <p>Nothing has been sent to {client.name} yet.</p>}
      {list && list.length > 0 && <FlowsTable flows={list} caption={`Sent to ${client.name}, newest first`} />}
    </section>
  );
}
