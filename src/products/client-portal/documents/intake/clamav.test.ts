import net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createClamavScanner, parseClamavSocket, parseReply, scanHookFromSetting } from './clamav.ts';
import { ScanFailed, noScanner } from './scan.ts';
import { EICAR, EICAR_SIGNATURE, startFakeClamd, type FakeClamd } from './testing/clamd-server.ts';
import { countingSource, pdf, streamOf } from './testing/samples.ts';

const servers: FakeClamd[] = [];
async function clamd(options: Parameters<typeof startFakeClamd>[0]): Promise<FakeClamd> {
  const server = await startFakeClamd(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const infectedDocument = () => Buffer.concat([Buffer.alloc(100_000, 0x20), EICAR, Buffer.alloc(50_000, 0x20)]);

describe.each(['tcp', 'unix'] as const)('clamd over %s', (transport) => {
  it('finds the EICAR test file', async () => {
    const server = await clamd({ transport });
    const scanner = createClamavScanner(server.setting);
    expect(await scanner.scan(streamOf(EICAR))).toEqual({ scanned: true, clean: false, signature: EICAR_SIGNATURE });
    // Split across chunk boundaries and deep inside a larger file too.
    expect(await scanner.scan(streamOf(infectedDocument(), 1000))).toMatchObject({ clean: false, signature: EICAR_SIGNATURE });
    expect(server.seen.bytes).toBe(EICAR.length + infectedDocument().length);
  });

  it('passes a clean file', async () => {
    const server = await clamd({ transport });
    expect(await createClamavScanner(server.setting).scan(streamOf(pdf()))).toEqual({ scanned: true, clean: true });
    expect(server.seen).toEqual({ scans: 1, bytes: pdf().length });
  });

  it('answers PING', async () => {
    const server = await clamd({ transport });
    await expect(createClamavScanner(server.setting).ping()).resolves.toBeUndefined();
  });
});

describe('when clamd misbehaves the scan fails, never "clean"', () => {
  it('times out when clamd takes the file but never answers', async () => {
    const server = await clamd({ transport: 'tcp', behaviour: 'hang' });
    const started = Date.now();
    const failure = await createClamavScanner(server.setting, { replyTimeoutMs: 300 })
      .scan(streamOf(pdf()))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScanFailed);
    expect(failure).toMatchObject({ failure: 'timeout', status: 503 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('times out when clamd stops reading, and stops reading the upload', async () => {
    // A listener that accepts and never reads: our writes back up.
    const stalled = net.createServer(() => {});
    const sockets: net.Socket[] = [];
    stalled.on('connection', (socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const port = (stalled.address() as net.AddressInfo).port;
    const source = countingSource(Buffer.alloc(64 * 1024), 10_000);
    try {
      const failure = await createClamavScanner(`tcp://127.0.0.1:${port}`, { replyTimeoutMs: 300 })
        .scan(source.stream)
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ failure: 'timeout' });
      expect(source.pulled()).toBeLessThan(10_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(source.closed()).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  it('reports a dropped connection', async () => {
    const server = await clamd({ transport: 'unix', behaviour: 'drop' });
    const failure = await createClamavScanner(server.setting)
      .scan(streamOf(Buffer.alloc(300_000, 0x61), 64 * 1024))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScanFailed);
    expect(['protocol', 'unreachable']).toContain((failure as ScanFailed).failure);
  });

  it('maps StreamMaxLength ("INSTREAM size limit exceeded") to a size-limit failure, even mid-upload', async () => {
    const server = await clamd({ transport: 'tcp', streamMaxLength: 100_000 });
    const source = countingSource(Buffer.alloc(64 * 1024, 0x61), 1_000);
    const failure = await createClamavScanner(server.setting)
      .scan(source.stream)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScanFailed);
    expect(failure).toMatchObject({ failure: 'size-limit', status: 413, scannerReply: 'INSTREAM size limit exceeded. ERROR' });
    expect(source.pulled()).toBeLessThan(1_000);
    // Exactly at the limit is still scanned.
    expect(await createClamavScanner(server.setting).scan(streamOf(Buffer.alloc(100_000, 0x61)))).toEqual({ scanned: true, clean: true });
  });

  it('reports an unreachable scanner', async () => {
    const server = await clamd({ transport: 'tcp' });
    const setting = server.setting;
    await server.close();
    servers.length = 0;
    await expect(createClamavScanner(setting).scan(streamOf(pdf()))).rejects.toMatchObject({ failure: 'unreachable' });
    await expect(createClamavScanner('unix:/nonexistent/clamd.ctl').scan(streamOf(pdf()))).rejects.toMatchObject({ failure: 'unreachable' });
  });

  it('passes on the upload\'s own failure rather than a verdict', async () => {
    const server = await clamd({ transport: 'tcp' });
    const source = new Readable({ read() {} });
    source.push(Buffer.from('first part'));
    setTimeout(() => source.destroy(new Error('client went away')), 20);
    await expect(createClamavScanner(server.setting).scan(source)).rejects.toThrow('client went away');
  });
});

describe('clamd answers', () => {
  it('are read exactly, and anything unexpected is an error', () => {
    expect(parseReply('stream: OK')).toEqual({ scanned: true, clean: true });
    expect(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND')).toEqual({ scanned: true, clean: false, signature: 'Win.Test.EICAR_HDB-1' });
    expect(parseReply('3: stream: OK')).toEqual({ scanned: true, clean: true });
    expect(() => parseReply('INSTREAM size limit exceeded. ERROR')).toThrow(expect.objectContaining({ failure: 'size-limit' }));
    expect(() => parseReply("stream: Can't allocate memory ERROR")).toThrow(expect.objectContaining({ failure: 'scanner-error' }));
    expect(() => parseReply('')).toThrow(expect.objectContaining({ failure: 'protocol' }));
    expect(() => parseReply('OK')).toThrow(expect.objectContaining({ failure: 'protocol' }));
  });
});

describe('CLAMAV_SOCKET', () => {
  it('takes a unix socket or tcp host and port', () => {
    expect(parseClamavSocket('unix:/run/clamav/clamd.ctl')).toEqual({ path: '/run/clamav/clamd.ctl' });
    expect(parseClamavSocket('unix:///run/clamav/clamd.ctl')).toEqual({ path: '/run/clamav/clamd.ctl' });
    expect(parseClamavSocket('tcp://127.0.0.1:3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseClamavSocket('tcp://[::1]:3310')).toEqual({ host: '::1', port: 3310 });
    expect(parseClamavSocket('tcp://clamav.internal:3310')).toEqual({ host: 'clamav.internal', port: 3310 });
    for (const bad of ['', '/run/clamd.ctl', 'unix:relative', 'tcp://host', 'tcp://host:0', 'http://host:3310', 'tcp://user:pw@host:3310', 'tcp://host:3310/path']) {
      expect(() => parseClamavSocket(bad), bad).toThrow(/CLAMAV_SOCKET/);
    }
  });

  it('unset means no scanner, which says so', async () => {
    expect(scanHookFromSetting(undefined)).toBe(noScanner);
    expect(scanHookFromSetting('  ')).toBe(noScanner);
    const source = countingSource(Buffer.alloc(1024), 50);
    expect(await noScanner.scan(source.stream)).toEqual({ scanned: false, clean: true });
    // It still reads the upload to the end, so a tee feeding it never stalls.
    expect(source.pulled()).toBe(50);
  });
});
