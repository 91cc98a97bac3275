import { useEffect, useRef, useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { PortalCheckout, PortalClient, PortalInvoice, PortalInvoiceReceipt, VatSummaryRow } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Notice } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { currentFlash, queryParam, useLocation } from '../../router.ts';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { calendarDate } from '../sync/format.ts';
import { ConfirmRemoval } from '../sync/integration-parts.tsx';
import { InvoiceStatusTag } from './invoices.tsx';
import { formatPence, VAT_RATE_LABELS } from './money.ts';
import { isPracticeSide, PortalNav, Stamp } from './parts.tsx';

/**
 * Sends the browser to the payment provider's page. Only a web address is followed (never a
 * `javascript:` one, whatever the answer said).
 */
export function goToCheckout(url: string): boolean {
  try {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return false;
    window.location.assign(target.toString());
    return true;
  } catch {
    return false;
  }
}

/**
 * /portal/invoices/:id — one invoice: its lines, the VAT summary and the totals. A client user pays
 * it online here (Stripe Checkout) and, once paid, reads the receipt; the practice may void it
 * while it is outstanding. Stripe sends the payer back here with ?payment=complete or cancelled.
 */
export function PortalInvoicePage({ id }: { id: string }) {
  const session = useSignedIn();
  const practice = isPracticeSide(session);
  const { search } = useLocation();
  const returned = queryParam(search, 'payment');
  const [loaded] = useApi<PortalInvoice>(`/api/v1/portal/invoices/${encodeURIComponent(id)}`);
  const [changed, setChanged] = useState<PortalInvoice | null>(null);
  const invoice = changed ?? (loaded.state === 'loaded' ? loaded.data : undefined);
  const [client] = useApi<PortalClient>(invoice ? `/api/v1/portal/clients/${encodeURIComponent(invoice.clientId)}` : null);
  const [receipt] = useApi<PortalInvoiceReceipt>(invoice?.status === 'paid' ? `/api/v1/portal/invoices/${encodeURIComponent(id)}/receipt` : null);
  const [flash] = useState(currentFlash);
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);
  const outcomeRef = useRef<HTMLDivElement>(null);
  usePageTitle(invoice ? `Invoice ${invoice.number} – Custos` : 'Invoice – Custos');
  useEffect(() => {
    if (outcome) outcomeRef.current?.focus();
  }, [outcome]);

  const clientName = client.state === 'loaded' ? client.data.name : undefined;
  const canPay = Boolean(invoice && invoice.status === 'outstanding' && !practice && can(session, 'portal.respond'));

  return (
    <div className={practice ? undefined : 'portal-client-view'}>
      <PortalNav />
      <p className="back-link">{practice ? <Link href="/portal/invoices">All invoices</Link> : <Link href="/portal/invoices">All your invoices</Link>}</p>
      {!invoice && (
        <>
          <h1 id="page-title">Invoice</h1>
          <LoadState value={loaded} what="the invoice" />
        </>
      )}
      {invoice && (
        <>
          <h1 id="page-title">Invoice {invoice.number}</h1>
          {flash && <Notice>{flash}</Notice>}
          {returned === 'complete' && invoice.status === 'outstanding' && (
            <Notice>Thank you. Your payment is being confirmed: this page shows the invoice as paid once the payment provider tells us, usually within a minute. Reload the page to check.</Notice>
          )}
          {returned === 'complete' && invoice.status === 'paid' && <Notice>Thank you: your payment is received. Your receipt is below.</Notice>}
          {returned === 'cancelled' && invoice.status === 'outstanding' && <Notice>You left the payment page before paying: nothing was taken. You can pay at any time.</Notice>}
          <div ref={outcomeRef} tabIndex={-1} className="portal-outcome">
            <div role="status" className="status-region">
              {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
            </div>
            <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
          </div>
          <InvoiceSummary invoice={invoice} clientName={clientName} />
          <p>
            <a href={`/api/v1/portal/invoices/${encodeURIComponent(invoice.id)}/pdf`} download>
              Download invoice {invoice.number} as a PDF{invoice.status === 'paid' ? ' (it is the receipt too)' : ''}
            </a>
          </p>
          {canPay && <PaySection invoice={invoice} />}
          {receipt.state === 'loaded' && <Receipt receipt={receipt.data} />}
          <InvoiceLines invoice={invoice} />
          <VatSummary rows={invoice.vatSummary} netPence={invoice.netPence} vatPence={invoice.vatPence} grossPence={invoice.grossPence} totalLabel={invoice.status === 'outstanding' ? 'Total to pay' : 'Total'} />
          {practice && can(session, 'portal.invoices.manage') && invoice.status === 'outstanding' && (
            <section aria-labelledby="void-title">
              <h2 id="void-title">Void</h2>
              <p>If it was raised by mistake, void it: it stays on record, cannot be paid, and is shown as void to the client.</p>
              <ConfirmRemoval
                action="Void"
                what={`invoice ${invoice.number}`}
                question={`Void invoice ${invoice.number}? It can no longer be paid.`}
                onConfirm={async () => {
                  try {
                    setChanged(await api.post<PortalInvoice>(`/api/v1/portal/invoices/${encodeURIComponent(invoice.id)}/void`));
                    setOutcome({ ok: true, message: `Invoice ${invoice.number} is void.` });
                  } catch (error) {
                    setOutcome({ ok: false, message: `Could not void it. ${describeProblem(error)}` });
                  }
                }}
              />
            </section>
          )}
        </>
      )}
    </div>
  );
}

