import type { ArchiveLimits, DocumentKind } from './types.ts';

/**
 * The allow-list. An accountancy practice asks its clients for statements, receipts, payslips,
 * P60s, spreadsheets and letters: these kinds cover them. Everything else is refused, including
 * things that would be harmless most of the time, because each refusal is one less parser or
 * viewer an attacker can aim at:
 *  - executables and scripts: nobody sends their accountant a program;
 *  - HTML, SVG and XML: active content that runs script if a browser ever renders it;
 *  - archives other than OOXML/ODF: they hide their contents from these checks;
 *  - legacy Office (.doc/.xls, OLE containers) and macro-enabled OOXML: they carry macros;
 *  - anything this list does not name.
 *
 * `detectedAs` are the MIME types file-type reports for the kind; text kinds have no magic number
 * and are recognised by content instead (text.ts). HEIC is here because phones photograph receipts
 * in it and file-type recognises its `ftyp` brands.
 */
export interface KindRule {
  /** Words for messages: "a PDF document". */
  label: string;
  /** The content type we store and serve for the kind. */
  mediaType: string;
  extensions: readonly string[];
  /** Content types a browser may declare for the kind (lower case, without parameters). */
  declaredTypes: readonly string[];
  detectedAs: readonly string[];
  /** OOXML and ODF are ZIP archives: their central directory is checked as well (zip-directory.ts). */
  zipContainer?: true;
}

const OOXML = 'application/vnd.openxmlformats-officedocument';
const ODF = 'application/vnd.oasis.opendocument';

export const ALLOWED_KINDS: Readonly<Record<DocumentKind, KindRule>> = {
  pdf: {
    label: 'a PDF document',
    mediaType: 'application/pdf',
    extensions: ['pdf'],
    declaredTypes: ['application/pdf', 'application/x-pdf'],
    detectedAs: ['application/pdf'],
  },
  png: { label: 'a PNG image', mediaType: 'image/png', extensions: ['png'], declaredTypes: ['image/png', 'image/x-png'], detectedAs: ['image/png'] },
  jpeg: {
    label: 'a JPEG image',
    mediaType: 'image/jpeg',
    extensions: ['jpg', 'jpeg'],
    declaredTypes: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
    detectedAs: ['image/jpeg'],
  },
  heic: {
    label: 'a HEIC image',
    mediaType: 'image/heic',
    extensions: ['heic', 'heif'],
    declaredTypes: ['image/heic', 'image/heif'],
    // Only still images: the -sequence variants are animations.
    detectedAs: ['image/heic', 'image/heif'],
  },
  tiff: { label: 'a TIFF image', mediaType: 'image/tiff', extensions: ['tif', 'tiff'], declaredTypes: ['image/tiff'], detectedAs: ['image/tiff'] },
  docx: {
    label: 'a Word document',
    mediaType: `${OOXML}.wordprocessingml.document`,
    extensions: ['docx'],
    declaredTypes: [`${OOXML}.wordprocessingml.document`],
    detectedAs: [`${OOXML}.wordprocessingml.document`],
    zipContainer: true,
  },
  xlsx: {
    label: 'an Excel workbook',
    mediaType: `${OOXML}.spreadsheetml.sheet`,
    extensions: ['xlsx'],
    declaredTypes: [`${OOXML}.spreadsheetml.sheet`],
    detectedAs: [`${OOXML}.spreadsheetml.sheet`],
    zipContainer: true,
  },
  odt: {
    label: 'an OpenDocument text',
    mediaType: `${ODF}.text`,
    extensions: ['odt'],
    declaredTypes: [`${ODF}.text`],
    detectedAs: [`${ODF}.text`],
    zipContainer: true,
  },
  ods: {
    label: 'an OpenDocument spreadsheet',
    mediaType: `${ODF}.spreadsheet`,
    extensions: ['ods'],
    declaredTypes: [`${ODF}.spreadsheet`],
    detectedAs: [`${ODF}.spreadsheet`],
    zipContainer: true,
  },
  csv: {
    label: 'a CSV file',
    mediaType: 'text/csv',
    extensions: ['csv'],
    // Windows declares .csv as application/vnd.ms-excel wherever Excel is installed, and some
    // systems as text/plain: content cannot tell CSV from plain text, so both are honest claims.
    declaredTypes: ['text/csv', 'application/csv', 'text/x-csv', 'text/comma-separated-values', 'application/vnd.ms-excel', 'text/plain'],
    detectedAs: [],
  },
  text: { label: 'a plain text file', mediaType: 'text/plain', extensions: ['txt'], declaredTypes: ['text/plain'], detectedAs: [] },
};

