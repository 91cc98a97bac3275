import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, type TestOrganisation } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { buildServer } from './server.ts';
import { tenantHandler } from './tenant-route.ts';
import { bearer, expectProblem } from './testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;
let emptyDist: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform);
  emptyDist = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-no-web-'));
  app = await buildServer(platform, { webDistDir: emptyDist });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
  fs.rmSync(emptyDist, { recursive: true, force: true });
});

describe('security headers', () => {
  it('sends the CSP, nosniff, no-referrer and a request id, and no HSTS over plain HTTP', async () => {
    for (const url of ['/api/health', '/api/v1/organisation', '/', '/api/v1/no-such-route']) {
      const response = await app.inject({ url });
      const csp = String(response.headers['content-security-policy']);
      expect(csp, url).toContain("default-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).toContain("base-uri 'none'");
      expect(csp, url).toContain("form-action 'self'");
      expect(csp, url).not.toContain('unsafe-inline');
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['referrer-policy'], url).toBe('no-referrer');
      expect(response.headers['x-request-id'], url).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers['strict-transport-security'], url).toBeUndefined();
    }
  });

  it('marks API responses no-store', async () => {
    const response = await app.inject({ url: '/api/v1/organisation', headers: bearer(org.token) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('request ids', () => {
  it('gives each request a fresh UUID and keeps a caller-supplied UUID', async () => {
    const a = await app.inject({ url: '/api/health' });
    const b = await app.inject({ url: '/api/health' });
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    const mine = '0b6f8a52-3c1e-4d8e-9f4a-2b7c9d1e5f60';
    const kept = await app.inject({ url: '/api/health', headers: { 'x-request-id': mine } });
    expect(kept.headers['x-request-id']).toBe(mine);
  });

  it('replaces a caller-supplied request id that is not a UUID', async () => {
    const response = await app.inject({ url: '/api/health', headers: { 'x-request-id': 'evil\nlog line' } });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('puts the request id in problem bodies', async () => {
    const response = await app.inject({ url: '/api/v1/organisation' });
    expect(expectProblem(response, 401).requestId).toBe(response.headers['x-request-id']);
  });
});

describe('problem+json', () => {
  it('answers an unknown API route with a 404 problem', async () => {
    const response = await app.inject({ url: '/api/v1/no-such-route?q=1' });
    const body = expectProblem(response, 404);
    expect(body.instance).toBe('/api/v1/no-such-route');
    expect(body.type).toBe('https://custos.invalid/problems/not-found');
  });

  it('answers an unknown method on a known path with a 404 problem', async () => {
    expectProblem(await app.inject({ method: 'PUT', url: '/api/v1/users', headers: bearer(org.token) }), 404);
  });

  it('answers malformed JSON with a 400 problem that does not quote the body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/users/invitations',
      headers: { ...bearer(org.token), 'content-type': 'application/json' },
      payload: '{"email": "leak-canary@example.test",',
    });
    const body = expectProblem(response, 400);
    expect(body.type).toBe('https://custos.invalid/problems/malformed-body');
    expect(response.body).not.toContain('leak-canary');
  });

  it('answers an unsupported content type with a 415 problem', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/users/invitations',
      headers: { ...bearer(org.token), 'content-type': 'application/xml' },
      payload: '<email>x@example.test</email>',
    });
    expectProblem(response, 415);
  });

  it('names the field and reason on a 400 without echoing the value', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/users/invitations',
      headers: bearer(org.token),
      payload: { email: 'not-an-email-canary' },
    });
    const body = expectProblem(response, 400);
    expect(body.errors).toEqual([{ field: 'email', reason: 'must be an email address' }]);
    expect(response.body).not.toContain('not-an-email-canary');
  });

  it('answers 401 with a problem and a Bearer challenge', async () => {
    const response = await app.inject({ url: '/api/v1/users' });
    expectProblem(response, 401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('turns an unexpected error into a generic 500 problem', async () => {
    const broken = await buildServer(platform, { webDistDir: emptyDist });
    broken.get('/api/v1/explode', async () => {
      throw new Error('secret internals: SELECT * FROM users');
    });
    const response = await broken.inject({ url: '/api/v1/explode' });
    const body = expectProblem(response, 500);
    expect(response.body).not.toContain('secret internals');
    expect(response.body).not.toContain('SELECT');
    expect(body.type).toBe('https://custos.invalid/problems/internal');
    await broken.close();
  });
});

describe('tenant transactions', () => {
  it('fail closed: a tenant handler on a route that forgot to authenticate answers 401 and opens no transaction', async () => {
    const careless = await buildServer(platform, { webDistDir: emptyDist });
    let opened = false;
    careless.get(
      '/api/v1/forgot-auth',
      tenantHandler(async () => {
        opened = true;
        return { leaked: true };
      }),
    );
    expectProblem(await careless.inject({ url: '/api/v1/forgot-auth', headers: bearer(org.token) }), 401);
    expect(opened).toBe(false);
    await careless.close();
  });
});

describe('the web app', () => {
  it('serves an accessible built-in page when no web build exists', async () => {
    for (const url of ['/', '/some/client/route']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('<html lang="en">');
      expect(response.body).toContain('<title>Custos</title>');
      expect(response.body).toMatch(/<main>[\s\S]*<h1>Custos<\/h1>/);
    }
    expectProblem(await app.inject({ url: '/missing.js' }), 404);
  });

  it('serves a web build with SPA fallback, but never for /api paths', async () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-web-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><html lang="en"><title>Custos app</title><div id="root"></div></html>');
    fs.writeFileSync(path.join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dist, '.env'), 'SECRET=1');
    const web = await buildServer(platform, { webDistDir: dist });
    try {
      for (const url of ['/', '/pupils/123']) {
        const response = await web.inject({ url });
        expect(response.statusCode, url).toBe(200);
        expect(response.body).toContain('Custos app');
        expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      }
      const asset = await web.inject({ url: '/assets/app-abc123.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toContain('immutable');
      expectProblem(await web.inject({ url: '/assets/missing.js' }), 404);
      expect((await web.inject({ url: '/.env' })).body).not.toContain('SECRET');
      expectProblem(await web.inject({ url: '/api/v1/nothing-here' }), 404);
      expect((await web.inject({ url: '/api/health' })).json()).toMatchObject({ status: 'ok' });
    } finally {
      await web.close();
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });
});

describe('health', () => {
  it('is public and pings the database', async () => {
    const response = await app.inject({ url: '/api/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'ok' });
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document stating each /api/v1 route\'s credentials', async () => {
    const response = await app.inject({ url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const spec = response.json();
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.components.securitySchemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie' });
    const { registeredRoutes } = await import('./server.ts');
    const v1 = registeredRoutes(app).filter((r) => r.url.startsWith('/api/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(10);
    for (const route of v1) {
      const specPath = route.url.replace(/:(\w+)/g, '{$1}');
      const operation = spec.paths[specPath]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url} is documented`).toBeDefined();
      // What the spec says must be what the route's hooks enforce: none, token or cookie, or cookie only.
      const expected = !route.authenticated ? undefined : route.session ? [{ sessionCookie: [] }] : [{ bearerAuth: [] }, { sessionCookie: [] }];
      expect(operation.security, `${route.method} ${route.url} declares its credentials`).toEqual(expected);
    }
    expect(spec.paths['/api/v1/users/invitations'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('email');
  });

  it('serves the Swagger UI as HTML whose scripts load from its own files', async () => {
    const page = await app.inject({ url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui-bundle.js');
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    const bundle = await app.inject({ url: '/api/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    const init = await app.inject({ url: '/api/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect((await app.inject({ url: '/api/docs' })).statusCode).toBeLessThan(400);
  });
});
