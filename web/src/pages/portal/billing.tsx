import { useState, type FormEvent } from 'react';
import { api, ApiError, capitalise, describeProblem } from '../../api/client.ts';
import type { PortalCheckout, PortalPurchase, PracticeBalance, PurchaseKind } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, FieldErrors, type FormProblem, messagesFor, Notice, TextField } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { queryParam, useLocation } from '../../router.ts';
import { usePageTitle } from '../../use-page-title.ts';
import { plural } from '../sync/format.ts';
import { formatBytes } from './format.ts';
import { goToCheckout } from './invoice.tsx';
import { formatPence } from './money.ts';
import { PortalNav, Stamp } from './parts.tsx';

/** The price list the server charges (VAT included): credits in packs of 10, storage by the GB for a year. */
const PRICES: Record<PurchaseKind, { unitPence: number; packSize: number; max: number; label: string; hint: string; quantityLabel: string; quantityHint: string; start: string }> = {
  signing: {
    unitPence: 150,
    packSize: 10,
    max: 10_000,
    label: 'Signing credits',
    hint: '£1.50 each, in packs of 10. One is used for each completed signature.',
    quantityLabel: 'How many credits',
    quantityHint: 'In tens: 10, 20, 30 and so on.',
    start: '10',
  },
  storage: {
    unitPence: 200,
    packSize: 1,
    max: 1_000,
    label: 'Document storage',
    hint: '£2.00 per GB for a year, added to what the practice can keep.',
    quantityLabel: 'How many GB',
    quantityHint: 'From 1 to 1,000.',
    start: '1',
  },
};

const describePurchase = (p: Pick<PortalPurchase, 'kind' | 'quantity'>) => (p.kind === 'signing' ? plural(p.quantity, 'signing credit') : `${p.quantity} GB of storage for a year`);

/**
 * /portal/billing — the practice's signing credits and storage, and buying more through Stripe
 * Checkout (portal.billing.manage). Stripe sends the buyer back to
 * /portal/practice/purchases/:id?payment=…, which is this page with word of that purchase.
 */
