import { afterEach, describe, expect, it } from 'vitest';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

// Generous: CI machines run these beside the rest of the suite, and a spawn there can take 20 s.
const SLOW = 600_000;

async function getOrganisation(url: string, token?: string) {
  const response = await fetch(`${url}/api/v1/organisation`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('custos serve with operator-issued API tokens', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('loads demo data once, serves tokens issued by the CLI, refuses revoked ones and stops cleanly on SIGTERM', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();

    // First start on an empty database: demo organisations and their sign-in details, once.
    const first = await sandbox.serve(['--demo']);
    const demoTokens = [...first.banner.matchAll(/admin API token\s+(cst_\S+)/g)].map((m) => m[1]!);
    const demoIds = [...first.banner.matchAll(/organisation id\s+(\S+)/g)].map((m) => m[1]!);
    expect(demoTokens.length).toBeGreaterThanOrEqual(6);
    expect(demoIds).toHaveLength(demoTokens.length);
    const demo = await getOrganisation(first.url, demoTokens[1]);
    expect(demo.status).toBe(200);
    expect(JSON.stringify(demo.body)).toContain(demoIds[1]);
    const stoppedFirst = await first.stop();
    expect(stoppedFirst.code).toBe(0);
    expect(stoppedFirst.signal).toBeNull();

    // Tokens issued while the server is down (on the embedded database only one process may hold it).
    const orgId = demoIds[4]!;
    const issued = await sandbox.run(['token', 'create', '--org', orgId, '--name', 'integration', '--scopes', 'read', '--json']);
    expect(issued.code).toBe(0);
    const token = onlyJson<{ id: string; token: string; scopes: string[] }>(issued.stdout);
    expect(token.token).toMatch(/^cst_/);
    expect(token.scopes).toEqual(['read']);
    const doomed = onlyJson<{ id: string; token: string }>(
      (await sandbox.run(['token', 'create', '--org', orgId, '--name', 'to be revoked', '--json'])).stdout,
    );
    const revoked = await sandbox.run(['token', 'revoke', '--org', orgId, '--id', doomed.id]);
    expect(revoked.code).toBe(0);

    // Second start: the data is there, so no new demo data and no sign-in details.
    const second = await sandbox.serve(['--demo']);
    expect(second.banner).not.toMatch(/cst_/);
    expect(second.banner).toMatch(/no demo data was loaded/);
    const viaToken = await getOrganisation(second.url, token.token);
    expect(viaToken.status).toBe(200);
    expect(JSON.stringify(viaToken.body)).toContain(orgId);
    expect(JSON.stringify(viaToken.body)).not.toContain(demoIds[1]);
    expect((await getOrganisation(second.url, doomed.token)).status).toBe(401);
    expect((await getOrganisation(second.url)).status).toBe(401);
    expect((await fetch(`${second.url}/api/health`)).status).toBe(200);

    // The embedded database belongs to the running server; another process must not open it.
    // PostgreSQL serves any number of processes.
    const meanwhile = await sandbox.run(['token', 'list', '--org', orgId]);
    if (sandbox.databaseUrl) {
      expect(meanwhile.code).toBe(0);
    } else {
      expect(meanwhile.code).toBe(1);
      expect(meanwhile.stderr).toMatch(/in use by another Custos process/);
    }

    const stoppedSecond = await second.stop();
    expect(stoppedSecond.code).toBe(0);
    expect(stoppedSecond.stderr).toMatch(/SIGTERM received/);
  });
});
