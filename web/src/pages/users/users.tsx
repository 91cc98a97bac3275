import { useState } from 'react';
import type { PermissionsInfo, User } from '../../api/types.ts';
import { useApi } from '../../api/use-api.ts';
import { LoadState } from '../../components/loading.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { InviteForm } from './invite-form.tsx';
import { UserRow } from './user-row.tsx';

/** /users — who belongs to the organisation; managers also invite, change roles, disable and reset MFA. */
export function Users() {
  usePageTitle('Users – Custos');
  const session = useSignedIn();
  const manage = can(session, 'users.manage');
  const [users, reloadUsers] = useApi<{ users: User[] }>('/api/v1/users');
  const [access] = useApi<PermissionsInfo>('/api/v1/permissions');
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);
  const roles = access.state === 'loaded' ? access.data.roles : [];

  function done(result: { ok: boolean; message: string; reload?: boolean }) {
    setOutcome(result);
    if (result.reload) reloadUsers();
  }

  return (
    <>
      <h1 id="page-title">Users</h1>
      <p>Everyone who belongs to {session.organisation.name}.</p>
      <div role="status">{outcome?.ok && <p className="notice notice--success">{outcome.message}</p>}</div>
      <div role="alert">{outcome && !outcome.ok && <p className="notice notice--error">{outcome.message}</p>}</div>
      <LoadState value={users} what="the users" />
      {users.state === 'loaded' && (
        <table className="table">
          <caption className="visually-hidden">Users of {session.organisation.name}</caption>
          <thead>
            <tr>
              <th scope="col">Email address</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {users.data.users.map((user) => (
              <UserRow
                key={`${user.id}:${user.role}:${user.status}`}
                user={user}
                roles={roles}
                manage={manage && roles.length > 0}
                isSelf={user.id === session.user.id}
                onDone={done}
              />
            ))}
          </tbody>
        </table>
      )}
      {manage && access.state === 'loaded' && (
        <InviteForm roles={roles} onInvited={(email) => done({ ok: true, message: `Invitation sent to ${email}.`, reload: true })} />
      )}
    </>
  );
}
