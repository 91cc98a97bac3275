import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

// Each run starts a real process (a few seconds on the embedded database), so each test strings
// several steps together. Generous timeouts: CI machines run these beside the rest of the suite.
const SLOW = 600_000;
const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

/** Reads as the database owner, after the CLI processes have exited (as sandbox.ownerSql writes). */
async function ownerRows<T = Record<string, unknown>>(sandbox: CliSandbox, text: string, params: unknown[] = []): Promise<T[]> {
  if (sandbox.databaseUrl) {
    const client = new pg.Client({ connectionString: sandbox.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = await PGlite.create({ dataDir: path.join(sandbox.dataDir, 'pglite') });
  try {
    return (await db.query<T>(text, params)).rows;
  } finally {
    await db.close();
  }
}

/** Two live sessions of the organisation's admin, as two sign-ins would leave them. */
const adminSessions = `
  INSERT INTO sessions (tenant_id, user_id, token_hash, csrf_hash, idle_expires_at, absolute_expires_at)
  SELECT u.tenant_id, u.id, 'cli-test-' || g, 'c', now() + interval '1 hour', now() + interval '1 hour'
    FROM users u, generate_series(1, 2) g WHERE u.tenant_id = $1 AND u.role = 'admin'`;

describe('custos org settings and org cancel', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('shows and changes settings, refuses bad values naming the option, and cancels an organisation with everything in it', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const adminEmail = 'partner@thornbury-accountants.example.test';
    const org = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'practice', '--name', 'Thornbury Accountants (test)', '--admin-email', adminEmail, '--json'])).stdout,
    );

    const shown = await sandbox.run(['org', 'settings', '--org', org.id, '--json']);
    expect(shown.code).toBe(0);
    expect(onlyJson(shown.stdout)).toEqual({ requireMfa: false, passwordMode: 'composition' });

    const changed = await sandbox.run(['org', 'settings', '--org', org.id, '--require-mfa', 'on', '--password-mode', 'nist', '--json']);
    expect(changed.code).toBe(0);
    expect(onlyJson(changed.stdout)).toEqual({ requireMfa: true, passwordMode: 'nist' });

    // Bad values: exit 2, each option named, no stack trace, nothing written.
    const bad = await sandbox.run(['org', 'settings', '--org', org.id, '--require-mfa', 'maybe', '--password-mode', 'lenient']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--require-mfa: must be on or off/);
    expect(bad.stderr).toMatch(/--password-mode: must be composition or nist/);
    expect(bad.stderr).not.toMatch(STACK_LINE);
    expect(bad.stdout).toBe('');

    // Someone signed in on two browsers: "sign out everywhere" ends both sessions.
    await sandbox.ownerSql(adminSessions, [org.id]);
    const signedOut = await sandbox.run(['user', 'sessions', 'revoke', '--org', org.id, '--email', adminEmail.toUpperCase(), '--json']);
    expect(signedOut.code).toBe(0);
    expect(onlyJson<{ revoked: number }>(signedOut.stdout).revoked).toBe(2);
    const unknownUser = await sandbox.run(['user', 'sessions', 'revoke', '--org', org.id, '--email', 'nobody@thornbury-accountants.example.test']);
    expect(unknownUser.code).toBe(1);
    expect(unknownUser.stderr).toMatch(/not found/);

    const token = onlyJson<{ id: string }>((await sandbox.run(['token', 'create', '--org', org.id, '--name', 'ledger sync', '--json'])).stdout);
    const cancelled = await sandbox.run(['org', 'cancel', '--org', org.id, '--json']);
    expect(cancelled.code).toBe(0);
    expect(onlyJson(cancelled.stdout)).toEqual({ id: org.id, status: 'cancelled' });

    // What the database holds, not what the commands said.
    const [state] = await ownerRows(
      sandbox,
      `SELECT o.status, o.cancelled_at IS NOT NULL AS cancelled, o.require_mfa, o.password_mode,
              (SELECT count(*)::int FROM sessions s WHERE s.tenant_id = o.id AND s.revoked_reason = 'signed out everywhere') AS signed_out,
              (SELECT count(*)::int FROM api_tokens t WHERE t.tenant_id = o.id AND t.revoked_at IS NULL) AS live_tokens,
              (SELECT count(*)::int FROM api_tokens t WHERE t.id = $2 AND t.revoked_at IS NOT NULL) AS token_revoked,
              (SELECT count(*)::int FROM audit_events a WHERE a.tenant_id = o.id AND a.action = 'organisation.settings_changed') AS settings_changes,
              (SELECT count(*)::int FROM audit_events a WHERE a.tenant_id = o.id AND a.action = 'organisation.cancelled') AS cancellations
         FROM organisations o WHERE o.id = $1`,
      [org.id, token.id],
    );
    expect(state).toEqual({
      status: 'cancelled', cancelled: true, require_mfa: true, password_mode: 'nist',
      signed_out: 2, live_tokens: 0, token_revoked: 1, settings_changes: 1, cancellations: 1,
    });
  });

  it('keeps MFA on for the operator and sends password resets only by email', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const adminEmail = 'ops@operator.custos.invalid';
    const operator = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'operator', '--name', 'Custos Operations (test)', '--admin-email', adminEmail, '--json'])).stdout,
    );
    const refused = await sandbox.run(['org', 'settings', '--org', operator.id, '--require-mfa', 'off']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--require-mfa: cannot be switched off for operator staff/);

    // No mail server: the link would reach nobody, and it is never printed, so nothing is done.
    const noMail = await sandbox.run(['user', 'reset-password', '--org', operator.id, '--email', adminEmail]);
    expect(noMail.code).toBe(2);
    expect(noMail.stderr).toMatch(/no SMTP_URL is configured/);

    // With a mail server configured (the CLI only queues; a server sends).
    const smtp = { SMTP_URL: 'smtp://127.0.0.1:2525' };
    const invitedOnly = await sandbox.run(['user', 'reset-password', '--org', operator.id, '--email', adminEmail], smtp);
    expect(invitedOnly.code).toBe(1);
    expect(invitedOnly.stderr).toMatch(/has not accepted their invitation/);
    await sandbox.ownerSql(`UPDATE users SET status = 'active' WHERE tenant_id = $1`, [operator.id]);
    const reset = await sandbox.run(['user', 'reset-password', '--org', operator.id, '--email', adminEmail, '--json'], smtp);
    expect(reset.code).toBe(0);
    expect(onlyJson(reset.stdout)).toMatchObject({ queued: true });
    expect(reset.stdout).not.toMatch(/reset-password\//);

    const [queued] = await ownerRows<{ resets: number; audited: number; mails: number }>(
      sandbox,
      `SELECT (SELECT count(*)::int FROM password_resets WHERE tenant_id = $1 AND used_at IS NULL) AS resets,
              (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1 AND action = 'user.password_reset_requested') AS audited,
              (SELECT count(*)::int FROM pgboss.job WHERE name = 'mail.send' AND data->>'tenantId' = $1::text) AS mails`,
      [operator.id],
    );
    // One reset link, audited; two mails queued in all (the invitation, then the reset).
    expect(queued).toEqual({ resets: 1, audited: 1, mails: 2 });
  });
});
