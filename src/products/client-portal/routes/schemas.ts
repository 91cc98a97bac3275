import { z } from 'zod';

/** Response and parameter schemas the portal's routes share. */

export const idParams = (what: string) => z.strictObject({ id: z.uuid({ error: `must be ${what} id (UUID)` }) });

export const clientSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['individual', 'company']),
    name: z.string(),
    companyNumber: z.string().nullable(),
    reference: z.string().nullable(),
    email: z.string().nullable(),
    mtdItsa: z.boolean().describe('In scope for Making Tax Digital for Income Tax'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'PortalClient' });

export const clientUserSchema = z
  .object({ userId: z.uuid(), email: z.string(), displayName: z.string().nullable(), status: z.string(), addedAt: z.string() })
  .meta({ id: 'PortalClientUser' });

export const folderSchema = z.object({ id: z.uuid(), clientId: z.uuid(), name: z.string(), createdAt: z.string() }).meta({ id: 'PortalFolder' });

export const versionSchema = z
  .object({
    version: z.number().int(),
    filename: z.string(),
    contentType: z.string().describe('Decided from the content, not from what the uploader declared'),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    scan: z.enum(['clean', 'not_scanned']).describe("'not_scanned' when no virus scanner is configured"),
    origin: z.enum(['upload', 'signed']),
    uploadedBy: z.string(),
    uploadedAt: z.string(),
  })
  .meta({ id: 'PortalDocumentVersion' });

export const documentSchema = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    folderId: z.uuid().nullable(),
    title: z.string(),
    latestVersion: z.number().int(),
    createdBy: z.string(),
    addedBy: z.enum(['practice', 'client']).describe("who put it in the client's area; a client user may add versions only to documents client users added"),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'PortalDocument' });

export const documentWithVersionsSchema = documentSchema.extend({ versions: z.array(versionSchema) }).meta({ id: 'PortalDocumentWithVersions' });
