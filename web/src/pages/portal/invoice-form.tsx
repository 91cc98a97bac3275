import { useState, type FormEvent } from 'react';
import { api, ApiError, capitalise, describeProblem } from '../../api/client.ts';
import { VAT_RATES, type PortalClientPage, type PortalInvoice, type VatRate } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FieldNames, type FormProblem, messagesFor, TextField } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { navigate, queryParam, useLocation } from '../../router.ts';
import { usePageTitle } from '../../use-page-title.ts';
import { VatSummary } from './invoice.tsx';
import { formatPence, localDate, parsePounds, parseQuantity, priceDraftLine, summariseVat, VAT_RATE_LABELS, type PricedDraftLine } from './money.ts';
import { describedBy, PortalNav } from './parts.tsx';

type LineDraft = { key: number; description: string; quantity: string; unitPrice: string; vatRate: VatRate };
type LineField = 'description' | 'quantity' | 'unitPrice' | 'vatRate';

let nextKey = 1;
const blankLine = (): LineDraft => ({ key: nextKey++, description: '', quantity: '1', unitPrice: '', vatRate: 'standard' });
const lineId = (index: number, field: LineField) => `line-${index}-${field}`;
const LINE_LABELS: Record<LineField, string> = { description: 'the description', quantity: 'the quantity', unitPrice: 'the unit price', vatRate: 'the VAT rate' };
/** The API's names for a line's fields. */
const API_FIELDS: Record<string, LineField> = { description: 'description', quantity: 'quantity', unitPricePence: 'unitPrice', vatRate: 'vatRate' };

const FIELDS: FieldNames = {
  clientId: { id: 'invoice-client', label: 'Client' },
  number: { id: 'invoice-number', label: 'Invoice number' },
  issuedOn: { id: 'invoice-issued', label: 'Issue date' },
  dueOn: { id: 'invoice-due', label: 'Due date' },
};

