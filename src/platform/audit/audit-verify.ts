import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import { entryHash, genesisHash } from './chain.ts';

export interface ChainProblem {
  seq: number;
  reason: string;
}

export interface ChainReport {
  tenantId: string;
  entries: number;
  ok: boolean;
  problems: ChainProblem[];
}

const BATCH = 2000;

/**
 * Re-walks a tenant's chain from its genesis link. Reports an altered entry (its hash no longer
 * matches its content), a removed or reordered entry (sequence gap or broken back-link) and
 * removed newest entries (the head points past the last entry). Needs no decryption keys:
 * hashes cover the stored ciphertexts.
 */
export async function verifyAuditChain(db: Kysely<DB> | Transaction<DB>, tenantId: string): Promise<ChainReport> {
  const problems: ChainProblem[] = [];
  let expectedSeq = 1;
  let previousHash = genesisHash(tenantId);
  let entries = 0;
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(BATCH)
      .execute();
    for (const row of rows) {
      entries++;
      if (row.seq !== expectedSeq) {
        problems.push({ seq: row.seq, reason: `expected entry ${expectedSeq} next: entries are missing or were renumbered` });
      }
      if (row.prev_hash !== previousHash) {
        problems.push({ seq: row.seq, reason: 'back-link does not match the previous entry: an entry was removed, inserted or reordered' });
      }
      const recomputed = entryHash(row.prev_hash, {
        tenant_id: row.tenant_id,
        seq: row.seq,
        id: row.id,
        occurred_at: new Date(row.occurred_at).toISOString(),
        actor_type: row.actor_type,
        actor_id: row.actor_id,
        operator_id: row.operator_id,
        action: row.action,
        target_type: row.target_type,
        target_id: row.target_id,
        changes: row.changes,
        ip_enc: row.ip_enc,
        user_agent_enc: row.user_agent_enc,
        request_id: row.request_id,
      });
      if (recomputed !== row.hash) problems.push({ seq: row.seq, reason: 'content does not match its hash: the entry was altered' });
      previousHash = row.hash;
      expectedSeq = row.seq + 1;
      after = row.seq;
    }
    if (rows.length < BATCH) break;
  }
  const head = await db.selectFrom('audit_heads').select(['seq', 'hash']).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!head) {
    problems.push({ seq: 0, reason: 'the chain head is missing' });
  } else if (head.seq !== expectedSeq - 1 || head.hash !== previousHash) {
    problems.push({
      seq: head.seq,
      reason: `the head records ${head.seq} entries but the chain ends at ${expectedSeq - 1}: newest entries were removed or the head was altered`,
    });
  }
  return { tenantId, entries, ok: problems.length === 0, problems };
}
