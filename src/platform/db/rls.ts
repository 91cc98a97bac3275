import { APP_ROLE } from './roles.ts';

/**
 * The tenant of the current transaction. `true` = missing setting is NULL, and NULLIF turns the
 * empty string a pooled connection is left with into NULL too, so an unset tenant matches nothing.
 */
export const CURRENT_TENANT_SQL = `NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

/**
 * SQL that puts a table under tenant isolation: RLS enabled and forced (the owner obeys it too),
 * one policy for reads and writes, and the application role's privileges.
 */
export function tenantTableSql(
  table: string,
  options: { column?: string; privileges?: string } = {},
): string {
  const column = options.column ?? 'tenant_id';
  const privileges = options.privileges ?? 'SELECT, INSERT, UPDATE, DELETE';
  return `
    ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
    ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;
    CREATE POLICY ${table}_tenant_isolation ON ${table}
      USING (${column} = ${CURRENT_TENANT_SQL})
      WITH CHECK (${column} = ${CURRENT_TENANT_SQL});
    GRANT ${privileges} ON ${table} TO ${APP_ROLE};
  `;
}
