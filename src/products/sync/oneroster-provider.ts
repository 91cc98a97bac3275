import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import type { DB, SyncGrantScope } from '../../platform/db/schema.ts';
import { ConflictError, NotFoundError, UnauthorizedError } from '../../platform/errors.ts';
import { hashSecret, newSecret } from '../../platform/identity/tokens.ts';
import type { Platform } from '../../platform/platform.ts';
import { isUuid, sqlSafeLiteral, SYSTEM_ACTOR, tenantSettingsSql, type RequestMeta, type TenantContext, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { createSyncReader, SharingNotGrantedError, type SharedContact, type SharedGroup, type SharedPupil, type SharedStaff } from './reader.ts';
import { revoke as revokeGrant, type SharingDeps } from './sharing.ts';

/**
 * The OneRoster 1.2 provider: third-party apps read a school's data the way they read any
 * OneRoster service, and only what the school granted them.
 *
 * - A school registers an API client (`createApiClient`): a random client id ('orc-' + 32 hex
 *   digits) and a client secret shown once; only the secret's SHA-256 is stored. The school then
 *   grants the client scopes through sharing (granteeKind 'api_client', grantee = the client id).
 * - The client swaps id and secret for a one-hour bearer token (OAuth 2 client credentials,
 *   `issueAccessToken`); only the token's SHA-256 is stored. Both arrive before a tenant is known,
 *   so they are resolved through the security-definer functions of migration 0008, which return
 *   only the match's tenant. The HTTP layer throttles failures per address.
 * - Every read goes through `createSyncReader(scope, clientId)` (reader.ts): the live grant, its
 *   exclusions and the pause switch are re-read on every call, and each call is counted. A revoked
 *   grant is refused (403) on the very next request; a revoked client's tokens stop at once (401).
 *
 * Mapping to OneRoster 1.2 (field names of the spec's JSON binding):
 * - pupils → users with role `student` (names with pupils.basic: givenName/familyName are the legal
 *   names, preferredFirstName/preferredLastName the names they go by, grades the year group as a
 *   CEDS code; email/phone/sms with pupils.contact; userMasterIdentifier and a `UPN` userId with
 *   pupils.sensitive; agents — their contacts, except where a no-contact order stands — with contacts);
 * - staff → users with role `teacher` (the MIS does not say who teaches; every staff member is listed);
 * - contacts → users with role `parent`, `guardian` or `relative`, their agents being the pupils they
 *   are linked to; `metadata['custos.noContact']` lists the pupils this person must not be contacted about;
 * - registration groups and classes → classes (`homeroom` / `scheduled`), their members → enrollments;
 * - date of birth and sex (pupils.sensitive) → demographics; the school → orgs.
 * Records the grant does not cover are not listed; fields it does not cover are left out.
 */

export const CLIENT_ID_PREFIX = 'orc-';
export const CLIENT_SECRET_PREFIX = 'ors_';
export const ACCESS_TOKEN_PREFIX = 'ort_';
export const ACCESS_TOKEN_SECONDS = 3600;
/** The OneRoster 1.2 read scopes this provider serves; what is returned is decided by the school's grant. */
export const ONEROSTER_SCOPES = [
  'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly',
  'https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly',
  'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly',
] as const;
export const ROSTERING_BASE = '/ims/oneroster/rostering/v1p2';

const CLIENT_ID_PATTERN = /^orc-[0-9a-f]{32}$/;

// ------------------------------------------------------------------ clients (the school's side)

export const apiClientSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
});

export interface ApiClientInfo {
  id: string;
  clientId: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

const CLIENT_COLUMNS = ['id', 'client_id', 'name', 'created_at', 'revoked_at'] as const;

function toInfo(row: { id: string; client_id: string; name: string; created_at: Date; revoked_at: Date | null }): ApiClientInfo {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

/** Registers an API client for the school; the secret is returned here once and never again. */
export async function createApiClient(scope: TenantScope, input: z.input<typeof apiClientSchema>): Promise<{ client: ApiClientInfo; clientSecret: string }> {
  const { name } = parseOrThrow(apiClientSchema, input);
  const organisation = await scope.trx.selectFrom('organisations').select('kind').where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
  if (organisation.kind !== 'school') throw new ConflictError('the sync hub holds data for schools only; this organisation has nothing to share');
  const clientId = CLIENT_ID_PREFIX + crypto.randomBytes(16).toString('hex');
  const { secret, hash } = newSecret(CLIENT_SECRET_PREFIX);
  const row = await scope.trx
    .insertInto('sync_api_clients')
    .values({ tenant_id: scope.tenantId, client_id: clientId, secret_hash: hash, name })
    .returning(CLIENT_COLUMNS)
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'sync.api_client_created',
    target: { type: 'sync_api_client', id: row.id },
    changes: { name: { after: name }, clientId: { after: clientId } },
  });
  return { client: toInfo(row), clientSecret: secret };
}

