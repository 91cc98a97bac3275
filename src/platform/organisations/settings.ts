import { z } from 'zod';
import { recordAudit, type FieldChange } from '../audit/audit-writer.ts';
import { NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import type { Platform } from '../platform.ts';
import { isUuid, SYSTEM_ACTOR, type RequestMeta, type TenantScope } from '../tenancy/tenant-scope.ts';
import { revokeSessions } from '../identity/sessions.ts';
import { parseOrThrow } from '../validation.ts';

/**
 * An organisation's own security settings: whether MFA is required of everyone, and which password
 * rules apply. Changes are made in the organisation's tenant transaction (its row is under RLS
 * like any other) and audited with the value before and after.
 */
export const organisationSettingsSchema = z.strictObject({
  requireMfa: z.boolean({ error: 'must be true or false' }).optional(),
  passwordMode: z.enum(['composition', 'nist'], { error: 'must be composition or nist' }).optional(),
});

export interface OrganisationSettings {
  requireMfa: boolean;
  passwordMode: 'composition' | 'nist';
}

export async function getOrganisationSettings(scope: TenantScope): Promise<OrganisationSettings> {
  const row = await scope.trx
    .selectFrom('organisations')
    .select(['require_mfa', 'password_mode'])
    .where('id', '=', scope.tenantId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('organisation');
  return { requireMfa: row.require_mfa, passwordMode: row.password_mode };
}

/**
 * An unknown setting is named as its own field (zod would report it against the whole body), so
 * a client that misspells one is told which.
 */
function parseSettings(input: unknown): z.output<typeof organisationSettingsSchema> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return parseOrThrow(organisationSettingsSchema, input);
  const known = organisationSettingsSchema.shape;
  const unknownKeys = Object.keys(input).filter((key) => !Object.hasOwn(known, key));
  if (unknownKeys.length === 0) return parseOrThrow(organisationSettingsSchema, input);
  const problems: FieldProblem[] = unknownKeys.map((field) => ({ field, reason: 'is not an organisation setting' }));
  const rest = Object.fromEntries(Object.entries(input).filter(([key]) => Object.hasOwn(known, key)));
  try {
    parseOrThrow(organisationSettingsSchema, rest);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...(error.errors ?? []));
  }
  throw new ValidationError(problems);
}

/**
 * Changes the settings given and leaves the others. Operator staff always need MFA, so the operator
 * organisation cannot switch it off. Nothing is written (nor audited) when nothing changes.
 */
export async function updateOrganisationSettings(scope: TenantScope, input: unknown): Promise<OrganisationSettings> {
  const data = parseSettings(input);
  const row = await scope.trx
    .selectFrom('organisations')
    .select(['kind', 'require_mfa', 'password_mode'])
    .where('id', '=', scope.tenantId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('organisation');
  if (data.requireMfa === false && row.kind === 'operator') {
    throw new ValidationError([{ field: 'requireMfa', reason: 'cannot be switched off for operator staff' }]);
  }
  const before: OrganisationSettings = { requireMfa: row.require_mfa, passwordMode: row.password_mode };
  const after: OrganisationSettings = { requireMfa: data.requireMfa ?? before.requireMfa, passwordMode: data.passwordMode ?? before.passwordMode };
  const changes: Record<string, FieldChange> = {};
  for (const field of ['requireMfa', 'passwordMode'] as const) {
    if (before[field] !== after[field]) changes[field] = { before: before[field], after: after[field] };
  }
  if (Object.keys(changes).length === 0) return after;
  await scope.trx
    .updateTable('organisations')
    .set({ require_mfa: after.requireMfa, password_mode: after.passwordMode, updated_at: new Date() })
    .where('id', '=', scope.tenantId)
    .execute();
  await recordAudit(scope, { action: 'organisation.settings_changed', target: { type: 'organisation', id: scope.tenantId }, changes });
  return after;
}

/**
 * Operator action (CLI): the organisation is cancelled, everyone in it is signed out and every API
 * token stops working — in one transaction of that tenant, so it happens entirely or not at all.
 * Sign-in, one-time links, sessions and tokens all refuse a cancelled organisation already (the
 * definer functions check its status); revoking them as well means that undoing a cancellation
 * would not bring old credentials back to life. Running it again changes nothing.
 */
export async function cancelOrganisation(platform: Platform, organisationId: string, meta: RequestMeta): Promise<void> {
  if (!isUuid(organisationId)) throw new NotFoundError('organisation');
  // Only whether it exists, asked as the owner (as the CLI's inOrganisation does): an unknown
  // tenant has no keys, and opening its transaction would fail with a key error instead.
  const exists = await platform.db.owner.selectFrom('organisations').select('id').where('id', '=', organisationId).executeTakeFirst();
  if (!exists) throw new NotFoundError('organisation');
  await platform.inTenant({ tenantId: organisationId, actor: SYSTEM_ACTOR, meta }, async (scope) => {
    const row = await scope.trx
      .selectFrom('organisations')
      .select(['status'])
      .where('id', '=', organisationId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new NotFoundError('organisation');
    const now = new Date();
    if (row.status !== 'cancelled') {
      await scope.trx
        .updateTable('organisations')
        .set({ status: 'cancelled', cancelled_at: now, updated_at: now })
        .where('id', '=', organisationId)
        .execute();
      await recordAudit(scope, {
        action: 'organisation.cancelled',
        target: { type: 'organisation', id: organisationId },
        changes: { status: { before: row.status, after: 'cancelled' } },
      });
    }
    // On a second run these find nothing live and write nothing.
    await revokeSessions(scope, 'organisation cancelled');
    const tokens = await scope.trx
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    if (tokens.length > 0) {
      await recordAudit(scope, {
        action: 'api_token.revoked_all',
        target: { type: 'organisation', id: organisationId },
        changes: { reason: { after: 'organisation cancelled' }, tokens: { after: tokens.length } },
      });
    }
  });
}
