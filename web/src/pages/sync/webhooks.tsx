import { useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { SharingOverview, SyncApiClient, SyncWebhook } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { granteeLabel, plural, PRODUCT_LABELS } from './format.ts';
import { ConfirmRemoval, MaskedSecret, OneTimeSecret } from './integration-parts.tsx';
import { Stamp, SyncNav, useActorNames } from './parts.tsx';

type Outcome = { ok: boolean; message: string };

/** An app a webhook can be for: an API client the school registered, or a product it granted. */
interface GranteeOption {
  value: string;
  label: string;
  granted: boolean;
}

/** /sync/webhooks — where changes are sent after each import (sync.sharing: an address may carry the receiver's token). */
export function SyncWebhooks() {
  usePageTitle('Webhooks – Custos');
  const session = useSignedIn();
  const share = can(session, 'sync.sharing');
  const [list, reload] = useApi<{ webhooks: SyncWebhook[]; latestSeq: number | null }>('/api/v1/sync/webhooks');
  // Names for the apps (and the choice of app), for those who may see them.
  const [clients] = useApi<{ apiClients: SyncApiClient[] }>(share ? '/api/v1/sync/api-clients' : null);
  const [sharing] = useApi<SharingOverview>(share ? '/api/v1/sync/sharing' : null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [created, setCreated] = useState<SyncWebhook | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  const clientList = clients.state === 'loaded' ? clients.data.apiClients : [];
  const grants = sharing.state === 'loaded' ? sharing.data.grants : [];
  const options: GranteeOption[] = [
    ...clientList.map((c) => ({
      value: c.clientId,
      label: `${c.name} (API client ${c.clientId})`,
      granted: grants.some((g) => g.granteeKind === 'api_client' && g.grantee === c.clientId),
    })),
    ...grants.filter((g) => g.granteeKind === 'product').map((g) => ({ value: g.grantee, label: granteeLabel(g), granted: true })),
  ];
  const granteeName = (grantee: string) => {
    const client = clientList.find((c) => c.clientId === grantee);
    if (client) return `${client.name} (API client)`;
    if (PRODUCT_LABELS[grantee]) return `${PRODUCT_LABELS[grantee]} (Custos product)`;
    return grantee.startsWith('orc-') ? `API client ${grantee}` : grantee;
  };

  const webhooks = list.state === 'loaded' ? list.data.webhooks : undefined;
  return (
    <>
      <SyncNav />
      <h1 id="page-title">Webhooks</h1>
      <p className="narrow">
        A webhook tells a linked app what changed after each import, so it need not keep asking. Each delivery lists the records
        that changed (never their values) and only what the app’s <Link href={share ? '/sync/sharing' : '/sync'}>sharing grant</Link>{' '}
        lets it read; nothing is sent while it has no grant or sharing is stopped. Every delivery is signed with the webhook’s
        secret, so the app can check it came from Custos.
      </p>
      <div role="status" className="status-region">
        {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
      </div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      {created && (
        <OneTimeSecret
          title="Webhook added: copy its signing secret now"
          fields={[
            {
              id: 'webhook-secret',
              label: 'Signing secret',
              value: created.secret,
              hint: 'The app checks the Custos-Signature header of each delivery with it (HMAC-SHA256).',
            },
          ]}
          onDone={() => {
            setCreated(null);
            listHeading.current?.focus();
          }}
        >
          <p>
            Changes for {granteeName(created.grantee)} will be sent to <span className="nowrap">{created.url}</span>.
          </p>
        </OneTimeSecret>
      )}
      <LoadState value={list} what="the webhooks" />
      {webhooks && (
        <section aria-labelledby="webhooks-title">
          <h2 id="webhooks-title" tabIndex={-1} ref={listHeading}>
            Webhooks ({webhooks.length})
          </h2>
          {webhooks.length === 0 ? (
            <p>No webhooks: no app is told about changes.</p>
          ) : (
            <ul className="plain-list">
              {webhooks.map((hook) => (
                <WebhookPanel
                  key={hook.id}
                  hook={hook}
                  who={granteeName(hook.grantee)}
                  manage={share}
                  latestSeq={list.state === 'loaded' ? list.data.latestSeq : null}
                  onDone={(result, focusList) => {
                    setOutcome(result);
                    if (focusList) {
                      reload();
                      listHeading.current?.focus();
                    }
                  }}
                />
              ))}
            </ul>
          )}
        </section>
      )}
      {share && webhooks && clients.state !== 'loading' && sharing.state !== 'loading' && (
        <WebhookForm
          options={options}
          onCreated={(hook) => {
            setOutcome(null);
            setCreated(hook);
            reload();
          }}
        />
      )}
    </>
  );
}

function WebhookPanel({
  hook,
  who,
  manage,
  latestSeq,
  onDone,
}: {
  hook: SyncWebhook;
  who: string;
  manage: boolean;
  /** The school's newest change number, so a replay can be asked from a number that exists. */
  latestSeq: number | null;
  onDone: (outcome: Outcome, focusList?: boolean) => void;
}) {
  const actorName = useActorNames();
  const [busy, setBusy] = useState(false);
  const [sinceSeq, setSinceSeq] = useState('0');
  const [replayError, setReplayError] = useState('');
  /** Bumped to put focus on the field once its error is on screen (focus then reads the error out). */
  const [refocus, setRefocus] = useState(0);
  const replayId = `replay-${hook.id}`;
  useLayoutEffect(() => {
    if (refocus > 0) document.getElementById(replayId)?.focus();
  }, [refocus, replayId]);

  async function replay(event: FormEvent) {
    event.preventDefault();
    const fail = (message: string) => {
      setReplayError(message);
      setRefocus((n) => n + 1);
    };
    if (busy) return;
    if (!/^\d+$/.test(sinceSeq.trim())) return fail('Enter a whole number: 0, or the number of the last change the app received');
    setBusy(true);
    try {
      const after = Number(sinceSeq.trim());
      const answer = await api.post<{ queued: number } | undefined>(`/api/v1/sync/webhooks/${hook.id}/replay`, { sinceSeq: after });
      setReplayError('');
      const queued = answer?.queued ?? 0;
      onDone({
        ok: true,
        message:
          queued === 0
            ? `Nothing to send again to ${hook.url}: there are no changes after number ${after}.`
            : `The changes after number ${after} will be sent again to ${hook.url}: ${plural(queued, 'delivery', 'deliveries')}, one per import.`,
      });
    } catch (error) {
      const problems = problemsFrom(error, { sinceSeq: { id: replayId, label: 'Change number' } });
      if (problems[0]?.fieldId) fail(problems[0].message);
      else onDone({ ok: false, message: `${hook.url}: ${problems[0]?.message ?? describeProblem(error)}` });
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await api.delete(`/api/v1/sync/webhooks/${hook.id}`);
      onDone({ ok: true, message: `The webhook to ${hook.url} is removed: nothing more is sent to it and its secret is erased.` }, true);
    } catch (error) {
      onDone({ ok: false, message: `${hook.url}: could not remove it. ${describeProblem(error)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="panel">
      <h3>Changes for {who}</h3>
      <dl className="summary-list summary-list--compact">
        <div>
          <dt>Sent to</dt>
          <dd>{hook.url}</dd>
        </div>
        <div>
          <dt>Signing secret</dt>
          <dd>
            <MaskedSecret />
          </dd>
        </div>
        <div>
          <dt>Added</dt>
          <dd>
            <Stamp iso={hook.createdAt} /> by {actorName(hook.createdBy)}
          </dd>
        </div>
      </dl>
      {manage && (
        <>
          <form className="form" onSubmit={replay} noValidate aria-label={`Send changes again to ${hook.url}`}>
            <TextField
              id={replayId}
              label="Send again the changes after number"
              hint={`If the app missed deliveries: the number (seq) of the last change it received. 0 sends every change again. ${latestSeq === null ? 'There are no changes yet.' : `The newest change is number ${latestSeq}.`}`}
              inputMode="numeric"
              autoComplete="off"
              className="input--code"
              value={sinceSeq}
              onChange={(event) => setSinceSeq(event.target.value)}
              errors={replayError ? [replayError] : []}
            />
            <button className="button button--secondary" type="submit">
              Send again<span className="visually-hidden"> to {hook.url}</span>
            </button>
          </form>
          <div className="button-row">
            <ConfirmRemoval
              action="Remove"
              what={`the webhook to ${hook.url}`}
              busy={busy}
              question={`Remove the webhook to ${hook.url}? Nothing more is sent to it and its secret is erased.`}
              onConfirm={remove}
            />
          </div>
        </>
      )}
    </li>
  );
}

const FIELDS: FieldNames = {
  grantee: { id: 'webhook-grantee', label: 'App' },
  url: { id: 'webhook-url', label: 'Address' },
};

function WebhookForm({ options, onCreated }: { options: GranteeOption[]; onCreated: (hook: SyncWebhook) => void }) {
  const [grantee, setGrantee] = useState('');
  const [url, setUrl] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found: FormProblem[] = [];
    if (!grantee) found.push({ fieldId: FIELDS.grantee!.id, message: 'Choose the app to send changes to' });
    if (!url.trim()) found.push({ fieldId: FIELDS.url!.id, message: 'Enter the address to send changes to' });
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    setBusy(true);
    try {
      const hook = await api.post<SyncWebhook>('/api/v1/sync/webhooks', { grantee, url: url.trim() });
      setProblems([]);
      setGrantee('');
      setUrl('');
      onCreated(hook);
    } catch (error) {
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const granteeErrors = messagesFor(problems, FIELDS.grantee!.id);
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="new-webhook-title">
      <h2 id="new-webhook-title">Add a webhook</h2>
      {options.length === 0 ? (
        <p>
          There is no app to send changes to yet. <Link href="/sync/api-clients">Register the app as an API client</Link>, then grant it
          access on the <Link href="/sync/sharing">Sharing</Link> page.
        </p>
      ) : (
        <>
          <ErrorSummary problems={problems} />
          <div className={`field${granteeErrors.length ? ' field--error' : ''}`}>
            <label className="field__label" htmlFor="webhook-grantee">
              App
            </label>
            <p className="field__hint" id="webhook-grantee-hint">
              It is sent only what its sharing grant lets it read.
            </p>
            {granteeErrors.length > 0 && (
              <div className="field__error" id="webhook-grantee-error">
                {granteeErrors.map((m) => (
                  <p key={m}>
                    <span className="visually-hidden">Error: </span>
                    {m}
                  </p>
                ))}
              </div>
            )}
            <select
              id="webhook-grantee"
              className="select"
              value={grantee}
              onChange={(event) => setGrantee(event.target.value)}
              aria-invalid={granteeErrors.length ? true : undefined}
              aria-describedby={['webhook-grantee-hint', granteeErrors.length ? 'webhook-grantee-error' : ''].filter(Boolean).join(' ')}
            >
              <option value="">Choose an app</option>
              {options.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                  {option.granted ? '' : ' (no grant yet: nothing is sent)'}
                </option>
              ))}
            </select>
          </div>
          <TextField
            id="webhook-url"
            label="Address"
            hint="The app’s https address for deliveries, as its supplier gave it."
            type="url"
            autoComplete="off"
            spellCheck={false}
            value={url}
            onChange={(event) => setUrl(event.target.value)}
            errors={messagesFor(problems, FIELDS.url!.id)}
            required
          />
          <button className="button" type="submit" disabled={busy}>
            Add the webhook
          </button>
        </>
      )}
    </form>
  );
}
