import { sql } from 'kysely';
import { z } from 'zod';
import type { AuditEvent } from '../../platform/audit/audit-writer.ts';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/queue.ts';
import type { Actor, TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { forgetCopies } from './copy-holders.ts';
import { auditWithReceipt, organisationOf, receiptForDeletedCopies } from './sharing-receipts.ts';

/**
 * School-controlled sharing. Nothing of the school's data leaves the sync hub unless the school
 * granted it: a grant names a grantee (a Custos product by name, or an API client by id) and the
 * scopes it may read. The school can revoke a grant, keep single pupils or staff out of it, and
 * pause all sharing at once. Products read only through the sync reader (reader.ts), which
 * re-reads all of this on every call, so a change applies to the very next read.
 *
 * Every change is audited (names of scopes and ids only, never a personal value) and every active
 * admin of the school gets a time-stamped receipt by email, queued in the same transaction.
 */

export type SyncScope = SyncGrantScope;

/** What each scope lets a grantee read (see reader.ts for the exact fields). */
export const SYNC_SCOPES = {
  'pupils.basic': "pupils' names, year group, registration group and house",
  'pupils.contact': "pupils' own address, email addresses and phone numbers",
  'pupils.sensitive': 'date of birth, gender, UPN, ethnicity, religion, first language and SEN status',
  'pupils.photo': "pupils' photos",
  contacts: "pupils' contacts (parents and carers) and how they stand to each pupil, no-contact flags included",
  staff: "staff names, job titles, work contact details and photos",
  groups: 'year, registration, house and class groups and who is in them',
  attendance: 'attendance marks',
  fsm: 'free school meals eligibility and periods',
} as const satisfies Record<SyncScope, string>;

export const SYNC_SCOPE_NAMES = Object.keys(SYNC_SCOPES) as SyncScope[];

/** Custos products that can be granted access by name. API clients are named by their id. */
export const SYNC_PRODUCTS = ['messaging', 'cashless', 'looked-after', 'client-portal'] as const;

const GRANTEE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export const grantSchema = z
  .object({
    granteeKind: z.enum(['product', 'api_client'], { error: "must be 'product' or 'api_client'" }),
    grantee: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .regex(GRANTEE_PATTERN, 'may hold only letters, digits and . _ : -'),
    scopes: z
      .array(z.enum(SYNC_SCOPE_NAMES as [SyncScope, ...SyncScope[]], { error: `must be one of ${SYNC_SCOPE_NAMES.join(', ')}` }))
      .min(1, 'must name at least one scope')
      .max(SYNC_SCOPE_NAMES.length, 'lists a scope twice'),
  })
  .superRefine((input, context) => {
    const isProduct = (SYNC_PRODUCTS as readonly string[]).includes(input.grantee);
    if (input.granteeKind === 'product' && !isProduct) {
      context.addIssue({ code: 'custom', path: ['grantee'], message: `must be one of ${SYNC_PRODUCTS.join(', ')}` });
    }
    if (input.granteeKind === 'api_client' && isProduct) {
      context.addIssue({ code: 'custom', path: ['grantee'], message: 'is the name of a product; grant it as a product' });
    }
    if (new Set(input.scopes).size !== input.scopes.length) {
      context.addIssue({ code: 'custom', path: ['scopes'], message: 'lists a scope twice' });
    }
  });
export type GrantInput = z.input<typeof grantSchema>;

export const memberSchema = z.object({
  memberKind: z.enum(['pupil', 'staff'], { error: "must be 'pupil' or 'staff'" }),
  memberId: z.uuid({ error: 'must be a pupil or staff id (UUID)' }),
});
export type MemberInput = z.input<typeof memberSchema>;

export interface SyncGrant {
  id: string;
  granteeKind: 'product' | 'api_client';
  grantee: string;
  scopes: SyncScope[];
  /** 'user:<id>', 'api_token:<id>', 'operator:<id>' or 'system'. */
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  /** Pupils and staff kept out of this grant. */
  exclusions: { memberKind: 'pupil' | 'staff'; memberId: string }[];
  /** Reads through the sync reader by this grantee, per UTC day, over the last 30 days (days without reads left out). */
  reads: { day: string; reads: number }[];
}

export interface SharingOverview {
  /** The school's "stop all sharing" switch: while on, every grant is refused. */
  paused: boolean;
  grants: SyncGrant[];
}

/** The parts of the platform the sharing changes need: the queue for receipts. */
export interface SharingDeps {
  queue: JobQueue;
}

export const READ_COUNT_DAYS = 30;

/** Today as a UTC calendar day: the unit read counts are kept in. */
export function utcDay(date = new Date()): string {
  return date.toISOString().slice(0, 10);
}

function actorLabel(actor: Actor): string {
  return actor.id ? `${actor.type}:${actor.id}` : actor.type;
}

async function requireSchool(scope: TenantScope): Promise<{ kind: string; name: string }> {
  const organisation = await organisationOf(scope);
  if (organisation.kind !== 'school') throw new ConflictError('the sync hub holds data for schools only; this organisation has nothing to share');
  return organisation;
}

/**
 * Audits the change and queues one receipt per active admin, both in the caller's transaction:
 * if the change rolls back, there is neither entry nor email.
 */
async function auditAndReceipt(deps: SharingDeps, scope: TenantScope, event: AuditEvent, summary: string, details: string[]): Promise<void> {
  await auditWithReceipt(deps.queue, scope, event, {
    kind: 'sharing',
    summary,
    opening: (school) => `This is a receipt for a change to what ${school} shares from its school data on Custos.`,
    label: 'Change',
    details,
    closing: [
      'Every administrator of the school receives this receipt. If you did not expect this change, review',
      'sharing in Custos and revoke it, or pause all sharing, and tell your data protection officer.',
    ],
  });
}

function toGrant(
  row: { id: string; grantee_kind: 'product' | 'api_client'; grantee: string; scopes: SyncScope[]; created_by: string; created_at: Date; revoked_at: Date | null },
  exclusions: SyncGrant['exclusions'],
  reads: SyncGrant['reads'],
): SyncGrant {
  return {
    id: row.id,
    granteeKind: row.grantee_kind,
    grantee: row.grantee,
    scopes: [...row.scopes].sort((a, b) => SYNC_SCOPE_NAMES.indexOf(a) - SYNC_SCOPE_NAMES.indexOf(b)),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
    exclusions,
    reads,
  };
}

const GRANT_COLUMNS = ['id', 'grantee_kind', 'grantee', 'scopes', 'created_by', 'created_at', 'revoked_at'] as const;

async function liveGrant(scope: TenantScope, grantId: string) {
  const row = await scope.trx
    .selectFrom('sync_grants')
    .select(GRANT_COLUMNS)
    .where('id', '=', grantId)
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('grant');
  return row;
}

/**
 * Grants a product or API client the given scopes. A grantee has at most one live grant: granting
 * again replaces the scopes (the old grant is marked revoked, its exclusions carry over), so the
 * history of what was shared when stays in the table and the audit trail.
 */
export async function grant(deps: SharingDeps, scope: TenantScope, input: GrantInput): Promise<SyncGrant> {
  const data = parseOrThrow(grantSchema, input);
  const scopes = [...data.scopes].sort((x, y) => SYNC_SCOPE_NAMES.indexOf(x) - SYNC_SCOPE_NAMES.indexOf(y));
  await requireSchool(scope);
  const { trx } = scope;
  const previous = await trx
    .selectFrom('sync_grants')
    .select(GRANT_COLUMNS)
    .where('grantee', '=', data.grantee)
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (previous && previous.grantee_kind !== data.granteeKind) {
    throw new ConflictError(`'${data.grantee}' already has a grant as a ${previous.grantee_kind === 'product' ? 'product' : 'API client'}`);
  }
  if (previous) await trx.updateTable('sync_grants').set({ revoked_at: sql<Date>`now()` }).where('id', '=', previous.id).execute();
  const row = await trx
    .insertInto('sync_grants')
    .values({ tenant_id: scope.tenantId, grantee_kind: data.granteeKind, grantee: data.grantee, scopes, created_by: actorLabel(scope.actor) })
    .returning(GRANT_COLUMNS)
    .executeTakeFirstOrThrow()
    .catch((error: unknown) => {
      // Two grants to the same grantee at once: the live-grant index lets one through.
      if ((error as { code?: string }).code === '23505') throw new ConflictError(`'${data.grantee}' was granted access at the same moment by someone else; reload and try again`);
      throw error;
    });
  let exclusions: SyncGrant['exclusions'] = [];
  if (previous) {
    const carried = await trx
      .insertInto('sync_grant_exclusions')
      .columns(['tenant_id', 'grant_id', 'member_kind', 'member_id'])
      .expression((eb) =>
        eb
          .selectFrom('sync_grant_exclusions')
          .select([sql<string>`cast(${scope.tenantId} as uuid)`.as('tenant_id'), sql<string>`cast(${row.id} as uuid)`.as('grant_id'), 'member_kind', 'member_id'])
          .where('grant_id', '=', previous.id),
      )
      .returning(['member_kind', 'member_id'])
      .execute();
    exclusions = carried.map((e) => ({ memberKind: e.member_kind, memberId: e.member_id }));
  }
  const scopesText = row.scopes.join(', ');
  await auditAndReceipt(
    deps,
    scope,
    {
      action: 'sync.sharing_granted',
      target: { type: 'sync_grant', id: row.id },
      changes: {
        granteeKind: { after: data.granteeKind },
        grantee: { after: data.grantee },
        scopes: { before: previous ? previous.scopes.join(',') : null, after: row.scopes.join(',') },
        ...(previous ? { replaces: { after: previous.id } } : {}),
      },
    },
    `${data.grantee} may read ${scopesText}`,
    [
      `${data.granteeKind === 'product' ? 'Product' : 'API client'} ${data.grantee} was granted: ${scopesText}.`,
      ...(previous ? [`This replaces its earlier grant of: ${previous.scopes.join(', ')}.`] : []),
    ],
  );
  return toGrant(row, exclusions, await readsOf(scope, data.grantee));
}

/**
 * Ends a grant; the grantee's next read is refused. A grantee that keeps copies of the school's data
 * (copy-holders.ts) deletes them in this same transaction, and the admins get a deletion receipt
 * with the counts. If it cannot delete them the revocation does not happen at all
 * (CopiesNotDeletedError): a revoke that left copies behind must not look done.
 * Re-granting with fewer scopes and pausing all sharing delete nothing.
 */
export async function revoke(deps: SharingDeps, scope: TenantScope, grantId: string): Promise<void> {
  const row = await liveGrant(scope, grantId);
  await scope.trx.updateTable('sync_grants').set({ revoked_at: sql<Date>`now()` }).where('id', '=', row.id).execute();
  const forgotten = await forgetCopies(scope, row.grantee);
  const copies = forgotten
    ? [`${row.grantee} deleted its copies of the school's data in the same change; see the separate deletion receipt.`]
    : row.grantee_kind === 'api_client'
      ? [
          `${row.grantee} is an outside app: Custos cannot delete what it has already copied. Its requests are`,
          'refused and nothing more is sent to its webhooks from now on, but copies it made stay with it until',
          "its supplier deletes them. Ask the supplier to delete the school's data and confirm it in writing.",
        ]
      : [`${row.grantee} keeps no copies of the school's data in Custos (it declares none), so there is nothing to delete.`];
  await auditAndReceipt(
    deps,
    scope,
    {
      action: 'sync.sharing_revoked',
      target: { type: 'sync_grant', id: row.id },
      changes: { grantee: { before: row.grantee, after: row.grantee }, scopes: { before: row.scopes.join(','), after: null } },
    },
    `${row.grantee} may no longer read school data`,
    [`The grant of ${row.scopes.join(', ')} to ${row.grantee} was revoked.`, ...copies],
  );
  if (forgotten) await receiptForDeletedCopies(deps.queue, scope, row, forgotten);
}

async function readsOf(scope: TenantScope, grantee: string): Promise<SyncGrant['reads']> {
  return (await readCounts(scope, [grantee])).get(grantee) ?? [];
}

async function readCounts(scope: TenantScope, grantees: string[]): Promise<Map<string, SyncGrant['reads']>> {
  const out = new Map<string, SyncGrant['reads']>();
  if (grantees.length === 0) return out;
  const since = utcDay(new Date(Date.now() - (READ_COUNT_DAYS - 1) * 86_400_000));
  const rows = await scope.trx
    .selectFrom('sync_read_counts')
    .select(['grantee', sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'reads'])
    .where('grantee', 'in', grantees)
    .where('day', '>=', since)
    .orderBy('day')
    .execute();
  for (const row of rows) {
    const list = out.get(row.grantee) ?? [];
    list.push({ day: row.day, reads: Number(row.reads) });
    out.set(row.grantee, list);
  }
  return out;
}

/** The school's grants (live ones, or all with `includeRevoked`), each with its exclusions and last 30 days of reads. */
export async function listGrants(scope: TenantScope, options: { includeRevoked?: boolean } = {}): Promise<SyncGrant[]> {
  let query = scope.trx.selectFrom('sync_grants').select(GRANT_COLUMNS).orderBy('created_at').orderBy('id');
  if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  const exclusions = await scope.trx
    .selectFrom('sync_grant_exclusions')
    .select(['grant_id', 'member_kind', 'member_id'])
    .where('grant_id', 'in', rows.map((r) => r.id))
    .orderBy('created_at')
    .orderBy('member_id')
    .execute();
  const reads = await readCounts(scope, [...new Set(rows.map((r) => r.grantee))]);
  return rows.map((row) =>
    toGrant(
      row,
      exclusions.filter((e) => e.grant_id === row.id).map((e) => ({ memberKind: e.member_kind, memberId: e.member_id })),
      reads.get(row.grantee) ?? [],
    ),
  );
}

/** Whether the school's "stop all sharing" switch is on. */
export async function isSharingPaused(scope: TenantScope): Promise<boolean> {
  const row = await scope.trx.selectFrom('sync_state').select('sharing_paused').where('tenant_id', '=', scope.tenantId).executeTakeFirst();
  return row?.sharing_paused ?? false;
}

/** Live grants, read counts and the pause switch: what the school's sharing page shows. */
export async function sharingOverview(scope: TenantScope): Promise<SharingOverview> {
  return { paused: await isSharingPaused(scope), grants: await listGrants(scope) };
}

/**
 * Turns the school's "stop all sharing" switch on or off. While on, every reader call is refused,
 * whatever the grants say. Setting it to what it already is changes nothing and sends nothing.
 */
export async function setSharingPaused(deps: SharingDeps, scope: TenantScope, paused: boolean): Promise<{ paused: boolean }> {
  if (typeof paused !== 'boolean') throw new TypeError('paused must be a boolean');
  await requireSchool(scope);
  const before = await isSharingPaused(scope);
  if (before === paused) return { paused };
  await scope.trx
    .insertInto('sync_state')
    .values({ tenant_id: scope.tenantId, sharing_paused: paused })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ sharing_paused: paused, updated_at: sql<Date>`now()` }))
    .execute();
  await auditAndReceipt(
    deps,
    scope,
    {
      action: paused ? 'sync.sharing_paused' : 'sync.sharing_resumed',
      target: { type: 'organisation', id: scope.tenantId },
      changes: { sharingPaused: { before, after: paused } },
    },
    paused ? 'all sharing paused' : 'sharing resumed',
    [paused ? 'No product or API client can read school data until sharing is resumed.' : 'Products and API clients can read again what their grants allow.'],
  );
  return { paused };
}

