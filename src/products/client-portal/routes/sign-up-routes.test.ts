import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePerson } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { mailText, startSmtpServer } from '../../../../test/smtp.ts';
import { buildServer } from '../../../http/server.ts';
import { expectProblem } from '../../../http/testing.ts';

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let platform: TestPlatform;
let app: FastifyInstance;
const PASSWORD = 'Ledger-Balances-2026!';

beforeAll(async () => {
  smtp = await startSmtpServer();
  platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url, SMTP_FROM: 'Custos <no-reply@custos.test>' } });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
  await smtp?.close();
});

const signUp = (payload: unknown, remoteAddress = '192.0.2.10') => app.inject({ method: 'POST', url: '/api/v1/auth/practice-sign-up', payload: payload as object, remoteAddress });

describe('practice self-service sign-up', () => {
  it('creates a practice whose Administrator sets a password from the emailed link and signs in', async () => {
    const person = fakePerson();
    const response = await signUp({ practiceName: 'Brightwater Accountancy (test)', name: person.name, email: person.email });
    expect(response.statusCode).toBe(202);
    expect(response.body).toBe('');

    await expect.poll(() => smtp.received.some((m) => m.to.includes(person.email)), { timeout: 20_000 }).toBe(true);
    const mail = smtp.received.find((m) => m.to.includes(person.email))!;
    const link = /\/invite\/([A-Za-z0-9_-]+)/.exec(mailText(mail))![1]!;
    const organisation = await platform.db.owner.selectFrom('organisations').select(['id', 'kind', 'require_mfa']).where('name', '=', 'Brightwater Accountancy (test)').executeTakeFirstOrThrow();
    expect(organisation).toMatchObject({ kind: 'practice', require_mfa: false });

    const accepted = await app.inject({ method: 'POST', url: '/api/v1/auth/invitations/accept', payload: { token: link, password: PASSWORD } });
    expect(accepted.statusCode, accepted.body).toBe(204);
    const signedIn = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: person.email, password: PASSWORD } });
    expect(signedIn.json()).toEqual({ outcome: 'signed-in', mfa: 'not-required' });
    // The Administrator of a practice may add clients.
    const cookie = signedIn.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = signedIn.cookies.find((c) => c.name.endsWith('custos_csrf'))!.value;
    const client = await app.inject({ method: 'POST', url: '/api/v1/portal/clients', headers: { cookie, 'x-csrf-token': csrf }, payload: { kind: 'individual', name: 'First Client' } });
    expect(client.statusCode, client.body).toBe(201);
  });

  it('refuses bad input naming each field, creating nothing', async () => {
    const before = await platform.db.owner.selectFrom('organisations').select('id').execute();
    const problem = expectProblem(await signUp({ practiceName: 'A', name: '', email: 'nope' }), 400);
    expect(problem.errors!.map((e) => e.field).sort()).toEqual(['email', 'name', 'practiceName']);
    expect((await platform.db.owner.selectFrom('organisations').select('id').execute()).length).toBe(before.length);
  });

  it('is throttled: many sign-ups from one address are refused with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const person = fakePerson();
      statuses.push((await signUp({ practiceName: `Throttle Practice ${i} (test)`, name: person.name, email: person.email }, '192.0.2.99')).statusCode);
    }
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });
});
