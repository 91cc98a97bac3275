import { NotFoundError } from '../../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import type { GroupKind } from '../model.ts';
import { loadContacts, loadGroups, loadPupils, loadStaff } from './load.ts';
import type { ContactView, GroupView, PupilView, StaffView } from './views.ts';

/** The school's own data browser: every field, for people and tokens holding 'sync.read'. No grant is involved. */

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PageOptions {
  limit?: number;
  offset?: number;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

function page<T>(all: T[], options: PageOptions): Page<T> {
  const limit = Math.min(Math.max(options.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const offset = Math.max(options.offset ?? 0, 0);
  return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
}

/** Pupils by surname; `search` matches a name or UPN exactly (case-insensitive); `group` a group id or name. */
export async function browsePupils(scope: TenantScope, options: PageOptions & { search?: string; group?: string; includeLeft?: boolean } = {}): Promise<Page<PupilView>> {
  return page(await loadPupils(scope, { search: options.search, group: options.group, includeLeft: options.includeLeft, upnSearch: true }), options);
}

/** One pupil (current or left) with their contacts. */
export async function browsePupil(scope: TenantScope, id: string): Promise<PupilView & { contacts: ContactView[] }> {
  const [pupil] = isUuid(id) ? await loadPupils(scope, { ids: [id], includeLeft: true }) : [];
  if (!pupil) throw new NotFoundError('pupil');
  return { ...pupil, contacts: await loadContacts(scope, { pupilId: id, includeLeft: true }) };
}

export async function browseContacts(scope: TenantScope, options: PageOptions & { search?: string; includeLeft?: boolean } = {}): Promise<Page<ContactView>> {
  return page(await loadContacts(scope, { search: options.search, includeLeft: options.includeLeft }), options);
}

export async function browseStaff(scope: TenantScope, options: PageOptions & { search?: string; includeLeft?: boolean } = {}): Promise<Page<StaffView>> {
  return page(await loadStaff(scope, { search: options.search, includeLeft: options.includeLeft }), options);
}

export async function browseGroups(scope: TenantScope, options: PageOptions & { kind?: GroupKind; includeLeft?: boolean } = {}): Promise<Page<GroupView>> {
  return page(await loadGroups(scope, { kind: options.kind, includeLeft: options.includeLeft, currentMembersOnly: false }), options);
}
