import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, OutboundAddressRefused, postOutbound } from './outbound.ts';

describe('isPublicAddress', () => {
  it.each([
    ['127.0.0.1', false], ['10.1.2.3', false], ['172.20.0.5', false], ['192.168.1.1', false], ['169.254.169.254', false],
    ['100.64.0.1', false], ['0.0.0.0', false], ['224.0.0.1', false], ['::1', false], ['::', false], ['fd00::1', false],
    ['fe80::1', false], ['::ffff:10.0.0.1', false], ['::ffff:127.0.0.1', false], ['not an address', false],
    ['8.8.8.8', true], ['151.101.0.1', true], ['2a00:1450:4009:81f::200e', true], ['::ffff:8.8.8.8', true],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('postOutbound', () => {
  let server: http.Server;
  let port: number;
  const received: { body: string; signature: string | undefined }[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.url === '/slow') return; // never answers
        received.push({ body, signature: request.headers['x-test-signature'] as string | undefined });
        response.writeHead(request.url === '/moved' ? 302 : 204, request.url === '/moved' ? { location: 'http://127.0.0.1/elsewhere' } : {});
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (path: string, allowPrivate: boolean, host = '127.0.0.1', timeoutMs = 5_000) =>
    postOutbound({ url: `http://${host}:${port}${path}`, headers: { 'x-test-signature': 'sig' }, body: '{"a":1}', timeoutMs, allowPrivate });

  it('refuses a private address written as an IP, and a name that resolves to one, without connecting', async () => {
    const before = received.length;
    await expect(post('/hook', false)).rejects.toBeInstanceOf(OutboundAddressRefused);
    await expect(post('/hook', false, 'localhost')).rejects.toBeInstanceOf(OutboundAddressRefused);
    await expect(post('/hook', false, '[::ffff:127.0.0.1]')).rejects.toBeInstanceOf(OutboundAddressRefused);
    expect(received.length).toBe(before);
  });

  it('with private addresses allowed, posts the body and headers and answers the status; a redirect is only a status', async () => {
    expect(await post('/hook', true)).toBe(204);
    expect(received.at(-1)).toEqual({ body: '{"a":1}', signature: 'sig' });
    expect(await post('/moved', true)).toBe(302);
  });

  it('gives up after the deadline with a TimeoutError', async () => {
    await expect(post('/slow', true, '127.0.0.1', 200)).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
