import { useState } from 'react';
import type { AuditChainReport } from '../../api/types.ts';
import { api, describeProblem } from '../../api/client.ts';

async function verifyChain(): Promise<{ ok: true; report: AuditChainReport } | { ok: false; message: string }> {
  try {
    return { ok: true, report: await api.get<AuditChainReport>('/api/v1/audit/verify') };
  } catch (error) {
    return { ok: false, message: describeProblem(error) };
  }
}

/** "Verify chain": re-walks the hash chain on the server and says plainly what it found. */
export function VerifyChain() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: true; report: AuditChainReport } | { ok: false; message: string } | null>(null);

  async function run() {
    setBusy(true);
    setResult(null);
    setResult(await verifyChain());
    setBusy(false);
  }

  return (
    <div className="panel">
      <h2>Check the log has not been altered</h2>
      <button className="button" type="button" onClick={() => void run()} disabled={busy}>
        Verify chain
      </button>
      <div role="status" className="status-region">
        {busy && <p>Checking every entry…</p>}
        {result?.ok && result.report.ok && (
          <p className="notice notice--success">
            Chain verified: all {result.report.entries} entries are intact and in order.
          </p>
        )}
        {result?.ok && !result.report.ok && (
          <div className="notice notice--error">
            <p>
              The chain is broken: {result.report.problems.length} problem{result.report.problems.length === 1 ? '' : 's'} in{' '}
              {result.report.entries} entries.
            </p>
            <ul>
              {result.report.problems.map((problem) => (
                <li key={`${problem.seq}:${problem.reason}`}>
                  Entry {problem.seq}: {problem.reason}
                </li>
              ))}
            </ul>
          </div>
        )}
        {result && !result.ok && <p className="notice notice--error">Could not check the chain. {result.message}</p>}
      </div>
    </div>
  );
}
