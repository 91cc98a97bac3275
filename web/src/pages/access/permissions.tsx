import type { PermissionsInfo } from '../../api/types.ts';
import { ORGANISATION_KIND_LABELS } from '../../api/types.ts';
import { useApi } from '../../api/use-api.ts';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';

/** /permissions — every role and what it may do, generated from the code by the API. */
export function Permissions() {
  usePageTitle('Roles and permissions – Custos');
  const [info] = useApi<PermissionsInfo>('/api/v1/permissions');
  return (
    <>
      <h1 id="page-title">Roles and permissions</h1>
      <LoadState value={info} what="the roles and permissions" />
      {info.state === 'loaded' && (
        <>
          <p>
            What each role may do in a {(ORGANISATION_KIND_LABELS[info.data.organisationKind] ?? info.data.organisationKind).toLowerCase()}.
            This list is generated from Custos itself, so it is always up to date.
          </p>
          <dl className="role-list">
            {info.data.roles.map((role) => (
              <div key={role.name}>
                <dt>{role.label}</dt>
                <dd>{role.description}</dd>
              </div>
            ))}
          </dl>
          <table className="table table--matrix">
            <caption>Permissions held by each role</caption>
            <thead>
              <tr>
                <th scope="col">Permission</th>
                {info.data.roles.map((role) => (
                  <th scope="col" key={role.name}>
                    {role.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {info.data.permissions.map((permission) => (
                <tr key={permission.name}>
                  <th scope="row">
                    <span className="permission__description">{capital(permission.description)}</span>
                    <code className="permission__name">{permission.name}</code>
                  </th>
                  {info.data.roles.map((role) => {
                    const held = role.permissions.includes(permission.name);
                    return (
                      <td key={role.name} className={held ? 'yes' : 'no'}>
                        <span aria-hidden="true">{held ? '✓ ' : '– '}</span>
                        {held ? 'Yes' : 'No'}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
