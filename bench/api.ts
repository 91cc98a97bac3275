import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { faker } from '@faker-js/faker';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { startServer } from '../src/http/server.ts';
import { loadConfig } from '../src/platform/config/config.ts';
import { createApiToken } from '../src/platform/identity/api-tokens.ts';
import { currentTotp } from '../src/platform/identity/mfa/index.ts';
import { inviteUser } from '../src/platform/identity/users.ts';
import { createOrganisation } from '../src/platform/organisations/organisations.ts';
import { createPlatform, type Platform } from '../src/platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta } from '../src/platform/tenancy/tenant-scope.ts';
import { startBareUsersServer, USERS_SQL, type UserRow } from './support/bare-users-server.ts';
import { createScratchDatabase } from './support/database.ts';
import { combine, measure, type LoadFigures } from './support/load.ts';
import { compare, type BenchResult } from './support/report.ts';

/**
 * GET /api/v1/users through the whole platform as the web app calls it — a real signed-in session
 * (password, then MFA), looked up and re-checked, one RLS transaction, decryption — against a bare
 * Fastify route running the same query as the owner. Target: at least half the bare throughput.
 * The same read with an API token is reported beside it.
 */
const USERS = 25;
const CONNECTIONS = 50;
const WARM_UP_SECONDS = 2;
const MEASURE_SECONDS = 8;
/** Both servers get the same number of database connections. */
const POOL_SIZE = 10;
const TARGET = 0.5;

