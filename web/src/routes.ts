import type { ComponentType } from 'react';
import { Permissions } from './pages/access/permissions.tsx';
import { Account } from './pages/account/account.tsx';
import { Audit } from './pages/audit/audit.tsx';
import { AcceptInvitation } from './pages/auth/invite.tsx';
import { CompletePasswordReset } from './pages/auth/reset-complete.tsx';
import { PracticeSignUp } from './pages/auth/practice-sign-up.tsx';
import { RequestPasswordReset } from './pages/auth/reset-request.tsx';
import { SignIn } from './pages/auth/sign-in.tsx';
import { Home } from './pages/home.tsx';
import { Landing } from './pages/landing.tsx';
import { MfaChallenge } from './pages/mfa/challenge.tsx';
import { MfaEnrol } from './pages/mfa/enrol.tsx';
import { PortalBilling } from './pages/portal/billing.tsx';
import { PortalClientPage } from './pages/portal/client.tsx';
import { PortalClients } from './pages/portal/clients.tsx';
import { PortalHome } from './pages/portal/dashboard.tsx';
import { PortalFlowPage } from './pages/portal/flow.tsx';
import { PortalInvoicePage } from './pages/portal/invoice.tsx';
import { PortalInvoiceNew } from './pages/portal/invoice-form.tsx';
import { PortalInvoices } from './pages/portal/invoices.tsx';
import { PortalRequestPage } from './pages/portal/request.tsx';
import { PortalRequests } from './pages/portal/requests.tsx';
import { PortalRequestTemplates } from './pages/portal/templates.tsx';
import { VerifyDocument } from './pages/portal/verify.tsx';
import { Settings } from './pages/settings/settings.tsx';
import { SyncApiClients } from './pages/sync/api-clients.tsx';
import { SyncConnections } from './pages/sync/connections.tsx';
import { SyncContacts } from './pages/sync/contacts.tsx';
import { SyncDataQuality } from './pages/sync/data-quality.tsx';
import { SyncGroups } from './pages/sync/groups.tsx';
import { SyncImport } from './pages/sync/import.tsx';
import { SyncOverview } from './pages/sync/overview.tsx';
import { SyncPupil } from './pages/sync/pupil.tsx';
import { SyncPupils } from './pages/sync/pupils.tsx';
import { SyncRun } from './pages/sync/run.tsx';
import { SyncRuns } from './pages/sync/runs.tsx';
import { SyncSharing } from './pages/sync/sharing.tsx';
import { SyncStaff } from './pages/sync/staff.tsx';
import { SyncWebhooks } from './pages/sync/webhooks.tsx';
import { Users } from './pages/users/users.tsx';
import { matchPath } from './router.ts';

/**
 * Who may open a page:
 * - `public`: anyone;
 * - `sign-in`: anyone, but someone fully signed in is sent on to `next` or /home;
 * - `session`: signed in, MFA not yet needed (the MFA pages themselves);
 * - `protected`: signed in and past MFA, holding `permission` if one is named, in an organisation of
 *   one of `kinds` if they are named.
 */
export type Access = 'public' | 'sign-in' | 'session' | 'protected';

export interface Route {
  pattern: string;
  access: Access;
  permission?: string;
  /** Organisation kinds the page is for (a school's data pages: only schools); none: every kind. */
  kinds?: string[];
  // Pages take their path parameters as props.
  page: ComponentType<Record<string, string>> | ComponentType<{ token: string }> | ComponentType<{ id: string }>;
}

/** Only schools hold school data (the sync hub). */
const SCHOOL = ['school'];
/** Only accountancy practices have clients (the client portal). */
const PRACTICE = ['practice'];

export const ROUTES: Route[] = [
  { pattern: '/', access: 'public', page: Landing },
  { pattern: '/sign-in', access: 'sign-in', page: SignIn },
  { pattern: '/invite/:token', access: 'public', page: AcceptInvitation },
  { pattern: '/reset-password', access: 'public', page: RequestPasswordReset },
  { pattern: '/sign-up', access: 'sign-in', page: PracticeSignUp },
  { pattern: '/reset-password/:token', access: 'public', page: CompletePasswordReset },
  { pattern: '/mfa/enrol', access: 'session', page: MfaEnrol },
  { pattern: '/mfa/challenge', access: 'session', page: MfaChallenge },
  { pattern: '/home', access: 'protected', page: Home },
  { pattern: '/users', access: 'protected', permission: 'users.read', page: Users },
  { pattern: '/settings', access: 'protected', permission: 'settings.manage', page: Settings },
  { pattern: '/audit', access: 'protected', permission: 'audit.read', page: Audit },
  { pattern: '/permissions', access: 'protected', page: Permissions },
  { pattern: '/account', access: 'protected', page: Account },
  { pattern: '/sync', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncOverview },
  { pattern: '/sync/import', access: 'protected', permission: 'sync.manage', kinds: SCHOOL, page: SyncImport },
  { pattern: '/sync/runs', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncRuns },
  { pattern: '/sync/runs/:id', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncRun },
  { pattern: '/sync/pupils', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncPupils },
  { pattern: '/sync/pupils/:id', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncPupil },
  { pattern: '/sync/contacts', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncContacts },
  { pattern: '/sync/data-quality', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncDataQuality },
  { pattern: '/sync/staff', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncStaff },
  { pattern: '/sync/groups', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncGroups },
  { pattern: '/sync/sharing', access: 'protected', permission: 'sync.sharing', kinds: SCHOOL, page: SyncSharing },
  { pattern: '/sync/connections', access: 'protected', permission: 'sync.read', kinds: SCHOOL, page: SyncConnections },
  { pattern: '/sync/webhooks', access: 'protected', permission: 'sync.sharing', kinds: SCHOOL, page: SyncWebhooks },
  { pattern: '/sync/api-clients', access: 'protected', permission: 'sync.sharing', kinds: SCHOOL, page: SyncApiClients },
  { pattern: '/portal', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalHome },
  { pattern: '/portal/clients', access: 'protected', permission: 'portal.clients.manage', kinds: PRACTICE, page: PortalClients },
  { pattern: '/portal/clients/:id', access: 'protected', permission: 'portal.clients.manage', kinds: PRACTICE, page: PortalClientPage },
  { pattern: '/portal/flows/:id', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalFlowPage },
  { pattern: '/portal/requests', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalRequests },
  { pattern: '/portal/requests/:id', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalRequestPage },
  { pattern: '/portal/request-templates', access: 'protected', permission: 'portal.flows.send', kinds: PRACTICE, page: PortalRequestTemplates },
  { pattern: '/portal/invoices', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalInvoices },
  // Before /portal/invoices/:id, which would otherwise take "new" for an id.
  { pattern: '/portal/invoices/new', access: 'protected', permission: 'portal.invoices.manage', kinds: PRACTICE, page: PortalInvoiceNew },
  { pattern: '/portal/invoices/:id', access: 'protected', permission: 'portal.clients.read', kinds: PRACTICE, page: PortalInvoicePage },
  { pattern: '/portal/billing', access: 'protected', permission: 'portal.billing.manage', kinds: PRACTICE, page: PortalBilling },
  // Where Stripe sends the buyer back after paying for credits or storage.
  { pattern: '/portal/practice/purchases/:id', access: 'protected', permission: 'portal.billing.manage', kinds: PRACTICE, page: PortalBilling },
  { pattern: '/verify', access: 'public', page: VerifyDocument },
];

export function findRoute(pathname: string): { route: Route; params: Record<string, string> } | undefined {
  // A trailing slash is the same page: /users/ is /users.
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, path);
    if (params) return { route, params };
  }
  return undefined;
}
