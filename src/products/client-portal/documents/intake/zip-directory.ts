import { UploadRefused, type ArchiveLimits } from './types.ts';

/**
 * OOXML (docx, xlsx) and ODF (odt, ods) are ZIP archives. Their central directory, at the very end
 * of the file, lists every entry with its unpacked size, so reading it answers three questions
 * without unpacking anything (ASVS 5.2.3): how many entries, how big unpacked (a ZIP bomb declares
 * gigabytes), and what is inside (macros, and which Office format it really is). file-type only
 * sees the first bytes, and Word or LibreOffice may write `[Content_Types].xml` last, so for these
 * kinds the final answer comes from here.
 *
 * Only the last `TAIL_LIMIT` bytes are kept while the upload streams past; a directory larger than
 * that (tens of thousands of entries) is refused rather than buffered.
 */
export const TAIL_LIMIT = 2 * 1024 * 1024;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const EOCD_SIGNATURE = 0x06054b50;
const ENTRY_SIGNATURE = 0x02014b50;
const ENTRY_SIZE = 46;

/** Keeps the last bytes of a stream, in the pieces they arrived in, never more than the limit. */
export class StreamTail {
  private pieces: Buffer[] = [];
  private held = 0;
  total = 0;

  constructor(private readonly limit = TAIL_LIMIT) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (chunk.length >= this.limit) {
      // A copy, so a huge chunk's memory is not kept alive by a view of its end.
      this.pieces = [Buffer.from(chunk.subarray(chunk.length - this.limit))];
      this.held = this.limit;
      return;
    }
    this.pieces.push(chunk);
    this.held += chunk.length;
    while (this.pieces.length > 1 && this.held - this.pieces[0]!.length >= this.limit) this.held -= this.pieces.shift()!.length;
  }

  /** The kept bytes and the offset of the first of them in the whole stream. */
  bytes(): { tail: Buffer; start: number } {
    return { tail: Buffer.concat(this.pieces), start: this.total - this.held };
  }
}

export interface ZipContents {
  /** 'docx' or 'xlsx' when `[Content_Types].xml` and the part folders say so. */
  ooxml?: 'docx' | 'xlsx';
  /** ODF requires an entry named `mimetype` first. */
  odf: boolean;
}

const malformed = (reason: string) => new UploadRefused('file', 'malformed', reason);
const tooBig = (reason: string) => new UploadRefused('file', 'archive-limits', reason);

/** Reads the central directory from the stream's tail; throws UploadRefused on anything off. */
export function readZipDirectory(tail: StreamTail, limits: ArchiveLimits): ZipContents {
  const { tail: bytes, start } = tail.bytes();
  const eocd = findEndRecord(bytes);
  if (eocd < 0) throw malformed('is not a complete document: the ZIP central directory is missing at the end');
  const disk = bytes.readUInt16LE(eocd + 4);
  const directoryDisk = bytes.readUInt16LE(eocd + 6);
  const entriesHere = bytes.readUInt16LE(eocd + 8);
  const entryCount = bytes.readUInt16LE(eocd + 10);
  const directorySize = bytes.readUInt32LE(eocd + 12);
  const directoryOffset = bytes.readUInt32LE(eocd + 16);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw tooBig('uses ZIP64, which no document within the size limit needs');
  }
  if (disk !== 0 || directoryDisk !== 0 || entriesHere !== entryCount) throw malformed('is a ZIP archive split over several parts');
  if (entryCount > limits.maxEntries) throw tooBig(`has more than ${limits.maxEntries} entries inside`);
  // The directory must end exactly where the end record starts: anything else means bytes
  // prepended (a self-extracting program) or hidden between the entries and the directory.
  if (directoryOffset + directorySize !== start + eocd) throw malformed('has data outside its ZIP entries');
  let at = directoryOffset - start;
  if (at < 0) throw tooBig('has a ZIP directory too large to check');

  const names: string[] = [];
  let unpacked = 0;
  for (let index = 0; index < entryCount; index++) {
    if (at + ENTRY_SIZE > eocd || bytes.readUInt32LE(at) !== ENTRY_SIGNATURE) throw malformed('has a damaged ZIP directory');
    const flags = bytes.readUInt16LE(at + 8);
    const unpackedSize = bytes.readUInt32LE(at + 24);
    const nameLength = bytes.readUInt16LE(at + 28);
    const next = at + ENTRY_SIZE + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
    if (next > eocd) throw malformed('has a damaged ZIP directory');
    if (bytes.readUInt32LE(at + 42) >= directoryOffset) throw malformed('has a damaged ZIP directory');
    if (unpackedSize === 0xffffffff) throw tooBig('uses ZIP64, which no document within the size limit needs');
    if (flags & 0x1) throw new UploadRefused('file', 'type-not-allowed', 'has encrypted parts, which cannot be checked or scanned');
    unpacked += unpackedSize;
    if (unpacked > limits.maxUnpackedBytes) throw tooBig(`would unpack to more than ${limits.maxUnpackedBytes} bytes`);
    // Bit 11 marks UTF-8 names; the names that matter here are ASCII either way.
    names.push(bytes.toString(flags & 0x800 ? 'utf8' : 'latin1', at + ENTRY_SIZE, at + ENTRY_SIZE + nameLength));
    at = next;
  }
  if (at !== eocd) throw malformed('has a damaged ZIP directory');

  if (names.some((name) => MACROS.test(name))) {
    throw new UploadRefused('file', 'active-content', 'contains macros or ActiveX controls, which are not accepted');
  }
  return { ooxml: ooxmlKind(names), odf: names[0] === 'mimetype' };
}

/** Office keeps VBA in vbaProject.bin and controls under activeX/; LibreOffice keeps macros in Basic/ and Scripts/. */
const MACROS = /(?:^|\/)vbaProject\.bin$|(?:^|\/)activeX\/|^(?:Basic|Scripts)\//iu;

function ooxmlKind(names: string[]): 'docx' | 'xlsx' | undefined {
  if (!names.includes('[Content_Types].xml')) return undefined;
  const word = names.includes('word/document.xml');
  const excel = names.includes('xl/workbook.xml');
  if (word === excel) return undefined;
  return word ? 'docx' : 'xlsx';
}

/** The end-of-central-directory record: the last signature whose comment runs exactly to the end. */
function findEndRecord(bytes: Buffer): number {
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = bytes.length - EOCD_SIZE; at >= lowest; at--) {
    if (bytes.readUInt32LE(at) === EOCD_SIGNATURE && at + EOCD_SIZE + bytes.readUInt16LE(at + 20) === bytes.length) return at;
  }
  return -1;
}
