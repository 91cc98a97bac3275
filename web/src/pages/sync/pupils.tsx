import { useEffect, useRef, useState } from 'react';
import type { SyncGroup, SyncGroupKind, SyncPage, SyncPupil } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { calendarDate, GROUP_KIND_LABELS, pupilSortName, yearGroupName } from './format.ts';
import { rememberedOffset, rememberedQuery, rememberedState, rememberListState } from './remember.ts';
import { Pager, resultsText, SearchBox, SyncNav } from './parts.tsx';

const PAGE_SIZE = 25;
const KINDS: SyncGroupKind[] = ['year', 'registration', 'house', 'class'];

/** /sync/pupils — current pupils by surname: search by name or UPN, filter by group, a page at a time (sync.read). */
export function SyncPupils() {
  usePageTitle('Pupils – Custos');
  const [typed, setTyped] = useState(() => rememberedState('pupilSearch'));
  const [chosenGroup, setChosenGroup] = useState(() => rememberedQuery('group'));
  // What the list shows: applied on Search, not as the fields change.
  const [search, setSearch] = useState(() => rememberedState('pupilSearch'));
  const [group, setGroup] = useState(() => rememberedQuery('group'));
  const [offset, setOffset] = useState(() => rememberedOffset(PAGE_SIZE));
  const resultsHeading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);

  const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
  if (search) query.set('search', search);
  if (group) query.set('group', group);
  const [pupils] = useApi<SyncPage<SyncPupil>>(`/api/v1/sync/pupils?${query.toString()}`);
  const [groups] = useApi<SyncPage<SyncGroup>>('/api/v1/sync/groups?limit=500');
  const groupList = groups.state === 'loaded' ? groups.data.items : [];
  const groupName = groupList.find((g) => g.id === group)?.name;

  useEffect(() => {
    rememberListState({ group: group || undefined, page: offset > 0 ? String(offset / PAGE_SIZE + 1) : undefined }, { pupilSearch: search });
  }, [search, group, offset]);

  // After a page change, start reading at the results again (the button pressed may have gone).
  useEffect(() => {
    if (moved.current && pupils.state === 'loaded') {
      moved.current = false;
      resultsHeading.current?.focus();
    }
  }, [pupils]);

  function apply() {
    setSearch(typed.trim());
    setGroup(chosenGroup);
    setOffset(0);
  }

  const filtered = Boolean(search || group);
  const heading = search && groupName ? `Pupils in ${groupName} matching “${search}”` : search ? `Pupils matching “${search}”` : groupName ? `Pupils in ${groupName}` : 'All current pupils';

  return (
    <>
      <SyncNav />
      <h1 id="page-title">Pupils</h1>
      <SearchBox
        id="pupil-search"
        label="Search by name or UPN"
        hint="A first name, a surname, both (“Ann Smith”) or a UPN. The whole name must match; capitals do not matter."
        value={typed}
        onChange={setTyped}
        onSubmit={apply}
        onClear={() => {
          setTyped('');
          setChosenGroup('');
          setSearch('');
          setGroup('');
          setOffset(0);
        }}
        canClear={filtered}
      >
        <div className="field">
          <label className="field__label" htmlFor="pupil-group">
            Group
          </label>
          <select id="pupil-group" className="select" value={chosenGroup} onChange={(event) => setChosenGroup(event.target.value)}>
            <option value="">All groups</option>
            {KINDS.map((kind) => {
              const ofKind = groupList.filter((g) => g.kind === kind);
              if (ofKind.length === 0) return null;
              return (
                <optgroup key={kind} label={GROUP_KIND_LABELS[kind]}>
                  {ofKind.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </optgroup>
              );
            })}
          </select>
        </div>
      </SearchBox>

      <h2 id="results-title" tabIndex={-1} ref={resultsHeading}>
        {heading}
      </h2>
      <p role="status" className="status-region">
        {pupils.state === 'loaded' ? resultsText(pupils.data, 'pupils', filtered) : ''}
      </p>
      <LoadState value={pupils} what="the pupils" />
      {pupils.state === 'loaded' && pupils.data.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{heading}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Year</th>
              <th scope="col">Registration group</th>
              <th scope="col">Date of birth</th>
              <th scope="col">UPN</th>
            </tr>
          </thead>
          <tbody>
            {pupils.data.items.map((pupil) => (
              <tr key={pupil.id}>
                <td>
                  <Link href={`/sync/pupils/${pupil.id}`}>{pupilSortName(pupil)}</Link>
                </td>
                <td>{yearGroupName(pupil.yearGroup)}</td>
                <td>{pupil.registrationGroup ?? <span className="muted">Not recorded</span>}</td>
                <td>{calendarDate(pupil.dateOfBirth)}</td>
                <td>{pupil.upn ?? <span className="muted">Not recorded</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pupils.state === 'loaded' && (
        <Pager
          page={pupils.data}
          noun="pupils"
          label="Pupil pages"
          onOffset={(next) => {
            moved.current = true;
            setOffset(next);
          }}
        />
      )}
    </>
  );
}
