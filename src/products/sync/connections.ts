import { z } from 'zod';
import { recordAudit } from '../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { Platform } from '../../platform/platform.ts';
import type { TenantContext, TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { isUuid } from '../../platform/tenancy/tenant-scope.ts';
import { fieldProblems } from '../../platform/validation.ts';
import { readOneRosterRest, type OneRosterRestSettings } from './connectors/oneroster-rest.ts';
import { readWonde, type WondeSettings } from './connectors/wonde.ts';
import { runImport, type RunSummary } from './engine.ts';
import type { ImportBatch } from './model.ts';

/**
 * Saved connections to a school's MIS over the network (OneRoster REST, Wonde): what to call and
 * with which credentials, and whether to run nightly. The settings (secrets included) are sealed
 * in `settings_enc` with the tenant's key; nothing outside this module ever sees the secret again:
 * lists mask it, audit entries and queued jobs never carry it.
 */

export const CONNECTION_KINDS = ['oneroster-rest', 'wonde'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];
export const SCHEDULES = ['nightly'] as const;
export type Schedule = (typeof SCHEDULES)[number];

const SEAL_PURPOSE = 'sync_connections.settings';
/** How far before the last run's start a delta reads again (see runConnection). */
const DELTA_OVERLAP_MS = 60 * 60_000;
/** What a secret is shown as. */
export const MASK = '********';

/** A required text setting: "is required" when absent, rather than zod's wording about types. */
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

const httpUrl = text()
  .trim()
  .max(2000, 'is too long')
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');
const secret = text().min(1, 'must not be empty').max(4000, 'is too long');

export const oneRosterRestSettingsSchema = z.strictObject({
  baseUrl: httpUrl,
  tokenUrl: httpUrl,
  clientId: text().trim().min(1, 'must not be empty').max(500, 'is too long'),
  clientSecret: secret,
  version: z.enum(['1.1', '1.2'], { error: "must be '1.1' or '1.2'" }).default('1.1'),
}) satisfies z.ZodType<OneRosterRestSettings, unknown>;

export const wondeSettingsSchema = z.strictObject({
  baseUrl: httpUrl.default('https://api.wonde.com'),
  token: secret,
  schoolId: text().trim().min(1, 'must not be empty').max(200, 'is too long'),
}) satisfies z.ZodType<WondeSettings, unknown>;

export const connectionInputSchema = z.strictObject({
  kind: z.enum(CONNECTION_KINDS, { error: `must be one of ${CONNECTION_KINDS.join(', ')}` }),
  name: text().trim().min(1, 'must not be empty').max(200, 'is too long'),
  settings: z.record(z.string(), z.unknown(), { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an object of settings') }),
  schedule: z.enum(SCHEDULES, { error: "must be 'nightly' or null" }).nullable().optional(),
});
export type ConnectionInput = z.input<typeof connectionInputSchema>;

type StoredSettings = { kind: 'oneroster-rest'; settings: OneRosterRestSettings } | { kind: 'wonde'; settings: WondeSettings };

/** A connection as shown to the school: endpoint and client id in clear, the secret masked. */
export interface ConnectionInfo {
  id: string;
  kind: ConnectionKind;
  name: string;
  schedule: Schedule | null;
  createdAt: string;
  settings: Record<string, string>;
  lastRun: { id: string; status: string; startedAt: string; finishedAt: string | null } | null;
}

const SETTINGS_SCHEMAS = { 'oneroster-rest': oneRosterRestSettingsSchema, wonde: wondeSettingsSchema } as const;

/**
 * The whole input checked in one round: the common fields and, when the kind is known, every
 * setting of that kind (named settings.<field>), so a form hears of all its problems at once.
 */
function parseConnectionInput(input: unknown): { parsed: z.output<typeof connectionInputSchema>; stored: StoredSettings } {
  const base = connectionInputSchema.safeParse(input);
  const problems = base.success ? [] : fieldProblems(base.error);
  const raw = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const kind = (CONNECTION_KINDS as readonly unknown[]).includes(raw.kind) ? (raw.kind as ConnectionKind) : undefined;
  let settings: unknown;
  if (kind && typeof raw.settings === 'object' && raw.settings !== null && !Array.isArray(raw.settings)) {
    const checked = SETTINGS_SCHEMAS[kind].safeParse(raw.settings);
    if (checked.success) settings = checked.data;
    else problems.push(...fieldProblems(checked.error, ['settings']));
  }
  if (!base.success || problems.length > 0) throw new ValidationError(problems);
  return { parsed: base.data, stored: { kind: base.data.kind, settings } as StoredSettings };
}

function masked(stored: StoredSettings): Record<string, string> {
  if (stored.kind === 'oneroster-rest') {
    const { baseUrl, tokenUrl, clientId, version } = stored.settings;
    return { baseUrl, tokenUrl, clientId, version, clientSecret: MASK };
  }
  const { baseUrl, schoolId } = stored.settings;
  return { baseUrl, schoolId, token: MASK };
}

function openSettings(scope: TenantScope, kind: string, sealed: string | null): StoredSettings {
  if (sealed === null) throw new NotFoundError('connection');
  return { kind, settings: JSON.parse(scope.cipher.open(SEAL_PURPOSE, sealed)) } as StoredSettings;
}

async function requireSchool(scope: TenantScope): Promise<void> {
  const organisation = await scope.trx.selectFrom('organisations').select(['kind', 'status']).where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
  if (organisation.kind !== 'school') throw new ConflictError(`only a school holds school data; this organisation is a ${organisation.kind.replace('_', ' ')}`);
  if (organisation.status !== 'active') throw new ConflictError('the organisation is cancelled');
}

export async function createConnection(scope: TenantScope, input: ConnectionInput): Promise<ConnectionInfo> {
  const { parsed, stored } = parseConnectionInput(input);
  await requireSchool(scope);
  const clash = await scope.trx
    .selectFrom('sync_connections')
    .select('id')
    .where('tenant_id', '=', scope.tenantId)
    .where('name', '=', parsed.name)
    .executeTakeFirst();
  if (clash) throw new ConflictError('a connection with this name already exists');
  const row = await scope.trx
    .insertInto('sync_connections')
    .values({
      tenant_id: scope.tenantId,
      kind: parsed.kind,
      name: parsed.name,
      settings_enc: scope.cipher.seal(SEAL_PURPOSE, JSON.stringify(stored.settings)),
      schedule: parsed.schedule ?? null,
    })
    .returning(['id', 'created_at'])
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'sync.connection_created',
    target: { type: 'sync_connection', id: row.id },
    changes: { kind: { after: parsed.kind }, name: { after: parsed.name }, schedule: { after: parsed.schedule ?? null }, settings: { personal: true } },
  });
  return {
    id: row.id,
    kind: parsed.kind,
    name: parsed.name,
    schedule: parsed.schedule ?? null,
    createdAt: new Date(row.created_at).toISOString(),
    settings: masked(stored),
    lastRun: null,
  };
}

/** The school's active connections, oldest first; secrets masked. */
export async function listConnections(scope: TenantScope): Promise<ConnectionInfo[]> {
  const rows = await scope.trx
    .selectFrom('sync_connections')
    .select(['id', 'kind', 'name', 'schedule', 'created_at', 'settings_enc'])
    .where('tenant_id', '=', scope.tenantId)
    .where('disabled_at', 'is', null)
    .where('kind', 'in', [...CONNECTION_KINDS])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const runs = rows.length
    ? await scope.trx
        .selectFrom('sync_runs')
        .select(['id', 'connection_id', 'status', 'started_at', 'finished_at'])
        .distinctOn('connection_id')
        .where('tenant_id', '=', scope.tenantId)
        .where('connection_id', 'in', rows.map((r) => r.id))
        .orderBy('connection_id')
        .orderBy('started_at', 'desc')
        .execute()
    : [];
  const lastRun = new Map(runs.map((r) => [r.connection_id, r]));
  return rows.map((row) => {
    const run = lastRun.get(row.id);
    return {
      id: row.id,
      kind: row.kind as ConnectionKind,
      name: row.name,
      schedule: (row.schedule as Schedule | null) ?? null,
      createdAt: new Date(row.created_at).toISOString(),
      settings: masked(openSettings(scope, row.kind, row.settings_enc)),
      lastRun: run
        ? { id: run.id, status: run.status, startedAt: new Date(run.started_at).toISOString(), finishedAt: run.finished_at ? new Date(run.finished_at).toISOString() : null }
        : null,
    };
  });
}

/** An active connection of the school, or 404 (also for another school's id). */
export async function getConnection(scope: TenantScope, id: string): Promise<{ id: string; kind: ConnectionKind; name: string; schedule: string | null; settingsEnc: string | null }> {
  if (!isUuid(id)) throw new NotFoundError('connection');
  const row = await scope.trx
    .selectFrom('sync_connections')
    .select(['id', 'kind', 'name', 'schedule', 'settings_enc'])
    .where('tenant_id', '=', scope.tenantId)
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .where('kind', 'in', [...CONNECTION_KINDS])
    .executeTakeFirst();
  if (!row) throw new NotFoundError('connection');
  return { id: row.id, kind: row.kind as ConnectionKind, name: row.name, schedule: row.schedule, settingsEnc: row.settings_enc };
}

/**
 * Disables a connection: it stops running and its credentials are erased. Its runs (and the
 * records it imported) stay; its name is freed for a new connection.
 */
export async function deleteConnection(scope: TenantScope, id: string): Promise<void> {
  const connection = await getConnection(scope, id);
  await scope.trx
    .updateTable('sync_connections')
    .set({ disabled_at: new Date(), settings_enc: null, schedule: null, name: `${connection.name} (removed ${connection.id})` })
    .where('tenant_id', '=', scope.tenantId)
    .where('id', '=', id)
    .execute();
  await recordAudit(scope, {
    action: 'sync.connection_deleted',
    target: { type: 'sync_connection', id },
    changes: { name: { before: connection.name }, kind: { before: connection.kind } },
  });
}

/** The school's active nightly connections (used by the nightly job, in the school's own transaction). */
export async function listNightlyConnections(scope: TenantScope): Promise<string[]> {
  const rows = await scope.trx
    .selectFrom('sync_connections')
    .select('id')
    .where('tenant_id', '=', scope.tenantId)
    .where('disabled_at', 'is', null)
    .where('schedule', '=', 'nightly')
    .where('kind', 'in', [...CONNECTION_KINDS])
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.id);
}

