import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../../http/auth.ts';
import { BEARER_AUTH } from '../../../http/openapi.ts';
import { problemResponses } from '../../../http/problem.ts';
import { tenantHandler } from '../../../http/tenant-route.ts';
import { auditCertificate, MAX_VERIFY_BYTES, verifySignedFile } from '../flows/evidence.ts';
import { cancelFlow, flowDashboard, listFlows, openFlow, sendFlow, type SendFlowInput } from '../flows/flows.ts';
import { declineSignature, respondToApproval, signFlow, type SignatureInput } from '../flows/respond.ts';
import { PORTAL_PERMISSIONS } from '../permissions.ts';
import { contentDisposition } from './document-routes.ts';
import { idParams } from './schemas.ts';

void PORTAL_PERMISSIONS;

const STATUSES = ['pending', 'approved', 'rejected', 'signed', 'declined', 'expired', 'cancelled'] as const;

const flowSchema = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    kind: z.enum(['approval', 'signature']),
    title: z.string(),
    message: z.string().nullable(),
    recipientUserId: z.uuid(),
    status: z.enum(STATUSES),
    response: z.string().nullable().describe('The comment on a rejection, or the reason for declining'),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    remindersSent: z.number().int(),
    documents: z.array(
      z.object({
        documentId: z.uuid(),
        title: z.string(),
        version: z.number().int(),
        originalSha256: z.string(),
        signedVersion: z.number().int().nullable(),
        finalSha256: z.string().nullable().describe('SHA-256 of the signed file, as the verification page checks it'),
      }),
    ),
  })
  .meta({ id: 'PortalFlow' });

const timelineSchema = z.array(z.object({ event: z.string(), at: z.string(), who: z.string(), ipAddress: z.string().nullable(), userAgent: z.string().nullable() }));
const flowWithTimeline = flowSchema.extend({ timeline: timelineSchema }).meta({ id: 'PortalFlowWithTimeline' });

/**
 * Approval and signature flows under /api/v1/portal/flows: the practice sends ('portal.flows.send'),
 * the client user it was sent to approves, rejects, signs or declines ('portal.respond'); both read
 * ('portal.clients.read', a client user their own clients' only). Plus the public verification of
 * a signed file at /api/public/verify.
 */
