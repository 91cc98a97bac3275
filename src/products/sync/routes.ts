import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, ConflictError, PROBLEM_BASE, ValidationError } from '../../platform/errors.ts';
import { SealedTempFile } from '../../platform/storage/sealed-temp-file.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { authenticate, requireAccess } from '../../http/auth.ts';
import { BEARER_AUTH } from '../../http/openapi.ts';
import { problemResponses } from '../../http/problem.ts';
import { requestTenantContext, tenantHandler } from '../../http/tenant-route.ts';
import { readCtf } from './connectors/ctf.ts';
import type { ImportFile } from './connectors/import-file.ts';
import { readMappedCsv } from './connectors/mapped-csv.ts';
import { readOneRosterCsv } from './connectors/oneroster-csv.ts';
import { runImport } from './engine.ts';
import type { ImportBatch, ImportFormat } from './model.ts';
import { SYNC_PERMISSIONS } from './permissions.ts';
import { browseContacts, browseGroups, browsePupil, browsePupils, browseStaff, DEFAULT_PAGE_SIZE, freshness, MAX_PAGE_SIZE } from './reader.ts';
import { getRun, listRuns } from './runs.ts';
import { excludeMember, grant, grantSchema, includeMember, memberSchema, revoke, setSharingPaused, sharingOverview, SYNC_SCOPES } from './sharing.ts';

// Loading the routes registers the sync permissions.
void SYNC_PERMISSIONS;

/**
 * The sync hub over HTTP, under /api/v1/sync:
 *   - the school's own data browser (pupils, one pupil with contacts, contacts, staff, groups,
 *     freshness, import runs): 'sync.read', read tokens; every field, decrypted here;
 *   - file imports: 'sync.manage', admin tokens;
 *   - sharing (grants, exclusions, the pause switch): 'sync.sharing', admin tokens.
 * Only schools hold school data: for other kinds of organisation the lists are empty, and imports
 * and sharing changes answer 409.
 */

/** Largest upload accepted: a big secondary school's CTF with a year of attendance is well under this. */
export const IMPORT_BODY_LIMIT = 100 * 1024 * 1024;

const IMPORT_URL = '/api/v1/sync/imports';
const FORMATS = ['ctf', 'oneroster-csv', 'csv'] as const satisfies readonly ImportFormat[];
const UPLOAD_NAMES: Record<ImportFormat, string> = { ctf: 'upload.xml', 'oneroster-csv': 'upload.zip', csv: 'upload.csv' };

// ------------------------------------------------------------------ schemas

const addressSchema = z.object({
  lines: z.array(z.string()),
  town: z.string().nullable().optional(),
  county: z.string().nullable().optional(),
  postcode: z.string().nullable().optional(),
});
const emailSchema = z.object({ address: z.string(), type: z.string().nullable().optional() });
const phoneSchema = z.object({ number: z.string(), type: z.string().nullable().optional() });

const recordMeta = {
  id: z.uuid(),
  source: z.string().describe("Where the record came from: a connection or 'upload:<format>'"),
  misId: z.string().describe("The record's id in the school's MIS"),
  status: z.enum(['current', 'left']),
  leftAt: z.string().nullable(),
  updatedAt: z.string(),
};

const contactLinkSchema = z.object({
  pupilId: z.uuid(),
  relationship: z.string().nullable(),
  parentalResponsibility: z.boolean().nullable(),
  priority: z.number().nullable(),
  livesWith: z.boolean().nullable(),
  noContact: z.boolean().describe('A court order or instruction: this person must not be contacted about this pupil'),
});

const pupilSchema = z
  .object({
    ...recordMeta,
    legalForename: z.string(),
    legalSurname: z.string(),
    middleNames: z.string().nullable(),
    preferredForename: z.string().nullable(),
    preferredSurname: z.string().nullable(),
    dateOfBirth: z.string().nullable(),
    gender: z.string().nullable(),
    upn: z.string().nullable(),
    admissionNumber: z.string().nullable(),
    ethnicity: z.string().nullable(),
    religion: z.string().nullable(),
    firstLanguage: z.string().nullable(),
    address: addressSchema.nullable(),
    emails: z.array(emailSchema),
    phones: z.array(phoneSchema),
    fsmEligible: z.boolean().nullable(),
    fsmPeriods: z.array(z.object({ start: z.string(), end: z.string().nullable().optional() })),
    senStatus: z.string().nullable(),
    yearGroup: z.string().nullable(),
    registrationGroup: z.string().nullable(),
    house: z.string().nullable(),
    enrolmentDate: z.string().nullable(),
    leavingDate: z.string().nullable(),
    photoBlobId: z.uuid().nullable(),
  })
  .meta({ id: 'SyncPupil' });

