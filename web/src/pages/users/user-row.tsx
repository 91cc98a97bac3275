import { useState } from 'react';
import { api, describeProblem } from '../../api/client.ts';
import type { Role, User } from '../../api/types.ts';

type Confirming = 'disable' | 'mfa-reset' | null;

/** One user: details, and for managers a role picker with its own Save, Disable and Reset MFA. */
export function UserRow({
  user,
  roles,
  manage,
  isSelf,
  onDone,
}: {
  user: User;
  roles: Role[];
  manage: boolean;
  isSelf: boolean;
  onDone: (outcome: { ok: boolean; message: string; reload?: boolean }) => void;
}) {
  const [role, setRole] = useState(user.role);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [busy, setBusy] = useState(false);
  const who = user.displayName ? `${user.displayName} (${user.email})` : user.email;
  const roleLabel = roles.find((r) => r.name === user.role)?.label ?? user.role;
  const disabled = user.status === 'disabled';

  async function act(work: () => Promise<unknown>, success: string) {
    setBusy(true);
    try {
      await work();
      setConfirming(null);
      onDone({ ok: true, message: success, reload: true });
    } catch (error) {
      onDone({ ok: false, message: `${who}: ${describeProblem(error)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr>
      <td>{user.email}</td>
      <td>{user.displayName ?? <span className="muted">Not given</span>}</td>
      <td>
        {manage && !disabled ? (
          <div className="inline-form">
            <label className="visually-hidden" htmlFor={`role-${user.id}`}>
              Role for {who}
            </label>
            <select id={`role-${user.id}`} className="select" value={role} onChange={(event) => setRole(event.target.value)}>
              {roles.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.label}
                </option>
              ))}
            </select>
            <button
              className="button button--small button--secondary"
              type="button"
              disabled={busy || role === user.role}
              onClick={() => void act(() => api.put(`/api/v1/users/${user.id}/role`, { role }), `${who} is now ${roles.find((r) => r.name === role)?.label ?? role}.`)}
            >
              Save<span className="visually-hidden"> role for {who}</span>
            </button>
          </div>
        ) : (
          roleLabel
        )}
      </td>
      <td>
        <span className={`tag tag--${user.status}`}>{user.status}</span>
        {isSelf && <span className="muted"> (you)</span>}
      </td>
      {manage && (
        <td>
          {confirming ? (
            <div className="confirm" role="group" aria-label={`Confirm for ${who}`}>
              <p>
                {confirming === 'disable'
                  ? `Disable ${who}? They will be signed out and cannot sign in again.`
                  : `Reset two-step verification for ${who}? They will set it up again at their next sign-in.`}
              </p>
              <div className="button-row">
                <button
                  className="button button--small button--warning"
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    void (confirming === 'disable'
                      ? act(() => api.post(`/api/v1/users/${user.id}/disable`), `${who} has been disabled.`)
                      : act(() => api.post(`/api/v1/users/${user.id}/mfa/reset`), `Two-step verification for ${who} has been reset.`))
                  }
                >
                  {confirming === 'disable' ? 'Yes, disable' : 'Yes, reset'}
                </button>
                <button className="button button--small button--secondary" type="button" onClick={() => setConfirming(null)}>
                  Cancel
                </button>
              </div>
            </div>
          ) : disabled || isSelf ? (
            <span className="muted">{isSelf ? 'Manage yourself on your account page' : 'None'}</span>
          ) : (
            <div className="button-row">
              <button className="button button--small button--secondary" type="button" onClick={() => setConfirming('mfa-reset')}>
                Reset MFA<span className="visually-hidden"> for {who}</span>
              </button>
              <button className="button button--small button--warning" type="button" onClick={() => setConfirming('disable')}>
                Disable<span className="visually-hidden"> {who}</span>
              </button>
            </div>
          )}
        </td>
      )}
    </tr>
  );
}
