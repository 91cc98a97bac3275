import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, PROBLEM_BASE } from '../../platform/errors.ts';
import { problemResponses } from '../problem.ts';

const healthSchema = z.object({ status: z.literal('ok'), database: z.literal('ok') });

/** Public liveness and readiness: answers only when the database answers. Reads no tenant data. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Is the server up and its database reachable?',
        security: [],
        response: { 200: healthSchema, ...problemResponses(429, 503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(app.platform.db.app);
      } catch {
        throw new AppError(503, `${PROBLEM_BASE}unavailable`, 'Service unavailable', 'the database is not reachable');
      }
      return { status: 'ok' as const, database: 'ok' as const };
    },
  );
}