const contactSchema = z
  .object({
    ...recordMeta,
    title: z.string().nullable(),
    forename: z.string(),
    surname: z.string(),
    emails: z.array(emailSchema),
    phones: z.array(phoneSchema),
    address: addressSchema.nullable(),
    links: z.array(contactLinkSchema),
  })
  .meta({ id: 'SyncContact' });

const staffSchema = z
  .object({
    ...recordMeta,
    title: z.string().nullable(),
    forename: z.string(),
    surname: z.string(),
    dateOfBirth: z.string().nullable(),
    gender: z.string().nullable(),
    jobTitle: z.string().nullable(),
    emails: z.array(emailSchema),
    phones: z.array(phoneSchema),
    photoBlobId: z.uuid().nullable(),
  })
  .meta({ id: 'SyncStaff' });

const groupSchema = z
  .object({
    id: z.uuid(),
    source: z.string(),
    misId: z.string(),
    kind: z.enum(['year', 'registration', 'house', 'class']),
    name: z.string(),
    code: z.string().nullable(),
    status: z.enum(['current', 'left']),
    pupilIds: z.array(z.uuid()),
    staffIds: z.array(z.uuid()),
  })
  .meta({ id: 'SyncGroup' });

const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

const flag = z
  .enum(['true', 'false'], { error: "must be 'true' or 'false'" })
  .transform((v) => v === 'true');

const paging = {
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
    .optional()
    .describe(`Page size (default ${DEFAULT_PAGE_SIZE})`),
  offset: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must not be negative').optional(),
  includeLeft: flag.optional().describe('Include records that have left (default false)'),
};

const searchField = z.string().trim().min(1, 'must not be empty').max(200, 'is too long');

const pupilQuery = z.strictObject({
  search: searchField.optional().describe('A forename, surname, "forename surname" or UPN: exact, case-insensitive'),
  group: z.string().trim().min(1, 'must not be empty').max(200, 'is too long').optional().describe('A group id, or a group name such as 7A'),
  ...paging,
});
const personQuery = z.strictObject({ search: searchField.optional().describe('A forename, surname or "forename surname": exact, case-insensitive'), ...paging });
const groupQuery = z.strictObject({ kind: z.enum(['year', 'registration', 'house', 'class']).optional(), ...paging });

const idParams = (what: string) => z.strictObject({ id: z.uuid({ error: `must be ${what} id (UUID)` }) });

const problemSchemaList = z.array(z.object({ location: z.string(), message: z.string() }));
const countsSchema = z.record(z.string(), z.number().int());
const runSummarySchema = z
  .object({
    runId: z.uuid().nullable(),
    status: z.enum(['succeeded', 'failed']),
    dryRun: z.boolean(),
    created: countsSchema,
    updated: countsSchema,
    left: countsSchema,
    warnings: problemSchemaList,
    errors: problemSchemaList,
  })
  .meta({ id: 'SyncRunSummary' });

const runSchema = z
  .object({
    id: z.uuid(),
    connectionId: z.uuid().nullable(),
    source: z.string(),
    format: z.string(),
    mode: z.enum(['full', 'delta']),
    dryRun: z.boolean(),
    status: z.enum(['running', 'succeeded', 'failed']),
    startedBy: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    created: countsSchema,
    updated: countsSchema,
    left: countsSchema,
    warnings: problemSchemaList,
    errors: problemSchemaList,
    progress: z
      .object({ entity: z.string(), done: z.number().int(), total: z.number().int(), at: z.string() })
      .nullable()
      .describe('While running: the kind of record being written and how many of them are done'),
  })
  .meta({ id: 'SyncRun' });

const runWithChangesSchema = runSchema
  .extend({
    changes: z.array(
      z.object({
        entity: z.string(),
        recordId: z.uuid(),
        misId: z.string().optional(),
        change: z.string(),
        fields: z.array(z.string()).describe('Names of the fields that changed, never their values'),
      }),
    ),
  })
  .meta({ id: 'SyncRunWithChanges' });

