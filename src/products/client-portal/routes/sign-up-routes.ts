import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../../../http/problem.ts';
import { requestMeta } from '../../../http/tenant-route.ts';
import { signUpPractice, type SignUpInput } from '../sign-up.ts';

/** Public: an accountancy practice signs itself up; its Administrator gets a link to set a password. */
export async function signUpRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/auth/practice-sign-up',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign up an accountancy practice',
        description:
          'Creates the practice and its Administrator, and emails them a single-use link (72 hours) to choose a password. ' +
          'Answers 202 with nothing more; the link goes by email only. Throttled per address and per email.',
        body: z.record(z.string(), z.unknown()).describe('{practiceName, name, email}'),
        response: { 202: z.undefined().describe('Accepted: check your email'), ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await signUpPractice(app.platform, request.body as SignUpInput, requestMeta(request));
      return reply.code(202).send();
    },
  );
}
