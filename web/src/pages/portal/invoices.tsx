import { useState } from 'react';
import { invoicesExportUrl, type InvoiceStatus, type PortalClientPage, type PortalInvoicePage, type PortalInvoiceSummary } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash, queryParam, useLocation } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { calendarDate, plural } from '../sync/format.ts';
import { formatPence, invoiceStatusLabel, invoiceStatusTone } from './money.ts';
import { isPracticeSide, PortalNav } from './parts.tsx';

type Filter = '' | 'outstanding' | 'overdue' | 'paid' | 'void';
const FILTERS: { value: Filter; label: string }[] = [
  { value: '', label: 'Every invoice' },
  { value: 'outstanding', label: 'Outstanding' },
  { value: 'overdue', label: 'Overdue' },
  { value: 'paid', label: 'Paid' },
  { value: 'void', label: 'Void' },
];

function filterQuery(filter: Filter, clientId: string): { status?: InvoiceStatus; overdue?: boolean; clientId?: string } {
  return { ...(filter === 'overdue' ? { overdue: true } : filter ? { status: filter } : {}), ...(clientId ? { clientId } : {}) };
}

/** An invoice's state in words (never colour alone). */
export function InvoiceStatusTag({ invoice }: { invoice: Pick<PortalInvoiceSummary, 'status' | 'overdue'> }) {
  return <span className={`tag tag--${invoiceStatusTone(invoice)}`}>{invoiceStatusLabel(invoice)}</span>;
}

/** /portal/invoices — the practice's invoices (raise, filter, export), or a client user's own invoices to pay. */
export function PortalInvoices() {
  const session = useSignedIn();
  return isPracticeSide(session) ? <PracticeInvoices /> : <ClientInvoices />;
}

