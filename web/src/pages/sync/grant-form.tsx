import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import type { SyncGrant } from '../../api/sync.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { PRODUCT_LABELS, SCOPE_LABELS, SCOPE_NAMES } from './format.ts';

const scopeId = (scope: string) => `scope-${scope.replace(/[^a-z0-9]+/gi, '-')}`;

/** A new grant: a product or an API client, and the kinds of data it may read. */
export function GrantForm({ existing, onGranted }: { existing: string[]; onGranted: (grant: SyncGrant) => void }) {
  const [kind, setKind] = useState<'product' | 'api_client'>('product');
  const [product, setProduct] = useState('');
  const [client, setClient] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  const granteeId = kind === 'product' ? 'grant-product' : 'grant-client';
  const fields: FieldNames = {
    granteeKind: { id: 'grant-kind-product', label: 'Who may read' },
    grantee: { id: granteeId, label: kind === 'product' ? 'Product' : 'API client id' },
    scopes: { id: scopeId(SCOPE_NAMES[0]!), label: 'What they may read' },
  };
  const grantee = kind === 'product' ? product : client.trim();
  const replacing = grantee !== '' && existing.includes(grantee);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found: FormProblem[] = [];
    if (!grantee) found.push({ fieldId: granteeId, message: kind === 'product' ? 'Choose the product' : 'Enter the id of the API client' });
    if (scopes.length === 0) found.push({ fieldId: fields.scopes!.id, message: 'Tick at least one kind of data it may read' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const ordered = SCOPE_NAMES.filter((s) => scopes.includes(s));
      const grant = await api.post<SyncGrant>('/api/v1/sync/sharing/grants', { granteeKind: kind, grantee, scopes: ordered });
      setProblems([]);
      setProduct('');
      setClient('');
      setScopes([]);
      onGranted(grant);
    } catch (error) {
      setProblems(problemsFrom(error, fields));
    } finally {
      setBusy(false);
    }
  }

  const granteeErrors = messagesFor(problems, granteeId);
  const scopeErrors = messagesFor(problems, fields.scopes!.id);
  const kindErrors = messagesFor(problems, fields.granteeKind!.id);

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="new-grant-title">
      <h2 id="new-grant-title">Grant access</h2>
      <p>Granting again to a product or client that already has a grant replaces what it may read; the people left out stay left out.</p>
      <ErrorSummary problems={problems} />
      <fieldset className={`fieldset${kindErrors.length ? ' field--error' : ''}`}>
        <legend className="fieldset__legend">Who may read</legend>
        {kindErrors.length > 0 && (
          <div className="field__error">
            {kindErrors.map((m) => (
              <p key={m}>{m}</p>
            ))}
          </div>
        )}
        <div className="radios">
          <div className="radio">
            <input type="radio" id="grant-kind-product" name="granteeKind" checked={kind === 'product'} onChange={() => setKind('product')} />
            <label htmlFor="grant-kind-product">A Custos product</label>
          </div>
          <div className="radio">
            <input type="radio" id="grant-kind-client" name="granteeKind" checked={kind === 'api_client'} onChange={() => setKind('api_client')} />
            <label htmlFor="grant-kind-client">An API client (another system using the Custos API)</label>
          </div>
        </div>
      </fieldset>

      {kind === 'product' ? (
        <div className={`field${granteeErrors.length ? ' field--error' : ''}`}>
          <label className="field__label" htmlFor="grant-product">
            Product
          </label>
          {granteeErrors.length > 0 && (
            <div className="field__error" id="grant-product-error">
              {granteeErrors.map((m) => (
                <p key={m}>
                  <span className="visually-hidden">Error: </span>
                  {m}
                </p>
              ))}
            </div>
          )}
          <select
            id="grant-product"
            className="select"
            value={product}
            onChange={(event) => setProduct(event.target.value)}
            aria-invalid={granteeErrors.length ? true : undefined}
            aria-describedby={granteeErrors.length ? 'grant-product-error' : undefined}
          >
            <option value="">Choose a product</option>
            {Object.entries(PRODUCT_LABELS).map(([name, label]) => (
              <option key={name} value={name}>
                {label}
                {existing.includes(name) ? ' (has a grant)' : ''}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <TextField
          id="grant-client"
          label="API client id"
          hint="As the client’s supplier gave it: letters, digits and . _ : - only."
          autoComplete="off"
          spellCheck={false}
          value={client}
          onChange={(event) => setClient(event.target.value)}
          errors={granteeErrors}
        />
      )}

      <fieldset className={`fieldset${scopeErrors.length ? ' field--error' : ''}`} aria-describedby={scopeErrors.length ? 'grant-scopes-error' : undefined}>
        <legend className="fieldset__legend">What they may read</legend>
        <p className="field__hint">Only what is ticked. Pupils and staff who have left are never shared.</p>
        {scopeErrors.length > 0 && (
          <div className="field__error" id="grant-scopes-error">
            {scopeErrors.map((m) => (
              <p key={m}>
                <span className="visually-hidden">Error: </span>
                {m}
              </p>
            ))}
          </div>
        )}
        <div className="radios">
          {SCOPE_NAMES.map((scope) => {
            const id = scopeId(scope);
            return (
              <div className="checkbox" key={scope}>
                <input
                  type="checkbox"
                  id={id}
                  checked={scopes.includes(scope)}
                  onChange={(event) => setScopes(event.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
                  aria-describedby={`${id}-hint`}
                />
                <label htmlFor={id}>{SCOPE_LABELS[scope]!.label}</label>
                <p className="field__hint checkbox__hint" id={`${id}-hint`}>
                  {SCOPE_LABELS[scope]!.description}
                </p>
              </div>
            );
          })}
        </div>
      </fieldset>
      {replacing && <p className="notice notice--warning">This replaces what {kind === 'product' ? PRODUCT_LABELS[grantee] : grantee} may read now.</p>}
      <button className="button" type="submit" disabled={busy}>
        Grant access
      </button>
    </form>
  );
}
