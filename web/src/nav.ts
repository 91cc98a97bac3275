import type { SessionInfo } from './api/types.ts';
import { can } from './session.tsx';

export interface NavItem {
  href: string;
  label: string;
  description: string;
  /** The permission the page needs; none: every signed-in person. */
  permission?: string;
}

/** The signed-in pages, in header order; each is shown only to those who may use it. */
export const NAV_ITEMS: NavItem[] = [
  { href: '/home', label: 'Home', description: 'Who you are signed in as.' },
  { href: '/users', label: 'Users', description: 'Who belongs to the organisation; invite people and change their roles.', permission: 'users.read' },
  { href: '/settings', label: 'Settings', description: 'Two-step verification and password rules for everyone.', permission: 'settings.manage' },
  { href: '/audit', label: 'Audit log', description: 'Every change, who made it and when; download it or check it has not been altered.', permission: 'audit.read' },
  { href: '/permissions', label: 'Permissions', description: 'What each role may do.' },
  { href: '/account', label: 'Account', description: 'Change your password, your recovery codes, or sign out everywhere.' },
];

export function navItemsFor(session: SessionInfo): NavItem[] {
  return NAV_ITEMS.filter((item) => !item.permission || can(session, item.permission));
}
