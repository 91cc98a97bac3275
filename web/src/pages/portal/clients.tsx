import { useState } from 'react';
import type { PortalClientPage } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { navigate } from '../../router.ts';
import { usePageTitle } from '../../use-page-title.ts';
import { plural } from '../sync/format.ts';
import { SearchBox } from '../sync/parts.tsx';
import { ClientForm } from './client-form.tsx';
import { CLIENT_KIND_LABELS } from './format.ts';
import { PortalNav, useReturnFocus } from './parts.tsx';

const PAGE_SIZE = 50;

/** /portal/clients — the practice's clients by name: find one, open it, or add one (portal.clients.manage). */
export function PortalClients() {
  usePageTitle('Clients – Custos');
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [limit, setLimit] = useState(PAGE_SIZE);
  const [adding, setAdding] = useState(false);
  const addButton = useReturnFocus(adding);
  const query = new URLSearchParams({ limit: String(limit) });
  if (search) query.set('search', search);
  const [clients] = useApi<PortalClientPage>(`/api/v1/portal/clients?${query.toString()}`);
  const page = clients.state === 'loaded' ? clients.data : undefined;
  const heading = search ? `Clients matching “${search}”` : 'All clients';

  return (
    <>
      <PortalNav />
      <h1 id="page-title">Clients</h1>
      <p className="narrow">
        Each client has their own area: documents, what was sent for approval or signature, and the people who can sign in for
        them. Open a client to upload documents or send them something.
      </p>
      {!adding && (
        <div className="button-row">
          <button ref={addButton} className="button" type="button" onClick={() => setAdding(true)}>
            Add a client
          </button>
        </div>
      )}
      {adding && (
        <ClientForm
          onSaved={(client) => navigate(`/portal/clients/${client.id}`, { flash: `${client.name} is added. Give them access, then upload their documents.` })}
          onCancel={() => setAdding(false)}
        />
      )}

      <SearchBox
        id="client-search"
        label="Search by name, reference or company number"
        hint="The whole name (capitals do not matter), or the exact reference or company number."
        value={typed}
        onChange={setTyped}
        onSubmit={() => {
          setSearch(typed.trim());
          setLimit(PAGE_SIZE);
        }}
        onClear={() => {
          setTyped('');
          setSearch('');
        }}
        canClear={Boolean(search)}
      />
      <h2 id="results-title">{heading}</h2>
      <p role="status" className="status-region">
        {page ? (page.total === 0 ? (search ? 'No clients match.' : 'No clients yet.') : `${plural(page.total, 'client')}${search ? ' found' : ''}.`) : ''}
      </p>
      <LoadState value={clients} what="the clients" />
      {page && page.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{heading}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Reference</th>
              <th scope="col">Company number</th>
              <th scope="col">Making Tax Digital</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((client) => (
              <tr key={client.id}>
                <td>
                  <Link href={`/portal/clients/${client.id}`}>{client.name}</Link>
                </td>
                <td>{CLIENT_KIND_LABELS[client.kind]}</td>
                <td>{client.reference ?? <span className="muted">None</span>}</td>
                <td>{client.companyNumber ?? <span className="muted">None</span>}</td>
                <td>{client.mtdItsa ? 'In scope' : <span className="muted">No</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && page.items.length < page.total && (
        <div className="button-row">
          <button className="button button--secondary" type="button" onClick={() => setLimit(Math.min(200, limit + PAGE_SIZE))} disabled={limit >= 200}>
            Show more clients
          </button>
        </div>
      )}
    </>
  );
}
