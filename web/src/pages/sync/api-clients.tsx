import { useRef, useState, type FormEvent } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { SharingOverview, SyncApiClient, SyncApiClientCreated } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { scopeLabel } from './format.ts';
import { ConfirmRemoval, OneTimeSecret } from './integration-parts.tsx';
import { Stamp, SyncNav } from './parts.tsx';

type Outcome = { ok: boolean; message: string };

/** A path on this server as the address an outside app calls. */
const onThisServer = (path: string) => new URL(path, window.location.origin).toString();

/** /sync/api-clients — apps that read school data through the OneRoster 1.2 API (sync.sharing). */
export function SyncApiClients() {
  usePageTitle('API clients – Custos');
  const [list, reload] = useApi<{ apiClients: SyncApiClient[] }>('/api/v1/sync/api-clients');
  const [sharing, reloadSharing] = useApi<SharingOverview>('/api/v1/sync/sharing');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [created, setCreated] = useState<SyncApiClientCreated | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);
  const clients = list.state === 'loaded' ? list.data.apiClients : undefined;
  const grants = sharing.state === 'loaded' ? sharing.data.grants : [];

  async function revoke(client: SyncApiClient) {
    try {
      await api.delete(`/api/v1/sync/api-clients/${client.id}`);
      setOutcome({ ok: true, message: `${client.name} is revoked: its tokens no longer work and it may read nothing.` });
      reload();
      reloadSharing();
      listHeading.current?.focus();
    } catch (error) {
      setOutcome({ ok: false, message: `${client.name}: could not revoke it. ${describeProblem(error)}` });
    }
  }

  return (
    <>
      <SyncNav />
      <h1 id="page-title">API clients</h1>
      <p className="narrow">
        An API client is an outside app (a timetabler, a reading scheme, a parents’ app) that reads school data from Custos
        through the standard OneRoster 1.2 API. Registering it gives it a client ID and secret; it reads nothing until you grant it
        access on the <Link href="/sync/sharing">Sharing</Link> page, and then only what you tick.
      </p>
      <div role="status" className="status-region">
        {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
      </div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      {created && (
        <OneTimeSecret
          title={`${created.name} is registered: copy its credentials now`}
          fields={[
            { id: 'client-id-value', label: 'Client ID', value: created.clientId },
            { id: 'client-secret-value', label: 'Client secret', value: created.clientSecret },
            { id: 'client-token-url', label: 'Token URL', value: onThisServer(created.tokenUrl), hint: 'OAuth 2 client credentials: the app swaps its ID and secret here for an access token.' },
            { id: 'client-base-url', label: 'OneRoster base URL', value: onThisServer(created.baseUrl), hint: 'The rostering API the app reads, with that token.' },
          ]}
          onDone={() => {
            setCreated(null);
            listHeading.current?.focus();
          }}
        >
          <p>
            Give these to the app’s supplier. It can read nothing yet:{' '}
            <Link href="/sync/sharing">grant it access on the Sharing page</Link> (choose “An API client” and enter its client ID).
          </p>
        </OneTimeSecret>
      )}
      <LoadState value={list} what="the API clients" />
      {clients && (
        <section aria-labelledby="clients-title">
          <h2 id="clients-title" tabIndex={-1} ref={listHeading}>
            Registered apps ({clients.length})
          </h2>
          {clients.length === 0 ? (
            <p>No apps are registered: nothing reads school data through the OneRoster API.</p>
          ) : (
            <ul className="plain-list">
              {clients.map((client) => {
                const grant = grants.find((g) => g.granteeKind === 'api_client' && g.grantee === client.clientId);
                return (
                  <li className="panel" key={client.id}>
                    <h3>{client.name}</h3>
                    <dl className="summary-list summary-list--compact">
                      <div>
                        <dt>Client ID</dt>
                        <dd>
                          <code>{client.clientId}</code>
                        </dd>
                      </div>
                      <div>
                        <dt>Registered</dt>
                        <dd>
                          <Stamp iso={client.createdAt} />
                        </dd>
                      </div>
                      <div>
                        <dt>May read</dt>
                        <dd>
                          {grant ? (
                            <ul className="plain-list">
                              {grant.scopes.map((scope) => (
                                <li key={scope}>{scopeLabel(scope)}</li>
                              ))}
                            </ul>
                          ) : sharing.state === 'loaded' ? (
                            <>
                              Nothing yet. <Link href="/sync/sharing">Grant it access</Link>
                              <span className="visually-hidden"> ({client.name})</span> on the Sharing page.
                            </>
                          ) : (
                            <span className="muted">Not known</span>
                          )}
                        </dd>
                      </div>
                    </dl>
                    <div className="button-row">
                      <ConfirmRemoval
                        action="Revoke"
                        what={client.name}
                        question={`Revoke ${client.name}? Its tokens stop working at once, its sharing grant is revoked, and it cannot be used again.`}
                        onConfirm={() => revoke(client)}
                      />
                    </div>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      )}
      {clients && (
        <ApiClientForm
          onCreated={(client) => {
            setOutcome(null);
            setCreated(client);
            reload();
          }}
        />
      )}
    </>
  );
}

const FIELDS: FieldNames = { name: { id: 'client-name', label: 'Name' } };

function ApiClientForm({ onCreated }: { onCreated: (client: SyncApiClientCreated) => void }) {
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setProblems([{ fieldId: FIELDS.name!.id, message: 'Enter the name of the app' }]);
      return;
    }
    setBusy(true);
    try {
      const client = await api.post<SyncApiClientCreated>('/api/v1/sync/api-clients', { name: name.trim() });
      setProblems([]);
      setName('');
      onCreated(client);
    } catch (error) {
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="new-client-title">
      <h2 id="new-client-title">Register an app</h2>
      <ErrorSummary problems={problems} />
      <TextField
        id="client-name"
        label="Name"
        hint="What the app is called, so you know it later: for example “Timetabler Pro”."
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        errors={messagesFor(problems, FIELDS.name!.id)}
        required
      />
      <button className="button" type="submit" disabled={busy}>
        Register the app
      </button>
    </form>
  );
}
