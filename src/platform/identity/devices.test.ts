import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { MAIL_JOB, type MailMessage } from '../mail/mail.ts';
import { SYSTEM_ACTOR, systemMeta } from '../tenancy/tenant-scope.ts';
import { describeDevice, NEW_DEVICE_SUBJECT, noteSignInDevice } from './devices.ts';
import { inviteUser } from './users.ts';

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

let platform: TestPlatform;
let org: TestOrganisation;
let other: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform, { kind: 'practice' });
  other = await createTestOrganisation(platform, { kind: 'school' });
});
afterAll(async () => platform?.close());

/** A sign-in's transaction: the user acting, from this address and browser. */
function signInFrom(userId: string, ip: string, userAgent: string, tenantId = org.id) {
  return platform.inTenant(
    { tenantId, actor: { type: 'user', id: userId }, meta: { ...systemMeta('test'), ip, userAgent } },
    (scope) => noteSignInDevice(platform, scope, userId),
  );
}

async function newUser(tenantId = org.id) {
  const email = fakePerson().email;
  const { userId } = await asSystem(platform, tenantId, (scope) => inviteUser(scope, { email }, 'http://x'));
  return { email, userId };
}

/** Every mail queued for this organisation, opened with its key (the queue holds them sealed). */
async function queuedMails(tenantId = org.id): Promise<MailMessage[]> {
  const rows = await sql<{ data: { tenantId: string; sealed: string } }>`
    select data from pgboss.job where name = ${MAIL_JOB} and data->>'tenantId' = ${tenantId} order by created_on, id`.execute(platform.db.owner);
  return asSystem(platform, tenantId, async (scope) => rows.rows.map((r) => JSON.parse(scope.cipher.open('mail.message', r.data.sealed)) as MailMessage));
}

const alerts = async (tenantId = org.id) => (await queuedMails(tenantId)).filter((m) => m.subject === NEW_DEVICE_SUBJECT);

describe('describing a device coarsely', () => {
  it('names the browser family and the system, never versions', () => {
    expect(describeDevice(CHROME_WINDOWS)).toBe('Chrome on Windows');
    expect(describeDevice(FIREFOX_LINUX)).toBe('Firefox on Linux');
    expect(describeDevice(SAFARI_IPHONE)).toBe('Safari on iOS');
    expect(describeDevice(`${CHROME_WINDOWS} Edg/126.0.0.0`)).toBe('Edge on Windows');
    expect(describeDevice('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36')).toBe('Chrome on Android');
    expect(describeDevice('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15')).toBe('Safari on macOS');
    expect(describeDevice(undefined)).toBe('an unknown browser on an unknown system');
    expect(describeDevice('curl/8.5.0')).toBe('an unknown browser on an unknown system');
  });
});