export async function listApiClients(scope: TenantScope, options: { includeRevoked?: boolean } = {}): Promise<ApiClientInfo[]> {
  let query = scope.trx.selectFrom('sync_api_clients').select(CLIENT_COLUMNS).orderBy('created_at').orderBy('id');
  if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
  return (await query.execute()).map(toInfo);
}

/**
 * Revokes a client: its tokens stop at once, they are deleted, and its live grant (if any) is
 * revoked through sharing, so the school's admins get the usual receipt.
 */
export async function revokeApiClient(deps: SharingDeps, scope: TenantScope, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError('API client');
  const row = await scope.trx
    .updateTable('sync_api_clients')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['id', 'client_id'])
    .executeTakeFirst();
  if (!row) throw new NotFoundError('API client');
  await scope.trx.deleteFrom('sync_api_client_tokens').where('client_id', '=', row.client_id).execute();
  await recordAudit(scope, { action: 'sync.api_client_revoked', target: { type: 'sync_api_client', id: row.id }, changes: { clientId: { before: row.client_id, after: null } } });
  const grant = await scope.trx
    .selectFrom('sync_grants')
    .select('id')
    .where('grantee', '=', row.client_id)
    .where('grantee_kind', '=', 'api_client')
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (grant) await revokeGrant(deps, scope, grant.id);
}

// ------------------------------------------------------------------ tokens (the client's side)

export interface ResolvedClient {
  tenantId: string;
  clientId: string;
}

export interface ResolvedAccessToken extends ResolvedClient {
  /** SHA-256 of the presented token, to re-check it in the request's transaction. */
  tokenHash: string;
}

/** Client id and secret → the client's tenant, through the definer function; undefined when they do not match a live client. */
export async function resolveApiClient(app: Kysely<DB>, clientId: string, clientSecret: string): Promise<ResolvedClient | undefined> {
  if (!CLIENT_ID_PATTERN.test(clientId) || !clientSecret.startsWith(CLIENT_SECRET_PREFIX) || clientSecret.length > 200) return undefined;
  const result = await sql<{ tenant_id: string; client_id: string }>`
    select tenant_id, client_id from custos_resolve_oneroster_client(${clientId}, ${hashSecret(clientSecret)})`.execute(app);
  const row = result.rows[0];
  return row ? { tenantId: row.tenant_id, clientId: row.client_id } : undefined;
}

/**
 * OAuth 2 client credentials: a bearer token valid for an hour, or undefined when the credentials
 * are wrong (the caller answers invalid_client and counts the failure). Expired tokens of the
 * client are cleared out on the way.
 */
export async function issueAccessToken(
  platform: Pick<Platform, 'db' | 'inTenant'>,
  credentials: { clientId: string; clientSecret: string },
  meta: RequestMeta,
): Promise<{ accessToken: string; expiresIn: number } | undefined> {
  const client = await resolveApiClient(platform.db.app, credentials.clientId, credentials.clientSecret);
  if (!client) return undefined;
  const { secret, hash } = newSecret(ACCESS_TOKEN_PREFIX);
  await platform.inTenant({ tenantId: client.tenantId, actor: SYSTEM_ACTOR, meta }, async (scope) => {
    await scope.trx.deleteFrom('sync_api_client_tokens').where('client_id', '=', client.clientId).where('expires_at', '<=', sql<Date>`now()`).execute();
    await scope.trx
      .insertInto('sync_api_client_tokens')
      .values({ token_hash: hash, tenant_id: client.tenantId, client_id: client.clientId, expires_at: sql<Date>`now() + make_interval(secs => ${ACCESS_TOKEN_SECONDS})` })
      .execute();
  });
  return { accessToken: secret, expiresIn: ACCESS_TOKEN_SECONDS };
}

/** A bearer token → its tenant and client, through the definer function; undefined when unknown, expired or revoked. */
export async function resolveAccessToken(app: Kysely<DB>, token: string): Promise<ResolvedAccessToken | undefined> {
  if (!token.startsWith(ACCESS_TOKEN_PREFIX) || token.length > 200) return undefined;
  const tokenHash = hashSecret(token);
  const result = await sql<{ tenant_id: string; client_id: string }>`
    select tenant_id, client_id from custos_resolve_oneroster_token(${tokenHash})`.execute(app);
  const row = result.rows[0];
  return row ? { tenantId: row.tenant_id, clientId: row.client_id, tokenHash } : undefined;
}

