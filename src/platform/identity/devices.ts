import { sql } from 'kysely';
import { enqueueMail, type MailMessage } from '../mail/mail.ts';
import type { Platform } from '../platform.ts';
import type { TenantScope } from '../tenancy/tenant-scope.ts';
import { ipThrottleGroup } from './ip.ts';
import { organisationName } from '../organisations/name.ts';

/**
 * New-device alerts. A "device" is deliberately coarse: the browser family and operating system
 * from the user agent, plus the network the request came from (an IPv4 /24, an IPv6 /64). That is
 * enough to notice "someone signed in from somewhere new" without tracking anyone: the database
 * keeps only a keyed hash of it (known_devices.device_hash), never the address or the user agent.
 */

const BROWSERS: readonly [RegExp, string][] = [
  // Order matters: Edge, Opera and Samsung Internet also say "Chrome", Chrome also says "Safari".
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|Chromium|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS: readonly [RegExp, string][] = [
  // iOS user agents say "like Mac OS X", Android ones say "Linux": check those first.
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\b(?:Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

const first = (rules: readonly [RegExp, string][], text: string) => rules.find(([pattern]) => pattern.test(text))?.[1];

/** "Chrome on Windows": browser family and operating system only, never versions or models. */
export function describeDevice(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? '').slice(0, 1000);
  return `${first(BROWSERS, ua) ?? 'an unknown browser'} on ${first(SYSTEMS, ua) ?? 'an unknown system'}`;
}

/** The network a request came from: an IPv4 address's /24, an IPv6 address's /64. */
export function deviceNetwork(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  const group = ipThrottleGroup(ip);
  const v4 = /^v4:(\d+\.\d+\.\d+)\.\d+$/.exec(group);
  return v4 ? `v4:${v4[1]}.0/24` : group;
}

/**
 * Called by signIn inside the signed-in user's tenant transaction. Records the coarse device (as
 * a keyed hash) and, when it is new for a user who already had a known device, queues an alert
 * email to that user in the same transaction. The very first sign-in records without an alert.
 */
export async function noteSignInDevice(platform: Platform, scope: TenantScope, userId: string): Promise<{ newDevice: boolean }> {
  const description = describeDevice(scope.meta.userAgent);
  const deviceHash = scope.cipher.blindIndex('known_devices.device', `${description}\n${deviceNetwork(scope.meta.ip)}`);
  const now = new Date();
  // Insert-or-nothing tells a new device from a known one without a race: a concurrent sign-in
  // from the same device waits on the primary key and then finds it there.
  const inserted = await scope.trx
    .insertInto('known_devices')
    .values({ tenant_id: scope.tenantId, user_id: userId, device_hash: deviceHash, first_seen_at: now, last_seen_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'device_hash']).doNothing())
    .returning('device_hash')
    .executeTakeFirst();
  if (!inserted) {
    await scope.trx
      .updateTable('known_devices')
      .set({ last_seen_at: now })
      .where('user_id', '=', userId)
      .where('device_hash', '=', deviceHash)
      .execute();
    return { newDevice: false };
  }
  const others = await scope.trx
    .selectFrom('known_devices')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', userId)
    .where('device_hash', '!=', deviceHash)
    .executeTakeFirstOrThrow();
  if (others.n === 0) return { newDevice: true };

  const user = await scope.trx.selectFrom('users').select('email_enc').where('id', '=', userId).executeTakeFirstOrThrow();
  const orgName = await organisationName(scope);
  const to = scope.cipher.open('users.email', user.email_enc);
  await enqueueMail(platform.queue, scope, newDeviceMail(to, orgName, now, description, platform.config.publicUrl));
  return { newDevice: true };
}

export const NEW_DEVICE_SUBJECT = 'New sign-in to your Custos account';

export function newDeviceMail(to: string, orgName: string, at: Date, device: string, publicUrl: string): MailMessage {
  const when = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return {
    to,
    subject: NEW_DEVICE_SUBJECT,
    text:
      `Someone signed in to your Custos account at ${orgName} from a device or network we have not seen you use before.\n\n` +
      `When:   ${when}\n` +
      `Device: ${device}\n\n` +
      'If this was you, you need do nothing.\n\n' +
      'If it was not you, someone may know your password:\n' +
      `  1. Reset your password now from the sign-in page: ${publicUrl}/sign-in\n` +
      `  2. Tell your organisation's Custos administrator, so they can check your account and sign you out everywhere.\n`,
  };
}
