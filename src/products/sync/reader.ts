import type { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { AppError, PROBLEM_BASE } from '../../platform/errors.ts';
import { openBlob } from '../../platform/storage/blobs.ts';
import type { LocalBlobStore } from '../../platform/storage/blob-store.ts';
import { isUuid, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { attendanceRangeSchema, freshness, loadAttendance, loadContacts, loadGroups, loadPupils, loadStaff } from './reader/load.ts';
import { PUPIL_SCOPES, sharedContact, sharedGroup, sharedPupil, sharedStaff, type Admitted, type SharedContact, type SharedGroup, type SharedPupil, type SharedStaff } from './reader/shared.ts';
import { DATA_PURPOSE } from './engine/documents.ts';
import { open, type AttendanceMarkView, type Freshness } from './reader/views.ts';
import { utcDay } from './sharing.ts';

/**
 * THE way other products read a school's data: `createSyncReader(scope, grantee)`. Products never
 * query the sync tables themselves. Every call of a reader
 *   1. re-reads the grantee's live grant and the school's pause switch (revoked or paused: refused
 *      with SharingNotGrantedError, 403, on the very next call, even on a reader made before),
 *   2. returns only the fields the granted scopes allow (below),
 *   3. leaves out pupils and staff the school excluded from the grant, wherever they would appear
 *      (lists, contact links, group members, attendance marks), and pupils and staff who have left,
 *   4. counts one read for the grantee and the UTC day (sync_read_counts), shown on the sharing page.
 *
 * Fields per scope (pupils):
 *   - pupils.basic:     forename and surname (preferred, else legal), legal names, middle names,
 *                       year group, registration group, house. Name search needs this scope.
 *   - pupils.contact:   the pupil's own address, email addresses and phone numbers.
 *   - pupils.sensitive: date of birth, gender, UPN, ethnicity, religion, first language, SEN status.
 *                       Date of birth and gender are here rather than in basic on purpose: most
 *                       products need a name and a class, not an age, and the DOB + name pair is what
 *                       identity fraud is built on. A grantee that needs them asks for this scope.
 *   - pupils.photo:     the photo's blob id, which says there is one; the photo itself is read with
 *                       `photo()`, which checks the grant again at that moment (an id kept from an
 *                       earlier read opens nothing once the grant, or the pupil, is gone).
 *   - fsm:              free school meals eligibility and periods.
 * A pupil list needs at least one of these; every pupil carries `id`.
 *   - contacts: contacts with their links (relationship, parental responsibility, priority, lives
 *               with, and `noContact`: a court order or instruction not to contact this person about
 *               that pupil, which the product must honour).
 *   - staff:    title, names, job title, work emails and phones, photo blob id (not DOB or gender);
 *               the photo through `photo()` as for pupils.
 *   - groups:   groups with their current members' ids; filtering pupils by group needs it too.
 *   - attendance: marks (pupil id, date, session, DfE code) over a range of at most 366 days.
 * `freshness()` needs any live grant.
 *
 * The school's own data browser (HTTP routes, permission 'sync.read') uses the browse* functions of
 * reader/browse.ts: every field, no grant involved.
 */

export class SharingNotGrantedError extends AppError {
  constructor(detail: string) {
    super(403, `${PROBLEM_BASE}sharing-not-granted`, 'Sharing not granted', detail);
  }
}

export { browseContacts, browseGroups, browsePupil, browsePupils, browseStaff, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page, type PageOptions } from './reader/browse.ts';
export { attendanceRangeSchema, freshness } from './reader/load.ts';
export { sharedPupil, type SharedContact, type SharedGroup, type SharedPupil, type SharedStaff } from './reader/shared.ts';
export type { AttendanceMarkView, ContactLinkView, ContactView, Freshness, GroupView, PupilView, StaffView } from './reader/views.ts';

export interface SyncReader {
  readonly grantee: string;
  /** Current pupils. `search`: exact name (needs pupils.basic; UPN too with pupils.sensitive). `group`: a group id or name (needs groups). */
  pupils(options?: { search?: string; group?: string }): Promise<SharedPupil[]>;
  /** Current contacts with their links to shown pupils; only those of one pupil when `pupilId` is given. */
  contacts(pupilId?: string): Promise<SharedContact[]>;
  staff(): Promise<SharedStaff[]>;
  groups(): Promise<SharedGroup[]>;
  /** Marks from `from` to `to` inclusive (YYYY-MM-DD, at most 366 days). */
  attendance(range: { from: string; to: string }): Promise<AttendanceMarkView[]>;
  freshness(): Promise<Freshness>;
  /**
   * The photo of a current pupil (needs pupils.photo) or member of staff (needs staff) the grant
   * shows; null when they have none, or are excluded, gone or unknown.
   */
  photo(blobs: LocalBlobStore, person: { kind: 'pupil' | 'staff'; id: string }): Promise<SharedPhoto | null>;
}

export interface SharedPhoto {
  contentType: string;
  sizeBytes: number;
  content: Readable;
}

/**
 * A reader for one grantee (a product name such as 'messaging', or an API client id) in the
 * school of `scope`. Holding a reader grants nothing: each call checks the grant afresh.
 */
export function createSyncReader(scope: TenantScope, grantee: string): SyncReader {
  if (typeof grantee !== 'string' || grantee.trim() === '') throw new TypeError('a sync reader needs the name of its grantee');

  async function admit(anyOf: SyncGrantScope[], allOf: SyncGrantScope[] = []): Promise<Admitted> {
    const { trx } = scope;
    const grant = await trx
      .selectFrom('sync_grants')
      .leftJoin('sync_state', 'sync_state.tenant_id', 'sync_grants.tenant_id')
      .select(['sync_grants.id', 'sync_grants.scopes', 'sync_state.sharing_paused'])
      .where('sync_grants.grantee', '=', grantee)
      .where('sync_grants.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!grant) throw new SharingNotGrantedError(`the school has not granted '${grantee}' access to its data, or has revoked it`);
    if (grant.sharing_paused) throw new SharingNotGrantedError('the school has paused all sharing of its data');
    const scopes = new Set(grant.scopes);
    if (anyOf.length > 0 && !anyOf.some((s) => scopes.has(s))) {
      throw new SharingNotGrantedError(`the school's grant to '${grantee}' does not include ${anyOf.join(' or ')}`);
    }
    const missing = allOf.filter((s) => !scopes.has(s));
    if (missing.length > 0) throw new SharingNotGrantedError(`the school's grant to '${grantee}' does not include ${missing.join(' and ')}`);
    const exclusions = await trx.selectFrom('sync_grant_exclusions').select(['member_kind', 'member_id']).where('grant_id', '=', grant.id).execute();
    await trx
      .insertInto('sync_read_counts')
      .values({ tenant_id: scope.tenantId, grantee, day: utcDay(), reads: 1 })
      .onConflict((oc) => oc.columns(['tenant_id', 'grantee', 'day']).doUpdateSet({ reads: sql<number>`sync_read_counts.reads + 1` }))
      .execute();
    return {
      scopes,
      excludedPupils: new Set(exclusions.filter((e) => e.member_kind === 'pupil').map((e) => e.member_id)),
      excludedStaff: new Set(exclusions.filter((e) => e.member_kind === 'staff').map((e) => e.member_id)),
    };
  }

  return {
    grantee,

    async pupils(options = {}) {
      const required: SyncGrantScope[] = [];
      if (options.search !== undefined) required.push('pupils.basic');
      if (options.group !== undefined) required.push('groups');
      const access = await admit(PUPIL_SCOPES, required);
      const pupils = await loadPupils(scope, { search: options.search, group: options.group, upnSearch: access.scopes.has('pupils.sensitive') });
      return pupils.filter((p) => !access.excludedPupils.has(p.id)).map((p) => sharedPupil(p, access.scopes));
    },

    async contacts(pupilId) {
      const access = await admit(['contacts']);
      if (pupilId !== undefined && (!isUuid(pupilId) || access.excludedPupils.has(pupilId))) return [];
      let current = scope.trx.selectFrom('pupils').select('id').where('status', '=', 'current');
      if (pupilId !== undefined) current = current.where('id', '=', pupilId);
      const shown = new Set((await current.execute()).map((p) => p.id).filter((id) => !access.excludedPupils.has(id)));
      const contacts = await loadContacts(scope, { pupilId });
      const out: SharedContact[] = [];
      for (const contact of contacts) {
        const links = contact.links.filter((l) => shown.has(l.pupilId));
        // A contact is shown only through a pupil the grant shows.
        if (links.length === 0) continue;
        out.push(sharedContact(contact, links));
      }
      return out;
    },

    async staff() {
      const access = await admit(['staff']);
      return (await loadStaff(scope, {}))
        .filter((s) => !access.excludedStaff.has(s.id))
        .map((s) => sharedStaff(s));
    },

    async groups() {
      const access = await admit(['groups']);
      return (await loadGroups(scope, { currentMembersOnly: true })).map((g) => sharedGroup(g, access));
    },

    async attendance(range) {
      const checked = parseOrThrow(attendanceRangeSchema, range);
      const access = await admit(['attendance']);
      const marks = await loadAttendance(scope, checked, undefined);
      return marks.filter((m) => !access.excludedPupils.has(m.pupilId));
    },

    async freshness() {
      await admit([]);
      return freshness(scope);
    },

    async photo(blobs, person) {
      const isPupil = person.kind === 'pupil';
      const access = await admit([isPupil ? 'pupils.photo' : 'staff']);
      if (!isUuid(person.id) || (isPupil ? access.excludedPupils : access.excludedStaff).has(person.id)) return null;
      const row = await scope.trx
        .selectFrom(isPupil ? 'pupils' : 'staff')
        .select(['photo_blob_id', 'data_enc'])
        .where('id', '=', person.id)
        .where('status', '=', 'current')
        .executeTakeFirst();
      if (!row?.photo_blob_id) return null;
      const doc = open(scope, DATA_PURPOSE[isPupil ? 'pupils' : 'staff'], row.data_enc);
      const meta = doc.photo as { contentType?: unknown } | null | undefined;
      const opened = await openBlob(blobs, scope, row.photo_blob_id);
      return { contentType: typeof meta?.contentType === 'string' ? meta.contentType : 'application/octet-stream', sizeBytes: opened.blob.sizeBytes, content: opened.content };
    },
  };
}