async function requireMember(scope: TenantScope, memberKind: 'pupil' | 'staff', memberId: string): Promise<void> {
  const table = memberKind === 'pupil' ? 'pupils' : 'staff';
  const row = await scope.trx.selectFrom(table).select('id').where('id', '=', memberId).executeTakeFirst();
  if (!row) throw new NotFoundError(memberKind === 'pupil' ? 'pupil' : 'staff member');
}

/**
 * Keeps one pupil or staff member out of a grant: the grantee no longer sees them in any list,
 * contact link, group or attendance mark. Excluding someone already excluded changes nothing.
 */
export async function excludeMember(deps: SharingDeps, scope: TenantScope, grantId: string, input: MemberInput): Promise<void> {
  const member = parseOrThrow(memberSchema, input);
  const row = await liveGrant(scope, grantId);
  await requireMember(scope, member.memberKind, member.memberId);
  const inserted = await scope.trx
    .insertInto('sync_grant_exclusions')
    .values({ tenant_id: scope.tenantId, grant_id: row.id, member_kind: member.memberKind, member_id: member.memberId })
    .onConflict((oc) => oc.columns(['tenant_id', 'grant_id', 'member_kind', 'member_id']).doNothing())
    .returning('member_id')
    .execute();
  if (inserted.length === 0) return;
  await auditAndReceipt(
    deps,
    scope,
    {
      action: 'sync.sharing_member_excluded',
      target: { type: 'sync_grant', id: row.id },
      changes: { grantee: { before: row.grantee, after: row.grantee }, memberKind: { after: member.memberKind }, memberId: { after: member.memberId } },
    },
    `a ${member.memberKind === 'pupil' ? 'pupil' : 'staff member'} is no longer shared with ${row.grantee}`,
    [`The ${member.memberKind === 'pupil' ? 'pupil' : 'staff member'} with record id ${member.memberId} is left out of ${row.grantee}'s grant.`],
  );
}

/** Puts an excluded pupil or staff member back into a grant. Including someone not excluded changes nothing. */
export async function includeMember(deps: SharingDeps, scope: TenantScope, grantId: string, input: MemberInput): Promise<void> {
  const member = parseOrThrow(memberSchema, input);
  const row = await liveGrant(scope, grantId);
  const deleted = await scope.trx
    .deleteFrom('sync_grant_exclusions')
    .where('grant_id', '=', row.id)
    .where('member_kind', '=', member.memberKind)
    .where('member_id', '=', member.memberId)
    .returning('member_id')
    .execute();
  if (deleted.length === 0) return;
  await auditAndReceipt(
    deps,
    scope,
    {
      action: 'sync.sharing_member_included',
      target: { type: 'sync_grant', id: row.id },
      changes: { grantee: { before: row.grantee, after: row.grantee }, memberKind: { after: member.memberKind }, memberId: { after: member.memberId } },
    },
    `a ${member.memberKind === 'pupil' ? 'pupil' : 'staff member'} is shared with ${row.grantee} again`,
    [`The ${member.memberKind === 'pupil' ? 'pupil' : 'staff member'} with record id ${member.memberId} is back in ${row.grantee}'s grant.`],
  );
}