/**
 * The authoritative check, in the request's transaction and the statement that sets the tenant: a
 * token that expired or whose client was revoked a moment ago is refused here.
 */
export function setTenantForAccessToken(token: ResolvedAccessToken) {
  return async (trx: Transaction<DB>, context: TenantContext): Promise<void> => {
    const settings = tenantSettingsSql(context);
    const hash = /^[0-9a-f]{64}$/.test(token.tokenHash) ? sqlSafeLiteral(token.tokenHash) : undefined;
    const client = CLIENT_ID_PATTERN.test(token.clientId) ? sqlSafeLiteral(token.clientId) : undefined;
    if (!settings || !hash || !client || context.tenantId !== token.tenantId) throw new UnauthorizedError('a valid access token is required');
    // Hex hash, client id and UUIDs only (checked above): safe to write into the SQL text.
    const result = await sql
      .raw<{ tenant_id: string }>(
        `select r.tenant_id, ${settings} from custos_resolve_oneroster_token(${hash}) r
          where r.tenant_id = '${context.tenantId}'::uuid and r.client_id = ${client}`,
      )
      .execute(trx);
    if (result.rows.length !== 1) throw new UnauthorizedError('a valid access token is required');
  };
}

// ------------------------------------------------------------------ OneRoster records

export type OneRosterRecord = Record<string, unknown>;

export interface Paging {
  limit: number;
  offset: number;
}

export interface OneRosterPage {
  items: OneRosterRecord[];
  total: number;
}

type Ref = { href: string; sourcedId: string; type: string };

const ref = (type: 'user' | 'class' | 'org', collection: string, id: string): Ref => ({ href: `${ROSTERING_BASE}/${collection}/${id}`, sourcedId: id, type });

/** NC year → CEDS grade: '7' → '07', 'R' → 'KG', 'N'/'N1'/'N2' → 'PK'; anything else is left out. */
export function cedsGrade(yearGroup: string | null | undefined): string | undefined {
  if (!yearGroup) return undefined;
  const year = yearGroup.trim().toUpperCase().replace(/^(YEAR|Y)\s*/, '');
  if (/^\d{1,2}$/.test(year) && Number(year) >= 1 && Number(year) <= 13) return year.padStart(2, '0');
  if (year === 'R' || year === 'RECEPTION') return 'KG';
  if (/^N\d?$/.test(year) || year === 'NURSERY') return 'PK';
  return undefined;
}

const SEX: Record<string, string> = { M: 'male', F: 'female', X: 'other', U: 'unspecified' };
const PARENT_RELATIONSHIPS = new Set(['MUM', 'DAD', 'PAR', 'MOT', 'FAT', 'MOTHER', 'FATHER', 'PARENT']);

