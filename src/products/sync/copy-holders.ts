import { AppError, PROBLEM_BASE } from '../../platform/errors.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';

/**
 * The named interface through which a product declares that it keeps copies of a school's data
 * (a cached audience, a till's pupil list...). When the school revokes the product's grant, sharing.ts
 * calls `forget` in the very transaction that revokes it, so the grant ends and the copies go
 * together or not at all, and the school gets a deletion receipt with the counts.
 *
 * Products register at import time: `registerCopyHolder('cashless', { describe, forget })`.
 * A grantee with no holder is taken to keep no copies inside Custos; an outside API client cannot
 * be made to delete anything, and the school's receipt says so.
 */

/** How many records of one kind were deleted. `entity` is a name from the code, never a value. */
export interface DeletedCopies {
  entity: string;
  deleted: number;
}

export interface CopyHolder {
  /** What the copies are, in words for the school's receipt (e.g. "the pupil list kept on each till"). */
  describe: string;
  /**
   * Deletes every copy this grantee keeps of the school's data in `scope`, and only that school's.
   * Delete through `scope.trx` so the deletion rolls back with the revocation if anything later fails.
   * Throwing stops the revocation: the grant stays in place and the error reaches the caller.
   */
  forget(scope: TenantScope): Promise<DeletedCopies[]>;
}

const holders = new Map<string, CopyHolder>();

const GRANTEE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const ENTITY = /^[a-z][a-z0-9_.-]{0,62}$/i;

export function registerCopyHolder(grantee: string, holder: CopyHolder): void {
  if (typeof grantee !== 'string' || !GRANTEE.test(grantee)) throw new TypeError(`copy holder grantee '${String(grantee)}' is not a grantee name`);
  if (typeof holder?.forget !== 'function') throw new TypeError(`copy holder for '${grantee}' has no forget function`);
  if (typeof holder.describe !== 'string' || holder.describe.trim() === '') throw new TypeError(`copy holder for '${grantee}' must describe its copies`);
  if (holders.has(grantee)) throw new Error(`a copy holder is already registered for '${grantee}'`);
  holders.set(grantee, holder);
}

/** The grantee's holder, if it registered one. */
export function copyHolderFor(grantee: string): CopyHolder | undefined {
  return holders.get(grantee);
}

/** The revocation was not made because the grantee could not delete its copies. */
export class CopiesNotDeletedError extends AppError {
  constructor(grantee: string, cause: unknown) {
    super(
      503,
      `${PROBLEM_BASE}copies-not-deleted`,
      'Copies not deleted',
      `the grant to '${grantee}' was not revoked because it could not delete its copies of the school's data; nothing was changed, try again later`,
    );
    this.cause = cause;
  }
}

/**
 * Asks the grantee's holder to forget the school and checks what it reports: one count per entity
 * (repeats added up), whole and not negative, entity names that look like names from code.
 * Returns undefined when the grantee has no holder.
 */
export async function forgetCopies(scope: TenantScope, grantee: string): Promise<{ holder: CopyHolder; deleted: DeletedCopies[] } | undefined> {
  const holder = holders.get(grantee);
  if (!holder) return undefined;
  let reported: DeletedCopies[];
  try {
    reported = await holder.forget(scope);
    if (!Array.isArray(reported)) throw new TypeError('forget must return a list of { entity, deleted }');
    for (const item of reported) {
      if (typeof item?.entity !== 'string' || !ENTITY.test(item.entity)) throw new TypeError('forget reported an entity that is not a name from code');
      if (!Number.isSafeInteger(item.deleted) || item.deleted < 0) throw new TypeError(`forget reported a count for '${item.entity}' that is not a whole number`);
    }
  } catch (error) {
    throw new CopiesNotDeletedError(grantee, error);
  }
  const totals = new Map<string, number>();
  for (const { entity, deleted } of reported) totals.set(entity, (totals.get(entity) ?? 0) + deleted);
  return { holder, deleted: [...totals].map(([entity, deleted]) => ({ entity, deleted })) };
}
