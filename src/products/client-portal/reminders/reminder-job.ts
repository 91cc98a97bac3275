import { z } from 'zod';
import type { JobDefinition } from '../../../platform/jobs/queue.ts';
import type { Platform } from '../../../platform/platform.ts';
import { runReminderPass } from './reminders.ts';

/**
 * 'portal.reminders': an hourly pg-boss cron job running one reminder pass (reminders.ts). pg-boss
 * sends each occurrence once whichever servers keep the schedule; should two passes still overlap
 * (a retry, a slow pass), the row claims keep each reminder to one email.
 */
export const PORTAL_REMINDERS_JOB = 'portal.reminders';
export const HOURLY_CRON = '0 * * * *';

const schema = z.object({});

export function reminderJob(platform: Platform): JobDefinition<typeof schema> {
  return {
    name: PORTAL_REMINDERS_JOB,
    schema,
    // A failed pass is caught up by the next hour's; one quick retry covers a passing hiccup.
    retryLimit: 1,
    retryDelaySeconds: 300,
    async handle(_data, job) {
      const report = await runReminderPass(platform, new Date());
      platform.logger.info({ job: job.id, ...report }, 'portal reminder pass finished');
    },
  };
}

const registered = new WeakSet<object>();

/** Defines the reminder job once per platform; a process running workers keeps its hourly schedule. */
export async function registerReminderJobs(platform: Platform): Promise<void> {
  if (registered.has(platform.queue)) return;
  registered.add(platform.queue);
  await platform.defineJob(reminderJob(platform));
  if (platform.runsWorkers) await platform.queue.schedule(PORTAL_REMINDERS_JOB, HOURLY_CRON, {}, { tz: 'Europe/London' });
}
