import type { AnswerValue, PortalClient, PortalQuestion, PortalRequest, PortalRequestListItem, QuestionKind, RequestStatus } from '../../api/portal.ts';
import { Link } from '../../components/link.tsx';
import { calendarDate } from '../sync/format.ts';
import { formatPence } from './money.ts';
import { Stamp } from './parts.tsx';

/** Words for information requests, as the practice and its clients read them. */

export const REQUEST_STATUS_LABELS: Record<RequestStatus, string> = {
  sent: 'Waiting for the client',
  answered: 'Answered',
  completed: 'Complete',
  declined: 'Declined',
  expired: 'Expired',
  cancelled: 'Withdrawn',
};

/** The client's own words for the same states: "waiting for you" rather than "for the client". */
export const REQUEST_STATUS_LABELS_FOR_CLIENT: Record<RequestStatus, string> = { ...REQUEST_STATUS_LABELS, sent: 'Waiting for you', answered: 'Sent to the practice' };

const REQUEST_STATUS_TONES: Record<RequestStatus, 'active' | 'invited' | 'disabled'> = {
  sent: 'invited',
  answered: 'invited',
  completed: 'active',
  declined: 'disabled',
  expired: 'disabled',
  cancelled: 'disabled',
};

export const REQUEST_KIND_LABELS: Record<PortalRequestListItem['kind'], string> = { questionnaire: 'Questions', mtd_quarter: 'Quarterly figures (Making Tax Digital)' };

export const QUESTION_KIND_LABELS: Record<QuestionKind, string> = {
  text: 'Text',
  number: 'Number',
  money: 'Amount of money',
  date: 'Date',
  'yes-no': 'Yes or no',
  choice: 'One of a list',
  documents: 'Documents to upload',
};

export function RequestStatusTag({ status, forClient = false }: { status: RequestStatus; forClient?: boolean }) {
  return <span className={`tag tag--${REQUEST_STATUS_TONES[status]}`}>{(forClient ? REQUEST_STATUS_LABELS_FOR_CLIENT : REQUEST_STATUS_LABELS)[status]}</span>;
}

/** "2026-27-Q1" → "Quarter 1 of 2026-27". */
export function mtdPeriodLabel(period: string): string {
  const match = /^(\d{4}-\d{2})-Q([1-4])$/.exec(period);
  return match ? `Quarter ${match[2]} of ${match[1]}` : period;
}

/** Requests, newest first, for the practice: title (to the request), client, what, where it stands, when. */
export function RequestsTable({ requests, caption, clients, captionHidden }: { requests: PortalRequestListItem[]; caption: string; clients?: Map<string, PortalClient>; captionHidden?: boolean }) {
  return (
    <table className="table">
      <caption className={captionHidden ? 'visually-hidden' : undefined}>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Title</th>
          {clients && <th scope="col">Client</th>}
          <th scope="col">Asks for</th>
          <th scope="col">Status</th>
          <th scope="col">Sent</th>
          <th scope="col">Due</th>
        </tr>
      </thead>
      <tbody>
        {requests.map((request) => (
          <tr key={request.id}>
            <td>
              <Link href={`/portal/requests/${request.id}`}>{request.title}</Link>
            </td>
            {clients && <td>{clients.get(request.clientId)?.name ?? <span className="muted">Unknown client</span>}</td>}
            <td>{request.kind === 'mtd_quarter' && request.mtdPeriod ? `Figures for ${mtdPeriodLabel(request.mtdPeriod)}` : REQUEST_KIND_LABELS[request.kind]}</td>
            <td>
              <RequestStatusTag status={request.status} />
            </td>
            <td>
              <Stamp iso={request.createdAt} />
            </td>
            <td>{request.dueAt ? <Stamp iso={request.dueAt} /> : <span className="muted">No date</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A client's request as a card (their pages are built for a phone). */
export function RequestCard({ request, clientName, level = 3 }: { request: PortalRequestListItem; clientName?: string; level?: 2 | 3 }) {
  const Heading = level === 2 ? 'h2' : 'h3';
  return (
    <li className="request-card">
      <Heading className="request-card__title">
        <Link href={`/portal/requests/${request.id}`}>{request.title}</Link>
      </Heading>
      <p className="request-card__meta">
        <RequestStatusTag status={request.status} forClient />{' '}
        {request.kind === 'mtd_quarter' && request.mtdPeriod ? `Figures for ${mtdPeriodLabel(request.mtdPeriod)} to approve` : 'Questions to answer'}
        {clientName ? ` for ${clientName}` : ''}.
      </p>
      <p className="request-card__meta">
        Sent <Stamp iso={request.createdAt} />
        {request.status === 'sent' && request.dueAt && (
          <>
            ; please answer by <Stamp iso={request.dueAt} />
          </>
        )}
        .
      </p>
    </li>
  );
}

/** An answer as words; a documents answer is listed by the caller. */
export function answerText(question: PortalQuestion, value: AnswerValue | undefined): string | undefined {
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return undefined;
  switch (question.kind) {
    case 'yes-no':
      return value === true ? 'Yes' : value === false ? 'No' : String(value);
    case 'money':
      return typeof value === 'number' ? formatPence(value) : String(value);
    case 'date':
      return typeof value === 'string' ? calendarDate(value) : String(value);
    case 'number':
      return typeof value === 'number' ? value.toLocaleString('en-GB') : String(value);
    default:
      return Array.isArray(value) ? value.join(', ') : String(value);
  }
}

/** Questions answered so far, out of all of them, and of the required ones. */
export function answeredCount(request: Pick<PortalRequest, 'sections' | 'answers'>): { answered: number; total: number } {
  const questions = request.sections.flatMap((s) => s.questions);
  return { answered: questions.filter((q) => answerText(q, request.answers[q.id]) !== undefined).length, total: questions.length };
}
