import { sql, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../audit/audit-writer.ts';
import type { DB } from '../db/schema.ts';
import { NotFoundError, UnauthorizedError } from '../errors.ts';
import { isUuid, sqlSafeLiteral, tenantSettingsSql, type TenantContext, type TenantScope } from '../tenancy/tenant-scope.ts';
import { hashSecret, newSecret } from './tokens.ts';
import { parseOrThrow } from '../validation.ts';

/** Scopes an API token may carry. `admin` may manage users and tokens; `read` may only read. */
export const API_TOKEN_SCOPES = ['read', 'admin'] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];
export const TOKEN_PREFIX = 'cst_';

export const createApiTokenSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  scopes: z.array(z.enum(API_TOKEN_SCOPES)).min(1, 'must name at least one scope').default(['read']),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export interface ApiTokenInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  issuedBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export async function createApiToken(
  scope: TenantScope,
  input: z.input<typeof createApiTokenSchema>,
  issuedBy: string,
): Promise<{ token: string; info: ApiTokenInfo }> {
  const { name, scopes, expiresInDays } = parseOrThrow(createApiTokenSchema, input);
  const { secret, hash } = newSecret(TOKEN_PREFIX);
  const row = await scope.trx
    .insertInto('api_tokens')
    .values({
      tenant_id: scope.tenantId,
      name,
      token_hash: hash,
      token_prefix: secret.slice(0, TOKEN_PREFIX.length + 6),
      scopes,
      issued_by: issuedBy,
      expires_at: expiresInDays ? new Date(Date.now() + expiresInDays * 86400_000) : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'api_token.created',
    target: { type: 'api_token', id: row.id },
    changes: { name: { after: name }, scopes: { after: scopes.join(' ') } },
  });
  return { token: secret, info: toInfo(row) };
}

export async function listApiTokens(scope: TenantScope): Promise<ApiTokenInfo[]> {
  const rows = await scope.trx.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
  return rows.map(toInfo);
}

export async function revokeApiToken(scope: TenantScope, id: string): Promise<void> {
  const row = await scope.trx
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!row) throw new NotFoundError('api token');
  await recordAudit(scope, { action: 'api_token.revoked', target: { type: 'api_token', id } });
}

export interface ResolvedToken {
  tokenId: string;
  tenantId: string;
  scopes: string[];
  /** SHA-256 of the presented token, to re-check it inside the request's transaction. */
  tokenHash: string;
}

/**
 * Finds which organisation a bearer token belongs to, before any tenant is set, through the one
 * security-definer function that can look across tenants — and it returns only that token's own.
 */
export async function resolveApiToken(app: Kysely<DB>, token: string): Promise<ResolvedToken | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const tokenHash = hashSecret(token);
  const result = await sql<{ token_id: string; tenant_id: string; scopes: string[] }>`
    select token_id, tenant_id, scopes from custos_resolve_api_token(${tokenHash})`.execute(app);
  const row = result.rows[0];
  return row ? { tokenId: row.token_id, tenantId: row.tenant_id, scopes: row.scopes, tokenHash } : undefined;
}

/**
 * The authoritative token check, made in the request's own transaction and in the same statement
 * that sets the tenant: a token revoked a moment ago is refused here even if an earlier,
 * cheaper check let the request in. Throws UnauthorizedError when the token no longer admits
 * this tenant.
 */
export function setTenantForToken(tokenHash: string) {
  return async (trx: Transaction<DB>, context: TenantContext): Promise<void> => {
    const settings = tenantSettingsSql(context);
    const hash = /^[0-9a-f]{64}$/.test(tokenHash) ? sqlSafeLiteral(tokenHash) : undefined;
    const actor = context.actor.id && isUuid(context.actor.id) ? sqlSafeLiteral(context.actor.id) : undefined;
    if (!settings || !hash || !actor) throw new UnauthorizedError('a valid API token is required');
    // Values are a hex hash and UUIDs only, checked above, so they can be written into the SQL
    // text; a parameterless statement travels with BEGIN in one round trip (deferred-begin.ts).
    const result = await sql
      .raw<{ tenant_id: string }>(
        `select r.tenant_id, ${settings} from custos_resolve_api_token(${hash}) r
          where r.tenant_id = '${context.tenantId}'::uuid and r.token_id = ${actor}::uuid`,
      )
      .execute(trx);
    if (result.rows.length !== 1) throw new UnauthorizedError('a valid API token is required');
  };
}

function toInfo(row: {
  id: string; name: string; token_prefix: string; scopes: string[]; issued_by: string;
  created_at: Date; expires_at: Date | null; revoked_at: Date | null; last_used_at: Date | null;
}): ApiTokenInfo {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: row.id,
    name: row.name,
    prefix: row.token_prefix,
    scopes: row.scopes,
    issuedBy: row.issued_by,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
  };
}
