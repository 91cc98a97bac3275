import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportBatch, Phone } from '../model.ts';
import { fakeSchool } from '../testing/fake-school.ts';
import { startOneRosterServer, type OneRosterServer } from '../testing/oneroster-server.ts';
import { retryAfterMs } from './http.ts';
import { readOneRosterRest as readOneRosterRestStrict, type OneRosterRestOptions, type OneRosterRestSettings } from './oneroster-rest.ts';

const SCHOOL = fakeSchool({ pupils: 60, seed: 11 });

// The test servers listen on 127.0.0.1, which a production read refuses (see 'public addresses').
const readOneRosterRest = (settings: OneRosterRestSettings, options: OneRosterRestOptions = {}) =>
  readOneRosterRestStrict(settings, { allowPrivateAddresses: true, ...options });

function settingsFor(server: OneRosterServer, version: '1.1' | '1.2'): OneRosterRestSettings {
  return { baseUrl: server.url, tokenUrl: server.tokenUrl, clientId: server.clientId, clientSecret: server.clientSecret, version };
}

const byId = <T extends { misId: string }>(list: T[]) => [...list].sort((a, b) => (a.misId < b.misId ? -1 : a.misId > b.misId ? 1 : 0));
const phoneOf = (phones: Phone[] | undefined) => phones?.find((p) => p.type !== 'mobile')?.number ?? null;
const smsOf = (phones: Phone[] | undefined) => phones?.find((p) => p.type === 'mobile')?.number ?? null;

/** The CBDS relationship a link keeps through OneRoster: only a mother or father survives as such. */
function relationshipThrough(code: string | null | undefined): string {
  if (code === 'PAM' || code === 'PAF') return code;
  if (code === 'FOM' || code === 'FOF' || code === 'CAR') return 'guardian';
  return 'REL';
}

/**
 * What a OneRoster service carries of a batch. `source`: the batch the server was given (registration
 * group and year as the connector writes them); otherwise a batch the connector returned.
 */
function oneRosterView(b: ImportBatch, version: '1.1' | '1.2', source: boolean) {
  const registrationCode = new Map<string, string>();
  for (const g of b.groups) if (g.kind === 'registration') for (const id of g.pupilMisIds) if (!registrationCode.has(id)) registrationCode.set(id, g.code ?? g.name);
  const gender = (g: string | null | undefined) => (g == null ? null : version === '1.1' && (g === 'X' || g === 'U') ? null : g);
  return {
    school: { name: b.school?.name ?? null, laEstab: b.school?.laEstab ?? null },
    pupils: byId(b.pupils).map((p) => ({
      misId: p.misId,
      upn: p.upn ?? null,
      admissionNumber: p.admissionNumber ?? null,
      legalForename: p.legalForename,
      legalSurname: p.legalSurname,
      middleNames: p.middleNames || null,
      preferred: version === '1.2' ? [p.preferredForename || null, p.preferredSurname || null] : null,
      dateOfBirth: p.dateOfBirth ?? null,
      gender: gender(p.gender),
      email: p.emails?.[0]?.address ?? null,
      phone: phoneOf(p.phones),
      sms: smsOf(p.phones),
      yearGroup: p.yearGroup ?? null,
      registrationGroup: source ? (registrationCode.get(p.misId) ?? null) : (p.registrationGroup ?? null),
    })),
    staff: byId(b.staff).map((s) => ({
      misId: s.misId,
      forename: s.forename,
      surname: s.surname,
      dateOfBirth: s.dateOfBirth ?? null,
      gender: gender(s.gender),
      email: s.emails?.[0]?.address ?? null,
      phone: phoneOf(s.phones),
      sms: smsOf(s.phones),
    })),
    contacts: byId(b.contacts).map((c) => ({
      misId: c.misId,
      forename: c.forename,
      surname: c.surname,
      email: c.emails?.[0]?.address ?? null,
      phone: phoneOf(c.phones),
      sms: smsOf(c.phones),
      links: [...c.links]
        .map((l) => ({ pupilMisId: l.pupilMisId, relationship: source ? relationshipThrough(c.links[0]?.relationship) : l.relationship }))
        .sort((x, y) => x.pupilMisId.localeCompare(y.pupilMisId)),
    })),
    // Registration and class groups travel as classes; year groups are rebuilt from the pupils' grades.
    groups: byId(
      b.groups.filter((g) => g.kind !== 'house').map((g) => ({
      misId: g.kind === 'year' ? `year:${g.code}` : g.misId,
      kind: g.kind,
      name: g.name,
      code: g.code ?? null,
      pupils: [...g.pupilMisIds].sort(),
        staff: g.kind === 'year' ? [] : [...g.staffMisIds].sort(),
      })),
    ),
  };
}

