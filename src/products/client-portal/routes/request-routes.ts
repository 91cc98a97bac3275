import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../../http/auth.ts';
import { BEARER_AUTH } from '../../../http/openapi.ts';
import { problemResponses } from '../../../http/problem.ts';
import { tenantHandler } from '../../../http/tenant-route.ts';
import { PORTAL_PERMISSIONS } from '../permissions.ts';
import { declineRequest, saveDraftAnswers, submitAnswers } from '../requests/answers.ts';
import { decideMtdSummary, getMtdSummary, registerMtdJobs, setMtdSummary } from '../requests/mtd.ts';
import { cancelRequest, completeRequest, getRequest, listRequests, sendBackRequest, sendRequest, type SendRequestInput } from '../requests/requests.ts';
import { REQUEST_STATUSES, requestListItemOut, requestOut, summaryRecordOut, templateOut } from '../requests/response-schemas.ts';
import { createTemplate, deleteTemplate, getTemplate, listTemplates, updateTemplate, type TemplateInput } from '../requests/templates.ts';
import { idParams } from './schemas.ts';

void PORTAL_PERMISSIONS;

const templateParams = z.strictObject({ id: z.string().min(1, 'must be a template id').max(100, 'must be a template id') });
const summaryParams = z.strictObject({ id: z.uuid({ error: 'must be a client id (UUID)' }), period: z.string().max(20, "must be a tax year and quarter, e.g. '2026-27-Q1'") });
const anyBody = (shape: string) => z.record(z.string(), z.unknown()).describe(shape);
const tags = ['portal'];

/**
 * Information requests under /api/v1/portal: templates (the built-in self-assessment checklist and
 * the practice's own) and requests sent from them ('portal.flows.send'); the client user a request
 * was sent to answers it, declines it, or approves or rejects quarterly figures ('portal.respond');
 * both read ('portal.clients.read': a client user sees their own clients' requests only). Also
 * registers the daily Making Tax Digital job that creates each quarter's requests.
 */