function PracticeInvoices() {
  usePageTitle('Invoices – Custos');
  const session = useSignedIn();
  const { search } = useLocation();
  const clientFilter = queryParam(search, 'clientId') ?? '';
  const [flash] = useState(currentFlash);
  const [filter, setFilter] = useState<Filter>('');
  const filters = filterQuery(filter, clientFilter);
  const query = new URLSearchParams({ limit: '200' });
  if (filters.status) query.set('status', filters.status);
  if (filters.overdue !== undefined) query.set('overdue', String(filters.overdue));
  if (filters.clientId) query.set('clientId', filters.clientId);
  const [invoices] = useApi<PortalInvoicePage>(`/api/v1/portal/invoices?${query.toString()}`);
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const names = new Map(clients.state === 'loaded' ? clients.data.items.map((c) => [c.id, c.name]) : []);
  const page = invoices.state === 'loaded' ? invoices.data : undefined;
  const manage = can(session, 'portal.invoices.manage');
  const filteredClient = clientFilter ? names.get(clientFilter) : undefined;
  const heading = `${filter ? FILTERS.find((f) => f.value === filter)!.label : 'All'} invoices${filteredClient ? ` of ${filteredClient}` : ''}`;

  return (
    <>
      <PortalNav />
      <h1 id="page-title">Invoices</h1>
      {flash && <Notice>{flash}</Notice>}
      <p className="narrow">Invoices to your clients, with VAT worked out line by line. Clients see their invoices in their portal and can pay them online by card.</p>
      {manage && (
        <div className="button-row">
          <Link className="button" href={`/portal/invoices/new${clientFilter ? `?clientId=${encodeURIComponent(clientFilter)}` : ''}`}>
            Raise an invoice
          </Link>
        </div>
      )}
      <h2 id="invoices-title">{heading}</h2>
      {filteredClient && (
        <p>
          <Link href="/portal/invoices">Show every client’s invoices</Link>
        </p>
      )}
      <div className="filters">
        <div className="field">
          <label className="field__label" htmlFor="invoice-filter">
            Show
          </label>
          <select id="invoice-filter" className="select" value={filter} onChange={(event) => setFilter(event.target.value as Filter)}>
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p role="status" className="status-region">
        {page ? (page.total === 0 ? 'No invoices.' : `${plural(page.total, 'invoice')}${page.items.length < page.total ? `; the newest ${page.items.length} are shown` : ''}.`) : ''}
      </p>
      {manage && (
        <p>
          <a href={invoicesExportUrl(filters)} download>
            Download {filter || clientFilter ? 'these invoices' : 'every invoice'} as a spreadsheet (Excel, .xlsx)
          </a>
        </p>
      )}
      <LoadState value={invoices} what="the invoices" />
      {page && page.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{heading}</caption>
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Client</th>
              <th scope="col">Issued</th>
              <th scope="col">Due</th>
              <th scope="col" className="numeric">
                Total
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((invoice) => (
              <tr key={invoice.id}>
                <td>
                  <Link href={`/portal/invoices/${invoice.id}`}>{invoice.number}</Link>
                </td>
                <td>{names.get(invoice.clientId) ?? <span className="muted">Unknown client</span>}</td>
                <td>{calendarDate(invoice.issuedOn)}</td>
                <td>{calendarDate(invoice.dueOn)}</td>
                <td className="numeric">{formatPence(invoice.grossPence)}</td>
                <td>
                  <InvoiceStatusTag invoice={invoice} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function InvoiceCard({ invoice, clientName }: { invoice: PortalInvoiceSummary; clientName?: string }) {
  return (
    <li className="request-card">
      <h3 className="request-card__title">
        <Link href={`/portal/invoices/${invoice.id}`}>Invoice {invoice.number}</Link>
      </h3>
      <p className="request-card__meta">
        <InvoiceStatusTag invoice={invoice} /> {formatPence(invoice.grossPence)}
        {clientName ? ` for ${clientName}` : ''}.
      </p>
      <p className="request-card__meta">
        Issued {calendarDate(invoice.issuedOn)}
        {invoice.status === 'outstanding' ? `; due ${calendarDate(invoice.dueOn)}` : ''}.
      </p>
    </li>
  );
}

function ClientInvoices() {
  usePageTitle('Your invoices – Custos');
  const session = useSignedIn();
  const [invoices] = useApi<PortalInvoicePage>('/api/v1/portal/invoices?limit=200');
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const names = new Map(clients.state === 'loaded' ? clients.data.items.map((c) => [c.id, c.name]) : []);
  const list = invoices.state === 'loaded' ? invoices.data.items : [];
  const toPay = list.filter((i) => i.status === 'outstanding');
  const others = list.filter((i) => i.status !== 'outstanding');
  const clientName = (invoice: PortalInvoiceSummary) => (names.size > 1 ? names.get(invoice.clientId) : undefined);

  return (
    <div className="portal-client-view">
      <p className="back-link">
        <Link href="/portal">Back to your portal</Link>
      </p>
      <h1 id="page-title">Your invoices</h1>
      <p>Invoices from {session.organisation.name}. Open one to see what it is for, pay it online, or get the receipt.</p>
      <LoadState value={invoices} what="your invoices" />
      {invoices.state === 'loaded' && (
        <>
          <section aria-labelledby="invoices-to-pay-title">
            <h2 id="invoices-to-pay-title">To pay ({toPay.length})</h2>
            {toPay.length === 0 ? (
              <p>Nothing to pay.</p>
            ) : (
              <ul className="request-list">
                {toPay.map((invoice) => (
                  <InvoiceCard key={invoice.id} invoice={invoice} clientName={clientName(invoice)} />
                ))}
              </ul>
            )}
          </section>
          {others.length > 0 && (
            <section aria-labelledby="invoices-done-title">
              <h2 id="invoices-done-title">Paid or cancelled</h2>
              <ul className="request-list">
                {others.map((invoice) => (
                  <InvoiceCard key={invoice.id} invoice={invoice} clientName={clientName(invoice)} />
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </div>
  );
}

/** For a client user's portal page: invoices waiting to be paid, with a way to all of them. */
export function InvoicesForYou() {
  const [invoices] = useApi<PortalInvoicePage>('/api/v1/portal/invoices?status=outstanding&limit=50');
  const list = invoices.state === 'loaded' ? invoices.data.items : [];
  return (
    <section aria-labelledby="invoices-for-you-title">
      <h2 id="invoices-for-you-title">Invoices to pay{invoices.state === 'loaded' ? ` (${list.length})` : ''}</h2>
      <LoadState value={invoices} what="your invoices" />
      {invoices.state === 'loaded' && list.length === 0 && <p>Nothing to pay.</p>}
      {list.length > 0 && (
        <ul className="request-list">
          {list.map((invoice) => (
            <InvoiceCard key={invoice.id} invoice={invoice} />
          ))}
        </ul>
      )}
      <p>
        <Link href="/portal/invoices">All your invoices and receipts</Link>
      </p>
    </section>
  );
}
