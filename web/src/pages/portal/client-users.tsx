import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError, describeProblem } from '../../api/client.ts';
import type { PortalClientUser } from '../../api/portal.ts';
import type { Loadable } from '../../api/use-api.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';
import { LoadState } from '../../components/loading.tsx';
import { ConfirmRemoval } from '../sync/integration-parts.tsx';
import { USER_STATUS_LABELS } from './format.ts';
import { Stamp } from './parts.tsx';

type Outcome = { ok: boolean; message: string };

/**
 * The people who can sign in for a client (its client users), with "give access" by email and
 * "remove". Someone new is invited by email; an existing client user of the practice (a bookkeeper
 * for several companies, say) is simply given this client too.
 */
export function ClientUsersSection({ clientId, clientName, users, onChange }: { clientId: string; clientName: string; users: Loadable<{ users: PortalClientUser[] }>; onChange: () => void }) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const list = users.state === 'loaded' ? users.data.users : undefined;

  async function remove(user: PortalClientUser) {
    try {
      await api.delete(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/users/${encodeURIComponent(user.userId)}`);
      setOutcome({ ok: true, message: `${user.email} can no longer reach ${clientName}. Their access to any other client is unchanged.` });
      onChange();
      heading.current?.focus();
    } catch (error) {
      setOutcome({ ok: false, message: `Could not remove ${user.email}. ${describeProblem(error)}` });
    }
  }

  return (
    <section aria-labelledby="client-users-title">
      <h2 id="client-users-title" tabIndex={-1} ref={heading}>
        Who can sign in for {clientName}
      </h2>
      <div role="status" className="status-region">
        {outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}
      </div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      <LoadState value={users} what="the client’s users" />
      {list && list.length === 0 && <p>Nobody yet: give someone access so they can see documents and respond.</p>}
      {list && list.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">Client users of {clientName}</caption>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Status</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((user) => (
              <tr key={user.userId}>
                <td>
                  {user.displayName && <span className="portal-person__name">{user.displayName}</span>}
                  <span className="portal-person__email">{user.email}</span>
                </td>
                <td>
                  <span className={`tag tag--${user.status === 'active' ? 'active' : user.status === 'invited' ? 'invited' : 'disabled'}`}>{USER_STATUS_LABELS[user.status] ?? user.status}</span>
                </td>
                <td>
                  <Stamp iso={user.addedAt} />
                </td>
                <td>
                  <ConfirmRemoval
                    action="Remove"
                    what={`${user.email}’s access to ${clientName}`}
                    question={`Take away ${user.email}’s access to ${clientName}? Anything waiting for them from this client can no longer be answered by them.`}
                    onConfirm={() => remove(user)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <GiveAccessForm
        clientId={clientId}
        clientName={clientName}
        onAdded={(message) => {
          setOutcome({ ok: true, message });
          onChange();
        }}
      />
    </section>
  );
}

const FIELDS: FieldNames = {
  email: { id: 'access-email', label: 'Email address' },
  displayName: { id: 'access-name', label: 'Name' },
};

function GiveAccessForm({ clientId, clientName, onAdded }: { clientId: string; clientName: string; onAdded: (message: string) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const trimmed = email.trim();
    if (!trimmed) {
      setProblems([{ fieldId: FIELDS.email!.id, message: 'Enter the email address of the person to give access to' }]);
      return;
    }
    if (!/^[^\s@]+@[^\s@]+$/.test(trimmed)) {
      setProblems([{ fieldId: FIELDS.email!.id, message: 'Enter an email address like name@example.com' }]);
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, string> = { email: trimmed };
      if (name.trim()) body.displayName = name.trim();
      const added = await api.post<{ userId: string; invited: boolean }>(`/api/v1/portal/clients/${encodeURIComponent(clientId)}/users`, body);
      setProblems([]);
      setEmail('');
      setName('');
      onAdded(
        added.invited
          ? `${trimmed} is invited: they will get an email to set a password, then see ${clientName}’s documents.`
          : `${trimmed} can now reach ${clientName} as well as their other clients.`,
      );
    } catch (error) {
      // A conflict is about the person: already here, on the practice's staff, or disabled.
      if (error instanceof ApiError && error.kind === 'conflict') setProblems([{ fieldId: FIELDS.email!.id, message: describeProblem(error) }]);
      else setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="give-access-title">
      <h3 id="give-access-title">Give someone access</h3>
      <p>They sign in to see {clientName}’s documents, upload their own, and approve or sign what you send them. Nothing else of the practice’s is shown to them.</p>
      <ErrorSummary problems={problems} />
      <TextField
        id={FIELDS.email!.id}
        label="Email address"
        hint="Someone new gets an invitation by email."
        type="email"
        autoComplete="off"
        spellCheck={false}
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        errors={messagesFor(problems, FIELDS.email!.id)}
        required
      />
      <TextField
        id={FIELDS.displayName!.id}
        label="Name (optional)"
        hint="How they are named on what they sign, if they are new."
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        errors={messagesFor(problems, FIELDS.displayName!.id)}
      />
      <button className="button" type="submit" disabled={busy}>
        Give access
      </button>
    </form>
  );
}
