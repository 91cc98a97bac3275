import { definePermissions } from '../../platform/access/permissions.ts';

/** The sync hub's permissions (registered when the sync engine, reader or routes are loaded). */
export const SYNC_PERMISSIONS = definePermissions('sync', {
  'sync.read': 'browse the school data the hub holds',
  'sync.manage': 'run imports and manage connections',
  'sync.sharing': 'grant and revoke what products and apps may read',
});