export async function flowRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;

  routes.post(
    '/api/v1/portal/flows',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Send documents to a client user for approval or signature',
        description: 'A signature needs PDFs and a free signing credit; the credit is used only when the signature completes. The recipient is emailed; reminders follow every 3 days until done.',
        security: BEARER_AUTH,
        body: z.record(z.string(), z.unknown()).describe('{clientId, kind: approval|signature, title, message?, recipientUserId, documentIds[], expiresAt?}'),
        response: { 201: flowSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const flow = await sendFlow(platform.queue, scope, request.body as SendFlowInput, platform.config.publicUrl);
      reply.code(201);
      return flow;
    }),
  );

  routes.get(
    '/api/v1/portal/flows',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'Flows, newest first (a client user: their own clients’)',
        security: BEARER_AUTH,
        querystring: z.strictObject({
          clientId: z.uuid({ error: 'must be a client id' }).optional(),
          status: z.enum(STATUSES).optional(),
          mine: z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).optional().describe('true: only flows addressed to you'),
          limit: z.coerce.number().int().min(1).max(500).optional(),
        }),
        response: { 200: z.object({ flows: z.array(flowSchema) }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ flows: await listFlows(scope, { ...request.query, mine: request.query.mine === 'true' }) })),
  );

  routes.get(
    '/api/v1/portal/flows/dashboard',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'How many flows are pending, approved, rejected, signed, declined, expired or cancelled',
        security: BEARER_AUTH,
        response: { 200: z.record(z.enum(STATUSES), z.number().int()), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => flowDashboard(scope)),
  );

  routes.get(
    '/api/v1/portal/flows/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'One flow with its documents and timeline',
        description: 'The first time its recipient opens a flow still waiting, that opening is recorded in the timeline (evidence for the audit certificate).',
        security: BEARER_AUTH,
        params: idParams('a flow'),
        response: { 200: flowWithTimeline, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => openFlow(scope, request.params.id)),
  );

  routes.post(
    '/api/v1/portal/flows/:id/cancel',
    {
      onRequest: [authenticate, requireAccess('portal.flows.send', 'admin')],
      schema: { tags: ['portal'], summary: 'Withdraw a flow still waiting', security: BEARER_AUTH, params: idParams('a flow'), response: { 200: flowWithTimeline, ...problemResponses(400, 401, 403, 404, 409, 429) } },
    },
    tenantHandler(async (request, scope) => cancelFlow(scope, request.params.id)),
  );

  routes.post(
    '/api/v1/portal/flows/:id/response',
    {
      onRequest: [authenticate, requireAccess('portal.respond', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Approve, or reject with a comment (the recipient only)',
        security: BEARER_AUTH,
        params: idParams('a flow'),
        body: z.record(z.string(), z.unknown()).describe("{decision: 'approve'|'reject', comment? (required to reject)}"),
        response: { 200: flowWithTimeline, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => respondToApproval(scope, request.params.id, request.body as never)),
  );

  routes.post(
    '/api/v1/portal/flows/:id/signature',
    {
      onRequest: [authenticate, requireAccess('portal.respond', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Sign every document of the flow (the recipient only)',
        description: 'The signature is typed or drawn (PNG, base64). Each PDF gets the visible signature, an audit certificate page and the practice’s digital signature over the whole file.',
        security: BEARER_AUTH,
        params: idParams('a flow'),
        body: z.record(z.string(), z.unknown()).describe("{signature: {kind:'typed', text} | {kind:'drawn', png}, consent: true}"),
        response: { 200: flowWithTimeline, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => signFlow(platform.blobs, scope, request.params.id, request.body as SignatureInput)),
  );

  routes.post(
    '/api/v1/portal/flows/:id/decline',
    {
      onRequest: [authenticate, requireAccess('portal.respond', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Decline to sign, with a reason (the recipient only)',
        security: BEARER_AUTH,
        params: idParams('a flow'),
        body: z.record(z.string(), z.unknown()).describe('{reason}'),
        response: { 200: flowWithTimeline, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => declineSignature(scope, request.params.id, request.body as never)),
  );

  routes.get(
    '/api/v1/portal/flows/:id/documents/:documentId/certificate',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The audit certificate of a signed document (PDF), for its evidence pack',
        security: BEARER_AUTH,
        params: z.strictObject({ id: z.uuid({ error: 'must be a flow id (UUID)' }), documentId: z.uuid({ error: 'must be a document id (UUID)' }) }),
        response: { 200: z.any().describe('The certificate PDF'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const certificate = await auditCertificate(scope, request.params.id, request.params.documentId);
      reply.header('content-type', 'application/pdf').header('content-disposition', contentDisposition('attachment', certificate.filename)).header('x-content-type-options', 'nosniff');
      return reply.send(certificate.pdf);
    }),
  );

  // The public verification: its own plugin, whose only parser hands the raw file on unread.
  await app.register(async (verify) => {
    verify.removeAllContentTypeParsers();
    verify.addContentTypeParser('*', { bodyLimit: MAX_VERIFY_BYTES }, (_request, payload, done) => done(null, payload));
    verify.withTypeProvider<ZodTypeProvider>().post(
      '/api/public/verify',
      {
        bodyLimit: MAX_VERIFY_BYTES,
        schema: {
          tags: ['portal'],
          summary: 'Check a signed document was not altered: send its id and the file',
          description: 'Public: the file is hashed as it arrives and never stored. The answer says whether it is exactly the document the portal signed, and if so which practice and when; nothing else.',
          querystring: z.strictObject({ documentId: z.string().max(100) }),
          response: {
            200: z.object({ matches: z.boolean(), sha256: z.string(), practiceName: z.string().optional(), signedAt: z.string().optional() }),
            ...problemResponses(400, 413, 429),
          },
        },
      },
      async (request) => verifySignedFile(platform.db.app, request.query.documentId, request.body as Readable | undefined),
    );
  });
}
