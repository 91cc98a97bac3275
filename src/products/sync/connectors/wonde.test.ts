import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address, Email, ImportBatch, Phone } from '../model.ts';
import { fakeSchool } from '../testing/fake-school.ts';
import { startWondeServer, type WondeServer } from '../testing/wonde-server.ts';
import { readWonde as readWondeStrict, type WondeOptions, type WondeSettings } from './wonde.ts';

const SCHOOL = fakeSchool({ pupils: 60, seed: 23, attendanceDays: 3 });

// The test servers listen on 127.0.0.1, which a production read refuses (see 'public addresses').
const readWonde = (settings: WondeSettings, options: WondeOptions = {}) => readWondeStrict(settings, { allowPrivateAddresses: true, ...options });
const settingsFor = (server: WondeServer): WondeSettings => ({ baseUrl: server.url, token: server.token, schoolId: server.schoolId });
const byId = <T extends { misId: string }>(list: T[]) => [...list].sort((a, b) => (a.misId < b.misId ? -1 : a.misId > b.misId ? 1 : 0));

/** Wonde keeps one phone and one e-mail of each kind: home, work, mobile, and one other. */
function emailsView(emails: Email[] | undefined): string[] {
  const slots = new Map<string, string>();
  for (const e of emails ?? []) {
    const slot = e.type === 'home' || e.type === 'work' ? e.type : 'other';
    if (!slots.has(slot)) slots.set(slot, e.address);
  }
  return [...slots].map(([t, a]) => `${t}:${a}`).sort();
}
function phonesView(phones: Phone[] | undefined): string[] {
  const slots = new Map<string, string>();
  for (const p of phones ?? []) {
    const slot = p.type === 'home' || p.type === 'work' || p.type === 'mobile' ? p.type : 'other';
    if (!slots.has(slot)) slots.set(slot, p.number);
  }
  return [...slots].map(([t, n]) => `${t}:${n}`).sort();
}
const addressView = (a: Address | null | undefined) => (a ? { lines: a.lines, town: a.town ?? null, county: a.county ?? null, postcode: a.postcode ?? null } : null);

/**
 * What the Wonde API carries of a batch. `source`: the batch the server was given (a registration
 * group as its code, as the connector writes it); otherwise a batch the connector returned.
 */
