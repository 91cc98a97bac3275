import { useEffect, useRef, type ReactNode, type RefObject, type TextareaHTMLAttributes } from 'react';
import type { FlowStatus, PortalClient, PortalClientPage, PortalFlow } from '../../api/portal.ts';
import { useApi } from '../../api/use-api.ts';
import { Link } from '../../components/link.tsx';
import { SectionNav, type SectionPage } from '../../components/section-nav.tsx';
import { can, useSignedIn } from '../../session.tsx';
import { Stamp } from '../sync/parts.tsx';
import { KIND_LABELS, STATUS_LABELS, STATUS_TONES } from './format.ts';
import { FieldErrors } from '../../components/forms.tsx';

/** The practice's side of the portal, each page shown only to those who may open it. */
const SECTION: SectionPage[] = [
  { href: '/portal', label: 'Overview', permission: 'portal.flows.send' },
  { href: '/portal/clients', label: 'Clients', permission: 'portal.clients.manage' },
  { href: '/portal/requests', label: 'Requests', permission: 'portal.flows.send' },
  { href: '/portal/request-templates', label: 'Templates', permission: 'portal.flows.send' },
  { href: '/portal/invoices', label: 'Invoices', permission: 'portal.invoices.manage' },
  { href: '/portal/billing', label: 'Credits and storage', permission: 'portal.billing.manage' },
];

/** Whether this person works for the practice (sends to clients) rather than being one of its clients. */
export function isPracticeSide(session: ReturnType<typeof useSignedIn>): boolean {
  return can(session, 'portal.flows.send');
}

/** The section's own navigation, above each practice page's h1 (client users have one page and no sub-navigation). */
export function PortalNav() {
  const session = useSignedIn();
  if (!isPracticeSide(session)) return null;
  return <SectionNav label="Client portal" root="/portal" pages={SECTION} />;
}

// A moment, as "09:47, 24 Nov", machine-readable too: the same as the school data pages'.
export { Stamp };

/** A flow's state in words (never colour alone). */
export function FlowStatusTag({ status }: { status: FlowStatus }) {
  return <span className={`tag tag--${STATUS_TONES[status]}`}>{STATUS_LABELS[status]}</span>;
}

/** aria-describedby for a field: its hint (if any) and its errors (when there are some). */
export function describedBy(id: string, hint: boolean, errors: string[]): string | undefined {
  return [hint ? `${id}-hint` : '', errors.length > 0 ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
}

interface TextAreaFieldProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'> {
  id: string;
  label: string;
  hint?: ReactNode;
  errors?: string[];
}

/** A labelled box for a comment or a message, with its hint and errors tied to it. */
export function TextAreaField({ id, label, hint, errors = [], ...textarea }: TextAreaFieldProps) {
  return (
    <div className={`field${errors.length > 0 ? ' field--error' : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {hint && (
        <div className="field__hint" id={`${id}-hint`}>
          {hint}
        </div>
      )}
      <FieldErrors id={`${id}-error`} messages={errors} />
      <textarea
        id={id}
        name={id}
        className="textarea textarea--prose"
        rows={4}
        aria-describedby={describedBy(id, Boolean(hint), errors)}
        aria-invalid={errors.length > 0 ? true : undefined}
        {...textarea}
      />
    </div>
  );
}

/** The clients this person can see, by id: to name the client of each flow. */
export function useClientNames(): Map<string, PortalClient> {
  const [clients] = useApi<PortalClientPage>('/api/v1/portal/clients?limit=200');
  return new Map(clients.state === 'loaded' ? clients.data.items.map((c) => [c.id, c]) : []);
}

/** Flows, newest first: title (to the flow), client, what was asked, where it stands and when. */
export function FlowsTable({ flows, caption, clients, captionHidden }: { flows: PortalFlow[]; caption: string; clients?: Map<string, PortalClient>; captionHidden?: boolean }) {
  return (
    <table className="table">
      <caption className={captionHidden ? 'visually-hidden' : undefined}>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Title</th>
          {clients && <th scope="col">Client</th>}
          <th scope="col">Asked for</th>
          <th scope="col">Status</th>
          <th scope="col">Sent</th>
          <th scope="col">Finished</th>
        </tr>
      </thead>
      <tbody>
        {flows.map((flow) => (
          <tr key={flow.id}>
            <td>
              <Link href={`/portal/flows/${flow.id}`}>{flow.title}</Link>
            </td>
            {clients && <td>{clients.get(flow.clientId)?.name ?? <span className="muted">Unknown client</span>}</td>}
            <td>{KIND_LABELS[flow.kind]}</td>
            <td>
              <FlowStatusTag status={flow.status} />
            </td>
            <td>
              <Stamp iso={flow.createdAt} />
            </td>
            <td>{flow.completedAt ? <Stamp iso={flow.completedAt} /> : <span className="muted">Not yet</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * For a button that opens a form in its place: once the form closes (Cancel) and the button is
 * back, focus returns to it, so a keyboard user carries on where they were.
 */
export function useReturnFocus(open: boolean): RefObject<HTMLButtonElement | null> {
  const button = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  useEffect(() => {
    if (!open && wasOpen.current) button.current?.focus();
    wasOpen.current = open;
  }, [open]);
  return button;
}