export const DOCUMENT_KINDS = Object.keys(ALLOWED_KINDS) as DocumentKind[];

/** Kinds recognised by content rather than a magic number (text.ts). */
export const TEXT_KINDS: readonly DocumentKind[] = ['csv', 'text'];

/** Kinds whose real type is a ZIP archive with a known layout. */
export const ZIP_KINDS: readonly DocumentKind[] = DOCUMENT_KINDS.filter((kind) => ALLOWED_KINDS[kind].zipContainer);

/**
 * Declared types that claim nothing: browsers send them when the OS has no mapping for the
 * extension (HEIC on older Windows, for one). The extension and the content still have to agree.
 */
const UNSPECIFIED_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

/** Default limits for OOXML/ODF archives: generous for real workbooks, far below a ZIP bomb. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxEntries: 10_000, maxUnpackedBytes: 256 * 1024 * 1024 };

export function kindsForExtension(extension: string): DocumentKind[] {
  return DOCUMENT_KINDS.filter((kind) => ALLOWED_KINDS[kind].extensions.includes(extension));
}

/** `undefined` when the type claims nothing; otherwise the kinds it may honestly describe (maybe none). */
export function kindsForDeclaredType(mediaType: string): DocumentKind[] | undefined {
  if (UNSPECIFIED_TYPES.has(mediaType)) return undefined;
  return DOCUMENT_KINDS.filter((kind) => ALLOWED_KINDS[kind].declaredTypes.includes(mediaType));
}

export function kindForDetectedType(mime: string): DocumentKind | undefined {
  return DOCUMENT_KINDS.find((kind) => ALLOWED_KINDS[kind].detectedAs.includes(mime));
}

/**
 * Words for a detected type we refuse. The MIME type comes from file-type's own table, not from
 * the client, so naming it leaks nothing of the file.
 */
export function describeRefusedType(detected: { ext: string; mime: string }): string {
  if (EXECUTABLE_EXTENSIONS.has(detected.ext)) return `content is an executable program (${detected.mime}), which is never accepted`;
  if (MACRO_EXTENSIONS.has(detected.ext)) return `content is a macro-enabled Office document (${detected.mime}), which is not accepted`;
  if (detected.ext === 'cfb') return 'content is a legacy or password-protected Office file (OLE container), which cannot be checked and is not accepted';
  if (detected.ext === 'xml') return 'content is XML (which includes SVG and XHTML): active content is not accepted';
  if (ARCHIVE_EXTENSIONS.has(detected.ext)) return `content is an archive (${detected.mime}); only Word, Excel and OpenDocument files are accepted in ZIP form`;
  return `content is ${detected.mime}, which is not an accepted document type`;
}

const EXECUTABLE_EXTENSIONS = new Set(['exe', 'elf', 'macho', 'dll', 'msi', 'apk', 'jar', 'class', 'dex', 'wasm', 'swf', 'crx', 'xpi', 'lnk', 'deb', 'rpm', 'appimage']);
const MACRO_EXTENSIONS = new Set(['docm', 'dotm', 'xlsm', 'xltm', 'pptm', 'potm', 'ppsm']);
const ARCHIVE_EXTENSIONS = new Set(['zip', 'gz', '7z', 'rar', 'tar', 'bz2', 'xz', 'zst', 'lz', 'lzh', 'lz4', 'ar', 'cpio', 'arj', 'cab', 'Z', 'epub', 'iso']);