describe('new-device alerts at sign-in', () => {
  it('records the first ever sign-in without an alert, and a repeat from the same device and network without one either', async () => {
    const { userId } = await newUser();
    const before = await queuedMails();
    expect(await signInFrom(userId, '198.51.100.23', CHROME_WINDOWS)).toEqual({ newDevice: true });
    // Another address in the same /24, the same browser: the same device.
    expect(await signInFrom(userId, '198.51.100.200', CHROME_WINDOWS)).toEqual({ newDevice: false });
    expect(await signInFrom(userId, '198.51.100.23', CHROME_WINDOWS.replace('126.0.0.0', '127.0.1.2'))).toEqual({ newDevice: false });
    expect(await queuedMails()).toEqual(before);
    const rows = await platform.db.owner.selectFrom('known_devices').selectAll().where('user_id', '=', userId).execute();
    expect(rows).toHaveLength(1);
    expect(new Date(rows[0]!.last_seen_at).getTime()).toBeGreaterThanOrEqual(new Date(rows[0]!.first_seen_at).getTime());
  });

  it('queues one alert to that user for a new browser, and one for a new network', async () => {
    const { email, userId } = await newUser();
    const bystander = await newUser();
    await signInFrom(bystander.userId, '203.0.113.9', SAFARI_IPHONE);
    await signInFrom(userId, '198.51.100.23', CHROME_WINDOWS);
    expect(await alerts()).toEqual([]);

    expect(await signInFrom(userId, '198.51.100.23', FIREFOX_LINUX)).toEqual({ newDevice: true });
    const afterBrowser = await alerts();
    expect(afterBrowser).toHaveLength(1);
    expect(afterBrowser[0]!.to).toBe(email);
    const text = afterBrowser[0]!.text;
    expect(text).toContain(org.name);
    expect(text).toContain('Firefox on Linux');
    expect(text).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(text).toMatch(/Reset your password/);
    expect(text).toMatch(/administrator/);
    // Coarse: no address, no version, no full user agent.
    expect(text).not.toContain('198.51.100');
    expect(text).not.toContain('127.0');

    // Same browser as the first sign-in, from another network.
    expect(await signInFrom(userId, '192.0.2.77', CHROME_WINDOWS)).toEqual({ newDevice: true });
    const afterNetwork = await alerts();
    expect(afterNetwork).toHaveLength(2);
    expect(afterNetwork[1]!.to).toBe(email);
    expect(afterNetwork[1]!.text).toContain('Chrome on Windows');
    expect(afterNetwork.some((m) => m.to === bystander.email)).toBe(false);

    // Known now: no more alerts.
    expect(await signInFrom(userId, '192.0.2.78', CHROME_WINDOWS)).toEqual({ newDevice: false });
    expect(await alerts()).toHaveLength(2);
    expect(await platform.queue.pending(MAIL_JOB)).toBeGreaterThanOrEqual(2);
  });

  it('treats an IPv6 /64 as one network', async () => {
    const { userId } = await newUser();
    await signInFrom(userId, '2001:db8:1:2::10', FIREFOX_LINUX);
    expect(await signInFrom(userId, '2001:db8:1:2:ffff::1', FIREFOX_LINUX)).toEqual({ newDevice: false });
    expect(await signInFrom(userId, '2001:db8:1:3::10', FIREFOX_LINUX)).toEqual({ newDevice: true });
  });

  it('stores only a keyed hash: no address, browser or system in the table, and another tenant hashes differently', async () => {
    const { userId } = await newUser();
    await signInFrom(userId, '198.51.100.23', CHROME_WINDOWS);
    const elsewhere = await newUser(other.id);
    await signInFrom(elsewhere.userId, '198.51.100.23', CHROME_WINDOWS, other.id);
    const rows = await platform.db.owner.selectFrom('known_devices').selectAll().where('user_id', 'in', [userId, elsewhere.userId]).execute();
    expect(rows).toHaveLength(2);
    const stored = JSON.stringify(rows);
    for (const clear of ['198.51.100', 'Chrome', 'chrome', 'Windows', 'windows', 'Mozilla', '/24']) expect(stored).not.toContain(clear);
    for (const row of rows) expect(row.device_hash).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(rows[0]!.device_hash).not.toBe(rows[1]!.device_hash);
  });

  it('leaves neither the device nor the alert behind when the sign-in rolls back', async () => {
    const { userId } = await newUser();
    await signInFrom(userId, '198.51.100.23', CHROME_WINDOWS);
    const before = await alerts();
    await expect(
      platform.inTenant({ tenantId: org.id, actor: SYSTEM_ACTOR, meta: { ...systemMeta('test'), ip: '192.0.2.1', userAgent: FIREFOX_LINUX } }, async (scope) => {
        expect(await noteSignInDevice(platform, scope, userId)).toEqual({ newDevice: true });
        throw new Error('sign-in failed later');
      }),
    ).rejects.toThrow('sign-in failed later');
    expect(await alerts()).toEqual(before);
    expect(await platform.db.owner.selectFrom('known_devices').select('device_hash').where('user_id', '=', userId).execute()).toHaveLength(1);
  });
});
