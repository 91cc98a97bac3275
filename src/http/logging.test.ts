import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, fakePerson, type TestOrganisation } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { createLogger } from '../platform/logging/logger.ts';
import { buildServer } from './server.ts';
import { bearer } from './testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;
const lines: string[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform);
  const destination = { write: (chunk: string) => void lines.push(chunk) };
  app = await buildServer(platform, { logger: createLogger({ level: 'trace', destination }), webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('request logging', () => {
  it('logs requests as JSON with path and status, but no body, query, token, cookie or password', async () => {
    const person = fakePerson();
    const canaries = {
      email: person.email,
      name: person.name,
      password: 'Canary-Pa55word-7f3e',
      validToken: org.token,
      unknownToken: 'cst_CanaryUnknownToken0123456789abcdef',
      cookie: 'sid=CanaryCookieValue9876',
      query: 'CanaryQueryTerm4242',
    };
    const admin = bearer(org.token);
    const post = (payload: unknown, headers: Record<string, string> = admin) =>
      app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers, payload: payload as object });

    expect((await post({ email: canaries.email, displayName: canaries.name })).statusCode).toBe(201);
    expect((await post({ email: canaries.email })).statusCode).toBe(409);
    expect((await post({ email: canaries.email, password: canaries.password })).statusCode).toBe(400);
    expect((await post({ email: `${canaries.query}-not-an-email`, displayName: canaries.name })).statusCode).toBe(400);
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/users/invitations',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: `{"email":"${canaries.email}","password":"${canaries.password}"`,
    });
    expect(malformed.statusCode).toBe(400);
    expect((await app.inject({ url: `/api/v1/audit?actor=${encodeURIComponent(canaries.email)}&action=${canaries.query}`, headers: { ...admin, cookie: canaries.cookie } })).statusCode).toBe(200);
    expect((await app.inject({ url: `/api/v1/users?email=${encodeURIComponent(canaries.email)}`, headers: admin })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(canaries.unknownToken) })).statusCode).toBe(401);
    expect((await app.inject({ url: `/nowhere.js?q=${canaries.query}`, headers: { cookie: canaries.cookie } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/api/v1/nowhere?token=${canaries.unknownToken}`, payload: { password: canaries.password } })).statusCode).toBe(404);

    const output = lines.join('');
    // Something was logged, as structured JSON, with the request path.
    expect(lines.length).toBeGreaterThan(10);
    const records = output.trim().split('\n').map((line) => JSON.parse(line));
    expect(records.some((r) => r.msg === 'incoming request' && r.req?.path === '/api/v1/users/invitations')).toBe(true);
    expect(records.some((r) => r.msg === 'request completed' && r.res?.statusCode === 201)).toBe(true);
    expect(records.some((r) => r.msg === 'request refused' && r.status === 400)).toBe(true);
    for (const [what, canary] of Object.entries(canaries)) {
      expect(output, `${what} must not reach the log`).not.toContain(canary);
    }
    expect(output).not.toContain('cst_');
    expect(output.toLowerCase()).not.toContain('bearer');
  });

  it('logs an unexpected error with its stack, at error level', async () => {
    const broken = await buildServer(platform, { logger: createLogger({ level: 'info', destination: { write: (chunk: string) => void lines.push(chunk) } }), webDistDir: '/nonexistent' });
    broken.get('/api/v1/explode', async () => {
      throw new Error('kaboom for the log');
    });
    lines.length = 0;
    expect((await broken.inject({ url: '/api/v1/explode' })).statusCode).toBe(500);
    const records = lines.map((line) => JSON.parse(line));
    const failure = records.find((r) => r.msg === 'request failed');
    expect(failure).toMatchObject({ level: 50, err: { message: 'kaboom for the log' } });
    expect(failure.err.stack).toContain('logging.test.ts');
    await broken.close();
  });
});