function wondeView(b: ImportBatch, source: boolean) {
  const registrationCode = new Map<string, string>();
  for (const g of b.groups) if (g.kind === 'registration') for (const id of g.pupilMisIds) if (!registrationCode.has(id)) registrationCode.set(id, g.code ?? g.name);
  const preferred = (value: string | null | undefined, legal: string) => (value && value !== legal ? value : null);
  return {
    school: { name: b.school?.name ?? null, urn: b.school?.urn ?? null, laEstab: b.school?.laEstab ?? null, phase: b.school?.phase ?? null },
    pupils: byId(b.pupils).map((p) => ({
      misId: p.misId,
      upn: p.upn ?? null,
      admissionNumber: p.admissionNumber ?? null,
      legalForename: p.legalForename,
      legalSurname: p.legalSurname,
      middleNames: p.middleNames || null,
      preferredForename: preferred(p.preferredForename, p.legalForename),
      preferredSurname: preferred(p.preferredSurname, p.legalSurname),
      dateOfBirth: p.dateOfBirth ?? null,
      gender: p.gender ?? null,
      ethnicity: p.ethnicity ?? null,
      religion: p.religion ?? null,
      firstLanguage: p.firstLanguage ?? null,
      address: addressView(p.address),
      emails: emailsView(p.emails),
      phones: phonesView(p.phones),
      fsmEligible: p.fsmEligible ?? null,
      senStatus: p.senStatus ?? null,
      yearGroup: p.yearGroup ?? null,
      registrationGroup: source ? (registrationCode.get(p.misId) ?? p.registrationGroup ?? null) : (p.registrationGroup ?? null),
      house: p.house ?? null,
      enrolmentDate: p.enrolmentDate ?? null,
      leavingDate: p.leavingDate ?? null,
    })),
    contacts: byId(b.contacts).map((c) => ({
      misId: c.misId,
      title: c.title ?? null,
      forename: c.forename,
      surname: c.surname,
      emails: emailsView(c.emails),
      phones: phonesView(c.phones),
      address: addressView(c.address),
      links: [...c.links]
        .map((l) => ({
          pupilMisId: l.pupilMisId,
          relationship: l.relationship ?? null,
          parentalResponsibility: l.parentalResponsibility ?? null,
          priority: l.priority ?? null,
          livesWith: l.livesWith ?? null,
        }))
        .sort((x, y) => x.pupilMisId.localeCompare(y.pupilMisId)),
    })),
    staff: byId(b.staff).map((s) => ({
      misId: s.misId,
      title: s.title ?? null,
      forename: s.forename,
      surname: s.surname,
      dateOfBirth: s.dateOfBirth ?? null,
      gender: s.gender ?? null,
      jobTitle: s.jobTitle ?? null,
      emails: emailsView(s.emails),
      phones: phonesView(s.phones),
    })),
    groups: byId(b.groups).map((g) => ({ misId: g.misId, kind: g.kind, name: g.name, code: g.code ?? null, pupils: [...g.pupilMisIds].sort(), staff: [...g.staffMisIds].sort() })),
    attendance: b.attendance.map((a) => `${a.pupilMisId}|${a.date}|${a.session}|${a.code}`).sort(),
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
  expect(batch.attendance).toEqual([]);
  expect(batch.removed).toEqual([]);
}

describe('readWonde', () => {
  it('round-trips a school through the Wonde API, following meta.pagination.next', async () => {
    const server = await startWondeServer(SCHOOL, { maxPerPage: 10 });
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toEqual([]);
      expect(batch.mode).toBe('full');
      expect(wondeView(batch, false)).toEqual(wondeView(SCHOOL, true));
      // Pages of 10 (the server's cap): 60 students → pages 1…6, each call with the includes and the bearer token.
      const studentCalls = server.calls.filter((c) => c.startsWith(`GET /v1.0/schools/${server.schoolId}/students?`));
      expect(studentCalls).toHaveLength(6);
      expect(studentCalls.every((c) => c.includes('include=education_details%2Cextended_details'))).toBe(true);
      expect(studentCalls.some((c) => c.includes('page=6'))).toBe(true);
      expect(server.calls.some((c) => c.includes('/attendance/session?'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('reads a delta: updated_after on every list, deletions as removed', async () => {
    const server = await startWondeServer(SCHOOL, { modifiedAt: '2024-01-01T00:00:00Z' });
    try {
      const changed = SCHOOL.pupils[0]!;
      const gone = SCHOOL.pupils[1]!;
      const next = withoutPupil(SCHOOL, gone.misId);
      next.pupils.find((p) => p.misId === changed.misId)!.legalSurname = 'Changed-Surname';
      next.staff.push({ misId: 'S99999', forename: 'New', surname: 'Teacher', jobTitle: 'Teacher of Maths', emails: [{ address: 'new@example.test', type: 'work' }] });
      server.update(next, '2024-03-01T10:00:00Z');

      const batch = await readWonde(settingsFor(server), { updatedAfter: '2024-02-01T00:00:00Z' });
      expect(batch.errors).toEqual([]);
      expect(batch.mode).toBe('delta');
      expect(batch.pupils.map((p) => p.misId)).toEqual([changed.misId]);
      expect(batch.pupils[0]!.legalSurname).toBe('Changed-Surname');
      expect(batch.staff.map((s) => s.misId)).toEqual(['S99999']);
      expect(batch.removed).toEqual([{ entity: 'pupils', misId: gone.misId }]);
      expect(batch.attendance).toEqual([]);
      const affected = SCHOOL.groups.filter((g) => g.pupilMisIds.includes(gone.misId));
      expect(batch.groups.map((g) => g.misId).sort()).toEqual(affected.map((g) => g.misId).sort());
      // The changed pupil's contacts come whole (every link, siblings too), though they did not change.
      for (const c of SCHOOL.contacts.filter((x) => x.links.some((l) => l.pupilMisId === changed.misId))) {
        const got = batch.contacts.find((x) => x.misId === c.misId);
        expect(got?.links.map((l) => l.pupilMisId).sort()).toEqual(c.links.map((l) => l.pupilMisId).filter((id) => id !== gone.misId).sort());
      }
      expect(batch.contacts.flatMap((c) => c.links).some((l) => l.pupilMisId === gone.misId)).toBe(false);
      const lists = server.calls.filter((c) => /\/(students|contacts|employees|groups|classes|session|deletions)\?/.test(c));
      expect(lists.length).toBeGreaterThanOrEqual(7);
      expect(lists.every((c) => c.includes('updated_after=2024-02-01+00%3A00%3A00'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('gives a wrong token back as an error with its location, not a throw', async () => {
    const server = await startWondeServer(SCHOOL);
    try {
      const batch = await readWonde({ ...settingsFor(server), token: 'wrong-token-value' });
      expect(batch.errors).toEqual([{ location: `GET /v1.0/schools/${server.schoolId} (HTTP 401)`, message: 'Wonde did not accept the API token' }]);
      expectNoRecords(batch);
      expect(JSON.stringify(batch)).not.toContain('wrong-token-value');
    } finally {
      await server.close();
    }
  });

  it('stops at a 500 in the middle of paging, naming the page, with no partial batch', async () => {
    const server = await startWondeServer(SCHOOL, { maxPerPage: 10 });
    server.faults.failPage = { collection: 'students', page: 3, status: 500 };
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toHaveLength(1);
      expect(batch.errors[0]!.location).toBe(`GET /v1.0/schools/${server.schoolId}/students?page=3 (HTTP 500)`);
      expectNoRecords(batch);
      expect(server.calls.filter((c) => c.includes('/students?') && c.includes('page=3'))).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it('retries a 429, waiting as Retry-After says', async () => {
    const server = await startWondeServer(SCHOOL);
    server.faults.rateLimit = { times: 2, retryAfterSeconds: 0 };
    server.faults.failPage = { collection: 'groups', page: 1, status: 429, times: 1, retryAfterSeconds: 1 };
    try {
      const started = Date.now();
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(server.calls[0]).toBe(server.calls[1]);
    } finally {
      await server.close();
    }
  });

  it('gives a token revoked part way (an expired token: Wonde has no refresh) as an error', async () => {
    const server = await startWondeServer(SCHOOL);
    server.faults.revokeTokenAfterCalls = 3;
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toHaveLength(1);
      expect(batch.errors[0]!.location).toMatch(/ \(HTTP 401\)$/);
      expectNoRecords(batch);
    } finally {
      await server.close();
    }
  });

  it('never follows a next link to another host', async () => {
    const server = await startWondeServer(SCHOOL);
    server.faults.respond = (call) =>
      call.path === 'students' ? { status: 200, body: JSON.stringify({ data: [], meta: { pagination: { next: 'https://elsewhere.example/v1.0/schools/x/students?page=2', more: true } } }) } : undefined;
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toEqual([{ location: `GET /v1.0/schools/${server.schoolId}/students?page=1`, message: 'meta.pagination.next points to another host; not followed' }]);
    } finally {
      await server.close();
    }
  });

  it('reads on without session attendance when the application may not see it', async () => {
    const server = await startWondeServer(SCHOOL);
    server.faults.respond = (call) => (call.path === 'attendance/session' ? { status: 403, body: '{}' } : undefined);
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toEqual([]);
      expect(batch.attendance).toEqual([]);
      expect(batch.pupils).toHaveLength(SCHOOL.pupils.length);
      expect(batch.warnings.some((w) => w.message.startsWith('session attendance is not available'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('reports a malformed record with its request and JSON path, never its value', async () => {
    const server = await startWondeServer(SCHOOL);
    server.faults.respond = (call) =>
      call.path === 'employees' ? { status: 200, body: JSON.stringify({ data: [{ id: 'E1', forename: 'Private-Name', surname: ['x'] }], meta: { pagination: { next: null } } }) } : undefined;
    try {
      const batch = await readWonde(settingsFor(server));
      expect(batch.errors).toEqual([{ location: `GET /v1.0/schools/${server.schoolId}/employees?page=1: data[0].surname`, message: expect.any(String) }]);
      expect(JSON.stringify(batch)).not.toContain('Private-Name');
      expectNoRecords(batch);
    } finally {
      await server.close();
    }
  });

  it('public addresses: refuses a server on this machine or a private network unless allowed, before any request', async () => {
    const server = await startWondeServer(SCHOOL);
    try {
      const local = await readWondeStrict(settingsFor(server));
      expect(local.errors).toEqual([{ location: `GET /v1.0/schools/${server.schoolId}`, message: 'the address is not on the public internet (check the URL)' }]);
      // By name: the check is in the lookup the connection makes.
      const byName = await readWondeStrict({ ...settingsFor(server), baseUrl: server.url.replace('127.0.0.1', 'localhost') });
      expect(byName.errors.map((e) => e.message)).toEqual(['the address is not on the public internet (check the URL)']);
      expect(server.calls).toEqual([]);
      const metadata = await readWondeStrict({ baseUrl: 'https://169.254.169.254', token: 't', schoolId: 'A1' });
      expect(metadata.errors.map((e) => e.message)).toEqual(['the address is not on the public internet (check the URL)']);
      expect(metadata.pupils).toEqual([]);
      // The same settings with OUTBOUND_PRIVATE_ADDRESSES=allow read the school.
      const allowed = await readWonde(settingsFor(server));
      expect(allowed.errors).toEqual([]);
      expect(allowed.pupils.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('rejects bad settings and a cancelled signal without a request', async () => {
    const bad = await readWonde({ baseUrl: 'api.wonde.com', token: '', schoolId: '../x' }, { updatedAfter: 'last week' });
    expect(bad.errors.map((e) => e.location)).toEqual(['settings.baseUrl', 'settings.token', 'settings.schoolId', 'options.updatedAfter']);
    const plain = await readWonde({ baseUrl: 'http://api.wonde.com', token: 't', schoolId: 'A1' });
    expect(plain.errors).toEqual([{ location: 'settings.baseUrl', message: 'must be https (plain http only to this machine)' }]);
    const server = await startWondeServer(SCHOOL);
    try {
      const cancelled = await readWonde(settingsFor(server), { signal: AbortSignal.abort() });
      expect(cancelled.errors).toEqual([{ location: `GET /v1.0/schools/${server.schoolId}`, message: 'the import was cancelled' }]);
      expect(server.calls).toEqual([]);
    } finally {
      await server.close();
    }
  });

  describe('against malformed answers', () => {
    let server: WondeServer;
    let current: { target: string; status: number; body: string } | undefined;
    beforeAll(async () => {
      server = await startWondeServer(fakeSchool({ pupils: 6, seed: 5, attendanceDays: 1 }));
      server.faults.respond = (call) => (current && (current.target === call.path || (current.target === 'school' && call.path === '')) ? current : undefined);
    });
    afterAll(() => server.close());

    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const dateLike = fc.oneof(fc.constant(null), fc.record({ date: fc.constantFrom('2012-02-29 00:00:00.000000', '2013-02-30 00:00:00', 'x') }), fc.integer(), fc.string({ maxLength: 4 }));
    const itemLike = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 5 }), fc.integer({ min: -2, max: 99 }), fc.constant(null)),
        forename: fc.oneof(fc.string({ maxLength: 6 }), fc.constant(null)),
        surname: fc.string({ maxLength: 6 }),
        name: maybe(fc.string({ maxLength: 6 })),
        type: maybe(fc.constantFrom('YEAR', 'HOUSE', 'student', 'employee', 'OTHER')),
        gender: maybe(fc.constantFrom('MALE', 'FEMALE', 'ROBOT', '')),
        date_of_birth: maybe(dateLike),
        date: maybe(dateLike),
        session: maybe(fc.constantFrom('AM', 'pm', 'EVE')),
        student: maybe(fc.oneof(fc.string({ maxLength: 4 }), fc.record({ data: fc.record({ id: fc.string({ maxLength: 4 }) }) }))),
        attendance_code: maybe(fc.oneof(fc.string({ maxLength: 2 }), fc.record({ data: fc.record({ code: fc.constantFrom('/', 'I', '??') }) }))),
        education_details: maybe(fc.oneof(fc.constant({ data: [] }), fc.record({ data: fc.record({ upn: fc.string({ maxLength: 13 }), admission_date: dateLike }, { requiredKeys: [] }) }), fc.jsonValue({ maxDepth: 2 }))),
        extended_details: maybe(fc.record({ data: fc.record({ sen_status: fc.constantFrom('K', 'S', 'wobbly'), free_school_meals: fc.constantFrom(1, '0', 'maybe'), ethnicity: fc.constantFrom('White - British', 'Martian') }, { requiredKeys: [] }) })),
        contact_details: maybe(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ data: fc.record({ phones: fc.dictionary(fc.constantFrom('home', 'mobile', 'phone'), fc.jsonValue({ maxDepth: 1 })), addresses: fc.record({ home: fc.jsonValue({ maxDepth: 2 }) }) }, { requiredKeys: [] }) }))),
        contacts: maybe(fc.record({ data: fc.array(fc.record({ id: fc.string({ maxLength: 3 }), forename: fc.string({ maxLength: 3 }), surname: fc.string({ maxLength: 3 }), relationship: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 2 }) })),
        students: maybe(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ data: fc.array(fc.record({ id: fc.string({ maxLength: 3 }) }), { maxLength: 3 }) }))),
        year: maybe(fc.record({ data: fc.oneof(fc.constant(null), fc.record({ id: fc.string({ maxLength: 3 }), code: fc.constantFrom('7', 'Year 8', 'R', 'Q') })) })),
        restored_at: maybe(fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    );
    const pagination = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 2 }),
      fc.record({
        next: fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.constant('ftp://x/y'), fc.constant('/v1.0/schools/x/students?page=2'), fc.integer()),
        more: maybe(fc.boolean()),
      }),
    );
    const answer = fc.record({
      target: fc.constantFrom('school', 'students', 'contacts', 'employees', 'groups', 'classes', 'attendance/session'),
      status: fc.constantFrom(200, 200, 200, 200, 400, 401, 404, 422, 302),
      body: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.json({ maxDepth: 3 }),
        fc.record({ data: fc.jsonValue({ maxDepth: 2 }), meta: fc.record({ pagination }) }).map((v) => JSON.stringify(v)),
        fc.record({ data: fc.array(itemLike, { maxLength: 6 }), meta: fc.record({ pagination }) }).map((v) => JSON.stringify(v)),
        itemLike.map((v) => JSON.stringify({ data: v })),
      ),
    });

    it('always resolves; every problem has a location and none carries the token', async () => {
      await fc.assert(
        fc.asyncProperty(answer, async (a) => {
          current = { target: a.target, status: a.status, body: a.body };
          const batch = await readWonde(settingsFor(server));
          for (const p of [...batch.errors, ...batch.warnings]) {
            expect(typeof p.location).toBe('string');
            expect(p.location.length).toBeGreaterThan(0);
            expect(p.message.length).toBeGreaterThan(0);
            expect(p.location + p.message).not.toContain(server.token);
          }
          if (batch.errors.length > 0) expectNoRecords(batch);
          expect(batch.errors.some((e) => e.message.startsWith('the Wonde reader failed unexpectedly'))).toBe(false);
        }),
        { numRuns: 100 },
      );
      current = undefined;
    });
  });
});
