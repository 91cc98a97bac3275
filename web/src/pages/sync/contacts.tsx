import { useEffect, useRef, useState } from 'react';
import type { SyncContact, SyncPage, SyncPupil } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { emailText, labelOr, personName, phoneText, pupilName, RELATIONSHIP_LABELS } from './format.ts';
import { Pager, resultsText, SearchBox, SyncNav, usePeople } from './parts.tsx';
import { rememberedOffset, rememberedState, rememberListState } from './remember.ts';

const PAGE_SIZE = 25;

/** /sync/contacts — parents and carers by surname, each with the pupils they stand to and how (sync.read). */
export function SyncContacts() {
  usePageTitle('Contacts – Custos');
  const [typed, setTyped] = useState(() => rememberedState('contactSearch'));
  const [search, setSearch] = useState(() => rememberedState('contactSearch'));
  const [offset, setOffset] = useState(() => rememberedOffset(PAGE_SIZE));
  const resultsHeading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
  if (search) query.set('search', search);
  const [contacts] = useApi<SyncPage<SyncContact>>(`/api/v1/sync/contacts?${query.toString()}`);
  const pupils = usePeople<SyncPupil>('pupils');

  useEffect(() => {
    rememberListState({ page: offset > 0 ? String(offset / PAGE_SIZE + 1) : undefined }, { contactSearch: search });
  }, [search, offset]);
  useEffect(() => {
    if (moved.current && contacts.state === 'loaded') {
      moved.current = false;
      resultsHeading.current?.focus();
    }
  }, [contacts]);

  const heading = search ? `Contacts matching “${search}”` : 'All current contacts';
  return (
    <>
      <SyncNav />
      <h1 id="page-title">Contacts</h1>
      <p>Parents, carers and others the school holds for its pupils, by surname.</p>
      <SearchBox
        id="contact-search"
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
        {contacts.state === 'loaded' ? resultsText(contacts.data, 'contacts', Boolean(search)) : ''}
      </p>
      <LoadState value={contacts} what="the contacts" />
      {contacts.state === 'loaded' && contacts.data.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">{heading}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Pupils</th>
              <th scope="col">Phone</th>
              <th scope="col">Email</th>
            </tr>
          </thead>
          <tbody>
            {contacts.data.items.map((contact) => (
              <tr key={contact.id}>
                <td>{personName(contact)}</td>
                <td>
                  <ul className="plain-list">
                    {contact.links.map((link) => {
                      const pupil = pupils.get(link.pupilId);
                      return (
                        <li key={link.pupilId}>
                          <Link href={`/sync/pupils/${link.pupilId}`}>{pupil ? pupilName(pupil) : 'Pupil'}</Link>
                          {': '}
                          {labelOr(RELATIONSHIP_LABELS, link.relationship)}
                          {link.parentalResponsibility && ', PR'}
                          {link.priority !== null && `, priority ${link.priority}`}
                          {link.noContact && (
                            <>
                              {' '}
                              <span className="tag tag--barred">Do not contact</span>
                            </>
                          )}
                        </li>
                      );
                    })}
                  </ul>
                </td>
                <td>{contact.phones.length > 0 ? contact.phones.map(phoneText).join('; ') : <span className="muted">None</span>}</td>
                <td>{contact.emails.length > 0 ? contact.emails.map(emailText).join('; ') : <span className="muted">None</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {contacts.state === 'loaded' && (
        <Pager
          page={contacts.data}
          noun="contacts"
          label="Contact pages"
          onOffset={(next) => {
            moved.current = true;
            setOffset(next);
          }}
        />
      )}
    </>
  );
}
