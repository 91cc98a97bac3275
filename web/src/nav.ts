import type { SessionInfo } from './api/types.ts';
import { can } from './session.tsx';

export interface NavItem {
  href: string;
  label: string;
  description: string;
  /** The permission the page needs; none: every signed-in person. */
  permission?: string;
  /** Organisation kinds it is shown to; none: every kind. */
  kinds?: string[];
}

/** The signed-in pages, in header order; each is shown only to those who may use it. */
export const NAV_ITEMS: NavItem[] = [
  { href: '/home', label: 'Home', description: 'Who you are signed in as.' },
  {
    href: '/sync',
    label: 'School data',
    description: 'Pupils, contacts, staff and groups from your MIS: imports, their history, and what you share with whom.',
    permission: 'sync.read',
    kinds: ['school'],
  },
  {
    href: '/portal',
    label: 'Client portal',
    description: 'Clients’ documents, and what is sent to them to approve or sign (for a client: what is waiting for you).',
    permission: 'portal.clients.read',
    kinds: ['practice'],
  },
  { href: '/users', label: 'Users', description: 'Who belongs to the organisation; invite people and change their roles.', permission: 'users.read' },
  { href: '/settings', label: 'Settings', description: 'Two-step verification and password rules for everyone.', permission: 'settings.manage' },
  { href: '/audit', label: 'Audit log', description: 'Every change, who made it and when; download it or check it has not been altered.', permission: 'audit.read' },
  { href: '/permissions', label: 'Permissions', description: 'What each role may do.' },
  { href: '/account', label: 'Account', description: 'Change your password, your recovery codes, or sign out everywhere.' },
];

export function navItemsFor(session: SessionInfo): NavItem[] {
  return NAV_ITEMS.filter(
    (item) => (!item.permission || can(session, item.permission)) && (!item.kinds || item.kinds.includes(session.organisation.kind)),
  );
}
