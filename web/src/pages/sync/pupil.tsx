import type { ReactNode } from 'react';
import type { SyncContact, SyncContactLink, SyncPupilWithContacts } from '../../api/sync.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import {
  addressText,
  calendarDate,
  emailText,
  GENDER_LABELS,
  labelOr,
  personName,
  phoneText,
  plural,
  pupilName,
  RELATIONSHIP_LABELS,
  SEN_LABELS,
  yearGroupName,
  yesNo,
} from './format.ts';
import { Stamp, SyncNav } from './parts.tsx';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const notRecorded = <span className="muted">Not recorded</span>;

/** /sync/pupils/:id — one pupil's record, with their contacts in priority order (sync.read). */
export function SyncPupil({ id }: { id: string }) {
  // No name in the title: titles are kept in the browser's history.
  usePageTitle('Pupil details – Custos');
  const [pupil] = useApi<SyncPupilWithContacts>(`/api/v1/sync/pupils/${encodeURIComponent(id)}`);
  const p = pupil.state === 'loaded' ? pupil.data : undefined;

  const contacts = p
    ? p.contacts
        .map((contact) => ({ contact, link: contact.links.find((l) => l.pupilId === p.id) }))
        .sort((a, b) => (a.link?.priority ?? 99) - (b.link?.priority ?? 99) || a.contact.surname.localeCompare(b.contact.surname))
    : [];
  const barred = contacts.filter((c) => c.link?.noContact);

  return (
    <>
      <SyncNav />
      <p className="back-link">
        <Link href="/sync/pupils">Back to pupils</Link>
      </p>
      <h1 id="page-title">{p ? pupilName(p) : 'Pupil details'}</h1>
      <LoadState value={pupil} what="the pupil" />
      {p && (
        <>
          {p.status === 'left' && (
            <p className="notice notice--warning">
              {p.preferredForename ?? p.legalForename} has left the school{p.leftAt ? ` (marked as left on ${calendarDate(p.leftAt)})` : ''}.
            </p>
          )}
          {barred.length > 0 && (
            <div className="notice notice--error" role="note" aria-labelledby="no-contact-title">
              <p id="no-contact-title">
                <strong>
                  Do not contact {plural(barred.length, 'person', 'people')} about {p.preferredForename ?? p.legalForename}:{' '}
                  {barred.map((c) => personName(c.contact)).join(', ')}.
                </strong>
              </p>
              <p>A court order or another instruction says they must not be contacted about this pupil. They are marked below.</p>
            </div>
          )}

          <section aria-labelledby="details-title">
            <h2 id="details-title">Details</h2>
            <dl className="summary-list">
              <Row term="Legal name">
                {[p.legalForename, p.middleNames, p.legalSurname].filter(Boolean).join(' ')}
              </Row>
              {(p.preferredForename || p.preferredSurname) && (
                <Row term="Preferred name">{`${p.preferredForename ?? p.legalForename} ${p.preferredSurname ?? p.legalSurname}`}</Row>
              )}
              <Row term="Date of birth">{calendarDate(p.dateOfBirth)}</Row>
              <Row term="Gender">{labelOr(GENDER_LABELS, p.gender)}</Row>
              <Row term="Year group">{yearGroupName(p.yearGroup)}</Row>
              <Row term="Registration group">{p.registrationGroup ?? notRecorded}</Row>
              <Row term="House">{p.house ?? notRecorded}</Row>
              <Row term="UPN">{p.upn ?? notRecorded}</Row>
              <Row term="Admission number">{p.admissionNumber ?? notRecorded}</Row>
              <Row term="Joined">{calendarDate(p.enrolmentDate)}</Row>
              {p.leavingDate && <Row term="Leaving date">{calendarDate(p.leavingDate)}</Row>}
              <Row term="SEN provision">{labelOr(SEN_LABELS, p.senStatus)}</Row>
              <Row term="Free school meals">
                {yesNo(p.fsmEligible)}
                {p.fsmPeriods.length > 0 && (
                  <ul className="plain-list">
                    {p.fsmPeriods.map((period) => (
                      <li key={period.start}>
                        From {calendarDate(period.start)}
                        {period.end ? ` to ${calendarDate(period.end)}` : ''}
                      </li>
                    ))}
                  </ul>
                )}
              </Row>
              <Row term="Ethnicity">{p.ethnicity ?? notRecorded}</Row>
              <Row term="First language">{p.firstLanguage ?? notRecorded}</Row>
              <Row term="Religion">{p.religion ?? notRecorded}</Row>
              <Row term="MIS id">{p.misId}</Row>
              <Row term="Last updated">
                <Stamp iso={p.updatedAt} />
              </Row>
            </dl>
          </section>

          <section aria-labelledby="pupil-contact-title">
            <h2 id="pupil-contact-title">The pupil’s own contact details</h2>
            <dl className="summary-list">
              <Row term="Address">{addressText(p.address) ?? notRecorded}</Row>
              <Row term="Email">{p.emails.length > 0 ? p.emails.map(emailText).join('; ') : notRecorded}</Row>
              <Row term="Phone">{p.phones.length > 0 ? p.phones.map(phoneText).join('; ') : notRecorded}</Row>
            </dl>
          </section>

          <section aria-labelledby="contacts-title">
            <h2 id="contacts-title">Contacts ({contacts.length})</h2>
            {contacts.length === 0 ? (
              <p>No contacts are held for this pupil.</p>
            ) : (
              <>
                <p>In the order to call them. Parental responsibility is abbreviated PR.</p>
                <ol className="contact-list">
                  {contacts.map(({ contact, link }) => (
                    <ContactCard key={contact.id} contact={contact} link={link} />
                  ))}
                </ol>
              </>
            )}
          </section>
        </>
      )}
    </>
  );
}

function ContactCard({ contact, link }: { contact: SyncContact; link: SyncContactLink | undefined }) {
  const barred = link?.noContact === true;
  const titleId = `contact-${contact.id}`;
  return (
    <li className={`contact-card${barred ? ' contact-card--barred' : ''}`}>
      <h3 id={titleId}>
        {personName(contact)}
        {barred && (
          <>
            {' '}
            <span className="tag tag--barred">Do not contact</span>
          </>
        )}
      </h3>
      {barred && <p className="contact-card__warning">Must not be contacted about this pupil (court order or instruction).</p>}
      <dl className="summary-list summary-list--compact">
        <Row term="Relationship">{labelOr(RELATIONSHIP_LABELS, link?.relationship)}</Row>
        <Row term="Priority">{link?.priority ?? notRecorded}</Row>
        <Row term="Parental responsibility (PR)">{yesNo(link?.parentalResponsibility)}</Row>
        <Row term="Lives with the pupil">{yesNo(link?.livesWith)}</Row>
        <Row term="Phone">{contact.phones.length > 0 ? contact.phones.map(phoneText).join('; ') : notRecorded}</Row>
        <Row term="Email">{contact.emails.length > 0 ? contact.emails.map(emailText).join('; ') : notRecorded}</Row>
        <Row term="Address">{addressText(contact.address) ?? notRecorded}</Row>
        {contact.status === 'left' && <Row term="Status">No longer a current contact</Row>}
      </dl>
    </li>
  );
}
