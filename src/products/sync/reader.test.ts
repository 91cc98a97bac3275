import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { createSyncReader, SharingNotGrantedError, type SyncReader } from './reader.ts';
import { excludeMember, grant, includeMember, listGrants, revoke, setSharingPaused, utcDay } from './sharing.ts';
import { importSharingSchool, type ImportedSchool } from './testing/sharing-fixture.ts';

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;
let ids: ImportedSchool;

const deps = () => ({ queue: platform.queue });
const inA = <T>(work: Parameters<typeof asSystem<T>>[2]) => asSystem(platform, a.id, work);
/** One reader call in its own transaction, as a product's request would make it. */
const read = <T>(tenantId: string, grantee: string, call: (reader: SyncReader) => Promise<T>) =>
  asSystem(platform, tenantId, (scope) => call(createSyncReader(scope, grantee)));
const grantA = (grantee: string, scopes: SyncGrantScope[]) => inA((scope) => grant(deps(), scope, { granteeKind: 'product', grantee, scopes }));

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  ids = await importSharingSchool(platform, a.id);
});

afterAll(async () => platform?.close());

const BASIC = ['forename', 'surname', 'legalForename', 'legalSurname', 'middleNames', 'yearGroup', 'registrationGroup', 'house'];
const CONTACT = ['address', 'emails', 'phones'];
const SENSITIVE = ['dateOfBirth', 'gender', 'upn', 'ethnicity', 'religion', 'firstLanguage', 'senStatus'];
const keysOf = (o: object) => Object.keys(o).sort();