export function PortalBilling({ id }: { id?: string }) {
  usePageTitle(id ? 'Your purchase – Credits and storage – Custos' : 'Credits and storage – Custos');
  const { search } = useLocation();
  const returned = queryParam(search, 'payment');
  const [balance] = useApi<PracticeBalance>('/api/v1/portal/practice/balance');
  const [purchases] = useApi<{ purchases: PortalPurchase[] }>('/api/v1/portal/practice/purchases');
  const list = purchases.state === 'loaded' ? purchases.data.purchases : undefined;
  const returnedFrom = id && list ? list.find((p) => p.id === id) : undefined;

  return (
    <>
      <PortalNav />
      <h1 id="page-title">Credits and storage</h1>
      {returnedFrom && returnedFrom.status === 'paid' && <Notice>
          Thank you: your payment is received and {describePurchase(returnedFrom)} {returnedFrom.kind === 'storage' ? 'is' : 'are'} added.
        </Notice>}
      {returnedFrom && returnedFrom.status === 'pending' && returned !== 'cancelled' && (
        <Notice>Thank you. Your payment for {describePurchase(returnedFrom)} is being confirmed: {returnedFrom.kind === 'storage' ? 'it is' : 'they are'} added as soon as the payment provider tells us. Reload the page to check.</Notice>
      )}
      {returnedFrom && returnedFrom.status === 'pending' && returned === 'cancelled' && <Notice>You left the payment page before paying: nothing was taken, and nothing was added.</Notice>}

      <section aria-labelledby="balance-title">
        <h2 id="balance-title">What the practice has</h2>
        <LoadState value={balance} what="the balance" />
        {balance.state === 'loaded' && (
          <dl className="summary-list summary-list--compact">
            <div>
              <dt>Signing credits</dt>
              <dd>{plural(balance.data.signingCredits, 'credit')} left</dd>
            </div>
            <div>
              <dt>Storage</dt>
              <dd>
                {formatBytes(balance.data.storageUsedBytes)} of {formatBytes(balance.data.storageQuotaBytes)} used
              </dd>
            </div>
            {balance.data.storageTerms.map((term) => (
              <div key={term.expiresAt}>
                <dt>Storage bought</dt>
                <dd>
                  {formatBytes(term.bytes)}, until <Stamp iso={term.expiresAt} />
                </dd>
              </div>
            ))}
          </dl>
        )}
      </section>

      <BuyForm />

      <section aria-labelledby="purchases-title">
        <h2 id="purchases-title">Purchases</h2>
        <LoadState value={purchases} what="the purchases" />
        {list && list.length === 0 && <p>Nothing bought yet.</p>}
        {list && list.length > 0 && (
          <table className="table">
            <caption className="visually-hidden">Purchases, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Ordered</th>
                <th scope="col">What</th>
                <th scope="col" className="numeric">
                  Amount
                </th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {list.map((purchase) => (
                <tr key={purchase.id}>
                  <td>
                    <Stamp iso={purchase.createdAt} />
                  </td>
                  <td>{describePurchase(purchase)}</td>
                  <td className="numeric">{formatPence(purchase.amountPence)}</td>
                  <td>
                    {purchase.status === 'paid' ? (
                      <>
                        <span className="tag tag--active">Paid</span> <Stamp iso={purchase.paidAt!} />
                        {purchase.expiresAt && (
                          <>
                            {' '}
                            ({Date.parse(purchase.expiresAt) > Date.now() ? 'until' : 'ended'} <Stamp iso={purchase.expiresAt} />)
                          </>
                        )}
                      </>
                    ) : (
                      <span className="tag tag--invited">Not paid</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function BuyForm() {
  const [kind, setKind] = useState<PurchaseKind>('signing');
  const [quantity, setQuantity] = useState(PRICES.signing.start);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [state, setState] = useState<'idle' | 'starting' | 'leaving'>('idle');
  const price = PRICES[kind];
  const count = /^\d{1,6}$/.test(quantity.trim()) ? Number(quantity.trim()) : undefined;
  const errors = messagesFor(problems, 'buy-quantity');

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (state !== 'idle') return;
    if (count === undefined || count < 1 || count > price.max || count % price.packSize !== 0) {
      setProblems([{ fieldId: 'buy-quantity', message: kind === 'signing' ? 'Enter how many credits, in tens: 10, 20, 30 and so on' : 'Enter how many GB, from 1 to 1,000' }]);
      return;
    }
    setState('starting');
    try {
      const { checkout } = await api.post<{ purchase: PortalPurchase; checkout: PortalCheckout }>('/api/v1/portal/practice/purchases', { kind, quantity: count });
      setProblems([]);
      if (goToCheckout(checkout.url)) setState('leaving');
      else {
        setProblems([{ message: 'The payment page could not be opened. Try again.' }]);
        setState('idle');
      }
    } catch (error) {
      setProblems(
        error instanceof ApiError && error.kind === 'validation'
          ? error.errors.map((e) =>
              e.field === 'quantity' ? { fieldId: 'buy-quantity', message: `The quantity ${e.reason}` } : e.field === 'kind' ? { fieldId: 'buy-kind-signing', message: `What to buy ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) },
            )
          : [{ message: `The payment could not be started. ${describeProblem(error)}` }],
      );
      setState('idle');
    }
  }

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="buy-title">
      <h2 id="buy-title">Buy more</h2>
      <p>You pay by card on Stripe’s secure page, then come back here. Prices include VAT.</p>
      <ErrorSummary problems={problems} title="Nothing was bought" />
      <fieldset className="fieldset" aria-describedby={messagesFor(problems, 'buy-kind-signing').length ? 'buy-kind-error' : undefined}>
        <legend className="fieldset__legend">What to buy</legend>
        <FieldErrors id="buy-kind-error" messages={messagesFor(problems, 'buy-kind-signing')} />
        <div className="radios">
          {(['signing', 'storage'] as const).map((option) => (
            <div className="radio" key={option}>
              <input
                type="radio"
                id={`buy-kind-${option}`}
                name="buy-kind"
                checked={kind === option}
                onChange={() => {
                  setKind(option);
                  setQuantity(PRICES[option].start);
                }}
                aria-describedby={`buy-kind-${option}-hint`}
              />
              <label htmlFor={`buy-kind-${option}`}>{PRICES[option].label}</label>
              <p className="field__hint radio__hint" id={`buy-kind-${option}-hint`}>
                {PRICES[option].hint}
              </p>
            </div>
          ))}
        </div>
      </fieldset>
      <TextField id="buy-quantity" label={price.quantityLabel} hint={price.quantityHint} inputMode="numeric" autoComplete="off" className="input--short" value={quantity} onChange={(event) => setQuantity(event.target.value)} errors={errors} />
      <p className="buy-price" aria-live="polite" aria-atomic="true">
        {count !== undefined && count > 0 ? `Price: ${formatPence(count * price.unitPence)} including VAT.` : 'Enter how many to see the price.'}
      </p>
      <div role="status" className="status-region">
        {state === 'starting' && <p>Opening the payment page…</p>}
        {state === 'leaving' && <p>Taking you to the payment page…</p>}
      </div>
      <button className="button" type="submit" aria-disabled={state !== 'idle' ? true : undefined}>
        Continue to payment
      </button>
    </form>
  );
}
