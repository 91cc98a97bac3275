import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A stand-in for clamd in tests: the real daemon needs signature databases from the internet.
 * It speaks clamd's protocol byte for byte (z- and n-prefixed commands, INSTREAM chunks with a
 * 4-byte big-endian length, a zero-length chunk to finish, StreamMaxLength enforced as each
 * chunk's length arrives, answers ended by NUL or newline to match the command), and it "detects"
 * one thing: the EICAR test file, anywhere in the stream, as `Eicar-Test-Signature`.
 *
 * `behaviour` may be changed between scans: `answer` (normal), `hang` (read everything, never
 * answer) or `drop` (hang up after the first chunk, as a crashed daemon would).
 */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');
export const EICAR_SIGNATURE = 'Eicar-Test-Signature';

export type FakeClamdBehaviour = 'answer' | 'hang' | 'drop';

export interface FakeClamd {
  /** The CLAMAV_SOCKET value that reaches this server. */
  setting: string;
  behaviour: FakeClamdBehaviour;
  /** What the server saw: INSTREAM scans started and chunk bytes received over all of them. */
  seen: { scans: number; bytes: number };
  close(): Promise<void>;
}

export async function startFakeClamd(options: { transport: 'tcp' | 'unix'; streamMaxLength?: number; behaviour?: FakeClamdBehaviour }): Promise<FakeClamd> {
  const streamMaxLength = options.streamMaxLength ?? 25 * 1024 * 1024;
  const sockets = new Set<net.Socket>();
  const seen = { scans: 0, bytes: 0 };
  const fake: FakeClamd = { setting: '', behaviour: options.behaviour ?? 'answer', seen, close };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    serve(socket, fake, streamMaxLength);
  });

  let socketDir: string | undefined;
  if (options.transport === 'unix') {
    socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-clamd-'));
    const socketPath = path.join(socketDir, 'clamd.ctl');
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
    fake.setting = `unix:${socketPath}`;
  } else {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    fake.setting = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  async function close(): Promise<void> {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
  }
  return fake;
}

function serve(socket: net.Socket, fake: FakeClamd, streamMaxLength: number): void {
  let buffered: Buffer = Buffer.alloc(0);
  let terminator = '\0';
  let mode: 'command' | 'length' | 'data' | 'done' = 'command';
  let chunkLeft = 0;
  let quota = streamMaxLength;
  let chunks = 0;
  // The last bytes of the previous data, so EICAR split across chunks is still seen.
  let window: Buffer = Buffer.alloc(0);
  let infected = false;

  const answer = (text: string, close: boolean) => {
    socket.write(text + terminator);
    if (close) socket.end();
  };

  socket.on('data', (data: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    while (buffered.length > 0 && mode !== 'done') {
      if (mode === 'command') {
        const prefix = String.fromCharCode(buffered[0]!);
        terminator = prefix === 'z' ? '\0' : '\n';
        const end = buffered.indexOf(terminator);
        if (end < 0) return;
        const command = buffered.subarray(prefix === 'z' || prefix === 'n' ? 1 : 0, end).toString('latin1').trim();
        buffered = buffered.subarray(end + 1);
        if (prefix !== 'z' && prefix !== 'n' && command === 'INSTREAM') return answer('INSTREAM: command must be prefixed with n or z. ERROR', true);
        if (command === 'PING') answer('PONG', false);
        else if (command === 'VERSION') answer('ClamAV 1.4.0/fake', false);
        else if (command === 'INSTREAM') {
          fake.seen.scans++;
          mode = 'length';
        } else return answer('UNKNOWN COMMAND', true);
        continue;
      }
      if (mode === 'length') {
        if (buffered.length < 4) return;
        chunkLeft = buffered.readUInt32BE(0);
        buffered = buffered.subarray(4);
        if (chunkLeft === 0) {
          mode = 'done';
          if (fake.behaviour === 'hang') return;
          return answer(infected ? `stream: ${EICAR_SIGNATURE} FOUND` : 'stream: OK', true);
        }
        // As clamd does: the length alone decides, before any of the chunk's data is read.
        if (chunkLeft > quota) {
          mode = 'done';
          return answer('INSTREAM size limit exceeded. ERROR', true);
        }
        quota -= chunkLeft;
        mode = 'data';
        continue;
      }
      const take = Math.min(chunkLeft, buffered.length);
      const piece = buffered.subarray(0, take);
      buffered = buffered.subarray(take);
      chunkLeft -= take;
      fake.seen.bytes += take;
      const searched = Buffer.concat([window, piece]);
      if (!infected && searched.includes(EICAR)) infected = true;
      window = Buffer.from(searched.subarray(Math.max(0, searched.length - (EICAR.length - 1))));
      if (chunkLeft === 0) {
        mode = 'length';
        chunks++;
        if (fake.behaviour === 'drop' && chunks === 1) {
          mode = 'done';
          socket.destroy();
          return;
        }
      }
    }
  });
}
