import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { LoadState } from '../../components/loading.tsx';
import { usePageTitle } from '../../use-page-title.ts';
import { Stamp, SyncNav } from './parts.tsx';

type Check = 'contact-unreachable' | 'no-parental-responsibility' | 'duplicate-contact' | 'siblings-not-linked';

interface QualityRecord {
  entity: 'pupils' | 'contacts';
  id: string;
  misId: string;
  name: string;
}

interface QualityReport {
  checkedAt: string;
  issues: { check: Check; records: QualityRecord[] }[];
  counts: Record<string, number>;
}

/** Each check, in the order the report gives them, with what it means and what to do in the MIS. */
const CHECKS: { check: Check; title: string; explain: string }[] = [
  {
    check: 'contact-unreachable',
    title: 'Contacts with no email and no phone',
    explain: 'The school cannot reach these contacts at all. Add an email address or a phone number in the MIS.',
  },
  {
    check: 'no-parental-responsibility',
    title: 'Pupils with no contact who has parental responsibility',
    explain: 'No contact of these pupils is marked as having parental responsibility. Check and mark it in the MIS.',
  },
  {
    check: 'duplicate-contact',
    title: 'Likely duplicate contacts',
    explain: 'Contacts with the same name and the same email address, phone number or postcode, under different MIS ids. Merge them in the MIS if they are one person.',
  },
  {
    check: 'siblings-not-linked',
    title: 'Siblings not linked to the same contacts',
    explain: 'Pupils who seem to share a home, where a contact of that home is linked to only some of them. Link the contact to each sibling in the MIS if that is right.',
  },
];

function RecordItem({ record }: { record: QualityRecord }) {
  const kind = record.entity === 'pupils' ? 'pupil' : 'contact';
  return (
    <li>
      {record.entity === 'pupils' ? <Link href={`/sync/pupils/${record.id}`}>{record.name || 'Unnamed pupil'}</Link> : record.name || 'Unnamed contact'}{' '}
      <span className="muted">
        ({kind}, MIS id {record.misId})
      </span>
    </li>
  );
}

/** /sync/data-quality — problems to fix in the MIS before sharing the school's data (sync.read). */
export function SyncDataQuality() {
  usePageTitle('Data quality – Custos');
  const [report] = useApi<QualityReport>('/api/v1/sync/data-quality');

  return (
    <>
      <SyncNav />
      <h1 id="page-title">Data quality</h1>
      <p>
        Checks on the school’s current pupils and contacts, to put right in the MIS before sharing the data with other
        services. The next import brings the corrections in.
      </p>
      <LoadState value={report} what="the data-quality checks" />
      {report.state === 'loaded' && (
        <>
          <p>
            Checked at <Stamp iso={report.data.checkedAt} />.
          </p>
          <table className="table table--numbers">
            <caption>Problems found, by check</caption>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {CHECKS.map(({ check, title }) => (
                <tr key={check}>
                  <th scope="row">
                    <a href={`#${check}`}>{title}</a>
                  </th>
                  <td>{report.data.counts[check] ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {CHECKS.map(({ check, title, explain }) => {
            const issues = report.data.issues.filter((issue) => issue.check === check);
            return (
              <section key={check} aria-labelledby={check}>
                <h2 id={check} tabIndex={-1}>
                  {title}
                </h2>
                <p>{explain}</p>
                {issues.length === 0 ? (
                  <p>None found.</p>
                ) : (
                  <ol>
                    {issues.map((issue) => (
                      <li key={issue.records.map((r) => r.id).join(',')}>
                        <ul>
                          {issue.records.map((record) => (
                            <RecordItem key={record.id} record={record} />
                          ))}
                        </ul>
                      </li>
                    ))}
                  </ol>
                )}
              </section>
            );
          })}
        </>
      )}
    </>
  );
}
