import type { FastifyInstance } from 'fastify';
import { clientRoutes } from './client-routes.ts';
import { documentRoutes } from './document-routes.ts';
import { flowRoutes } from './flow-routes.ts';
import { requestRoutes } from './request-routes.ts';
import { invoiceRoutes } from './invoice-routes.ts';
import { signUpRoutes } from './sign-up-routes.ts';
import { registerRetentionJobs } from '../retention.ts';
import { registerReminderJobs } from '../reminders/reminder-job.ts';

/** Every client-portal route, registered by the server in one place (add new route modules here). */
export async function portalRoutes(app: FastifyInstance): Promise<void> {
  await registerReminderJobs(app.platform);
  await registerRetentionJobs(app.platform);
  await app.register(clientRoutes);
  await app.register(documentRoutes);
  await app.register(flowRoutes);
  await app.register(requestRoutes);
  await app.register(invoiceRoutes);
  await app.register(signUpRoutes);
}