export interface RunConnectionOptions {
  /** Read only what changed since this connection's last succeeded run (a full read when it has none). */
  delta: boolean;
  /** Shown in the run list (default: the acting user or token, else 'schedule'). */
  startedBy?: string;
  signal?: AbortSignal;
}

/** What a connection's runs are held under: re-running updates the same records. */
export const connectionSource = (id: string) => `connection:${id}`;

/**
 * Reads the connection's MIS and imports what it read. The settings are opened in a short
 * transaction; the remote read happens outside any transaction; the import is the engine's.
 */
export async function runConnection(platform: Platform, context: TenantContext, connectionId: string, options: RunConnectionOptions): Promise<RunSummary> {
  const { stored, since } = await platform.inTenant(context, async (scope) => {
    const connection = await getConnection(scope, connectionId);
    const stored = openSettings(scope, connection.kind, connection.settingsEnc);
    let since: string | undefined;
    if (options.delta) {
      const last = await scope.trx
        .selectFrom('sync_runs')
        .select('started_at')
        .where('tenant_id', '=', scope.tenantId)
        .where('connection_id', '=', connectionId)
        .where('status', '=', 'succeeded')
        .where('dry_run', '=', false)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      // A run's start is stamped after its remote read: a record changed during that read would
      // fall between two deltas. Reading an hour further back closes the gap; re-reading unchanged
      // records costs nothing (their content hashes match).
      if (last) since = new Date(new Date(last.started_at).getTime() - DELTA_OVERLAP_MS).toISOString();
    }
    return { stored, since };
  });
  let batch: ImportBatch;
  const allowPrivateAddresses = platform.config.allowPrivateOutbound;
  if (stored.kind === 'oneroster-rest') batch = await readOneRosterRest(stored.settings, { since, signal: options.signal, allowPrivateAddresses });
  else batch = await readWonde(stored.settings, { updatedAfter: since, signal: options.signal, allowPrivateAddresses });
  const startedBy = options.startedBy ?? (context.actor.id ? `${context.actor.type}:${context.actor.id}` : 'schedule');
  return runImport(platform, context, batch, { format: stored.kind, source: connectionSource(connectionId), connectionId, startedBy });
}
