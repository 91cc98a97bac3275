import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditToCsv, listAudit, type AuditFilter } from '../../platform/audit/audit-reader.ts';
import { verifyAuditChain } from '../../platform/audit/audit-verify.ts';
import { authenticate, requireAccess } from '../auth.ts';
import { BEARER_AUTH } from '../openapi.ts';
import { problemResponses } from '../problem.ts';
import { tenantHandler } from '../tenant-route.ts';

const auditEntrySchema = z
  .object({
    seq: z.number().int(),
    id: z.uuid(),
    occurredAt: z.string(),
    actorType: z.string(),
    actorId: z.string().nullable(),
    operatorId: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    changes: z.record(z.string(), z.unknown()).describe('Per field: before/after, or only that a personal field changed'),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

const chainReportSchema = z
  .object({
    tenantId: z.uuid(),
    entries: z.number().int(),
    ok: z.boolean(),
    problems: z.array(z.object({ seq: z.number().int(), reason: z.string() })),
  })
  .meta({ id: 'AuditChainReport' });

const dateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z' });

function auditQuery(maxLimit: number) {
  return z.strictObject({
    actor: z.string().min(1).max(200).optional().describe('Actor id (user or API token)'),
    action: z.string().min(1).max(100).optional().describe('e.g. user.invited'),
    from: dateTime.optional().describe('Entries at or after this time'),
    to: dateTime.optional().describe('Entries before this time'),
    before: z.coerce.number({ error: 'must be a whole number' }).int().positive().optional().describe('Entries with a sequence number below this (paging back)'),
    limit: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(maxLimit).optional(),
  });
}

type AuditQuery = z.output<ReturnType<typeof auditQuery>>;

function toFilter(query: AuditQuery, defaultLimit: number): AuditFilter {
  return {
    actorId: query.actor,
    action: query.action,
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    beforeSeq: query.before,
    limit: query.limit ?? defaultLimit,
  };
}

const EXPORT_LIMIT = 10_000;

/** The organisation's audit trail: admin scope only, since it shows who did what from where. */
export async function auditRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const adminOnly = [authenticate, requireAccess('audit.read', 'admin')];

  routes.get(
    '/api/v1/audit',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['audit'],
        summary: 'Audit entries, newest first',
        security: BEARER_AUTH,
        querystring: auditQuery(1000),
        response: { 200: z.object({ entries: z.array(auditEntrySchema) }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ entries: await listAudit(scope, toFilter(request.query, 100)) })),
  );

  routes.get(
    '/api/v1/audit/export.csv',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['audit'],
        summary: 'Audit entries as a CSV download',
        security: BEARER_AUTH,
        querystring: auditQuery(EXPORT_LIMIT),
        response: {
          200: { description: 'CSV, one entry a row', content: { 'text/csv': { schema: z.string() } } },
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const csv = auditToCsv(await listAudit(scope, toFilter(request.query, EXPORT_LIMIT)));
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`);
      return csv;
    }),
  );

  routes.get(
    '/api/v1/audit/verify',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['audit'],
        summary: "Re-walk the organisation's audit hash chain",
        security: BEARER_AUTH,
        response: { 200: chainReportSchema, ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => verifyAuditChain(scope.trx, scope.tenantId)),
  );
}
