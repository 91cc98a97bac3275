import { useState, type FormEvent } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { SyncGrant, SyncPupil, SyncStaff } from '../../api/sync.ts';
import { dayLabel, granteeLabel, pupilSortName, scopeLabel } from './format.ts';
import { Stamp, useActorNames } from './parts.tsx';
import type { Outcome } from './sharing.tsx';

/** Pupils and staff by id, to name exclusions (empty without 'sync.read'). */
export interface People {
  pupils: Map<string, SyncPupil>;
  staff: Map<string, SyncStaff>;
  browse: boolean;
}

function memberName(people: People, kind: 'pupil' | 'staff', id: string): string {
  if (kind === 'pupil') {
    const pupil = people.pupils.get(id);
    return pupil ? `${pupilSortName(pupil)} (pupil)` : `Pupil ${id.slice(0, 8)}…`;
  }
  const person = people.staff.get(id);
  return person ? `${person.surname}, ${person.forename} (staff)` : `Staff member ${id.slice(0, 8)}…`;
}

/** One live grant: what it allows, when it was made, its reads, who is left out of it, and Revoke. */
export function GrantPanel({ grant, paused, people, onDone }: { grant: SyncGrant; paused: boolean; people: People; onDone: (outcome: Outcome) => void }) {
  const actorName = useActorNames();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const who = granteeLabel(grant);
  const titleId = `grant-${grant.id}`;
  const totalReads = grant.reads.reduce((sum, day) => sum + day.reads, 0);

  async function act(work: () => Promise<unknown>, success: string, focusGrants = false) {
    setBusy(true);
    try {
      await work();
      setConfirming(false);
      onDone({ ok: true, message: success, reload: true, focusGrants });
    } catch (error) {
      onDone({ ok: false, message: `${who}: ${describeProblem(error)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="panel grant">
      <h3 id={titleId}>{who}</h3>
      {paused && <p className="muted">Refused while all sharing is stopped.</p>}
      <dl className="summary-list">
        <div>
          <dt>May read</dt>
          <dd>
            <ul className="plain-list">
              {grant.scopes.map((scope) => (
                <li key={scope}>{scopeLabel(scope)}</li>
              ))}
            </ul>
          </dd>
        </div>
        <div>
          <dt>Granted</dt>
          <dd>
            <Stamp iso={grant.createdAt} /> by {actorName(grant.createdBy)}
          </dd>
        </div>
        <div>
          <dt>Reads in the last 30 days</dt>
          <dd>{totalReads}</dd>
        </div>
      </dl>

      {grant.reads.length > 0 && (
        <table className="table table--compact table--numbers">
          <caption>Reads by {who} per day (UTC), last 30 days</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Reads</th>
            </tr>
          </thead>
          <tbody>
            {grant.reads.map((day) => (
              <tr key={day.day}>
                <th scope="row">
                  <time dateTime={day.day}>{dayLabel(day.day)}</time>
                </th>
                <td>{day.reads}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <Exclusions grant={grant} who={who} people={people} busy={busy} act={act} />

      {confirming ? (
        <div className="confirm" role="group" aria-label={`Confirm revoking the grant to ${who}`}>
          <p>Revoke the grant to {who}? It will be refused from its very next request. You can grant it again later.</p>
          <div className="button-row">
            <button
              className="button button--small button--warning"
              type="button"
              disabled={busy}
              onClick={() => void act(() => api.delete(`/api/v1/sync/sharing/grants/${grant.id}`), `The grant to ${who} is revoked.`, true)}
            >
              Yes, revoke
            </button>
            <button className="button button--small button--secondary" type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <div className="button-row">
          <button className="button button--warning" type="button" onClick={() => setConfirming(true)}>
            Revoke<span className="visually-hidden"> the grant to {who}</span>
          </button>
        </div>
      )}
    </li>
  );
}

function Exclusions({
  grant,
  who,
  people,
  busy,
  act,
}: {
  grant: SyncGrant;
  who: string;
  people: People;
  busy: boolean;
  act: (work: () => Promise<unknown>, success: string) => Promise<void>;
}) {
  const [chosen, setChosen] = useState('');
  const [problem, setProblem] = useState('');
  const excluded = new Set(grant.exclusions.map((e) => `${e.memberKind}:${e.memberId}`));
  const pupils = [...people.pupils.values()].filter((p) => p.status === 'current' && !excluded.has(`pupil:${p.id}`));
  const staff = [...people.staff.values()].filter((s) => s.status === 'current' && !excluded.has(`staff:${s.id}`));
  const selectId = `exclude-${grant.id}`;
  const headingId = `exclusions-${grant.id}`;

  function submit(event: FormEvent) {
    event.preventDefault();
    const at = chosen.indexOf(':');
    if (at < 0) {
      setProblem('Choose the pupil or staff member to leave out');
      return;
    }
    setProblem('');
    const memberKind = chosen.slice(0, at) as 'pupil' | 'staff';
    const memberId = chosen.slice(at + 1);
    const name = memberName(people, memberKind, memberId);
    void act(() => api.post(`/api/v1/sync/sharing/grants/${grant.id}/exclusions`, { memberKind, memberId }), `${name} is no longer shared with ${who}.`);
  }

  return (
    <section aria-labelledby={headingId} className="exclusions">
      <h4 id={headingId}>Left out of this grant ({grant.exclusions.length})</h4>
      {grant.exclusions.length === 0 ? (
        <p>Nobody: {who} sees every current pupil and staff member its grant covers.</p>
      ) : (
        <ul className="plain-list exclusion-list">
          {grant.exclusions.map((e) => {
            const name = memberName(people, e.memberKind, e.memberId);
            return (
              <li key={`${e.memberKind}:${e.memberId}`}>
                <span>{name}</span>{' '}
                <button
                  className="button button--small button--secondary"
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    void act(
                      () => api.delete(`/api/v1/sync/sharing/grants/${grant.id}/exclusions?memberKind=${e.memberKind}&memberId=${encodeURIComponent(e.memberId)}`),
                      `${name} is shared with ${who} again.`,
                    )
                  }
                >
                  Share again<span className="visually-hidden">: {name}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {people.browse && (pupils.length > 0 || staff.length > 0) && (
        <form className="inline-form exclusion-form" onSubmit={submit} noValidate>
          <div className={`field${problem ? ' field--error' : ''}`}>
            <label className="field__label" htmlFor={selectId}>
              Leave someone out of the grant to {who}
            </label>
            {problem && (
              <div className="field__error" id={`${selectId}-error`} role="alert">
                <p>{problem}</p>
              </div>
            )}
            <select
              id={selectId}
              className="select"
              value={chosen}
              onChange={(event) => setChosen(event.target.value)}
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? `${selectId}-error` : undefined}
            >
              <option value="">Choose a pupil or staff member</option>
              {pupils.length > 0 && (
                <optgroup label="Pupils">
                  {pupils.map((p) => (
                    <option key={p.id} value={`pupil:${p.id}`}>
                      {pupilSortName(p)}
                      {p.registrationGroup ? ` (${p.registrationGroup})` : ''}
                    </option>
                  ))}
                </optgroup>
              )}
              {staff.length > 0 && (
                <optgroup label="Staff">
                  {staff.map((s) => (
                    <option key={s.id} value={`staff:${s.id}`}>
                      {`${s.surname}, ${s.forename}`}
                    </option>
                  ))}
                </optgroup>
              )}
            </select>
          </div>
          <button className="button button--secondary" type="submit" disabled={busy}>
            Leave out<span className="visually-hidden"> of the grant to {who}</span>
          </button>
        </form>
      )}
    </section>
  );
}
