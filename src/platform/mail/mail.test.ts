import { afterEach, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { mailText, startSmtpServer } from '../../../test/smtp.ts';
import { hashSecret } from '../identity/tokens.ts';
import { enqueueMail, MAIL_JOB } from './mail.ts';

let platform: TestPlatform | undefined;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;
afterEach(async () => {
  await platform?.close();
  await smtp?.close();
  platform = smtp = undefined;
});

describe('outgoing mail through the job queue', () => {
  it('delivers the invitation over SMTP with a working single-use link', async () => {
    smtp = await startSmtpServer();
    platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url, SMTP_FROM: 'Custos <no-reply@custos.test>' } });
    const org = await createTestOrganisation(platform);
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([org.adminEmail]);
    const text = mailText(mail!);
    expect(text).toContain(`Subject: You are invited to ${org.name} on Custos`);
    const link = text.match(/http:\/\/custos\.test\/invite\/[A-Za-z0-9_-]{43}/)?.[0];
    expect(link).toBe(org.inviteUrl);
    // The link's secret is known to the database only by its hash.
    const secret = link!.split('/').pop()!;
    const stored = await platform.db.owner.selectFrom('invitations').select(['token_hash', 'user_id']).where('token_hash', '=', hashSecret(secret)).executeTakeFirst();
    expect(stored?.user_id).toBe(org.adminUserId);
    const plain = await platform.db.owner.selectFrom('invitations').select('id').where('token_hash', '=', secret).execute();
    expect(plain).toEqual([]);
  });

  it('retries a delivery the mail server refused for now', async () => {
    smtp = await startSmtpServer({ rejectFirst: 1 });
    platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url } });
    const org = await createTestOrganisation(platform);
    const [mail] = await smtp.waitFor(1, 30_000);
    expect(mail!.to).toEqual([org.adminEmail]);
    // The job completes just after the handler returns.
    const deadline = Date.now() + 10_000;
    while ((await platform.queue.pending(MAIL_JOB)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await platform.queue.pending(MAIL_JOB)).toBe(0);
    expect(smtp.received).toHaveLength(1);
  });

  it('queues nothing when the change that asked for the mail rolls back', async () => {
    platform = await startTestPlatform();
    const org = await createTestOrganisation(platform);
    const before = await platform.queue.pending(MAIL_JOB);
    await asSystem(platform, org.id, (scope) => enqueueMail(platform!.queue, scope, { to: 'kept@example.test', subject: 's', text: 't' }));
    expect(await platform.queue.pending(MAIL_JOB)).toBe(before + 1);
    await expect(
      asSystem(platform, org.id, async (scope) => {
        await enqueueMail(platform!.queue, scope, { to: 'lost@example.test', subject: 's', text: 't' });
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await platform.queue.pending(MAIL_JOB)).toBe(before + 1);
  });
});