/** The API's problems, each beside its field: `lines[1].vatRate` is line 2's VAT rate. */
function invoiceProblems(error: unknown): FormProblem[] {
  if (error instanceof ApiError && error.kind === 'conflict') return [{ fieldId: FIELDS.number!.id, message: capitalise(describeProblem(error)) }];
  if (!(error instanceof ApiError) || error.kind !== 'validation' || error.errors.length === 0) return [{ message: describeProblem(error) }];
  return error.errors.map((e) => {
    const line = /^lines\[(\d+)\]\.(\w+)$/.exec(e.field);
    const field = line ? API_FIELDS[line[2]!] : undefined;
    if (line && field) return { fieldId: lineId(Number(line[1]), field), message: `Line ${Number(line[1]) + 1}: ${LINE_LABELS[field]} ${e.reason}` };
    if (e.field === 'lines' || e.field.startsWith('lines[')) return { fieldId: lineId(0, 'description'), message: capitalise(`the lines ${e.reason}`) };
    const named = FIELDS[e.field];
    return named ? { fieldId: named.id, message: `${named.label} ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) };
  });
}

/**
 * /portal/invoices/new — raise an invoice: the client, the dates and the lines, each with its VAT
 * rate. The totals and the VAT summary follow as the lines are typed, worked out exactly as the
 * server will (portal.invoices.manage).
 */
export function PortalInvoiceNew() {
  usePageTitle('Raise an invoice – Custos');
  const { search } = useLocation();
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  const [clientId, setClientId] = useState(queryParam(search, 'clientId') ?? '');
  const [number, setNumber] = useState('');
  const [issuedOn, setIssuedOn] = useState(localDate());
  const [dueOn, setDueOn] = useState(localDate(30));
  const [lines, setLines] = useState<LineDraft[]>(() => [blankLine()]);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);
  const clientList = clients.state === 'loaded' ? clients.data.items : [];

  const priced = lines.map((line) => ({ line, priced: priceDraftLine(parseQuantity(line.quantity), parsePounds(line.unitPrice), line.vatRate) }));
  const complete = priced.filter((p): p is { line: LineDraft; priced: PricedDraftLine } => p.priced !== undefined);
  const vatRows = summariseVat(complete.map((p) => ({ rate: p.line.vatRate, priced: p.priced })));
  const net = complete.reduce((n, p) => n + p.priced.netPence, 0);
  const vat = complete.reduce((n, p) => n + p.priced.vatPence, 0);

  const change = (key: number, patch: Partial<LineDraft>) => setLines((all) => all.map((l) => (l.key === key ? { ...l, ...patch } : l)));
  const focusSoon = (id: string) => window.setTimeout(() => document.getElementById(id)?.focus(), 0);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (!clientId) found.push({ fieldId: FIELDS.clientId!.id, message: 'Choose the client to invoice' });
    if (!dueOn) found.push({ fieldId: FIELDS.dueOn!.id, message: 'Enter the date the invoice is due' });
    else if (issuedOn && dueOn < issuedOn) found.push({ fieldId: FIELDS.dueOn!.id, message: 'The due date must not be before the issue date' });
    lines.forEach((line, i) => {
      if (!line.description.trim()) found.push({ fieldId: lineId(i, 'description'), message: `Line ${i + 1}: enter what it is for` });
      if (parseQuantity(line.quantity) === undefined) found.push({ fieldId: lineId(i, 'quantity'), message: `Line ${i + 1}: enter a quantity above 0, such as 1 or 1.5` });
      if (parsePounds(line.unitPrice) === undefined) found.push({ fieldId: lineId(i, 'unitPrice'), message: `Line ${i + 1}: enter the unit price in pounds and pence, such as 1,200.00` });
    });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    const body = {
      clientId,
      ...(number.trim() ? { number: number.trim() } : {}),
      ...(issuedOn ? { issuedOn } : {}),
      dueOn,
      lines: lines.map((line) => ({ description: line.description.trim(), quantity: line.quantity.trim(), unitPricePence: parsePounds(line.unitPrice)!, vatRate: line.vatRate })),
    };
    setBusy(true);
    try {
      const invoice = await api.post<PortalInvoice>('/api/v1/portal/invoices', body);
      setProblems([]);
      const clientName = clientList.find((c) => c.id === clientId)?.name ?? 'The client';
      navigate(`/portal/invoices/${invoice.id}`, { flash: `Invoice ${invoice.number} is raised for ${formatPence(invoice.grossPence)}. ${clientName}’s users can see it in their portal and pay it online.` });
    } catch (error) {
      setProblems(invoiceProblems(error));
    } finally {
      setBusy(false);
    }
  }

  const clientErrors = messagesFor(problems, FIELDS.clientId!.id);
  return (
    <>
      <PortalNav />
      <p className="back-link">
        <Link href="/portal/invoices">All invoices</Link>
      </p>
      <h1 id="page-title">Raise an invoice</h1>
      <LoadState value={clients} what="the clients" />
      <form className="form invoice-form" onSubmit={submit} noValidate aria-labelledby="page-title">
        <ErrorSummary problems={problems} title="The invoice was not raised" />
        <div className={`field${clientErrors.length ? ' field--error' : ''}`}>
          <label className="field__label" htmlFor={FIELDS.clientId!.id}>
            Client
          </label>
          <FieldErrors id={`${FIELDS.clientId!.id}-error`} messages={clientErrors} />
          <select
            id={FIELDS.clientId!.id}
            className="select"
            value={clientId}
            onChange={(event) => setClientId(event.target.value)}
            aria-describedby={describedBy(FIELDS.clientId!.id, false, clientErrors)}
            aria-invalid={clientErrors.length ? true : undefined}
          >
            <option value="">Choose a client</option>
            {clientList.map((client) => (
              <option key={client.id} value={client.id}>
                {client.name}
              </option>
            ))}
          </select>
        </div>
        <TextField
          id={FIELDS.number!.id}
          label="Invoice number (optional)"
          hint="Left empty, the next number is used (INV-000001, INV-000002, …)."
          autoComplete="off"
          className="input--short"
          value={number}
          onChange={(event) => setNumber(event.target.value)}
          errors={messagesFor(problems, FIELDS.number!.id)}
          maxLength={40}
        />
        <div className="date-pair">
          <TextField id={FIELDS.issuedOn!.id} type="date" className="input--date" label="Issue date" value={issuedOn} onChange={(event) => setIssuedOn(event.target.value)} errors={messagesFor(problems, FIELDS.issuedOn!.id)} />
          <TextField id={FIELDS.dueOn!.id} type="date" className="input--date" label="Due date" hint="Reminders go to the client every 3 days until it is paid." value={dueOn} onChange={(event) => setDueOn(event.target.value)} errors={messagesFor(problems, FIELDS.dueOn!.id)} />
        </div>

        <h2 id="lines-heading">Lines</h2>
        <p className="field__hint">VAT is worked out on each line and rounded to the nearest penny.</p>
        {priced.map(({ line, priced: price }, i) => (
          <fieldset key={line.key} className="fieldset invoice-line">
            <legend className="fieldset__legend">Line {i + 1}</legend>
            <TextField id={lineId(i, 'description')} label="Description" autoComplete="off" value={line.description} onChange={(event) => change(line.key, { description: event.target.value })} errors={messagesFor(problems, lineId(i, 'description'))} maxLength={500} />
            <div className="invoice-line__figures">
              <TextField id={lineId(i, 'quantity')} label="Quantity" inputMode="decimal" autoComplete="off" className="input--short" value={line.quantity} onChange={(event) => change(line.key, { quantity: event.target.value })} errors={messagesFor(problems, lineId(i, 'quantity'))} />
              <TextField id={lineId(i, 'unitPrice')} label="Unit price (£, before VAT)" inputMode="decimal" autoComplete="off" className="input--short" value={line.unitPrice} onChange={(event) => change(line.key, { unitPrice: event.target.value })} errors={messagesFor(problems, lineId(i, 'unitPrice'))} />
              <VatRateField id={lineId(i, 'vatRate')} value={line.vatRate} onChange={(vatRate) => change(line.key, { vatRate })} errors={messagesFor(problems, lineId(i, 'vatRate'))} />
            </div>
            <p className="invoice-line__total">
              {price ? (
                <>
                  Line total: {formatPence(price.netPence + price.vatPence)} ({formatPence(price.netPence)} and {formatPence(price.vatPence)} VAT)
                </>
              ) : (
                <span className="muted">Enter the quantity and the unit price to see the line’s total.</span>
              )}
            </p>
            {lines.length > 1 && (
              <button
                className="button button--small button--secondary"
                type="button"
                onClick={() => {
                  setLines((all) => all.filter((l) => l.key !== line.key));
                  focusSoon('invoice-add-line');
                }}
              >
                Remove line {i + 1}
              </button>
            )}
          </fieldset>
        ))}
        <div className="button-row">
          <button
            id="invoice-add-line"
            className="button button--secondary"
            type="button"
            onClick={() => {
              setLines((all) => [...all, blankLine()]);
              focusSoon(lineId(lines.length, 'description'));
            }}
          >
            Add a line
          </button>
        </div>

        <VatSummary rows={vatRows} netPence={net} vatPence={vat} grossPence={net + vat} live />
        <div className="button-row">
          <button className="button" type="submit" disabled={busy}>
            Raise the invoice
          </button>
          <Link className="button button--secondary" href="/portal/invoices">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

function VatRateField({ id, value, onChange, errors }: { id: string; value: VatRate; onChange: (rate: VatRate) => void; errors: string[] }) {
  return (
    <div className={`field${errors.length ? ' field--error' : ''}`}>
      <label className="field__label" htmlFor={id}>
        VAT rate
      </label>
      <FieldErrors id={`${id}-error`} messages={errors} />
      <select id={id} className="select" value={value} onChange={(event) => onChange(event.target.value as VatRate)} aria-describedby={describedBy(id, false, errors)} aria-invalid={errors.length ? true : undefined}>
        {VAT_RATES.map((rate) => (
          <option key={rate} value={rate}>
            {VAT_RATE_LABELS[rate]}
          </option>
        ))}
      </select>
    </div>
  );
}
