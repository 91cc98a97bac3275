import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../src/platform/db/roles.ts';

/**
 * The public verification page: anyone holding a signed document's id and a file can ask whether
 * that file is exactly what the portal produced. Before any tenant is known, one definer function
 * answers for one (document id, SHA-256) pair only: the practice's name and when it was signed,
 * or nothing. It reveals nothing about other documents, and nothing at all without the right hash.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE FUNCTION custos_portal_verify_signed(p_document uuid, p_sha256 text)
      RETURNS TABLE (practice_name text, signed_at timestamptz, flow_id uuid, tenant_id uuid)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      RETURN QUERY
      SELECT o.name, f.completed_at, f.id, f.tenant_id
        FROM portal_flow_documents fd
        JOIN portal_flows f ON f.id = fd.flow_id AND f.tenant_id = fd.tenant_id
        JOIN organisations o ON o.id = fd.tenant_id
       WHERE fd.document_id = p_document
         AND fd.final_sha256 = p_sha256
         AND f.status = 'signed'
       LIMIT 1;
    END
    $fn$;
    REVOKE ALL ON FUNCTION custos_portal_verify_signed(uuid, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION custos_portal_verify_signed(uuid, text) TO ${APP_ROLE};
  `,
    )
    .execute(db);
}