function InvoiceSummary({ invoice, clientName }: { invoice: PortalInvoice; clientName?: string }) {
  return (
    <dl className="summary-list summary-list--compact invoice-summary">
      <div>
        <dt>Status</dt>
        <dd>
          <InvoiceStatusTag invoice={invoice} />
        </dd>
      </div>
      {clientName && (
        <div>
          <dt>Client</dt>
          <dd>{clientName}</dd>
        </div>
      )}
      <div>
        <dt>{invoice.status === 'outstanding' ? 'Total to pay' : 'Total'}</dt>
        <dd className="invoice-total">{formatPence(invoice.grossPence)}</dd>
      </div>
      <div>
        <dt>Issued</dt>
        <dd>{calendarDate(invoice.issuedOn)}</dd>
      </div>
      <div>
        <dt>Due</dt>
        <dd>{calendarDate(invoice.dueOn)}</dd>
      </div>
      {invoice.paidAt && (
        <div>
          <dt>Paid</dt>
          <dd>
            <Stamp iso={invoice.paidAt} />
          </dd>
        </div>
      )}
    </dl>
  );
}

/** Pay by card on Stripe's page: the browser goes there, and comes back to this page afterwards. */
function PaySection({ invoice }: { invoice: PortalInvoice }) {
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'starting' } | { kind: 'leaving' } | { kind: 'failed'; message: string }>({ kind: 'idle' });

  async function pay() {
    if (state.kind === 'starting' || state.kind === 'leaving') return;
    setState({ kind: 'starting' });
    try {
      const checkout = await api.post<PortalCheckout>(`/api/v1/portal/invoices/${encodeURIComponent(invoice.id)}/checkout`);
      if (goToCheckout(checkout.url)) setState({ kind: 'leaving' });
      else setState({ kind: 'failed', message: 'The payment page could not be opened. Try again, or ask the practice.' });
    } catch (error) {
      setState({ kind: 'failed', message: `The payment could not be started. ${describeProblem(error)}` });
    }
  }

  return (
    <section aria-labelledby="pay-title" className="panel pay-panel">
      <h2 id="pay-title">Pay online</h2>
      <p>You pay by card on Stripe’s secure payment page, then come back here. The practice is told as soon as the payment arrives.</p>
      <div role="status" className="status-region">
        {state.kind === 'starting' && <p>Opening the payment page…</p>}
        {state.kind === 'leaving' && <p>Taking you to the payment page…</p>}
      </div>
      <div role="alert">{state.kind === 'failed' && <p className="notice notice--error">{state.message}</p>}</div>
      <button className="button" type="button" onClick={() => void pay()} aria-disabled={state.kind === 'starting' || state.kind === 'leaving' ? true : undefined}>
        Pay {formatPence(invoice.grossPence)}
      </button>
    </section>
  );
}

