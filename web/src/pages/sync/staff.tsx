import { useEffect, useRef, useState } from 'react';
import type { SyncPage, SyncStaff } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { emailText, personName, phoneText } from './format.ts';
import { Pager, resultsText, SearchBox, SyncNav } from './parts.tsx';
import { rememberedOffset, rememberedState, rememberListState } from './remember.ts';

const PAGE_SIZE = 25;

/** /sync/staff — the school's staff by surname (sync.read). */
export function SyncStaff() {
  usePageTitle('Staff – Custos');
  const [typed, setTyped] = useState(() => rememberedState('staffSearch'));
  const [search, setSearch] = useState(() => rememberedState('staffSearch'));
  const [offset, setOffset] = useState(() => rememberedOffset(PAGE_SIZE));
  const resultsHeading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
  if (search) query.set('search', search);
  const [staff] = useApi<SyncPage<SyncStaff>>(`/api/v1/sync/staff?${query.toString()}`);

  useEffect(() => {
    rememberListState({ page: offset > 0 ? String(offset / PAGE_SIZE + 1) : undefined }, { staffSearch: search });
  }, [search, offset]);
  useEffect(() => {
    if (moved.current && staff.state === 'loaded') {
      moved.current = false;
      resultsHeading.current?.focus();
    }
  }, [staff]);

  const heading = search ? `Staff matching “${search}”` : 'All current staff';
  return (
    <>
      <SyncNav />
      <h1 id="page-title">Staff</h1>
      <SearchBox
        id="staff-search"
        label="Search by name"
        hint="A first name, a surname or both. The whole name must match; capitals do not matter."
        value={typed}
        onChange={setTyped}
        onSubmit={() => {
          setSearch(typed.trim());
          setOffset(0);
        }}
        onClear={() => {
          setTyped('');
          setSearch('');
          setOffset(0);
        }}
        canClear={Boolean(search)}
      />
      <h2 id="results-title" tabIndex={-1} ref={resultsHeading}>
        {heading}
      </h2>
      <p role="status" className="status-region">
        {staff.state === 'loaded' ? resultsText(staff.data, 'staff members', Boolean(search)) : ''}
      </p>
      <LoadState value={staff} what="the staff" />
      {staff.state === 'loaded' && staff.data.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{heading}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Job title</th>
              <th scope="col">Work email</th>
              <th scope="col">Work phone</th>
              <th scope="col">MIS id</th>
            </tr>
          </thead>
          <tbody>
            {staff.data.items.map((person) => (
              <tr key={person.id}>
                <td>{personName(person)}</td>
                <td>{person.jobTitle ?? <span className="muted">Not recorded</span>}</td>
                <td>{person.emails.length > 0 ? person.emails.map(emailText).join('; ') : <span className="muted">None</span>}</td>
                <td>{person.phones.length > 0 ? person.phones.map(phoneText).join('; ') : <span className="muted">None</span>}</td>
                <td>{person.misId}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {staff.state === 'loaded' && (
        <Pager
          page={staff.data}
          noun="staff members"
          label="Staff pages"
          onOffset={(next) => {
            moved.current = true;
            setOffset(next);
          }}
        />
      )}
    </>
  );
}
