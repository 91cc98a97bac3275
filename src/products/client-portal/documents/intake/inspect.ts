import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { ALLOWED_KINDS, DEFAULT_ARCHIVE_LIMITS, TEXT_KINDS, ZIP_KINDS, describeRefusedType, kindForDetectedType } from './allowed.ts';
import { agreeOnKind, labelOf, readClaims, type Claims } from './claims.ts';
import { asBuffer } from './bytes.ts';
import { TextCheck, activeTextReason } from './text.ts';
import { UploadInterrupted, UploadRefused, type ArchiveLimits, type DocumentKind, type InspectOptions, type IntakeVerdict } from './types.ts';
import { StreamTail, readZipDirectory } from './zip-directory.ts';

/**
 * How much of the upload is held back to identify it. file-type needs a few KiB; 64 KiB gives it
 * room for OOXML written in the usual order and is the window the text rule speaks of.
 */
export const HEAD_BYTES = 64 * 1024;

/**
 * Formats file-type recognises that are themselves text. Their detection is taken as the truth
 * (a "%PDF-" file is a PDF, "{\rtf" is RTF). Any other detection in a head that is text (UTF-8,
 * or Windows-1252 without stray control bytes, and no NULs) is a coincidence of the first
 * letters ("BMW,320i" looks like a BMP, "MZ Holdings" like a Windows program): a real binary of
 * those formats always has NULs, and text kinds are checked to the last byte.
 */
const TEXT_FORMATS = new Set(['pdf', 'ai', 'eps', 'ps', 'rtf', 'xml', 'ics', 'vcf', 'vtt', 'pgp', 'reg', 'stl']);

export interface InspectedUpload {
  /**
   * The upload's bytes, passed on as they are checked. Pipe it to the blob store (and the scanner,
   * see tee.ts). A refusal errors this stream with the UploadRefused, so a pipeline into the store
   * fails and leaves no blob; the source is destroyed at once.
   */
  stream: Readable;
  /**
   * Settles once the stream has been read to its end (or failed): the verdict, or the same
   * UploadRefused the stream failed with, the source's own error, or UploadInterrupted if the
   * consumer gave up first. Refusals found before reading (filename, content type) settle it at once.
   */
  verdict: Promise<IntakeVerdict>;
}

interface Plan {
  /** Checks each later chunk (text) or keeps the tail (ZIP). */
  follow(chunk: Buffer): void;
  /** The last checks, at the end of the stream; returns the content's kinds. */
  finish(): DocumentKind[];
}

export function inspectUpload(source: Readable, options: InspectOptions): InspectedUpload {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new TypeError('maxBytes must be a positive whole number');
  const limits: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...options.archive };
  let resolveVerdict!: (verdict: IntakeVerdict) => void;
  let rejectVerdict!: (error: unknown) => void;
  const verdict = new Promise<IntakeVerdict>((resolve, reject) => {
    resolveVerdict = resolve;
    rejectVerdict = reject;
  });
  // A caller that handles the stream's error but not the verdict must not crash the process
  // with an unhandled rejection; awaiting the verdict still sees it.
  verdict.catch(() => {});

  let claims: Claims;
  try {
    claims = readClaims(options.declaredType, options.filename);
  } catch (error) {
    source.destroy();
    rejectVerdict(error);
    return { stream: Readable.from(failWith(error)), verdict };
  }

  async function* checked(): AsyncGenerator<Buffer> {
    let seen = 0;
    let plan: Plan | undefined;
    const head: Buffer[] = [];
    let headLength = 0;
    let finished = false;
    // Set while our consumer holds the turn: an error thrown in then (Node throws an AbortError
    // into the generator when the stream is destroyed) is the consumer giving up.
    let yielding = false;
    try {
      for await (const piece of source) {
        const chunk = asBuffer(piece);
        seen += chunk.length;
        if (seen > options.maxBytes) throw new UploadRefused('file', 'too-large', `is larger than the limit of ${options.maxBytes} bytes`);
        if (plan) {
          plan.follow(chunk);
          yielding = true;
          yield chunk;
          yielding = false;
          continue;
        }
        head.push(chunk);
        headLength += chunk.length;
        if (headLength < HEAD_BYTES) continue;
        const bytes = Buffer.concat(head);
        head.length = 0;
        plan = await planFor(bytes, false, claims, limits);
        yielding = true;
        yield bytes;
        yielding = false;
      }
      if (!plan) {
        const bytes = Buffer.concat(head);
        plan = await planFor(bytes, true, claims, limits);
        yielding = true;
        if (bytes.length > 0) yield bytes;
        yielding = false;
      }
      const contentKinds = plan.finish();
      const kind = agreeOnKind(contentKinds, labelOf(contentKinds), claims);
      finished = true;
      resolveVerdict({ kind, mediaType: ALLOWED_KINDS[kind].mediaType, displayName: claims.filename.displayName, sizeBytes: seen });
    } catch (error) {
      rejectVerdict(yielding ? new UploadInterrupted() : error);
      throw error;
    } finally {
      if (!finished) {
        // Stop the upload at once: nothing more of a refused or abandoned file is read.
        source.destroy();
        rejectVerdict(new UploadInterrupted());
      }
    }
  }

  return { stream: Readable.from(checked(), { objectMode: false }), verdict };
}