describe('the sync reader', () => {
  it('returns exactly the fields each scope allows, and nothing without a scope for it', async () => {
    await grantA('cashless', ['pupils.basic']);
    const basic = await read(a.id, 'cashless', (r) => r.pupils());
    expect(basic).toHaveLength(3);
    for (const pupil of basic) expect(keysOf(pupil)).toEqual(['id', ...BASIC].sort());
    const anna = basic.find((p) => p.id === ids.pupils.P1)!;
    expect(anna).toEqual({
      id: ids.pupils.P1,
      forename: 'Anna',
      surname: 'Smith',
      legalForename: 'Annabel',
      legalSurname: 'Smith',
      middleNames: 'Rose',
      yearGroup: '5',
      registrationGroup: '5A',
      house: 'Brunel',
    });
    // Nothing else is reachable through this grant.
    const calls: ((r: SyncReader) => Promise<unknown>)[] = [(r) => r.contacts(), (r) => r.staff(), (r) => r.groups(), (r) => r.attendance({ from: '2024-09-01', to: '2024-09-30' })];
    for (const call of calls) {
      await expect(read(a.id, 'cashless', call)).rejects.toBeInstanceOf(SharingNotGrantedError);
    }
    // Filtering by group needs the groups scope.
    await expect(read(a.id, 'cashless', (r) => r.pupils({ group: '5A' }))).rejects.toThrow(/groups/);

    await grantA('messaging', ['pupils.contact']);
    const contact = await read(a.id, 'messaging', (r) => r.pupils());
    expect(keysOf(contact.find((p) => p.id === ids.pupils.P1)!)).toEqual(['id', ...CONTACT].sort());
    expect(contact.find((p) => p.id === ids.pupils.P1)).toMatchObject({ emails: [{ address: 'annabel.pupil@example.test' }], address: { postcode: 'ZZ1 1ZZ' } });
    // Without pupils.basic a name search would tell names: refused.
    await expect(read(a.id, 'messaging', (r) => r.pupils({ search: 'smith' }))).rejects.toThrow(/pupils\.basic/);

    await grantA('looked-after', ['pupils.sensitive', 'pupils.photo', 'fsm']);
    const sensitive = await read(a.id, 'looked-after', (r) => r.pupils());
    const annaSensitive = sensitive.find((p) => p.id === ids.pupils.P1)!;
    expect(keysOf(annaSensitive)).toEqual(['id', ...SENSITIVE, 'photoBlobId', 'fsmEligible', 'fsmPeriods'].sort());
    expect(annaSensitive).toMatchObject({ dateOfBirth: '2014-03-01', ethnicity: 'WBRI', senStatus: 'K', upn: 'A123456789012', fsmEligible: true, photoBlobId: expect.any(String) });
    expect(sensitive.find((p) => p.id === ids.pupils.P3)).toMatchObject({ photoBlobId: null, fsmEligible: null, ethnicity: null });
  });

  it('gives contacts with their links and the no-contact flag, staff without DOB, groups and attendance under their scopes', async () => {
    await grantA('client-portal', ['contacts', 'staff', 'groups', 'attendance']);
    const contacts = await read(a.id, 'client-portal', (r) => r.contacts());
    expect(contacts.map((c) => c.surname).sort()).toEqual(['Jones', 'Smith']);
    const tom = contacts.find((c) => c.id === ids.contacts.C2)!;
    expect(tom.links).toEqual([{ pupilId: ids.pupils.P2, relationship: 'DAD', parentalResponsibility: true, priority: 2, livesWith: false, noContact: true }]);
    expect(contacts.find((c) => c.id === ids.contacts.C1)!.links.map((l) => l.noContact)).toEqual([false, false]);
    expect((await read(a.id, 'client-portal', (r) => r.contacts(ids.pupils.P3))).map((c) => c.id)).toEqual([ids.contacts.C1]);

    const staff = await read(a.id, 'client-portal', (r) => r.staff());
    expect(staff.map((s) => s.surname)).toEqual(['Office', 'Teacher']);
    expect(keysOf(staff[1]!)).toEqual(['emails', 'forename', 'id', 'jobTitle', 'phones', 'photoBlobId', 'surname', 'title']);

    const groups = await read(a.id, 'client-portal', (r) => r.groups());
    expect(groups.map((g) => g.name)).toEqual(['Year 5', '3B', '5A']);
    expect(groups.find((g) => g.name === '5A')).toMatchObject({ pupilIds: [ids.pupils.P1, ids.pupils.P2].sort(), staffIds: [ids.staff.S1] });

    const marks = await read(a.id, 'client-portal', (r) => r.attendance({ from: '2024-09-02', to: '2024-09-02' }));
    const am = [ids.pupils.P1, ids.pupils.P2].sort();
    expect(marks).toEqual([
      { pupilId: am[0], date: '2024-09-02', session: 'AM', code: '/' },
      { pupilId: am[1], date: '2024-09-02', session: 'AM', code: '/' },
      { pupilId: ids.pupils.P1, date: '2024-09-02', session: 'PM', code: 'I' },
    ]);
    await expect(read(a.id, 'client-portal', (r) => r.attendance({ from: '2024-09-30', to: '2024-09-01' }))).rejects.toMatchObject({ status: 400 });
    // The grant has no pupil scope: no pupil list.
    await expect(read(a.id, 'client-portal', (r) => r.pupils())).rejects.toBeInstanceOf(SharingNotGrantedError);
  });

  it('finds pupils by exact name (the name they go by) through the blind indexes, ignoring case and spaces', async () => {
    const search = (text: string) => read(a.id, 'cashless', (r) => r.pupils({ search: text }));
    expect((await search('smith')).map((p) => p.id).sort()).toEqual([ids.pupils.P1, ids.pupils.P3].sort());
    expect((await search('  ANNA ')).map((p) => p.id)).toEqual([ids.pupils.P1]);
    expect((await search('anna  smith')).map((p) => p.id)).toEqual([ids.pupils.P1]);
    expect((await search('cara')).map((p) => p.id)).toEqual([ids.pupils.P3]);
    expect(await search('smi')).toEqual([]);
    expect(await search('ann')).toEqual([]);
    // UPN search only with pupils.sensitive.
    expect(await search('A123456789012')).toEqual([]);
  });

  it('refuses the next read once the grant is revoked, even on a reader made before', async () => {
    const [messaging] = (await inA((scope) => listGrants(scope))).filter((g) => g.grantee === 'messaging');
    await inA(async (scope) => {
      const reader = createSyncReader(scope, 'messaging');
      expect(await reader.pupils()).toHaveLength(3);
      await revoke(deps(), scope, messaging!.id);
      await expect(reader.pupils()).rejects.toBeInstanceOf(SharingNotGrantedError);
    });
    await expect(read(a.id, 'messaging', (r) => r.freshness())).rejects.toMatchObject({ status: 403, type: expect.stringMatching(/sharing-not-granted$/) });
    // Granting again opens it again.
    await grantA('messaging', ['pupils.contact']);
    expect(await read(a.id, 'messaging', (r) => r.pupils())).toHaveLength(3);
  });

  it('refuses every grantee while sharing is paused, and serves them again once resumed', async () => {
    await inA((scope) => setSharingPaused(deps(), scope, true));
    for (const grantee of ['cashless', 'messaging', 'looked-after']) {
      await expect(read(a.id, grantee, (r) => r.pupils())).rejects.toThrow(/paused/);
    }
    await expect(read(a.id, 'client-portal', (r) => r.freshness())).rejects.toBeInstanceOf(SharingNotGrantedError);
    await inA((scope) => setSharingPaused(deps(), scope, false));
    expect(await read(a.id, 'cashless', (r) => r.pupils())).toHaveLength(3);
    expect(Object.keys(await read(a.id, 'client-portal', (r) => r.freshness()))).toEqual(expect.arrayContaining(['pupils', 'contacts', 'staff', 'groups', 'attendance']));
  });

  it('drops an excluded pupil or staff member everywhere they would appear, and brings them back when included', async () => {
    const [portal] = (await inA((scope) => listGrants(scope))).filter((g) => g.grantee === 'client-portal');
    await grantA('client-portal', ['contacts', 'staff', 'groups', 'attendance', 'pupils.basic']);
    const [current] = (await inA((scope) => listGrants(scope))).filter((g) => g.grantee === 'client-portal');
    expect(current!.id).not.toBe(portal!.id);
    await inA(async (scope) => {
      await excludeMember(deps(), scope, current!.id, { memberKind: 'pupil', memberId: ids.pupils.P2 });
      await excludeMember(deps(), scope, current!.id, { memberKind: 'staff', memberId: ids.staff.S1 });
    });
    const view = await read(a.id, 'client-portal', async (r) => ({
      pupils: (await r.pupils()).map((p) => p.id),
      search: (await r.pupils({ search: 'jones' })).map((p) => p.id),
      contacts: (await r.contacts()).map((c) => c.id),
      contactsOfP2: await r.contacts(ids.pupils.P2),
      staff: (await r.staff()).map((s) => s.id),
      groups: await r.groups(),
      attendance: await r.attendance({ from: '2024-09-01', to: '2024-09-30' }),
    }));
    expect(view.pupils.sort()).toEqual([ids.pupils.P1, ids.pupils.P3].sort());
    expect(view.search).toEqual([]);
    // Tom Jones is linked only to the excluded pupil: he is not shown at all.
    expect(view.contacts).toEqual([ids.contacts.C1]);
    expect(view.contactsOfP2).toEqual([]);
    expect(view.staff).toEqual([ids.staff.S2]);
    expect(view.groups.find((g) => g.name === '5A')).toMatchObject({ pupilIds: [ids.pupils.P1], staffIds: [] });
    expect(view.attendance.map((m) => m.pupilId)).not.toContain(ids.pupils.P2);
    expect(view.attendance).toHaveLength(3);
    // Another grantee is not affected by this grant's exclusions.
    expect((await read(a.id, 'cashless', (r) => r.pupils())).map((p) => p.id)).toContain(ids.pupils.P2);

    await inA((scope) => includeMember(deps(), scope, current!.id, { memberKind: 'pupil', memberId: ids.pupils.P2 }));
    expect((await read(a.id, 'client-portal', (r) => r.pupils())).map((p) => p.id)).toContain(ids.pupils.P2);
    expect((await read(a.id, 'client-portal', (r) => r.staff())).map((s) => s.id)).toEqual([ids.staff.S2]);
  });

  it('counts one read per call per grantee and day, refused calls not included', async () => {
    const readsToday = async (grantee: string) =>
      (await inA((scope) => listGrants(scope))).find((g) => g.grantee === grantee)!.reads.find((r) => r.day === utcDay())?.reads ?? 0;
    await grantA('cashless', ['pupils.basic', 'groups']);
    const before = await readsToday('cashless');
    await read(a.id, 'cashless', async (r) => {
      await r.pupils();
      await r.groups();
      await r.freshness();
    });
    expect(await readsToday('cashless')).toBe(before + 3);
    await expect(read(a.id, 'cashless', (r) => r.staff())).rejects.toBeInstanceOf(SharingNotGrantedError);
    expect(await readsToday('cashless')).toBe(before + 3);
    const rows = await inA((scope) => scope.trx.selectFrom('sync_read_counts').select(['grantee', 'reads']).where('grantee', '=', 'cashless').execute());
    expect(rows).toEqual([{ grantee: 'cashless', reads: before + 3 }]);
  });

  it('opens a photo only under the grant as it is at that moment: scope, exclusions, revocation', async () => {
    const app = 'app_photo_test';
    const grantPhoto = (scopes: SyncGrantScope[]) => inA((scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: app, scopes }));
    const photoOf = (id: string) =>
      read(a.id, app, async (r) => {
        const photo = await r.photo(platform.blobs, { kind: 'pupil', id });
        if (!photo) return null;
        const parts: Buffer[] = [];
        for await (const part of photo.content) parts.push(part as Buffer);
        return { contentType: photo.contentType, sizeBytes: photo.sizeBytes, text: Buffer.concat(parts).toString('utf8') };
      });

    await grantPhoto(['pupils.basic']);
    await expect(photoOf(ids.pupils.P1)).rejects.toBeInstanceOf(SharingNotGrantedError);
    const { id: grantId } = await grantPhoto(['pupils.basic', 'pupils.photo']);
    expect(await photoOf(ids.pupils.P1)).toEqual({ contentType: 'image/jpeg', sizeBytes: 41, text: 'not really a jpeg, but bytes all the same' });
    // No photo, an unknown id, not an id, and another school's pupil: nothing.
    expect(await photoOf(ids.pupils.P3)).toBeNull();
    expect(await photoOf('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await photoOf('../P1')).toBeNull();
    await expect(read(b.id, app, (r) => r.photo(platform.blobs, { kind: 'pupil', id: ids.pupils.P1 }))).rejects.toBeInstanceOf(SharingNotGrantedError);

    await inA((scope) => excludeMember(deps(), scope, grantId, { memberKind: 'pupil', memberId: ids.pupils.P1 }));
    expect(await photoOf(ids.pupils.P1)).toBeNull();
    await inA((scope) => includeMember(deps(), scope, grantId, { memberKind: 'pupil', memberId: ids.pupils.P1 }));
    expect(await photoOf(ids.pupils.P1)).not.toBeNull();
    await inA((scope) => revoke(deps(), scope, grantId));
    await expect(photoOf(ids.pupils.P1)).rejects.toBeInstanceOf(SharingNotGrantedError);
  });

  it("shows another school's reader nothing of this school", async () => {
    // B has no grant: refused, as any grantee without one.
    await expect(read(b.id, 'cashless', (r) => r.pupils())).rejects.toBeInstanceOf(SharingNotGrantedError);
    // With its own grant, B's reader sees B's (empty) data, never A's.
    await asSystem(platform, b.id, (scope) => grant(deps(), scope, { granteeKind: 'product', grantee: 'cashless', scopes: ['pupils.basic', 'contacts', 'staff', 'groups', 'attendance'] }));
    const seen = await read(b.id, 'cashless', async (r) => ({
      pupils: await r.pupils(),
      search: await r.pupils({ search: 'smith' }),
      contacts: await r.contacts(),
      ofAPupil: await r.contacts(ids.pupils.P1),
      staff: await r.staff(),
      groups: await r.groups(),
      attendance: await r.attendance({ from: '2024-09-01', to: '2024-09-30' }),
      freshness: await r.freshness(),
    }));
    expect(seen).toEqual({ pupils: [], search: [], contacts: [], ofAPupil: [], staff: [], groups: [], attendance: [], freshness: {} });
    // A's grants, exclusions and counts are invisible from B.
    expect((await asSystem(platform, b.id, (scope) => listGrants(scope))).map((g) => g.grantee)).toEqual(['cashless']);
  });
});
