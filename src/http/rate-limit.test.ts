import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { buildServer } from './server.ts';
import { expectProblem } from './testing.ts';

const LIMIT = 3;
let platform: TestPlatform;
let app: FastifyInstance;

beforeAll(async () => {
  platform = await startTestPlatform({ env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('rate limit', () => {
  it('answers 429 problem+json once an IP passes the per-minute limit', async () => {
    const from = { remoteAddress: '192.0.2.10' };
    for (let i = 0; i < LIMIT; i++) expect((await app.inject({ url: '/api/health', ...from })).statusCode).toBe(200);
    const limited = await app.inject({ url: '/api/health', ...from });
    const problem = expectProblem(limited, 429);
    expect(problem.type).toBe('https://custos.invalid/problems/rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('counts unauthenticated, unknown-route and API-token attempts alike', async () => {
    const from = { remoteAddress: '192.0.2.11' };
    await app.inject({ url: '/api/v1/users', headers: { authorization: 'Bearer cst_guess1' }, ...from });
    await app.inject({ url: '/api/v1/users', headers: { authorization: 'Bearer cst_guess2' }, ...from });
    await app.inject({ url: '/api/v1/no-such-route', ...from });
    expectProblem(await app.inject({ url: '/api/v1/users', headers: { authorization: 'Bearer cst_guess3' }, ...from }), 429);
    expectProblem(await app.inject({ url: '/api/v1/another-missing-route', ...from }), 429);
  });

  it('keys on the connecting address: X-Forwarded-For cannot dodge it, another client is unaffected', async () => {
    const from = { remoteAddress: '192.0.2.12' };
    for (let i = 0; i < LIMIT; i++) await app.inject({ url: '/api/health', ...from });
    expectProblem(await app.inject({ url: '/api/health', headers: { 'x-forwarded-for': '203.0.113.77' }, ...from }), 429);
    expect((await app.inject({ url: '/api/health', remoteAddress: '192.0.2.13' })).statusCode).toBe(200);
  });
});