const importQuery = z.strictObject({
  format: z.enum(FORMATS, { error: `must be one of ${FORMATS.join(', ')}` }),
  dryRun: flag.optional().describe('Check and count what would change, writing nothing (default false)'),
  mapping: z
    .string()
    .max(20_000, 'is too long')
    .optional()
    .describe("format=csv only: the column mapping as URL-encoded JSON, e.g. {\"entity\":\"pupils\",\"columns\":{\"misId\":\"Adno\",…}}"),
});

const grantSchemaOut = z
  .object({
    id: z.uuid(),
    granteeKind: z.enum(['product', 'api_client']),
    grantee: z.string(),
    scopes: z.array(z.string()),
    createdBy: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    exclusions: z.array(z.object({ memberKind: z.enum(['pupil', 'staff']), memberId: z.uuid() })),
    reads: z.array(z.object({ day: z.string(), reads: z.number().int() })).describe('Reads per UTC day over the last 30 days'),
  })
  .meta({ id: 'SyncGrant' });

const scopeList = Object.entries(SYNC_SCOPES)
  .map(([name, description]) => `\`${name}\`: ${description}`)
  .join('; ');

// ------------------------------------------------------------------ uploads

class UploadTooLargeError extends AppError {
  constructor() {
    super(413, `${PROBLEM_BASE}body-too-large`, 'Request body too large', `the file is larger than ${IMPORT_BODY_LIMIT / 1024 / 1024} MB`);
  }
}

class UnsupportedUploadError extends AppError {
  constructor() {
    super(415, `${PROBLEM_BASE}unsupported-media-type`, 'Unsupported media type', 'send the file itself as the body, with Content-Type: application/octet-stream');
  }
}

/** An upload as the handler sees it: a private temporary file, removed when the request ends. */
interface UploadedFile {
  upload: true;
  dir: string;
  /** The upload, sealed on disk under a key held only in memory. */
  file: ImportFile;
  size: number;
}

const isUpload = (body: unknown): body is UploadedFile => typeof body === 'object' && body !== null && (body as UploadedFile).upload === true;

/** Upload directories this process made and has not removed yet. */
const uploadDirs = new Set<string>();

/** Upload directories of this process still on disk: none once every request has ended (tests check). */
export function uploadsOnDisk(): string[] {
  return [...uploadDirs].filter((dir) => fs.existsSync(dir));
}

function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  uploadDirs.delete(dir);
}

function removeUpload(body: unknown): void {
  if (isUpload(body)) removeDir(body.dir);
}

/**
 * Streams the request body into a file in a new private directory (0700; file 0600), counting
 * bytes as they pass: more than the limit stops the upload with 413 and removes what was written.
 * The body is never held in memory, and never lies on disk readable: it is sealed chunk by chunk
 * under a key that lives only in this process (a file left behind by a crash is noise). The
 * connectors read it back through the ImportFile interface, a byte range at a time.
 */
async function streamToTempFile(request: FastifyRequest, payload: Readable): Promise<UploadedFile> {
  // Files are taken by the import route only; any other route of this plugin reads no raw body.
  if (request.routeOptions.url !== IMPORT_URL) throw new UnsupportedUploadError();
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > IMPORT_BODY_LIMIT) throw new UploadTooLargeError();
  const format = (request.query as { format?: unknown } | undefined)?.format;
  const name = typeof format === 'string' && Object.hasOwn(UPLOAD_NAMES, format) ? UPLOAD_NAMES[format as ImportFormat] : 'upload.bin';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-upload-'));
  uploadDirs.add(dir);
  fs.chmodSync(dir, 0o700);
  let size = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of payload as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > IMPORT_BODY_LIMIT) throw new UploadTooLargeError();
      yield chunk;
    }
  }
  let sealed: SealedTempFile;
  try {
    sealed = await SealedTempFile.write(path.join(dir, `${name}.sealed`), counted());
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  return { upload: true, dir, file: { name, size: sealed.size, read: (start, end) => sealed.read(start, end) }, size };
}

