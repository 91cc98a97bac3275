import { AppError, PROBLEM_BASE } from '../../../../platform/errors.ts';

/** The document kinds a client may upload to their accountant (see allowed.ts for why each is here). */
export type DocumentKind = 'pdf' | 'png' | 'jpeg' | 'heic' | 'tiff' | 'docx' | 'xlsx' | 'odt' | 'ods' | 'csv' | 'text';

/** What the checks concluded about an upload that passed them all. */
export interface IntakeVerdict {
  kind: DocumentKind;
  /** The content type to store and serve: ours, chosen from the content, never the client's header. */
  mediaType: string;
  /** The filename, stripped of path parts and made safe to show; still the client's words. */
  displayName: string;
  sizeBytes: number;
}

export interface InspectOptions {
  /** The Content-Type the client sent for the file part; `application/octet-stream` or none claims nothing. */
  declaredType: string | undefined;
  /** The filename the client sent. */
  filename: string | undefined;
  /** Largest accepted size in bytes, counted as the bytes arrive. */
  maxBytes: number;
  /** Limits for OOXML/ODF documents, which are ZIP archives (defaults in allowed.ts). */
  archive?: Partial<ArchiveLimits>;
}

export interface ArchiveLimits {
  /** Most entries the archive's central directory may list. */
  maxEntries: number;
  /** Most bytes all entries may unpack to, as the central directory declares them. */
  maxUnpackedBytes: number;
}

export type RefusedField = 'file' | 'contentType' | 'filename';

/**
 * Stable reasons a caller (or a test) can branch on. Each maps to one HTTP status so the route
 * needs no table of its own: too big is 413, a type we do not take is 415, the rest 400.
 */
export type RefusalCode =
  | 'too-large'
  | 'type-not-allowed'
  | 'type-mismatch'
  | 'not-text'
  | 'active-content'
  | 'archive-limits'
  | 'malformed'
  | 'bad-filename'
  | 'bad-content-type';

const STATUS: Record<RefusalCode, number> = {
  'too-large': 413,
  'type-not-allowed': 415,
  'active-content': 415,
  'type-mismatch': 400,
  'not-text': 400,
  'archive-limits': 400,
  malformed: 400,
  'bad-filename': 400,
  'bad-content-type': 400,
};

/**
 * An upload the intake checks turned away. The reason is written by us from fixed phrases and the
 * names of types; it never quotes the file's bytes, the client's filename or its content type, so
 * it is safe to return to the client and to log.
 */
export class UploadRefused extends AppError {
  constructor(
    readonly field: RefusedField,
    readonly code: RefusalCode,
    readonly reason: string,
  ) {
    super(STATUS[code], `${PROBLEM_BASE}upload-refused`, 'Upload refused', `${field}: ${reason}`, [{ field, reason }]);
    this.name = 'UploadRefused';
  }
}

/** The upload stream was closed by its consumer before the checks could finish: no verdict. */
export class UploadInterrupted extends Error {
  constructor() {
    super('the upload stream was closed before the intake checks finished');
    this.name = 'UploadInterrupted';
  }
}