function Receipt({ receipt }: { receipt: PortalInvoiceReceipt }) {
  return (
    <section aria-labelledby="receipt-title" className="panel receipt">
      <h2 id="receipt-title">Receipt</h2>
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>Received by</dt>
          <dd>{receipt.practiceName}</dd>
        </div>
        <div>
          <dt>For invoice</dt>
          <dd>{receipt.number}</dd>
        </div>
        <div>
          <dt>Amount paid</dt>
          <dd>
            {formatPence(receipt.grossPence)} (of which VAT {formatPence(receipt.vatPence)})
          </dd>
        </div>
        <div>
          <dt>Paid</dt>
          <dd>
            <Stamp iso={receipt.paidAt} />
          </dd>
        </div>
        {receipt.paymentReference && (
          <div>
            <dt>Payment reference</dt>
            <dd className="portal-code">{receipt.paymentReference}</dd>
          </div>
        )}
      </dl>
      <div className="button-row">
        <button className="button button--secondary" type="button" onClick={() => window.print()}>
          Print the receipt
        </button>
      </div>
    </section>
  );
}

function InvoiceLines({ invoice }: { invoice: PortalInvoice }) {
  return (
    <section aria-labelledby="lines-title">
      <h2 id="lines-title">What it is for</h2>
      {/* A wide table scrolls inside its own box on a phone, never the page. */}
      <div className="table-scroll" role="region" aria-labelledby="lines-caption" tabIndex={0}>
        <table className="table table--compact">
          <caption id="lines-caption" className="visually-hidden">
            Lines of invoice {invoice.number}
          </caption>
          <thead>
            <tr>
              <th scope="col">Description</th>
              <th scope="col" className="numeric">
                Quantity
              </th>
              <th scope="col" className="numeric">
                Unit price
              </th>
              <th scope="col">VAT rate</th>
              <th scope="col" className="numeric">
                Net
              </th>
              <th scope="col" className="numeric">
                VAT
              </th>
              <th scope="col" className="numeric">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {invoice.lines.map((line, i) => (
              <tr key={i}>
                <td className="invoice-line__description">{line.description}</td>
                <td className="numeric">{line.quantity.replace(/\.00$/, '')}</td>
                <td className="numeric">{formatPence(line.unitPricePence)}</td>
                <td>{VAT_RATE_LABELS[line.vatRate]}</td>
                <td className="numeric">{formatPence(line.netPence)}</td>
                <td className="numeric">{formatPence(line.vatPence)}</td>
                <td className="numeric">{formatPence(line.grossPence)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** One row per VAT rate used, then the invoice's totals: the figures a VAT return needs. */
export function VatSummary({ rows, netPence, vatPence, grossPence, live = false, totalLabel = 'Total to pay' }: { rows: VatSummaryRow[]; netPence: number; vatPence: number; grossPence: number; live?: boolean; totalLabel?: string }) {
  return (
    <section aria-labelledby="vat-title">
      <h2 id="vat-title">VAT summary</h2>
      <table className="table table--compact vat-summary">
        <caption className="visually-hidden">VAT by rate</caption>
        <thead>
          <tr>
            <th scope="col">Rate</th>
            <th scope="col" className="numeric">
              Net
            </th>
            <th scope="col" className="numeric">
              VAT
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">
                No lines yet
              </td>
            </tr>
          )}
          {rows.map((row) => (
            <tr key={row.vatRate}>
              <th scope="row">{VAT_RATE_LABELS[row.vatRate]}</th>
              <td className="numeric">{formatPence(row.netPence)}</td>
              <td className="numeric">{formatPence(row.vatPence)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="summary-list summary-list--compact invoice-totals" aria-live={live ? 'polite' : undefined} aria-atomic={live ? true : undefined}>
        <div>
          <dt>Net total</dt>
          <dd className="numeric">{formatPence(netPence)}</dd>
        </div>
        <div>
          <dt>VAT</dt>
          <dd className="numeric">{formatPence(vatPence)}</dd>
        </div>
        <div>
          <dt>{totalLabel}</dt>
          <dd className="numeric invoice-total">{formatPence(grossPence)}</dd>
        </div>
      </dl>
    </section>
  );
}