/** An id for an enrollment (there is no such record in the hub): a UUID derived from class and member. */
function enrollmentId(groupId: string, memberId: string): string {
  const h = crypto.createHash('sha256').update(`enrollment|${groupId}|${memberId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const omitUndefined = (record: OneRosterRecord): OneRosterRecord =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null));

type RecordTable = 'pupils' | 'staff' | 'contacts' | 'school_groups';

/** Kind of record, id, and the function making its OneRoster form once `dateLastModified` is known. */
interface Pending {
  table: RecordTable;
  id: string;
  build: (dateLastModified: string) => OneRosterRecord;
}

export interface OneRosterProvider {
  users(paging: Paging): Promise<OneRosterPage>;
  user(id: string): Promise<OneRosterRecord>;
  students(paging: Paging): Promise<OneRosterPage>;
  teachers(paging: Paging): Promise<OneRosterPage>;
  classes(paging: Paging): Promise<OneRosterPage>;
  enrollments(paging: Paging): Promise<OneRosterPage>;
  orgs(paging: Paging): Promise<OneRosterPage>;
  demographics(paging: Paging): Promise<OneRosterPage>;
}

/**
 * The OneRoster collections for one API client in the school of `scope`. All school data comes
 * from the sync reader for the client id; only the grant's scope names (to know which reader
 * calls to make) and records' last-modified times (of records the reader returned) are read here.
 */
export function createOneRosterProvider(scope: TenantScope, clientId: string): OneRosterProvider {
  const reader = createSyncReader(scope, clientId);
  const org = ref('org', 'orgs', scope.tenantId);

  /** The live grant's scopes; refuses (through the reader, with its wording) when there is none or sharing is paused. */
  async function grantedScopes(): Promise<Set<SyncGrantScope>> {
    const row = await scope.trx
      .selectFrom('sync_grants')
      .select('scopes')
      .where('grantee', '=', clientId)
      .where('grantee_kind', '=', 'api_client')
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) {
      await reader.freshness(); // throws SharingNotGrantedError with the reader's wording
      throw new SharingNotGrantedError(`the school has not granted '${clientId}' access to its data`);
    }
    return new Set(row.scopes);
  }

  const need = (granted: Set<SyncGrantScope>, anyOf: SyncGrantScope[], what: string) => {
    if (!anyOf.some((s) => granted.has(s))) throw new SharingNotGrantedError(`the school's grant to '${clientId}' does not include ${what}`);
  };

  async function finish(pending: Pending[], paging: Paging): Promise<OneRosterPage> {
    const slice = pending.slice(paging.offset, paging.offset + paging.limit);
    const modified = new Map<string, string>();
    const byTable = new Map<RecordTable, string[]>();
    for (const p of slice) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p.id]);
    for (const [table, ids] of byTable) {
      const rows = await scope.trx.selectFrom(table).select(['id', 'updated_at']).where('id', 'in', [...new Set(ids)]).execute();
      for (const row of rows) modified.set(row.id, new Date(row.updated_at).toISOString());
    }
    const fallback = new Date(0).toISOString();
    return { items: slice.map((p) => p.build(modified.get(p.id) ?? fallback)), total: pending.length };
  }

  const PUPIL_SCOPES: SyncGrantScope[] = ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'pupils.photo', 'fsm'];

  function student(p: SharedPupil, agents: string[] | undefined): Pending {
    const mobile = p.phones?.find((phone) => /mobile/i.test(phone.type ?? ''));
    return {
      table: 'pupils',
      id: p.id,
      build: (dateLastModified) =>
        omitUndefined({
          sourcedId: p.id,
          status: 'active',
          dateLastModified,
          enabledUser: 'true',
          userMasterIdentifier: p.upn ?? undefined,
          userIds: p.upn ? [{ type: 'UPN', identifier: p.upn }] : undefined,
          givenName: p.legalForename,
          familyName: p.legalSurname,
          middleName: p.middleNames ?? undefined,
          preferredFirstName: p.forename,
          preferredLastName: p.surname,
          roles: [{ roleType: 'primary', role: 'student', org }],
          primaryOrg: org,
          email: p.emails?.[0]?.address,
          phone: p.phones?.[0]?.number,
          sms: mobile?.number,
          grades: p.yearGroup !== undefined ? (cedsGrade(p.yearGroup) ? [cedsGrade(p.yearGroup)] : []) : undefined,
          agents: agents?.map((id) => ref('user', 'users', id)),
        }),
    };
  }

  function teacher(s: SharedStaff): Pending {
    return {
      table: 'staff',
      id: s.id,
      build: (dateLastModified) =>
        omitUndefined({
          sourcedId: s.id,
          status: 'active',
          dateLastModified,
          enabledUser: 'true',
          givenName: s.forename,
          familyName: s.surname,
          roles: [{ roleType: 'primary', role: 'teacher', org }],
          primaryOrg: org,
          email: s.emails[0]?.address,
          phone: s.phones[0]?.number,
          agents: [],
        }),
    };
  }

  function guardian(c: SharedContact): Pending {
    const role = c.links.some((l) => PARENT_RELATIONSHIPS.has((l.relationship ?? '').toUpperCase()))
      ? 'parent'
      : c.links.some((l) => l.parentalResponsibility)
        ? 'guardian'
        : 'relative';
    const noContact = c.links.filter((l) => l.noContact).map((l) => l.pupilId);
    const mobile = c.phones.find((phone) => /mobile/i.test(phone.type ?? ''));
    return {
      table: 'contacts',
      id: c.id,
      build: (dateLastModified) =>
        omitUndefined({
          sourcedId: c.id,
          status: 'active',
          dateLastModified,
          metadata: noContact.length > 0 ? { 'custos.noContact': noContact } : undefined,
          enabledUser: 'true',
          givenName: c.forename,
          familyName: c.surname,
          roles: [{ roleType: 'primary', role, org }],
          primaryOrg: org,
          email: c.emails[0]?.address,
          phone: c.phones[0]?.number,
          sms: mobile?.number,
          agents: c.links.map((l) => ref('user', 'users', l.pupilId)),
        }),
    };
  }

  async function studentsOf(granted: Set<SyncGrantScope>, contacts?: SharedContact[]): Promise<Pending[]> {
    const pupils = await reader.pupils();
    let agents: Map<string, string[]> | undefined;
    if (granted.has('contacts')) {
      agents = new Map();
      for (const contact of contacts ?? (await reader.contacts())) {
        for (const link of contact.links) {
          // A contact the school says must not be contacted about this pupil is not offered as their agent.
          if (link.noContact) continue;
          agents.set(link.pupilId, [...(agents.get(link.pupilId) ?? []), contact.id]);
        }
      }
    }
    return pupils.map((p) => student(p, agents ? (agents.get(p.id) ?? []) : undefined));
  }

  async function allUsers(): Promise<Pending[]> {
    const granted = await grantedScopes();
    const out: Pending[] = [];
    const pupils = PUPIL_SCOPES.some((s) => granted.has(s));
    if (!pupils && !granted.has('staff') && !granted.has('contacts')) need(granted, [], 'pupils, staff or contacts');
    const contacts = granted.has('contacts') ? await reader.contacts() : [];
    if (pupils) out.push(...(await studentsOf(granted, contacts)));
    if (granted.has('staff')) out.push(...(await reader.staff()).map(teacher));
    out.push(...contacts.map(guardian));
    return out;
  }

  function classesOf(groups: SharedGroup[]): SharedGroup[] {
    return groups.filter((g) => g.kind === 'registration' || g.kind === 'class');
  }

  return {
    async users(paging) {
      return finish(await allUsers(), paging);
    },

    async user(id) {
      const found = (await allUsers()).find((p) => p.id === id);
      if (!found) throw new NotFoundError('user');
      return (await finish([found], { limit: 1, offset: 0 })).items[0]!;
    },

    async students(paging) {
      const granted = await grantedScopes();
      need(granted, PUPIL_SCOPES, 'pupils');
      return finish(await studentsOf(granted), paging);
    },

    async teachers(paging) {
      need(await grantedScopes(), ['staff'], 'staff');
      return finish((await reader.staff()).map(teacher), paging);
    },

    async classes(paging) {
      need(await grantedScopes(), ['groups'], 'groups');
      const classes = classesOf(await reader.groups()).map(
        (g): Pending => ({
          table: 'school_groups',
          id: g.id,
          build: (dateLastModified) =>
            omitUndefined({
              sourcedId: g.id,
              status: 'active',
              dateLastModified,
              title: g.name,
              classCode: g.code ?? g.name,
              classType: g.kind === 'registration' ? 'homeroom' : 'scheduled',
              school: org,
            }),
        }),
      );
      return finish(classes, paging);
    },

    async enrollments(paging) {
      need(await grantedScopes(), ['groups'], 'groups');
      const out: Pending[] = [];
      for (const g of classesOf(await reader.groups())) {
        const members = [...g.pupilIds.map((id) => ({ id, role: 'student' })), ...g.staffIds.map((id) => ({ id, role: 'teacher' }))];
        for (const member of members) {
          out.push({
            table: 'school_groups',
            id: g.id,
            build: (dateLastModified) => ({
              sourcedId: enrollmentId(g.id, member.id),
              status: 'active',
              dateLastModified,
              role: member.role,
              primary: 'false',
              user: ref('user', 'users', member.id),
              class: ref('class', 'classes', g.id),
              school: org,
            }),
          });
        }
      }
      return finish(out, paging);
    },

    async orgs(paging) {
      await reader.freshness(); // any live grant shows the school itself
      const organisation = await scope.trx.selectFrom('organisations').select(['name', 'updated_at']).where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
      const profile = await scope.trx.selectFrom('school_profiles').select(['name', 'urn', 'la_estab', 'updated_at']).where('tenant_id', '=', scope.tenantId).executeTakeFirst();
      const school = omitUndefined({
        sourcedId: scope.tenantId,
        status: 'active',
        dateLastModified: new Date(profile?.updated_at ?? organisation.updated_at).toISOString(),
        name: profile?.name ?? organisation.name,
        type: 'school',
        identifier: profile?.urn ?? profile?.la_estab ?? undefined,
        children: [],
      });
      return { items: [school].slice(paging.offset, paging.offset + paging.limit), total: 1 };
    },

    async demographics(paging) {
      need(await grantedScopes(), ['pupils.sensitive'], 'pupils.sensitive');
      const pupils = (await reader.pupils()).map(
        (p): Pending => ({
          table: 'pupils',
          id: p.id,
          build: (dateLastModified) =>
            omitUndefined({
              sourcedId: p.id,
              status: 'active',
              dateLastModified,
              birthDate: p.dateOfBirth ?? undefined,
              sex: p.gender ? SEX[p.gender.toUpperCase()] : undefined,
            }),
        }),
      );
      return finish(pupils, paging);
    },
  };
}