export async function requestRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  await registerMtdJobs(platform);

  // Templates.
  routes.get(
    '/api/v1/portal/request-templates',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'read')],
      schema: { tags, summary: 'Request templates: the built-in ones, then the practice’s own', security: BEARER_AUTH, response: { 200: z.object({ templates: z.array(templateOut) }), ...problemResponses(401, 403, 409, 429) } },
    },
    tenantHandler(async (_request, scope) => ({ templates: await listTemplates(scope) })),
  );

  routes.post(
    '/api/v1/portal/request-templates',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: {
        tags,
        summary: 'Add a request template',
        description: "Sections of questions; each question has an id, text, kind (text, number, money (pence), date, yes-no, choice (with options), documents), required and optional help.",
        security: BEARER_AUTH,
        body: anyBody('{name, sections: [{title, help?, questions: [{id, text, kind, required?, options?, help?}]}]}'),
        response: { 201: templateOut, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await createTemplate(scope, request.body as TemplateInput);
      reply.code(201);
      return created;
    }),
  );

  routes.get(
    '/api/v1/portal/request-templates/:id',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'read')],
      schema: { tags, summary: 'One request template', security: BEARER_AUTH, params: templateParams, response: { 200: templateOut, ...problemResponses(400, 401, 403, 404, 409, 429) } },
    },
    tenantHandler(async (request, scope) => getTemplate(scope, request.params.id)),
  );

  routes.put(
    '/api/v1/portal/request-templates/:id',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: {
        tags,
        summary: 'Replace a template’s name and questions (requests already sent keep theirs)',
        security: BEARER_AUTH,
        params: templateParams,
        body: anyBody('{name, sections}'),
        response: { 200: templateOut, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => updateTemplate(scope, request.params.id, request.body as TemplateInput)),
  );

  routes.delete(
    '/api/v1/portal/request-templates/:id',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: { tags, summary: 'Delete a template of the practice', security: BEARER_AUTH, params: templateParams, response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 409, 429) } },
    },
    tenantHandler(async (request, scope, reply) => {
      await deleteTemplate(scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );

  // Requests.
  routes.post(
    '/api/v1/portal/requests',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: {
        tags,
        summary: 'Send a client user questions to answer, from a template',
        description: 'The questions are copied into the request; the recipient is emailed, and reminded every 3 days while it waits.',
        security: BEARER_AUTH,
        body: anyBody('{clientId, recipientUserId, templateId, title?, message?, dueOn? (YYYY-MM-DD)}'),
        response: { 201: requestOut, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const sent = await sendRequest(platform.queue, scope, request.body as SendRequestInput, platform.config.publicUrl);
      reply.code(201);
      return sent;
    }),
  );

  routes.get(
    '/api/v1/portal/requests',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags,
        summary: 'Requests, newest first (a client user: their own clients’)',
        security: BEARER_AUTH,
        querystring: z.strictObject({
          clientId: z.uuid({ error: 'must be a client id' }).optional(),
          status: z.enum(REQUEST_STATUSES).optional(),
          kind: z.enum(['questionnaire', 'mtd_quarter']).optional(),
          limit: z.coerce.number().int().min(1).max(500).optional(),
        }),
        response: { 200: z.object({ requests: z.array(requestListItemOut) }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ requests: await listRequests(scope, request.query) })),
  );

  routes.get(
    '/api/v1/portal/requests/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: { tags, summary: 'One request with its questions, answers, linked documents and (MTD) figures', security: BEARER_AUTH, params: idParams('a request'), response: { 200: requestOut, ...problemResponses(400, 401, 403, 404, 429) } },
    },
    tenantHandler(async (request, scope) => getRequest(scope, request.params.id)),
  );

  const respond = (summary: string, body: string, description?: string, options: { bodyOptional?: boolean } = {}) => ({
    onRequest: [authenticate, requireAccess('portal.respond', 'admin')],
    schema: {
      tags,
      summary,
      description,
      security: BEARER_AUTH,
      params: idParams('a request'),
      body: options.bodyOptional ? anyBody(body).nullish() : anyBody(body),
      response: { 200: requestOut, ...problemResponses(400, 401, 403, 404, 409, 429) },
    },
  });

  routes.put(
    '/api/v1/portal/requests/:id/answers',
    respond(
      'Save answers as a draft (the recipient only)',
      '{answers: {<questionId>: value}}',
      'Replaces the draft. Money is whole pence, dates YYYY-MM-DD, yes-no true/false; a documents answer lists ids of documents already uploaded into the client’s area.',
    ),
    tenantHandler(async (request, scope) => saveDraftAnswers(scope, request.params.id, request.body as never)),
  );

  routes.post(
    '/api/v1/portal/requests/:id/submit',
    respond('Submit the answers (the recipient only)', '{answers?}', 'With no answers, the saved draft is submitted. Every required question must be answered; each problem names answers.<questionId>.', { bodyOptional: true }),
    tenantHandler(async (request, scope) => submitAnswers(scope, request.params.id, (request.body ?? {}) as never)),
  );

  routes.post(
    '/api/v1/portal/requests/:id/decline',
    respond('Decline to answer, with a reason (the recipient only)', '{reason}'),
    tenantHandler(async (request, scope) => declineRequest(scope, request.params.id, request.body as never)),
  );

  routes.post(
    '/api/v1/portal/requests/:id/summary-decision',
    respond(
      'Approve the quarterly figures, or reject them with a comment (the recipient only)',
      "{decision: 'approve'|'reject', summaryRevision, comment? (required to reject)}",
      'summaryRevision is the revision of the figures shown: if they have changed since, the answer is 409.',
    ),
    tenantHandler(async (request, scope) => decideMtdSummary(scope, request.params.id, request.body as never)),
  );

  const staff = (summary: string, body?: string) => ({
    onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
    schema: {
      tags,
      summary,
      security: BEARER_AUTH,
      params: idParams('a request'),
      ...(body ? { body: anyBody(body) } : {}),
      response: { 200: requestOut, ...problemResponses(400, 401, 403, 404, 409, 429) },
    },
  });
  routes.post('/api/v1/portal/requests/:id/complete', staff('Mark answered work complete (quarterly figures: once approved)'), tenantHandler(async (request, scope) => completeRequest(scope, request.params.id)));
  routes.post('/api/v1/portal/requests/:id/cancel', staff('Withdraw a request not yet complete'), tenantHandler(async (request, scope) => cancelRequest(scope, request.params.id)));
  routes.post(
    '/api/v1/portal/requests/:id/send-back',
    staff('Send answered work back to the client with a comment', '{comment}'),
    tenantHandler(async (request, scope) => sendBackRequest(platform.queue, scope, request.params.id, request.body as never, platform.config.publicUrl)),
  );

  // Making Tax Digital quarterly figures.
  routes.get(
    '/api/v1/portal/clients/:id/mtd-summaries/:period',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'read')],
      schema: { tags, summary: 'A quarter’s summary figures for an MTD client', security: BEARER_AUTH, params: summaryParams, response: { 200: summaryRecordOut, ...problemResponses(400, 401, 403, 404, 429) } },
    },
    tenantHandler(async (request, scope) => getMtdSummary(scope, request.params.id, request.params.period)),
  );

  routes.put(
    '/api/v1/portal/clients/:id/mtd-summaries/:period',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: {
        tags,
        summary: 'Set a quarter’s summary figures (before or after its request exists)',
        description:
          'Income and expenses totals by category, year to date, in pence. Each change is a new revision; figures the client already approved or rejected go back to them, and they are emailed.',
        security: BEARER_AUTH,
        params: summaryParams,
        body: anyBody('{income: [{category, amountPence}], expenses: [{category, amountPence}], note?}'),
        response: { 200: summaryRecordOut, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => setMtdSummary(platform.queue, scope, request.params.id, request.params.period, request.body as never, platform.config.publicUrl)),
  );
}
