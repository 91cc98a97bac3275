import { useRef, useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { SharingOverview, SyncPupil, SyncStaff } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { granteeLabel } from './format.ts';
import { GrantForm } from './grant-form.tsx';
import { GrantPanel, type People } from './grant-panel.tsx';
import { SyncNav, usePeople } from './parts.tsx';

export type Outcome = { ok: boolean; message: string; reload?: boolean; focusGrants?: boolean };

/** /sync/sharing — what the school shares with which product or app, and the switch that stops it all (sync.sharing). */
export function SyncSharing() {
  usePageTitle('Sharing school data – Custos');
  const session = useSignedIn();
  const [overview, reload] = useApi<SharingOverview>('/api/v1/sync/sharing');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const grantsHeading = useRef<HTMLHeadingElement>(null);
  const browse = can(session, 'sync.read');
  const people: People = { pupils: usePeople<SyncPupil>('pupils', browse), staff: usePeople<SyncStaff>('staff', browse), browse };

  function done(result: Outcome) {
    setOutcome(result);
    if (result.reload) reload();
    if (result.focusGrants) grantsHeading.current?.focus();
  }

  const data = overview.state === 'loaded' ? overview.data : undefined;
  return (
    <>
      <SyncNav />
      <h1 id="page-title">Sharing school data</h1>
      <p className="narrow">
        Nothing leaves {session.organisation.name}’s school data unless you grant it here. A grant lets one Custos product or
        one API client read the kinds of data you tick, and nothing else. Every change is recorded in the audit log and every
        administrator is emailed a receipt.
      </p>
      <div role="status" className="status-region">
        {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
      </div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      <LoadState value={overview} what="what the school shares" />
      {data && (
        <>
          <PauseSwitch paused={data.paused} onDone={done} />
          <section aria-labelledby="grants-title">
            <h2 id="grants-title" tabIndex={-1} ref={grantsHeading}>
              Grants ({data.grants.length})
            </h2>
            {data.grants.length === 0 ? (
              <p>Nothing is shared: no product or app may read your school data.</p>
            ) : (
              <ul className="grant-list">
                {data.grants.map((grant) => (
                  <GrantPanel key={`${grant.id}:${grant.exclusions.length}`} grant={grant} paused={data.paused} people={people} onDone={done} />
                ))}
              </ul>
            )}
          </section>
          <GrantForm
            existing={data.grants.map((g) => g.grantee)}
            onGranted={(grant) =>
              done({
                ok: true,
                reload: true,
                message: `${granteeLabel(grant)} may now read what you ticked. Every administrator has been emailed a receipt.`,
              })
            }
          />
        </>
      )}
    </>
  );
}

/** The school's "stop all sharing" switch, with a confirmation either way. */
function PauseSwitch({ paused, onDone }: { paused: boolean; onDone: (outcome: Outcome) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const switchRef = useRef<HTMLButtonElement>(null);

  async function change() {
    setBusy(true);
    try {
      await api.put('/api/v1/sync/sharing/paused', { paused: !paused });
      setConfirming(false);
      onDone({
        ok: true,
        reload: true,
        message: paused ? 'Sharing has resumed: each grant works again.' : 'All sharing is stopped. No product or app can read your school data.',
      });
      switchRef.current?.focus();
    } catch (error) {
      onDone({ ok: false, message: `Could not ${paused ? 'resume' : 'stop'} sharing. ${describeProblem(error)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="pause-title" className={`panel${paused ? ' panel--warning' : ''}`}>
      <h2 id="pause-title">Stop all sharing</h2>
      <p id="pause-state">
        {paused ? (
          <strong>All sharing is stopped. No product or app can read your school data, whatever its grant says.</strong>
        ) : (
          'Sharing is on: each product or app can read what its grant allows. Turn this on to stop them all at once, for example while you look into a concern; the grants are kept.'
        )}
      </p>
      <button
        ref={switchRef}
        type="button"
        role="switch"
        aria-checked={paused}
        className="switch"
        aria-describedby="pause-state"
        onClick={() => setConfirming(true)}
      >
        <span className="switch__label">Stop all sharing</span>
        <span className="switch__track" aria-hidden="true">
          <span className="switch__thumb" />
        </span>
        <span className="switch__state" aria-hidden="true">
          {paused ? 'On' : 'Off'}
        </span>
      </button>
      {confirming && (
        <div className="confirm" role="group" aria-label={paused ? 'Confirm resuming sharing' : 'Confirm stopping all sharing'}>
          <p>
            {paused
              ? 'Resume sharing? Every product and app will again read what its grant allows.'
              : 'Stop all sharing? Every product and app will be refused from its next request until you resume sharing.'}
          </p>
          <div className="button-row">
            <button className={`button button--small${paused ? '' : ' button--warning'}`} type="button" disabled={busy} onClick={() => void change()}>
              {paused ? 'Yes, resume sharing' : 'Yes, stop all sharing'}
            </button>
            <button
              className="button button--small button--secondary"
              type="button"
              onClick={() => {
                setConfirming(false);
                switchRef.current?.focus();
              }}
            >
              Cancel
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