export async function run({ databaseUrl }: { databaseUrl?: string }): Promise<BenchResult[]> {
  const scratch = databaseUrl ? await createScratchDatabase(databaseUrl) : undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const config = loadConfig({
      DATABASE_URL: scratch?.url,
      CUSTOS_DATA_DIR: dataDir,
      CUSTOS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      // The limiter is measured for cost, not allowed to answer 429 to the load generator.
      RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
    });
    const platform = await createPlatform(config, { poolSize: POOL_SIZE });
    cleanups.unshift(() => platform.close());
    const { tenantId, token, adminEmail, inviteUrl } = await seedOrganisation(platform);
    console.log(`seeded one organisation with ${USERS} users on ${scratch ? 'PostgreSQL (scratch database)' : 'PGlite'}`);

    const server = await startServer(platform);
    cleanups.unshift(() => server.close());
    const platformUrl = `${server.url}/api/v1/users`;
    const headers = { cookie: await signInThroughTheApi(server.url, adminEmail, inviteUrl) };
    const tokenHeaders = { authorization: `Bearer ${token}` };
    if (!isDeepStrictEqual(await fetchJson(platformUrl, tokenHeaders), await fetchJson(platformUrl, headers))) {
      throw new Error('the token and the session see different users; the comparison would be unfair');
    }

    const reference = await fetchJson(platformUrl, headers);
    const envelope = envelopeLike(reference, USERS);
    const cipher = await platform.inTenant({ tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('bench') }, async (scope) => scope.cipher);
    const owner = scratch ? new pg.Pool({ connectionString: scratch.url, max: POOL_SIZE }) : undefined;
    if (owner) cleanups.unshift(() => owner.end());
    const queryUsers = owner
      ? async (id: string) => (await owner.query<UserRow>(USERS_SQL, [id])).rows
      : async (id: string) => (await platform.db.owner.executeQuery(CompiledQuery.raw(USERS_SQL, [id]))).rows as UserRow[];
    const bare = await startBareUsersServer({ tenantId, cipher, queryUsers, envelope });
    cleanups.unshift(() => bare.close());
    const bareUrl = `${bare.url}/api/v1/users`;
    const bareBody = await fetchJson(bareUrl, {});
    if (!isDeepStrictEqual(bareBody, reference)) {
      throw new Error('the baseline does not answer the same JSON as the API; the comparison would be unfair');
    }

    const load = (url: string, seconds: number, extra: Record<string, string> = {}) =>
      measure({ url, headers: extra, connections: CONNECTIONS, seconds });
    console.log(`warming up both servers for ${WARM_UP_SECONDS} s each…`);
    await load(bareUrl, WARM_UP_SECONDS);
    await load(platformUrl, WARM_UP_SECONDS, headers);
    await load(platformUrl, WARM_UP_SECONDS, tokenHeaders);
    // Interleaved A-B-B-A, so a change in machine load during the run weighs on both alike.
    console.log(`measuring ${CONNECTIONS} connections for ${MEASURE_SECONDS} s each, in interleaved slices…`);
    const slice = MEASURE_SECONDS / 2;
    const baselineSlices: LoadFigures[] = [];
    const custosSlices: LoadFigures[] = [];
    const tokenSlices: LoadFigures[] = [];
    baselineSlices.push(await load(bareUrl, slice));
    custosSlices.push(await load(platformUrl, slice, headers));
    tokenSlices.push(await load(platformUrl, slice, tokenHeaders));
    tokenSlices.push(await load(platformUrl, slice, tokenHeaders));
    custosSlices.push(await load(platformUrl, slice, headers));
    baselineSlices.push(await load(bareUrl, slice));
    const baseline = combine(baselineSlices);
    const custos = combine(custosSlices);
    const withToken = combine(tokenSlices);
    describe('baseline (bare Fastify, owner, one query)', baseline);
    describe('custos   (GET /api/v1/users, session cookie + RLS transaction)', custos);
    describe('custos   (GET /api/v1/users, API token + RLS transaction)', withToken);
    if (baseline.failures > 0 || custos.failures > 0 || withToken.failures > 0) {
      throw new Error('some requests failed (non-2xx, errors or timeouts); the figures are not valid');
    }
    return [
      compare({
        bench: 'api',
        metric: 'req_per_s',
        value: custos.requestsPerSecond,
        baseline: baseline.requestsPerSecond,
        target: TARGET,
        ...(scratch ? {} : { database: 'pglite' as const }),
      }),
      compare({
        bench: 'api-token',
        metric: 'req_per_s',
        value: withToken.requestsPerSecond,
        baseline: baseline.requestsPerSecond,
        target: TARGET,
        ...(scratch ? {} : { database: 'pglite' as const }),
      }),
    ];
  } finally {
    // autocannon stops at its deadline with requests still in flight; let the servers answer them
    // before their pools close, or they log errors that are artefacts of stopping.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One school with an admin, further staff invited through the platform (audited), and an API token. */
async function seedOrganisation(platform: Platform): Promise<{ tenantId: string; token: string; adminEmail: string; inviteUrl: string }> {
  faker.seed(20261124);
  const by = { actor: SYSTEM_ACTOR, meta: systemMeta('bench') };
  const organisation = await createOrganisation(
    platform,
    { kind: 'school', name: `${faker.location.city()} Academy`, adminEmail: 'head.teacher@example.test', adminName: 'Head Teacher' },
    by,
  );
  const token = await platform.inTenant({ tenantId: organisation.id, ...by }, async (scope) => {
    for (let i = 1; i < USERS; i++) {
      const first = faker.person.firstName();
      const last = faker.person.lastName();
      await inviteUser(scope, { email: `${first}.${last}.${i}@example.test`.toLowerCase(), displayName: `${first} ${last}` }, platform.config.publicUrl);
    }
    return (await createApiToken(scope, { name: 'benchmark', scopes: ['read'] }, 'bench')).token;
  });
  return { tenantId: organisation.id, token, adminEmail: 'head.teacher@example.test', inviteUrl: organisation.inviteUrl };
}

/**
 * What the web app does: accept the invitation with a password, sign in, set up TOTP and confirm
 * it. Returns the Cookie header of the resulting MFA-verified session.
 */
async function signInThroughTheApi(baseUrl: string, email: string, inviteUrl: string): Promise<string> {
  const password = `Bench-${crypto.randomBytes(9).toString('base64url')}-7!`;
  let cookies = new Map<string, string>();
  const post = async (path: string, body?: object) => {
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie, 'x-csrf-token': cookies.get('custos_csrf')! } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`POST ${path} answered HTTP ${response.status}: ${await response.text()}`);
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      cookies.set(name, value);
    }
    return response.status === 204 ? undefined : response.json();
  };
  await post('/api/v1/auth/invitations/accept', { token: inviteUrl.split('/').at(-1), password });
  cookies = new Map();
  await post('/api/v1/auth/sign-in', { email, password });
  const { secret } = (await post('/api/v1/auth/mfa/totp/enrolment')) as { secret: string };
  await post('/api/v1/auth/mfa/totp/enrolment/confirm', { code: currentTotp(secret) });
  return `custos_session=${cookies.get('custos_session')}`;
}

async function fetchJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}: ${await response.text()}`);
  return response.json();
}

/**
 * The real API's list envelope (a bare array, or an object with the array under one key and
 * maybe other fields), so the baseline answers the same JSON without this file hard-coding it.
 */
function envelopeLike(reference: unknown, expectedCount: number): (users: unknown[]) => unknown {
  if (Array.isArray(reference)) return check(reference, (users) => users);
  if (reference && typeof reference === 'object') {
    const entries = Object.entries(reference);
    const listKey = entries.find(([, value]) => Array.isArray(value))?.[0];
    if (listKey) return check((reference as Record<string, unknown[]>)[listKey]!, (users) => ({ ...reference, [listKey]: users }));
  }
  throw new Error(`unexpected response from GET /api/v1/users: ${JSON.stringify(reference).slice(0, 200)}`);

  function check(list: unknown[], wrap: (users: unknown[]) => unknown) {
    if (list.length !== expectedCount) throw new Error(`GET /api/v1/users listed ${list.length} users, expected ${expectedCount}`);
    return wrap;
  }
}

function describe(label: string, figures: LoadFigures): void {
  console.log(
    `${label}: ${figures.requestsPerSecond} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (worst slice), ` +
      `${figures.total} requests in ${figures.seconds} s, ${figures.failures} failed`,
  );
}