async function readUpload(format: ImportFormat, file: ImportFile, mapping: string | undefined): Promise<ImportBatch> {
  if (format === 'ctf') return readCtf(file);
  if (format === 'oneroster-csv') return readOneRosterCsv(file);
  if (mapping === undefined) throw new ValidationError([{ field: 'mapping', reason: 'is required for format=csv' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(mapping);
  } catch {
    throw new ValidationError([{ field: 'mapping', reason: 'must be JSON' }]);
  }
  return readMappedCsv(file, parsed);
}

function actorLabel(scope: Pick<TenantScope, 'actor'>): string {
  return scope.actor.id ? `${scope.actor.type}:${scope.actor.id}` : scope.actor.type;
}

// ------------------------------------------------------------------ routes

export async function syncRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  const deps = { queue: platform.queue };

  // Only within this plugin: the import route takes a file as the raw body.
  app.addContentTypeParser('application/octet-stream', { bodyLimit: IMPORT_BODY_LIMIT }, async (request: FastifyRequest, payload: Readable) =>
    streamToTempFile(request, payload),
  );

  /**
   * The import route runs the engine, which opens its own transactions; so it cannot sit inside
   * tenantHandler. Instead the caller's credential and requirement are re-checked against fresh
   * rows (as tenantHandler does, in the statement that sets the tenant) before the upload is read
   * and again just before the import starts, and the organisation must be a school.
   */
  const freshSchoolCheck = tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => {
    const organisation = await scope.trx.selectFrom('organisations').select(['kind', 'status']).where('id', '=', scope.tenantId).executeTakeFirstOrThrow();
    if (organisation.kind !== 'school') throw new ConflictError(`only a school holds school data; this organisation is a ${organisation.kind.replace('_', ' ')}`);
    return actorLabel(scope);
  });

  routes.get(
    '/api/v1/sync/pupils',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: "The school's pupils, by surname",
        description: 'Current pupils unless includeLeft=true. Search matches names exactly through keyed hashes (case-insensitive), never by substring.',
        security: BEARER_AUTH,
        querystring: pupilQuery,
        response: { 200: pageOf(pupilSchema), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => browsePupils(scope, request.query)),
  );

  routes.get(
    '/api/v1/sync/pupils/:id',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'One pupil with their contacts',
        security: BEARER_AUTH,
        params: idParams('a pupil'),
        response: { 200: pupilSchema.extend({ contacts: z.array(contactSchema) }), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => browsePupil(scope, request.params.id)),
  );

  routes.get(
    '/api/v1/sync/contacts',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: "The pupils' contacts, with how each stands to each pupil",
        security: BEARER_AUTH,
        querystring: personQuery,
        response: { 200: pageOf(contactSchema), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => browseContacts(scope, request.query)),
  );

  routes.get(
    '/api/v1/sync/staff',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: "The school's staff",
        security: BEARER_AUTH,
        querystring: personQuery,
        response: { 200: pageOf(staffSchema), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => browseStaff(scope, request.query)),
  );

  routes.get(
    '/api/v1/sync/groups',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'Year, registration, house and class groups with their members',
        security: BEARER_AUTH,
        querystring: groupQuery,
        response: { 200: pageOf(groupSchema), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => browseGroups(scope, request.query)),
  );

  routes.get(
    '/api/v1/sync/freshness',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'When each kind of record was last brought up to date',
        security: BEARER_AUTH,
        response: { 200: z.object({ freshAsOf: z.record(z.string(), z.string()) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ freshAsOf: await freshness(scope) })),
  );

  routes.get(
    '/api/v1/sync/runs',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'Recent import runs, newest first',
        security: BEARER_AUTH,
        querystring: z.strictObject({ limit: paging.limit }),
        response: { 200: z.object({ runs: z.array(runSchema) }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => ({ runs: await listRuns(scope, { limit: request.query.limit ?? DEFAULT_PAGE_SIZE }) })),
  );

  routes.get(
    '/api/v1/sync/runs/:id',
    {
      onRequest: [authenticate, requireAccess('sync.read', 'read')],
      schema: {
        tags: ['sync'],
        summary: 'One import run with what it changed (record ids and field names, never values)',
        security: BEARER_AUTH,
        params: idParams('a run'),
        response: { 200: runWithChangesSchema, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope) => getRun(scope, request.params.id)),
  );

  routes.post(
    IMPORT_URL,
    {
      onRequest: [authenticate, requireAccess('sync.manage', 'admin')],
      // Before a byte of the upload is read: the credential again, fresh, and the organisation's kind.
      preParsing: async (request, reply, payload) => {
        await freshSchoolCheck(request, reply);
        return payload;
      },
      onResponse: async (request) => removeUpload(request.body),
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags: ['sync'],
        summary: 'Import a file: CTF, OneRoster CSV (zip) or a plain CSV with a column mapping',
        description:
          'Send the file as the body with `Content-Type: application/octet-stream` (at most 100 MB); it is streamed to a ' +
          'private temporary file, read, and removed when the request ends. `format=csv` needs `mapping`: the saved column ' +
          'mapping as URL-encoded JSON. With any error in the file nothing is imported: the answer is a 400 problem whose ' +
          '`errors` name each place (`field`: file, line and column or element path) and why, never a value. ' +
          '`dryRun=true` counts what would change and writes nothing. Only schools import (409 otherwise), one run at a time (409).',
        security: BEARER_AUTH,
        querystring: importQuery,
        response: { 200: runSummarySchema, ...problemResponses(400, 401, 403, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const body: unknown = request.body;
      try {
        if (!isUpload(body)) throw new UnsupportedUploadError();
        const { format, dryRun, mapping } = request.query;
        if (format !== 'csv' && mapping !== undefined) throw new ValidationError([{ field: 'mapping', reason: 'is only for format=csv' }]);
        const batch = await readUpload(format, body.file, mapping);
        // The upload took a while: the credential must still be good now, as the import starts.
        const startedBy = await freshSchoolCheck(request, reply);
        const summary = await runImport(platform, requestTenantContext(request), batch, {
          format,
          source: `upload:${format}`,
          startedBy,
          dryRun: dryRun ?? false,
        });
        if (summary.status === 'failed') {
          const errors = summary.errors.map((e) => ({ field: e.location, reason: e.message }));
          throw new ValidationError(errors, `the file has ${errors.length === 1 ? 'a problem' : `${errors.length} problems`}; nothing was imported`);
        }
        return summary;
      } finally {
        removeUpload(body);
      }
    },
  );

  routes.get(
    '/api/v1/sync/sharing',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'What the school shares: live grants with their exclusions and daily reads, and the pause switch',
        security: BEARER_AUTH,
        response: { 200: z.object({ paused: z.boolean(), grants: z.array(grantSchemaOut) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => sharingOverview(scope)),
  );

  routes.post(
    '/api/v1/sync/sharing/grants',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Let a product or API client read some of the school’s data',
        description:
          `Scopes: ${scopeList}. Granting again to the same grantee replaces its scopes (exclusions are kept). ` +
          'Every administrator gets a time-stamped receipt by email.',
        security: BEARER_AUTH,
        body: z.strictObject({ granteeKind: z.enum(['product', 'api_client']), grantee: z.string(), scopes: z.array(z.string()) }),
        response: { 201: grantSchemaOut, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const created = await grant(deps, scope, request.body as z.input<typeof grantSchema>);
      reply.code(201);
      return created;
    }),
  );

  routes.delete(
    '/api/v1/sync/sharing/grants/:id',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Revoke a grant: the grantee’s next read is refused',
        security: BEARER_AUTH,
        params: idParams('a grant'),
        response: { 204: z.undefined().describe('Revoked'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await revoke(deps, scope, request.params.id);
      reply.code(204);
      return undefined;
    }),
  );

  routes.put(
    '/api/v1/sync/sharing/paused',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        tags: ['sync'],
        summary: 'Pause or resume all sharing',
        description: 'While paused, every product and API client is refused, whatever its grant says.',
        security: BEARER_AUTH,
        body: z.strictObject({ paused: z.boolean({ error: 'must be true or false' }) }),
        response: { 200: z.object({ paused: z.boolean() }), ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => setSharingPaused(deps, scope, request.body.paused)),
  );

  const exclusionSchema = {
    tags: ['sync'],
    security: BEARER_AUTH,
    params: idParams('a grant'),
    response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 429) },
  };

  routes.post(
    '/api/v1/sync/sharing/grants/:id/exclusions',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        ...exclusionSchema,
        summary: 'Keep one pupil or staff member out of a grant',
        body: z.strictObject(memberSchema.shape),
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await excludeMember(deps, scope, request.params.id, request.body);
      reply.code(204);
      return undefined;
    }),
  );

  routes.delete(
    '/api/v1/sync/sharing/grants/:id/exclusions',
    {
      onRequest: [authenticate, requireAccess('sync.sharing', 'admin')],
      schema: {
        ...exclusionSchema,
        summary: 'Put an excluded pupil or staff member back into a grant',
        description: 'The member is named in the query: `?memberKind=pupil&memberId=…`.',
        querystring: z.strictObject(memberSchema.shape),
      },
    },
    tenantHandler(async (request, scope, reply) => {
      await includeMember(deps, scope, request.params.id, request.query);
      reply.code(204);
      return undefined;
    }),
  );
}
