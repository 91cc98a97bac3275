import net from 'node:net';
import type { Readable } from 'node:stream';
import { asBuffer } from './bytes.ts';
import { ScanFailed, noScanner, type ScanHook, type ScanResult } from './scan.ts';

/**
 * A client for clamd's INSTREAM command, so uploads are scanned as they stream past without a
 * temporary file (clamd(8)):
 *   `zINSTREAM\0`, then chunks each prefixed by its length as a 4-byte big-endian unsigned integer,
 *   then a zero-length chunk; clamd answers `stream: OK\0`, `stream: <signature> FOUND\0` or
 *   `<reason> ERROR\0`. More than StreamMaxLength (clamd.conf, 25 MB by default) and clamd answers
 *   `INSTREAM size limit exceeded. ERROR` and closes the connection, possibly while we still write.
 *
 * clamd's socket has no authentication: use the unix socket, or TCP on a private network only.
 * Keep the upload limit (maxBytes) at or below clamd's StreamMaxLength, or large files will fail
 * the scan rather than pass it.
 */
export const CLAMD_CHUNK_BYTES = 64 * 1024;

export type ClamdAddress = { path: string } | { host: string; port: number };

export interface ClamavOptions {
  /** How long connecting may take. */
  connectTimeoutMs?: number;
  /**
   * How long clamd may take to answer after the last chunk, and to take one chunk off our hands
   * while we send. A slow uploader is not clamd's fault, so time spent waiting for the upload's
   * own bytes is not counted (clamd's own ReadTimeout still applies to it).
   */
  replyTimeoutMs?: number;
}

export interface ClamavScanner extends ScanHook {
  readonly address: ClamdAddress;
  /** `zPING` → `PONG`: for a readiness check at start-up. */
  ping(): Promise<void>;
}

/** Reads `CLAMAV_SOCKET`: `unix:/run/clamav/clamd.ctl` (or unix:///…) or `tcp://127.0.0.1:3310`. */
export function parseClamavSocket(setting: string): ClamdAddress {
  const value = setting.trim();
  const unix = /^unix:(?:\/\/)?(\/[^\0]+)$/u.exec(value);
  if (unix) return { path: unix[1]! };
  if (value.startsWith('tcp://')) {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    const port = Number(url?.port);
    if (url && url.hostname && Number.isInteger(port) && port > 0 && !url.username && (url.pathname === '' || url.pathname === '/') && !url.search) {
      return { host: url.hostname.replace(/^\[(.*)\]$/u, '$1'), port };
    }
  }
  throw new Error('CLAMAV_SOCKET must be unix:/absolute/path/to/clamd.ctl or tcp://host:port');
}

/** The scanner the setting asks for, or `noScanner` when it is unset or empty. */
export function scanHookFromSetting(setting: string | undefined, options?: ClamavOptions): ScanHook {
  return setting === undefined || setting.trim() === '' ? noScanner : createClamavScanner(setting, options);
}

export function createClamavScanner(setting: string, options: ClamavOptions = {}): ClamavScanner {
  const address = parseClamavSocket(setting);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const replyTimeoutMs = options.replyTimeoutMs ?? 60_000;

  async function scan(source: Readable): Promise<ScanResult> {
    let connection: Connection | undefined;
    try {
      connection = await connect(address, connectTimeoutMs);
      await connection.send([Buffer.from('zINSTREAM\0')], replyTimeoutMs);
      for await (const piece of source) {
        const bytes = asBuffer(piece);
        for (let at = 0; at < bytes.length; at += CLAMD_CHUNK_BYTES) {
          const chunk = bytes.subarray(at, at + CLAMD_CHUNK_BYTES);
          const length = Buffer.alloc(4);
          length.writeUInt32BE(chunk.length, 0);
          // An answer before the end is an error (a size limit): stop sending and read it.
          if (!(await connection.send([length, chunk], replyTimeoutMs))) return parseReply(await connection.reply(replyTimeoutMs));
        }
      }
      if (!(await connection.send([Buffer.alloc(4)], replyTimeoutMs))) return parseReply(await connection.reply(replyTimeoutMs));
      return parseReply(await connection.reply(replyTimeoutMs));
    } finally {
      connection?.close();
      // Leaving early (a failure, a size limit) must not leave a tee waiting on us.
      if (!source.readableEnded) source.destroy();
    }
  }

  async function ping(): Promise<void> {
    const connection = await connect(address, connectTimeoutMs);
    try {
      await connection.send([Buffer.from('zPING\0')], replyTimeoutMs);
      const answer = await connection.reply(replyTimeoutMs);
      if (answer !== 'PONG') throw new ScanFailed('protocol', 'the virus scanner did not answer PING', printable(answer));
    } finally {
      connection.close();
    }
  }

  return { address, scan, ping };
}