function withoutPupil(batch: ImportBatch, misId: string): ImportBatch {
  const b = structuredClone(batch);
  b.pupils = b.pupils.filter((p) => p.misId !== misId);
  for (const g of b.groups) g.pupilMisIds = g.pupilMisIds.filter((id) => id !== misId);
  for (const c of b.contacts) c.links = c.links.filter((l) => l.pupilMisId !== misId);
  b.attendance = b.attendance.filter((a) => a.pupilMisId !== misId);
  return b;
}

function expectNoRecords(batch: ImportBatch) {
  expect(batch.pupils).toEqual([]);
  expect(batch.staff).toEqual([]);
  expect(batch.contacts).toEqual([]);
  expect(batch.groups).toEqual([]);
  expect(batch.removed).toEqual([]);
}

describe('readOneRosterRest', () => {
  for (const version of ['1.1', '1.2'] as const) {
    it(`round-trips a school through a OneRoster ${version} service, paging every collection`, async () => {
      const server = await startOneRosterServer(SCHOOL, { version });
      try {
        const batch = await readOneRosterRest(settingsFor(server, version), { pageSize: 25 });
        expect(batch.errors).toEqual([]);
        expect(batch.mode).toBe('full');
        expect(oneRosterView(batch, version, false)).toEqual(oneRosterView(SCHOOL, version, true));
        // Several pages of users, each with limit/offset; one token for the whole run.
        const prefix = version === '1.1' ? '/ims/oneroster/v1p1' : '/ims/oneroster/rostering/v1p2';
        const userPages = server.calls.filter((c) => c.startsWith(`GET ${prefix}/users?`));
        expect(userPages.length).toBeGreaterThanOrEqual(4);
        expect(userPages).toContain(`GET ${prefix}/users?limit=25&offset=50`);
        expect(server.calls.filter((c) => c.startsWith('POST /oauth/token'))).toHaveLength(1);
        // The ethnicity the model has is not in OneRoster: no pupil carries one.
        expect(batch.pupils.every((p) => p.ethnicity === undefined && p.fsmEligible === undefined)).toBe(true);
      } finally {
        await server.close();
      }
    });
  }

  it('accepts a base URL that already names the service root', async () => {
    const server = await startOneRosterServer(SCHOOL, { version: '1.1' });
    try {
      const batch = await readOneRosterRest({ ...settingsFor(server, '1.1'), baseUrl: `${server.serviceUrl}/` });
      expect(batch.errors).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
    } finally {
      await server.close();
    }
  });

  it('reads a delta: only what changed since, with tobedeleted users as removed', async () => {
    const server = await startOneRosterServer(SCHOOL, { version: '1.2', modifiedAt: '2024-01-01T00:00:00Z' });
    try {
      const changed = SCHOOL.pupils[0]!;
      const gone = SCHOOL.pupils[1]!;
      const next = withoutPupil(SCHOOL, gone.misId);
      next.pupils.find((p) => p.misId === changed.misId)!.legalSurname = 'Changed-Surname';
      next.staff.push({ misId: 'S99999', forename: 'New', surname: 'Teacher', emails: [{ address: 'new.teacher@example.test' }] });
      server.update(next, '2024-03-01T10:00:00Z');

      const batch = await readOneRosterRest(settingsFor(server, '1.2'), { since: '2024-02-01T00:00:00Z', pageSize: 40 });
      expect(batch.errors).toEqual([]);
      expect(batch.mode).toBe('delta');
      expect(batch.pupils.map((p) => p.misId)).toEqual([changed.misId]);
      expect(batch.pupils[0]!.legalSurname).toBe('Changed-Surname');
      // Demographics did not change: date of birth is left out (keep what we had), not null.
      expect(batch.pupils[0]!.dateOfBirth).toBeUndefined();
      expect(batch.staff.map((s) => s.misId)).toEqual(['S99999']);
      expect(batch.removed).toEqual([{ entity: 'pupils', misId: gone.misId }]);

      // Groups the removed pupil was in are listed, whole, without them; no other group is.
      const affected = SCHOOL.groups.filter((g) => (g.kind === 'registration' || g.kind === 'class') && g.pupilMisIds.includes(gone.misId));
      expect(batch.groups.map((g) => g.misId).sort()).toEqual(affected.map((g) => g.misId).sort());
      for (const g of batch.groups) {
        const before = SCHOOL.groups.find((x) => x.misId === g.misId)!;
        expect([...g.pupilMisIds].sort()).toEqual(before.pupilMisIds.filter((id) => id !== gone.misId).sort());
      }
      // The changed pupil's contacts come with their links (fetched on their own); nobody links the gone pupil.
      const contactsOfChanged = SCHOOL.contacts.filter((c) => c.links.some((l) => l.pupilMisId === changed.misId)).map((c) => c.misId);
      for (const id of contactsOfChanged) {
        const c = batch.contacts.find((x) => x.misId === id);
        expect(c?.links.map((l) => l.pupilMisId)).toContain(changed.misId);
      }
      expect(batch.contacts.flatMap((c) => c.links).some((l) => l.pupilMisId === gone.misId)).toBe(false);
      expect(server.calls.some((c) => c.includes(`filter=${encodeURIComponent("dateLastModified>'2024-02-01T00:00:00Z'").replace(/'/g, '%27')}`))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('gives wrong client credentials back as an error at the token endpoint, not a throw', async () => {
    const server = await startOneRosterServer(SCHOOL);
    try {
      const batch = await readOneRosterRest({ ...settingsFor(server, '1.1'), clientSecret: 'not-the-secret' });
      expect(batch.errors).toEqual([{ location: 'POST /oauth/token (HTTP 401)', message: 'the token endpoint refused the client id and secret' }]);
      expectNoRecords(batch);
      expect(JSON.stringify(batch.errors)).not.toContain('not-the-secret');
    } finally {
      await server.close();
    }
  });

  it('stops at a 500 in the middle of paging, naming the page, with no partial batch', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.failPage = { collection: 'users', page: 3, status: 500 };
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'), { pageSize: 25 });
      expect(batch.errors).toHaveLength(1);
      expect(batch.errors[0]!.location).toBe('GET /ims/oneroster/v1p1/users?offset=50 (HTTP 500)');
      expectNoRecords(batch);
      // Tried three times (two retries), then gave up.
      expect(server.calls.filter((c) => c === 'GET /ims/oneroster/v1p1/users?limit=25&offset=50')).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it('retries a 429, waiting as Retry-After says', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.rateLimit = { times: 1, retryAfterSeconds: 1 };
    try {
      const started = Date.now();
      const batch = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(batch.errors).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      const first = server.calls.find((c) => c.startsWith('GET '))!;
      expect(server.calls.filter((c) => c === first).length).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('retries a transient 503 on a page and carries on', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.failPage = { collection: 'enrollments', page: 1, status: 503, times: 1, retryAfterSeconds: 0 };
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(batch.errors).toEqual([]);
      expect(batch.groups.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('refreshes an expired token once and carries on', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.expireTokenAfterCalls = 2;
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'), { pageSize: 50 });
      expect(batch.errors).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
      expect(server.calls.filter((c) => c.startsWith('POST /oauth/token'))).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('gives a 401 that a fresh token does not cure as an error', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.respond = (call) => (call.path === 'users' ? { status: 401, body: '{}' } : undefined);
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(batch.errors).toEqual([{ location: 'GET /ims/oneroster/v1p1/users?offset=0 (HTTP 401)', message: 'the service did not accept the access token' }]);
      expect(server.calls.filter((c) => c.startsWith('POST /oauth/token'))).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('reads on without demographics when the client may not see them', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.respond = (call) => (call.path === 'demographics' ? { status: 403, body: '{}' } : undefined);
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(batch.errors).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
      expect(batch.pupils.every((p) => p.dateOfBirth === undefined && p.gender === undefined)).toBe(true);
      expect(batch.warnings.some((w) => w.message.startsWith('demographics are not available'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('reports a malformed record with its request and JSON path, never its value', async () => {
    const server = await startOneRosterServer(SCHOOL);
    server.faults.respond = (call) =>
      call.path === 'users'
        ? { status: 200, body: JSON.stringify({ users: [{ sourcedId: 'u1', status: 'active', dateLastModified: '2024-01-01T00:00:00Z', givenName: 'Private-Name', familyName: 42, role: 'student' }] }) }
        : undefined;
    try {
      const batch = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(batch.errors).toHaveLength(1);
      expect(batch.errors[0]!.location).toBe('GET /ims/oneroster/v1p1/users?offset=0: users[0].familyName');
      expect(JSON.stringify(batch)).not.toContain('Private-Name');
      expectNoRecords(batch);
    } finally {
      await server.close();
    }
  });

  it('public addresses: refuses a service on this machine or a private network unless allowed, before any request', async () => {
    const server = await startOneRosterServer(SCHOOL);
    try {
      const refused = 'the address is not on the public internet (check the URL)';
      const local = await readOneRosterRestStrict(settingsFor(server, '1.1'));
      expect(local.errors).toEqual([{ location: 'POST /oauth/token', message: refused }]);
      // By name: the check is in the lookup the connection makes.
      const named = { ...settingsFor(server, '1.1'), baseUrl: server.url.replace('127.0.0.1', 'localhost'), tokenUrl: server.tokenUrl.replace('127.0.0.1', 'localhost') };
      expect((await readOneRosterRestStrict(named)).errors.map((e) => e.message)).toEqual([refused]);
      expect(server.calls).toEqual([]);
      const internal = await readOneRosterRestStrict({ baseUrl: 'https://10.1.2.3', tokenUrl: 'https://[fd00::1]/token', clientId: 'c', clientSecret: 's', version: '1.2' });
      expect(internal.errors.map((e) => e.message)).toEqual([refused]);
      const allowed = await readOneRosterRest(settingsFor(server, '1.1'));
      expect(allowed.errors).toEqual([]);
      expect(allowed.pupils.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('rejects bad settings and a cancelled signal without a request', async () => {
    const bad = await readOneRosterRest({ baseUrl: 'ftp://x', tokenUrl: 'nope', clientId: '', clientSecret: 's', version: '1.1' }, { since: 'yesterday' });
    expect(bad.errors.map((e) => e.location)).toEqual(['settings.baseUrl', 'settings.tokenUrl', 'settings.clientId', 'options.since']);
    const plain = await readOneRosterRest({ baseUrl: 'http://sis.example.org', tokenUrl: 'https://sis.example.org/token', clientId: 'c', clientSecret: 's', version: '1.2' });
    expect(plain.errors).toEqual([{ location: 'settings.baseUrl', message: 'must be https (plain http only to this machine)' }]);
    const server = await startOneRosterServer(SCHOOL);
    try {
      const cancelled = await readOneRosterRest(settingsFor(server, '1.1'), { signal: AbortSignal.abort() });
      expect(cancelled.errors).toEqual([{ location: 'POST /oauth/token', message: 'the import was cancelled' }]);
      expect(server.calls).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('reads Retry-After as seconds or an HTTP date, capped at 30 s', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('900')).toBe(30_000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  describe('against malformed answers', () => {
    let server: OneRosterServer;
    let current: { target: string; status: number; body: string; headers: Record<string, string> } | undefined;
    beforeAll(async () => {
      server = await startOneRosterServer(fakeSchool({ pupils: 6, seed: 3 }));
      server.faults.respond = (call) => (current && current.target === call.path.split('/')[0] ? current : undefined);
      server.faults.respondToken = () => (current?.target === 'token' ? current : undefined);
    });
    afterAll(() => server.close());

    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const userLike = fc.record(
      {
        sourcedId: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
        status: fc.constantFrom('active', 'tobedeleted', 'inactive', 7),
        dateLastModified: fc.oneof(fc.constant('2024-01-01T00:00:00Z'), fc.string({ maxLength: 5 })),
        givenName: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)),
        familyName: fc.string({ maxLength: 8 }),
        role: maybe(fc.constantFrom('student', 'teacher', 'parent', 'alien')),
        roles: maybe(fc.array(fc.record({ role: fc.constantFrom('student', 'guardian'), roleType: fc.constantFrom('primary', 'secondary') }), { maxLength: 2 })),
        agents: maybe(fc.array(fc.record({ sourcedId: fc.string({ maxLength: 4 }) }), { maxLength: 3 })),
        grades: maybe(fc.array(fc.constantFrom('07', 'KG', 'XX', ''), { maxLength: 2 })),
        title: maybe(fc.string({ maxLength: 8 })),
        classType: maybe(fc.constantFrom('homeroom', 'scheduled', 'lab')),
        user: maybe(fc.record({ sourcedId: fc.string({ maxLength: 4 }) })),
        class: maybe(fc.record({ sourcedId: fc.string({ maxLength: 4 }) })),
        birthDate: maybe(fc.constantFrom('2012-02-29', '2013-02-29', 'x')),
        sex: maybe(fc.constantFrom('male', 'female', 'robot')),
        name: maybe(fc.string({ maxLength: 5 })),
        type: maybe(fc.constantFrom('school', 'district')),
      },
      { requiredKeys: [] },
    );
    const answer = fc.record({
      target: fc.constantFrom('token', 'orgs', 'users', 'demographics', 'classes', 'enrollments'),
      status: fc.constantFrom(200, 200, 200, 200, 400, 401, 404, 302),
      body: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.json({ maxDepth: 3 }),
        fc.tuple(fc.constantFrom('orgs', 'users', 'demographics', 'classes', 'enrollments', 'access_token'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ [k]: v })),
        fc.tuple(fc.constantFrom('orgs', 'users', 'demographics', 'classes', 'enrollments'), fc.array(userLike, { maxLength: 8 })).map(([k, v]) => JSON.stringify({ [k]: v })),
      ),
      total: maybe(fc.oneof(fc.nat({ max: 1_000_000 }).map(String), fc.string({ maxLength: 4 }))),
      link: fc.boolean(),
    });

    it('always resolves; every problem has a location and none carries the secret', async () => {
      await fc.assert(
        fc.asyncProperty(answer, async (a) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (a.total !== undefined) headers['x-total-count'] = a.total;
          if (a.link) headers.link = '<http://127.0.0.1:1/next>; rel="next"';
          current = { target: a.target, status: a.status, body: a.body, headers };
          const batch = await readOneRosterRest(settingsFor(server, '1.1'), { pageSize: 4 });
          for (const p of [...batch.errors, ...batch.warnings]) {
            expect(typeof p.location).toBe('string');
            expect(p.location.length).toBeGreaterThan(0);
            expect(p.message.length).toBeGreaterThan(0);
            expect(p.location + p.message).not.toContain(server.clientSecret);
          }
          if (batch.errors.length > 0) expectNoRecords(batch);
          expect(batch.errors.some((e) => e.message.startsWith('the OneRoster reader failed unexpectedly'))).toBe(false);
        }),
        { numRuns: 100 },
      );
      current = undefined;
    });
  });
});