/** Identifies the content from its head and agrees it with the claims; throws UploadRefused. */
async function planFor(head: Buffer, ended: boolean, claims: Claims, limits: ArchiveLimits): Promise<Plan> {
  if (ended && head.length === 0) throw new UploadRefused('file', 'malformed', 'is empty');
  let detected: { ext: string; mime: string } | undefined;
  try {
    detected = await fileTypeFromBuffer(head);
  } catch {
    throw new UploadRefused('file', 'malformed', 'content could not be identified');
  }

  if (!detected || !TEXT_FORMATS.has(detected.ext)) {
    const text = new TextCheck();
    let notText: UploadRefused | undefined;
    try {
      text.push(head);
      if (ended) text.end();
    } catch (error) {
      if (!(error instanceof UploadRefused)) throw error;
      notText = error;
    }
    if (!notText) {
      const active = activeTextReason(head);
      if (active) throw new UploadRefused('file', 'active-content', active);
      const contentKinds = [...TEXT_KINDS];
      agreeOnKind(contentKinds, 'text', claims);
      return {
        follow: (chunk) => text.push(chunk),
        finish: () => (text.end(), contentKinds),
      };
    }
    if (!detected) {
      // Binary that nothing recognises. Someone sending a CSV wants to hear why it is not text.
      const claimedText = claims.byExtension.some((kind) => TEXT_KINDS.includes(kind));
      if (claimedText) throw notText;
      throw new UploadRefused('file', 'type-not-allowed', 'content is not of any accepted document type');
    }
  }

  if (detected.mime === 'application/zip') return provisionalOffice(head, claims, limits, detected);
  const kind = kindForDetectedType(detected.mime);
  if (!kind) throw new UploadRefused('file', detected.ext === 'xml' ? 'active-content' : 'type-not-allowed', describeRefusedType(detected));
  const contentKinds: DocumentKind[] = [kind];
  agreeOnKind(contentKinds, labelOf(contentKinds), claims);
  if (!ALLOWED_KINDS[kind].zipContainer) return { follow: () => {}, finish: () => contentKinds };

  const tail = new StreamTail();
  tail.push(head);
  return {
    follow: (chunk) => tail.push(chunk),
    finish: () => {
      const contents = readZipDirectory(tail, limits);
      const agrees = kind === 'odt' || kind === 'ods' ? contents.odf && !contents.ooxml : contents.ooxml === kind;
      if (!agrees) throw new UploadRefused('file', 'malformed', `is not a well-formed ${ALLOWED_KINDS[kind].label.replace(/^an? /u, '')}`);
      return contentKinds;
    },
  };
}

/**
 * A ZIP whose first 64 KiB do not say which Office format it is (Word and LibreOffice may write
 * `[Content_Types].xml` last). Allowed to stream on only if the client claims an OOXML kind; the
 * central directory at the end then decides, and anything but that kind is refused.
 */
function provisionalOffice(head: Buffer, claims: Claims, limits: ArchiveLimits, detected: { ext: string; mime: string }): Plan {
  const claimed = ZIP_KINDS.filter(
    (kind) => (kind === 'docx' || kind === 'xlsx') && claims.byExtension.includes(kind) && (!claims.byDeclaredType || claims.byDeclaredType.includes(kind)),
  );
  if (claimed.length === 0) throw new UploadRefused('file', 'type-not-allowed', describeRefusedType(detected));
  const tail = new StreamTail();
  tail.push(head);
  return {
    follow: (chunk) => tail.push(chunk),
    finish: () => {
      const { ooxml } = readZipDirectory(tail, limits);
      if (!ooxml) throw new UploadRefused('file', 'type-not-allowed', describeRefusedType(detected));
      return [ooxml];
    },
  };
}

async function* failWith(error: unknown): AsyncGenerator<Buffer> {
  throw error;
}
