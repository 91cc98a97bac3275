import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, PROBLEM_BASE, type FieldProblem } from '../platform/errors.ts';
import { TooManyAttemptsError } from '../platform/identity/throttle.ts';

/** RFC 9457 problem details, as every error leaves the API. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  /** Quote this to support; it also appears in the logs and in audit entries. */
  requestId: string;
  errors?: FieldProblem[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export const problemSchema = z
  .object({
    type: z.string().describe('Stable URI naming the kind of problem; branch on this'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().describe('The request path'),
    requestId: z.string(),
    errors: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

/** OpenAPI response entries for the problems a route can answer with. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: STATUS_CODES[status] ?? 'Error', content: { 'application/problem+json': { schema: problemSchema } } },
    ]),
  );
}

/**
 * Fixed wording for errors Fastify and its plugins raise before our code runs. Their own messages
 * are never passed on: a JSON syntax error, for one, quotes the body it failed to parse.
 */
const FRAMEWORK_PROBLEMS: Record<string, { kind: string; title: string; detail: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'unsupported-media-type', title: 'Unsupported media type', detail: 'send the body as application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'malformed-body', title: 'Malformed request body', detail: 'the body is empty but the content type says JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'malformed-body', title: 'Malformed request body', detail: 'the content length does not match the body' },
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'body-too-large', title: 'Request body too large', detail: 'the request body is larger than this server accepts' },
};

function basicProblem(status: number, kind: string, title: string, detail: string): Omit<Problem, 'instance' | 'requestId'> {
  return { type: `${PROBLEM_BASE}${kind}`, title, status, detail };
}

/** Maps anything thrown during a request to a problem; unknown errors become a generic 500. */
export function toProblem(error: unknown): Omit<Problem, 'instance' | 'requestId'> {
  if (error instanceof AppError) {
    return {
      type: error.type,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? 'body';
    const errors = error.validation.flatMap((issue): FieldProblem[] => {
      const at = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const field = (name: string) => (at ? `${at}.${name}` : name);
      if (issue.keyword === 'unrecognized_keys' && Array.isArray(issue.params.keys)) {
        return issue.params.keys.map((key: unknown) => ({ field: field(String(key).slice(0, 100)), reason: 'is not a known field' }));
      }
      // Zod's messages name what was expected, never the submitted value.
      const message = issue.message ?? 'is invalid';
      return [{ field: at || `(${context})`, reason: /received undefined$/.test(message) ? 'is required' : message }];
    });
    return { ...basicProblem(400, 'validation', 'Invalid request', errors.map((e) => `${e.field}: ${e.reason}`).join('; ')), errors };
  }
  const fastifyError = error as Partial<FastifyError> | undefined;
  const status = fastifyError?.statusCode;
  if (fastifyError && typeof status === 'number' && status >= 400 && status < 500) {
    const known = fastifyError.code ? FRAMEWORK_PROBLEMS[fastifyError.code] : undefined;
    if (known) return basicProblem(status, known.kind, known.title, known.detail);
    if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return basicProblem(400, 'malformed-body', 'Malformed request body', 'the request body is not valid JSON');
    }
    if (Array.isArray(fastifyError.validation)) {
      return basicProblem(400, 'validation', 'Invalid request', 'the request does not match the schema');
    }
    const title = STATUS_CODES[status] ?? 'Bad request';
    return basicProblem(status, title.toLowerCase().replaceAll(' ', '-'), title, title.toLowerCase());
  }
  return basicProblem(500, 'internal', 'Internal server error', 'something went wrong on our side; quote the request id if you contact support');
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Omit<Problem, 'instance' | 'requestId'>): FastifyReply {
  const body: Problem = { ...problem, instance: request.url.split('?')[0] ?? '/', requestId: String(request.id) };
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="custos"');
  // A string payload bypasses the route's response serializer, so a problem is never reshaped.
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/**
 * The one error handler. 5xx are logged with the error (message and stack, never the request
 * body); 4xx are logged by code only, because framework messages can quote what was sent.
 */
export function problemErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(error);
  // The throttle knows when the next attempt will be heard; say so, as RFC 9110 §10.2.3 provides.
  if (error instanceof TooManyAttemptsError) reply.header('retry-after', String(error.retryAfterSeconds));
  if (problem.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  } else {
    request.log.info({ status: problem.status, problem: problem.type, code: (error as { code?: string })?.code }, 'request refused');
  }
  return sendProblem(request, reply, problem);
}

export function notFoundProblem(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, basicProblem(404, 'not-found', 'Not found', 'no such route'));
}
