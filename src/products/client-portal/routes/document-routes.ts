import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../../http/auth.ts';
import { BEARER_AUTH } from '../../../http/openapi.ts';
import { problemResponses } from '../../../http/problem.ts';
import { tenantHandler } from '../../../http/tenant-route.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { checkUploadTarget, deleteDocument, getDocument, listDocuments, moveDocument, openDocumentVersion, recordUpload } from '../documents/documents.ts';
import { scanHookFromSetting } from '../documents/intake/index.ts';
import { MAX_DOCUMENT_BYTES, storeUpload } from '../documents/upload.ts';
import { PORTAL_PERMISSIONS } from '../permissions.ts';
import { documentSchema, documentWithVersionsSchema, idParams, versionSchema } from './schemas.ts';

void PORTAL_PERMISSIONS;

/** Media types a browser may show inline (preview); everything else is always a download. */
const PREVIEWABLE = new Set(['application/pdf', 'image/png', 'image/jpeg']);

/** `attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266): any name, safely. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const uploadQuery = z.strictObject({
  filename: z.string({ error: 'is required: the name of the file' }).min(1, 'must not be empty').max(400, 'is too long'),
  title: z.string().max(400, 'is too long').optional(),
  folderId: z.uuid({ error: 'must be a folder id' }).optional(),
});

/**
 * Documents under /api/v1/portal: upload (new document or new version), list, read, download or
 * preview, move, delete. Uploads send the file itself as the body with its Content-Type; it is
 * checked and encrypted as it streams, never held whole in memory, and the document is recorded
 * only when every check (type, size, malware scan, quota) has passed.
 */
export async function documentRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  const scanner = scanHookFromSetting(platform.config.clamavSocket);

  // Uploads: a plugin of their own whose only body parser hands the raw stream on unread.
  await app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', { bodyLimit: MAX_DOCUMENT_BYTES }, (_request, payload, done) => done(null, payload));
    const typed = uploads.withTypeProvider<ZodTypeProvider>();

    const receive = async (request: FastifyRequest, reply: FastifyReply, target: { clientId?: string; documentId?: string; folderId?: string; title?: string }) => {
      const query = request.query as z.infer<typeof uploadQuery>;
      // Before a byte is read: the caller (fresh), the target, and room for the declared size.
      const cipher = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => {
        await checkUploadTarget(scope, target);
        return scope.cipher;
      })(request, reply);
      // The checks stop reading the moment they refuse; the request itself must survive that to carry
      // the answer back, so they read through a pipe and what is left of the body is discarded.
      const body = request.body as Readable;
      const guarded = new PassThrough();
      body.pipe(guarded);
      let stored;
      try {
        stored = await storeUpload(platform.blobs, cipher, scanner, guarded, { declaredType: request.headers['content-type'], filename: query.filename });
      } catch (error) {
        body.unpipe(guarded);
        body.resume();
        reply.header('connection', 'close');
        throw error;
      }
      try {
        const recorded = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => recordUpload(scope, stored, target))(request, reply);
        reply.code(201);
        return recorded;
      } catch (error) {
        platform.blobs.remove(stored.blob.tenantId, stored.blob.id);
        throw error;
      }
    };

    typed.post(
      '/api/v1/portal/clients/:id/documents',
      {
        onRequest: [authenticate, requireAccess('portal.documents.upload', 'admin')],
        bodyLimit: MAX_DOCUMENT_BYTES,
        schema: {
          tags: ['portal'],
          summary: "Upload a document into a client's area",
          description:
            'Send the file as the body with its own Content-Type (at most 256 MB). The content must be what the type and ' +
            'filename say (PDF, images, Office and OpenDocument files, CSV, text); it is scanned for malware when a scanner is configured.',
          security: BEARER_AUTH,
          params: idParams('a client'),
          querystring: uploadQuery,
          response: { 201: z.object({ document: documentSchema, version: versionSchema }), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => receive(request, reply, { clientId: request.params.id, folderId: request.query.folderId, title: request.query.title }),
    );

    typed.post(
      '/api/v1/portal/documents/:id/versions',
      {
        onRequest: [authenticate, requireAccess('portal.documents.upload', 'admin')],
        bodyLimit: MAX_DOCUMENT_BYTES,
        schema: {
          tags: ['portal'],
          summary: 'Upload a new version of a document',
          security: BEARER_AUTH,
          params: idParams('a document'),
          querystring: uploadQuery.omit({ folderId: true, title: true }),
          response: { 201: z.object({ document: documentSchema, version: versionSchema }), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => receive(request, reply, { documentId: request.params.id }),
    );
  });

  routes.get(
    '/api/v1/portal/clients/:id/documents',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: "The client's documents, newest first",
        security: BEARER_AUTH,
        params: idParams('a client'),
        querystring: z.strictObject({ folderId: z.uuid({ error: 'must be a folder id' }).optional() }),
        response: {
          200: z.object({
            documents: z.array(
              documentSchema.extend({
                latest: z.object({ contentType: z.string(), sizeBytes: z.number().int(), origin: z.enum(['upload', 'signed']), scan: z.enum(['clean', 'not_scanned']) }),
              }),
            ),
          }),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    tenantHandler(async (request, scope) => ({ documents: await listDocuments(scope, request.params.id, request.query) })),
  );

  routes.get(
    '/api/v1/portal/documents/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'One document with its versions',
        security: BEARER_AUTH,
        params: idParams('a document'),
        response: { 200: documentWithVersionsSchema, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => getDocument(scope, request.params.id)),
  );

  routes.get(
    '/api/v1/portal/documents/:id/content',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'Download a document (the latest version unless `version` is given)',
        description: '`disposition=inline` previews PDFs and images in the browser, sandboxed; anything else is always an attachment.',
        security: BEARER_AUTH,
        params: idParams('a document'),
        querystring: z.strictObject({
          version: z.coerce.number().int().min(1).optional(),
          disposition: z.enum(['inline', 'attachment']).optional(),
        }),
        response: { 200: z.any().describe('The file'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const opened = await openDocumentVersion(platform.blobs, scope, request.params.id, request.query.version);
      const inline = request.query.disposition === 'inline' && PREVIEWABLE.has(opened.version.contentType);
      reply
        .header('content-type', opened.version.contentType)
        .header('content-length', String(opened.version.sizeBytes))
        .header('content-disposition', contentDisposition(inline ? 'inline' : 'attachment', opened.version.filename))
        .header('cache-control', 'private, no-store')
        .header('x-content-type-options', 'nosniff')
        // Shown in the browser, a document may run nothing and reach nothing.
        .header('content-security-policy', "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; plugin-types application/pdf")
        .header('x-document-sha256', opened.version.sha256);
      return reply.send(opened.content);
    }),
  );

  routes.patch(
    '/api/v1/portal/documents/:id',
    {
      onRequest: [authenticate, requireAccess('portal.documents.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Move a document to another folder of the same client (null: unfiled)',
        security: BEARER_AUTH,
        params: idParams('a document'),
        body: z.strictObject({ folderId: z.uuid({ error: 'must be a folder id or null' }).nullable() }),
        response: { 200: documentWithVersionsSchema, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => moveDocument(scope, request.params.id, request.body.folderId)),
  );

  routes.delete(
    '/api/v1/portal/documents/:id',
    {
      onRequest: [authenticate, requireAccess('portal.documents.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Delete a document and every version',
        security: BEARER_AUTH,
        params: idParams('a document'),
        response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await deleteDocument(platform.queue, scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );
}
