import { SaxesParser } from 'saxes';
import { isIsoDate } from '../../codes.ts';
import type { ImportBatch, ImportProblem } from '../../model.ts';

/**
 * The CTF as a stream of elements: saxes events become opened and closed elements, each with its
 * plain path, the line of its opening tag and its position among same-named siblings, so that every
 * problem has a location `file.xml line N (CTfile/CTFpupilData/Pupil[12]/DOB)`. Text is bounded,
 * nesting is bounded, and malformed XML stops the read with one error.
 */

/** Elements that repeat under one parent: their position is shown in locations (Pupil[12]). */
const REPEATABLE = new Set(['Pupil', 'Contact', 'Phone', 'YearData', 'FSMinstance', 'SEN', 'School', 'Type', 'AddressLine', 'SENneed']);

export interface Frame {
  name: string;
  /** Plain path from the root, no positions: 'CTfile/CTFpupilData/Pupil/DOB'. */
  path: string;
  /** Line of the opening tag. */
  line: number;
  /** 1-based position among same-named siblings (only counted for REPEATABLE names). */
  index: number;
  counts?: Map<string, number>;
}

/** No CTF value comes near this (the longest, a year of attendance marks, is under 1,500). */
const MAX_TEXT = 100_000;
/** A CTF is about eight levels deep. */
const MAX_DEPTH = 64;

/** What the CTF mappers need from the element reader: locations, problems and date checks. */
export interface CtfContext {
  at(line: number, elementPath: string): string;
  locationPath(extra?: string): string;
  here(): string;
  fail(location: string, message: string): void;
  warn(location: string, message: string): void;
  checkDate(value: string): boolean;
  /** The element being closed. */
  currentFrame(): Frame;
}

export abstract class CtfElementReader implements CtfContext {
  private readonly parser: SaxesParser;
  private readonly stack: Frame[] = [];
  private text = '';
  private textTooLong = false;
  private rootSeen = false;
  stopped = false;
  protected readonly errors: ImportProblem[] = [];
  protected readonly warnings: ImportProblem[] = [];

  /** An element below the root has opened. */
  protected abstract opened(framePath: string): void;
  /** An element has closed with its trimmed text (the stack still holds it). */
  protected abstract closed(frame: Frame, value: string): void;
  /** The batch read, or (stopped with errors) only the problems. */
  protected abstract result(): ImportBatch;

  constructor(private readonly file: string) {
    this.parser = new SaxesParser({ position: true });
    this.parser.on('opentag', (tag) => this.open(tag.name));
    this.parser.on('closetag', () => this.close());
    this.parser.on('text', (t) => this.addText(t));
    this.parser.on('cdata', (t) => this.addText(t));
    this.parser.on('error', (err) => this.malformed(err));
  }

  private addText(t: string): void {
    if (this.stopped || this.textTooLong) return;
    if (this.text.length + t.length > MAX_TEXT) {
      this.textTooLong = true;
      this.text = '';
      return;
    }
    this.text += t;
  }

  write(chunk: string): void {
    if (this.stopped) return;
    this.parser.write(chunk);
  }

  finish(): ImportBatch {
    if (!this.stopped) this.parser.close();
    if (!this.stopped && !this.rootSeen) this.fail(this.at(1, 'CTfile'), 'is required (the file has no CTfile root element)');
    return this.result();
  }

  /** An unexpected failure (unreadable file, a bug): one error, never a rejection. */
  abort(error: unknown): ImportBatch {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason = code === 'ENOENT' ? 'could not be read (no such file)' : code ? 'could not be read' : 'could not be read (unexpected failure)';
    this.stopped = true;
    this.errors.push({ location: this.at(this.parser.line || 1, this.locationPath() || 'CTfile'), message: reason });
    return this.result();
  }

  at(line: number, elementPath: string): string {
    return `${this.file} line ${line} (${elementPath})`;
  }

  /** 'CTfile/CTFpupilData/Pupil[12]/DOB' for the current stack. */
  locationPath(extra?: string): string {
    let out = '';
    for (const f of this.stack) {
      out += (out ? '/' : '') + (REPEATABLE.has(f.name) ? `${f.name}[${f.index}]` : f.name);
    }
    return extra ? `${out}/${extra}` : out;
  }

  fail(location: string, message: string): void {
    this.errors.push({ location, message });
  }

  warn(location: string, message: string): void {
    this.warnings.push({ location, message });
  }

  here(): string {
    const frame = this.stack[this.stack.length - 1];
    return this.at(frame?.line ?? this.parser.line, this.locationPath());
  }

  private malformed(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    const raw = err.message.replace(/^[^:]*:\d+:\d+: /, '').replace(/^\d+:\d+: /, '');
    // Keep saxes' reason but never anything after a colon (a tag or entity name from the file).
    const reason = raw.replace(/:.*$/s, '').replace(/\.$/, '').trim();
    const safe = /^[A-Za-z][A-Za-z ,"'\\/()-]{0,80}$/.test(reason) ? reason : 'syntax error';
    this.errors.push({ location: this.at(this.parser.line, this.locationPath() || 'CTfile'), message: `is not well-formed XML (${safe})` });
  }

  checkDate(value: string): boolean {
    if (isIsoDate(value)) return true;
    this.fail(this.here(), 'is not a date (expected YYYY-MM-DD)');
    return false;
  }

  private open(name: string): void {
    if (this.stopped) return;
    const parent = this.stack[this.stack.length - 1];
    let index = 1;
    if (parent && REPEATABLE.has(name)) {
      parent.counts ??= new Map();
      index = (parent.counts.get(name) ?? 0) + 1;
      parent.counts.set(name, index);
    }
    const framePath = parent ? `${parent.path}/${name}` : name;
    this.stack.push({ name, path: framePath, line: this.parser.line, index });
    this.text = '';
    this.textTooLong = false;
    if (this.stack.length > MAX_DEPTH) {
      this.stopped = true;
      this.errors.push({ location: this.here(), message: `is nested more than ${MAX_DEPTH} elements deep (this is not a Common Transfer File)` });
      return;
    }

    if (!parent) {
      this.rootSeen = true;
      if (name !== 'CTfile') {
        this.stopped = true;
        this.errors.push({ location: this.at(this.parser.line, 'CTfile'), message: 'is required as the root element (this is not a Common Transfer File)' });
      }
      return;
    }
    this.opened(framePath);
  }

  private close(): void {
    if (this.stopped) return;
    const frame = this.stack[this.stack.length - 1];
    if (!frame) return;
    const value = own(this.text.trim());
    this.text = '';
    if (this.textTooLong) {
      this.textTooLong = false;
      this.fail(this.here(), `is longer than ${MAX_TEXT.toLocaleString('en-GB')} characters`);
      this.stack.pop();
      return;
    }
    try {
      this.closed(frame, value);
    } finally {
      this.stack.pop();
    }
  }

  /** The line the parser is at (the line of an element just opened). */
  protected get line(): number {
    return this.parser.line;
  }

  currentFrame(): Frame {
    return this.stack[this.stack.length - 1]!;
  }
}

/**
 * A copy of a value that does not share memory with the 64 KiB chunk it was parsed from. V8 keeps
 * substrings of 13+ characters as views into their parent string, so one kept UPN would keep its
 * whole chunk alive, and with it, chunk by chunk, the whole file.
 */
function own(value: string): string {
  return value.length < 13 ? value : Buffer.from(value, 'utf8').toString('utf8');
}