/** clamd's answer to one INSTREAM, as a result or a ScanFailed. */
export function parseReply(answer: string): ScanResult {
  // With IDSESSION, answers start with "<id>: "; we never open sessions but need not trip on it.
  const line = answer.replace(/^\d+: /u, '');
  if (line === 'stream: OK') return { scanned: true, clean: true };
  const found = /^stream: (.+) FOUND$/u.exec(line);
  if (found) return { scanned: true, clean: false, signature: printable(found[1]!) };
  if (line.includes('size limit exceeded')) {
    throw new ScanFailed('size-limit', 'the file is larger than the virus scanner accepts', printable(line));
  }
  if (line.endsWith(' ERROR')) throw new ScanFailed('scanner-error', 'the virus scanner could not scan the file', printable(line));
  throw new ScanFailed('protocol', 'the virus scanner gave no verdict', printable(line));
}

/** Signature names and errors go to logs and the audit trail: printable ASCII, bounded. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, '?').slice(0, 200);
}

interface Connection {
  /** Writes, waiting while clamd is behind; false if clamd has already answered (or hung up). */
  send(buffers: Buffer[], timeoutMs: number): Promise<boolean>;
  /** clamd's answer up to its terminating NUL (or the end of the connection). */
  reply(timeoutMs: number): Promise<string>;
  close(): void;
}

function connect(address: ClamdAddress, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ScanFailed('timeout', 'the virus scanner did not accept a connection in time'));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ScanFailed('unreachable', 'the virus scanner is not reachable', error.code));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(connectionOver(socket));
    });
  });
}

function connectionOver(socket: net.Socket): Connection {
  const received: Buffer[] = [];
  let answer: string | undefined;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => wake?.();

  socket.on('data', (data: Buffer) => {
    if (answer !== undefined) return;
    received.push(data);
    const all = Buffer.concat(received);
    const end = all.indexOf(0);
    if (end >= 0 || all.length > 4096) answer = all.subarray(0, end >= 0 ? end : 4096).toString('latin1').trim();
    if (answer !== undefined) notify();
  });
  // clamd closes after its answer; a reset right after the answer (we were still writing) is normal.
  socket.on('error', (error: NodeJS.ErrnoException) => {
    failure ??= new ScanFailed('unreachable', 'the connection to the virus scanner failed', error.code);
    notify();
  });
  socket.on('close', () => {
    if (answer === undefined && received.length > 0) answer = Buffer.concat(received).toString('latin1').replace(/\0[^]*$/u, '').trim();
    failure ??= new ScanFailed('protocol', 'the virus scanner closed the connection without a verdict');
    notify();
  });
  socket.on('drain', notify);

  /** Waits until `ready()` holds, something happens on the socket, or the time is up. */
  async function waitFor(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ScanFailed('timeout', `the virus scanner did not ${what} in time`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    async send(buffers, timeoutMs) {
      if (answer !== undefined || failure) return false;
      let flowing = true;
      for (const buffer of buffers) flowing = socket.write(buffer);
      if (!flowing) await waitFor(() => !socket.writableNeedDrain || answer !== undefined || failure !== undefined, timeoutMs, 'take the file');
      return answer === undefined && failure === undefined;
    },
    async reply(timeoutMs) {
      await waitFor(() => answer !== undefined || failure !== undefined, timeoutMs, 'answer');
      if (answer !== undefined) return answer;
      throw failure!;
    },
    close() {
      socket.destroy();
    },
  };
}
