import type { Readable } from 'node:stream';

/**
 * A file to import that is not a plain path: an upload kept sealed on disk while it is parsed
 * (platform/storage/sealed-temp-file.ts). The file connectors (CTF, OneRoster CSV, mapped CSV) take
 * either a path (the CLI reads the user's own file) or one of these.
 */
export interface ImportFile {
  /** The name problems are reported under (never a path). */
  name: string;
  /** Bytes of content. */
  size: number;
  /** Bytes [start, end) of the content as a byte stream (end exclusive; by default the whole file). */
  read(start?: number, end?: number): Readable;
}

export type ImportSource = string | ImportFile;
