import { useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import type { Role } from '../../api/types.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FieldNames, type FormProblem } from '../../components/forms.tsx';

const FIELDS: FieldNames = {
  email: { id: 'invite-email', label: 'Email address' },
  displayName: { id: 'invite-name', label: 'Name' },
  role: { id: 'invite-role', label: 'Role' },
};

/** Invite someone: they get an email with a one-time link to set their password. */
export function InviteForm({ roles, onInvited }: { roles: Role[]; onInvited: (email: string) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState(roles.find((r) => r.name === 'member')?.name ?? roles[0]?.name ?? '');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim()) {
      setProblems([{ fieldId: FIELDS.email!.id, message: 'Enter the email address of the person to invite' }]);
      return;
    }
    setBusy(true);
    try {
      await api.post('/api/v1/users/invitations', { email: email.trim(), ...(name.trim() ? { displayName: name.trim() } : {}), role });
      setProblems([]);
      setEmail('');
      setName('');
      onInvited(email.trim());
    } catch (error) {
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  const roleErrors = messagesFor(problems, FIELDS.role!.id);
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <p>They will get an email with a link to set their password. The link works once and expires after 72 hours.</p>
      <ErrorSummary problems={problems} />
      <TextField
        id={FIELDS.email!.id}
        label="Email address"
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
        autoComplete="off"
        value={name}
        onChange={(event) => setName(event.target.value)}
        errors={messagesFor(problems, FIELDS.displayName!.id)}
      />
      <div className={`field${roleErrors.length ? ' field--error' : ''}`}>
        <label className="field__label" htmlFor="invite-role">
          Role
        </label>
        {roleErrors.length > 0 && (
          <div className="field__error" id="invite-role-error">
            {roleErrors.map((message) => (
              <p key={message}>{message}</p>
            ))}
          </div>
        )}
        <select
          id="invite-role"
          className="select"
          value={role}
          onChange={(event) => setRole(event.target.value)}
          aria-invalid={roleErrors.length ? true : undefined}
          aria-describedby={roleErrors.length ? 'invite-role-error' : undefined}
        >
          {roles.map((r) => (
            <option key={r.name} value={r.name}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <button className="button" type="submit" disabled={busy}>
        Send invitation
      </button>
    </form>
  );
}
