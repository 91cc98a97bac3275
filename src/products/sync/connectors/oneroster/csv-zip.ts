import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { ImportFile, ImportSource } from '../import-file.ts';
import type { ProblemLog } from '../problems.ts';

/** yauzl reading an ImportFile: the central directory and each entry are byte ranges of it. */
class ImportFileReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: ImportFile) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.file.read(start, end);
  }
}

/**
 * The zip of a OneRoster CSV package: its entries (names matched ignoring case) under the folder
 * that holds manifest.csv. Entries are streamed out one at a time, never unpacked whole.
 */
export class PackageZip {
  private readonly zipName: string;
  private zip: yauzl.ZipFile | undefined;
  private readonly entries = new Map<string, yauzl.Entry>();
  private base = '';

  constructor(
    private readonly source: ImportSource,
    private readonly log: ProblemLog,
  ) {
    this.zipName = typeof source === 'string' ? path.basename(source) : source.name;
  }

  async open(): Promise<boolean> {
    try {
      const options = { lazyEntries: true, autoClose: false, strictFileNames: false };
      const source = this.source;
      this.zip =
        typeof source === 'string' ? await yauzl.openPromise(source, options) : await yauzl.fromRandomAccessReaderPromise(new ImportFileReader(source), source.size, options);
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ENOENT';
      this.log.error(this.zipName, this.zipName, missing ? 'was not found' : 'is not a zip file (or the zip is damaged)');
      return false;
    }
    // Zip read errors after opening surface through the calls below; never as an unhandled event.
    this.zip.on('error', () => {});
    try {
      for await (const entry of this.zip.eachEntry()) {
        if (entry.fileName.endsWith('/')) continue;
        const key = entry.fileName.toLowerCase();
        if (!this.entries.has(key)) this.entries.set(key, entry);
      }
    } catch {
      this.log.error(this.zipName, this.zipName, 'is not a zip file (or the zip is damaged)');
      return false;
    }
    const manifests = [...this.entries.keys()].filter((n) => n === 'manifest.csv' || n.endsWith('/manifest.csv'));
    manifests.sort((a, b) => a.split('/').length - b.split('/').length);
    if (manifests.length === 0) {
      this.log.error(this.zipName, this.zipName, 'has no manifest.csv: it is not a OneRoster CSV package');
      return false;
    }
    this.base = manifests[0]!.slice(0, -'manifest.csv'.length);
    return true;
  }

  async openEntry(name: string): Promise<Readable | undefined> {
    const entry = this.entries.get(this.base + name.toLowerCase());
    if (!entry) return undefined;
    return this.zip!.openReadStreamPromise(entry);
  }

  /** Whether the package folder holds `name`. */
  has(name: string): boolean {
    return this.entries.has(this.base + name.toLowerCase());
  }

  close(): void {
    this.zip?.close();
  }
}
