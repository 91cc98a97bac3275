import type { ComponentType } from 'react';
import { Permissions } from './pages/access/permissions.tsx';
import { Account } from './pages/account/account.tsx';
import { Audit } from './pages/audit/audit.tsx';
import { AcceptInvitation } from './pages/auth/invite.tsx';
import { CompletePasswordReset } from './pages/auth/reset-complete.tsx';
import { RequestPasswordReset } from './pages/auth/reset-request.tsx';
import { SignIn } from './pages/auth/sign-in.tsx';
import { Home } from './pages/home.tsx';
import { Landing } from './pages/landing.tsx';
import { MfaChallenge } from './pages/mfa/challenge.tsx';
import { MfaEnrol } from './pages/mfa/enrol.tsx';
import { Settings } from './pages/settings/settings.tsx';
import { Users } from './pages/users/users.tsx';
import { matchPath } from './router.ts';

/**
 * Who may open a page:
 * - `public`: anyone;
 * - `sign-in`: anyone, but someone fully signed in is sent on to `next` or /home;
 * - `session`: signed in, MFA not yet needed (the MFA pages themselves);
 * - `protected`: signed in and past MFA, holding `permission` if one is named.
 */
export type Access = 'public' | 'sign-in' | 'session' | 'protected';

export interface Route {
  pattern: string;
  access: Access;
  permission?: string;
  // Pages take their path parameters as props.
  page: ComponentType<Record<string, string>> | ComponentType<{ token: string }>;
}

export const ROUTES: Route[] = [
  { pattern: '/', access: 'public', page: Landing },
  { pattern: '/sign-in', access: 'sign-in', page: SignIn },
  { pattern: '/invite/:token', access: 'public', page: AcceptInvitation },
  { pattern: '/reset-password', access: 'public', page: RequestPasswordReset },
  { pattern: '/reset-password/:token', access: 'public', page: CompletePasswordReset },
  { pattern: '/mfa/enrol', access: 'session', page: MfaEnrol },
  { pattern: '/mfa/challenge', access: 'session', page: MfaChallenge },
  { pattern: '/home', access: 'protected', page: Home },
  { pattern: '/users', access: 'protected', permission: 'users.read', page: Users },
  { pattern: '/settings', access: 'protected', permission: 'settings.manage', page: Settings },
  { pattern: '/audit', access: 'protected', permission: 'audit.read', page: Audit },
  { pattern: '/permissions', access: 'protected', page: Permissions },
  { pattern: '/account', access: 'protected', page: Account },
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
