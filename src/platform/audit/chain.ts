import crypto from 'node:crypto';
import canonicalize from 'canonicalize';

/** The fields of an audit entry that its hash covers: everything stored except the hashes. */
export interface ChainedFields {
  tenant_id: string;
  seq: number;
  id: string;
  occurred_at: string;
  actor_type: 'user' | 'api_token' | 'operator' | 'system';
  actor_id: string | null;
  operator_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  changes: Record<string, unknown>;
  ip_enc: string | null;
  user_agent_enc: string | null;
  request_id: string | null;
}

/** The chain's starting link is bound to the tenant, so one tenant's chain cannot be passed off as another's. */
export function genesisHash(tenantId: string): string {
  return crypto.createHash('sha256').update(`custos-audit-genesis|${tenantId}`).digest('hex');
}

/**
 * SHA-256 over the previous hash and the entry in RFC 8785 canonical JSON: any edit to an entry,
 * any removed entry or any swap of two entries changes a hash the next link depends on.
 */
export function entryHash(prevHash: string, fields: ChainedFields): string {
  return crypto
    .createHash('sha256')
    .update(prevHash)
    .update('\n')
    .update(canonicalize(fields) ?? '')
    .digest('hex');
}
