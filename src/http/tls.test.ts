import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { startServer } from './server.ts';

let certDir: string;
let cert: string;
let key: string;
let platform: TestPlatform;
let server: Awaited<ReturnType<typeof startServer>>;
let port: number;

/** A client that can speak TLS 1.0/1.1 only (OpenSSL 3 needs security level 0 for them at all). */
const LEGACY_CLIENT = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

/** A TLS 1.2 client offering only CBC and non-forward-secret suites. */
const WEAK_TLS12_CLIENT = { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:DES-CBC3-SHA@SECLEVEL=0' } as const;

/** Opens a TLS connection and reports the negotiated protocol, or the error that refused it. */
function handshake(targetPort: number, options: tls.ConnectionOptions): Promise<{ protocol: string | null } | { error: Error }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: targetPort, ca: [cert], ...options }, () => {
      resolve({ protocol: socket.getProtocol() });
      socket.end();
    });
    socket.on('error', (error) => resolve({ error }));
  });
}

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  cert = pems.cert;
  key = pems.private;
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-tls-'));
  fs.writeFileSync(path.join(certDir, 'cert.pem'), cert);
  fs.writeFileSync(path.join(certDir, 'key.pem'), key, { mode: 0o600 });
  platform = await startTestPlatform({
    env: { TLS_CERT_FILE: path.join(certDir, 'cert.pem'), TLS_KEY_FILE: path.join(certDir, 'key.pem'), PORT: '0', HOST: '127.0.0.1' },
  });
  server = await startServer(platform);
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.close();
  await platform?.close();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('listens on HTTPS at the URL it reports, on a real port', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(port).toBeGreaterThan(0);
  });

  it('the legacy and weak-suite clients really work (control: a server that allows them)', async () => {
    const control = tls.createServer({ cert, key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (socket) => socket.end());
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    try {
      const controlPort = (control.address() as AddressInfo).port;
      expect(await handshake(controlPort, LEGACY_CLIENT)).toEqual({ protocol: 'TLSv1.1' });
      expect(await handshake(controlPort, WEAK_TLS12_CLIENT)).toEqual({ protocol: 'TLSv1.2' });
    } finally {
      await new Promise((resolve) => control.close(resolve));
    }
  });

  it('refuses a TLS 1.0/1.1 handshake', async () => {
    const result = await handshake(port, LEGACY_CLIENT);
    expect('error' in result && String(result.error)).toMatch(/alert protocol version/);
  });

  it('accepts TLS 1.2 and TLS 1.3, preferring 1.3', async () => {
    expect(await handshake(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2' });
    expect(await handshake(port, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).toEqual({ protocol: 'TLSv1.3' });
    expect(await handshake(port, {})).toEqual({ protocol: 'TLSv1.3' });
  });

  it('refuses weak TLS 1.2 suites', async () => {
    const result = await handshake(port, WEAK_TLS12_CLIENT);
    expect('error' in result && String(result.error)).toMatch(/handshake failure/);
  });

  it('sends HSTS over HTTPS', async () => {
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      https
        .get(`${server.url}/api/health`, { ca: [cert] }, (response) => {
          response.resume();
          resolve(response.headers);
        })
        .on('error', reject);
    });
    expect(headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(headers['x-request-id']).toBeDefined();
  });

  it('sets __Host- session cookies with Secure, HttpOnly and SameSite=Strict over HTTPS', async () => {
    const school = await createTestOrganisation(platform);
    const post = (path: string, body: object) =>
      new Promise<{ status: number; cookies: string[] }>((resolve, reject) => {
        const request = https.request(`${server.url}${path}`, { method: 'POST', ca: [cert], headers: { 'content-type': 'application/json' } }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode!, cookies: response.headers['set-cookie'] ?? [] }));
        });
        request.on('error', reject);
        request.end(JSON.stringify(body));
      });
    const password = 'Quarry-Lilac-64!';
    expect((await post('/api/v1/auth/invitations/accept', { token: school.inviteUrl.split('/').at(-1), password })).status).toBe(204);
    const signedIn = await post('/api/v1/auth/sign-in', { email: school.adminEmail, password });
    expect(signedIn.status).toBe(200);
    const session = signedIn.cookies.find((c) => c.startsWith('__Host-custos_session='))!;
    const csrf = signedIn.cookies.find((c) => c.startsWith('__Host-custos_csrf='))!;
    for (const cookie of [session, csrf]) {
      expect(cookie).toMatch(/; Path=\/(;|$)/);
      expect(cookie).toMatch(/; Secure(;|$)/);
      expect(cookie).toMatch(/; SameSite=Strict(;|$)/);
      // The __Host- prefix forbids a Domain attribute: the cookie stays with this exact host.
      expect(cookie).not.toMatch(/Domain=/i);
    }
    expect(session).toMatch(/; HttpOnly(;|$)/);
    expect(csrf).not.toMatch(/HttpOnly/);
  });
});
