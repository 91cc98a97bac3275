import { useEffect, useState } from 'react';
import type { SyncGroup, SyncGroupKind, SyncPage, SyncStaff } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { GROUP_KIND_LABELS, personName, plural } from './format.ts';
import { SyncNav, usePeople } from './parts.tsx';
import { rememberedQuery, rememberListState } from './remember.ts';

const KINDS: SyncGroupKind[] = ['year', 'registration', 'house', 'class'];
const KIND_PLURALS: Record<SyncGroupKind, string> = { year: 'Year groups', registration: 'Registration groups', house: 'Houses', class: 'Classes' };

/** /sync/groups — year, registration, house and class groups, with their staff and a way to their pupils (sync.read). */
export function SyncGroups() {
  usePageTitle('Groups – Custos');
  const [kind, setKind] = useState(() => (KINDS as string[]).includes(rememberedQuery('kind')) ? rememberedQuery('kind') : '');
  const [groups] = useApi<SyncPage<SyncGroup>>(`/api/v1/sync/groups?limit=500${kind ? `&kind=${kind}` : ''}`);
  const staff = usePeople<SyncStaff>('staff');

  useEffect(() => rememberListState({ kind: kind || undefined }, {}), [kind]);

  const caption = kind ? KIND_PLURALS[kind as SyncGroupKind] : 'All groups';
  return (
    <>
      <SyncNav />
      <h1 id="page-title">Groups</h1>
      <div className="field">
        <label className="field__label" htmlFor="group-kind">
          Show
        </label>
        <select id="group-kind" className="select" value={kind} onChange={(event) => setKind(event.target.value)}>
          <option value="">All kinds of group</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_PLURALS[k]}
            </option>
          ))}
        </select>
      </div>
      <p role="status" className="status-region">
        {groups.state === 'loaded' ? `${plural(groups.data.total, 'group')}.` : ''}
      </p>
      <LoadState value={groups} what="the groups" />
      {groups.state === 'loaded' && groups.data.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Kind</th>
              <th scope="col">Code</th>
              <th scope="col">Pupils</th>
              <th scope="col">Staff</th>
            </tr>
          </thead>
          <tbody>
            {groups.data.items.map((group) => (
              <tr key={group.id}>
                <th scope="row">{group.name}</th>
                <td>{GROUP_KIND_LABELS[group.kind]}</td>
                <td>{group.code ?? <span className="muted">None</span>}</td>
                <td>
                  {group.pupilIds.length > 0 ? (
                    <Link href={`/sync/pupils?group=${group.id}`}>
                      {plural(group.pupilIds.length, 'pupil')}
                      <span className="visually-hidden"> in {group.name}</span>
                    </Link>
                  ) : (
                    'None'
                  )}
                </td>
                <td>
                  {group.staffIds.length === 0
                    ? 'None'
                    : group.staffIds.map((id) => (staff.get(id) ? personName(staff.get(id)!) : null)).filter(Boolean).join(', ') ||
                      plural(group.staffIds.length, 'staff member')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
