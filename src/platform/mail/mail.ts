import nodemailer, { type Transporter } from 'nodemailer';
import { z } from 'zod';
import type { JobDefinition, JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logging/logger.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export const MAIL_JOB = 'mail.send';

const mailJobSchema = z.object({ tenantId: z.uuid(), sealed: z.string().min(1) });

export function createTransport(smtpUrl: string | undefined): Transporter | undefined {
  return smtpUrl ? nodemailer.createTransport(smtpUrl) : undefined;
}

/**
 * Queues an email in the caller's transaction. The message (recipient included) is sealed with
 * the tenant's key: the queue table is not tenant-isolated, so it holds no readable personal data.
 */
export async function enqueueMail(queue: JobQueue, scope: TenantScope, message: MailMessage): Promise<void> {
  const sealed = scope.cipher.seal('mail.message', JSON.stringify(message));
  await queue.send(scope, MAIL_JOB, { tenantId: scope.tenantId, sealed });
}

/**
 * The worker side: opens the message inside the tenant's own transaction and hands it to SMTP.
 * A failed delivery throws, so the queue retries it with backoff.
 */
export function mailJob(options: {
  transport: Transporter | undefined;
  from: string;
  logger: Logger;
  retryDelaySeconds?: number;
  openSealed: (tenantId: string, sealed: string) => Promise<string>;
}): JobDefinition<typeof mailJobSchema> {
  return {
    name: MAIL_JOB,
    schema: mailJobSchema,
    retryLimit: 5,
    retryDelaySeconds: options.retryDelaySeconds ?? 10,
    async handle(data, job) {
      const message = JSON.parse(await options.openSealed(data.tenantId, data.sealed)) as MailMessage;
      if (!options.transport) {
        options.logger.warn({ job: job.id }, 'mail not sent: no SMTP_URL configured');
        return;
      }
      await options.transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text });
      options.logger.info({ job: job.id, attempt: job.attempt }, 'mail sent');
    },
  };
}
