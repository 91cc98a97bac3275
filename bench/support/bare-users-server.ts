import Fastify from 'fastify';
import type { TenantCipher } from '../../src/platform/crypto/tenant-keys.ts';

/** A users row as both servers read it: the same columns as listUsers selects. */
export interface UserRow {
  id: string;
  email_enc: string;
  display_name_enc: string | null;
  role: string;
  status: string;
  created_at: Date;
}

export const USERS_SQL =
  'select id, email_enc, display_name_enc, role, status, created_at from users where tenant_id = $1 order by created_at';

/**
 * The baseline: what listing users costs with nothing of Custos around it — no token lookup, no
 * transaction, no tenant setting for RLS, no audit, no security headers or rate limit; one
 * query as the owner and the same decryption and JSON. The ratio to it is the platform's price.
 */
export async function startBareUsersServer(options: {
  tenantId: string;
  cipher: TenantCipher;
  queryUsers: (tenantId: string) => Promise<UserRow[]>;
  /** The same envelope the real API wraps its list in, so both send the same bytes. */
  envelope: (users: unknown[]) => unknown;
}): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/api/v1/users', async () => {
    const rows = await options.queryUsers(options.tenantId);
    return options.envelope(
      rows.map((row) => ({
        id: row.id,
        email: options.cipher.open('users.email', row.email_enc),
        displayName: options.cipher.openOptional('users.display_name', row.display_name_enc),
        role: row.role,
        status: row.status,
        createdAt: new Date(row.created_at).toISOString(),
      })),
    );
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}
