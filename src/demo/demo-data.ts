import crypto from 'node:crypto';
import { base, en, Faker } from '@faker-js/faker';
import { recordAudit } from '../platform/audit/audit-writer.ts';
import type { OrganisationKind } from '../platform/db/schema.ts';
import { createApiToken } from '../platform/identity/api-tokens.ts';
import { hashPassword } from '../platform/identity/password-hash.ts';
import { checkPassword } from '../platform/identity/password-policy.ts';
import { inviteUser } from '../platform/identity/users.ts';
import { enqueueMail } from '../platform/mail/mail.ts';
import { createOrganisation, invitationMail, listAllOrganisations } from '../platform/organisations/organisations.ts';
import type { Platform } from '../platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { loadPortalDemo } from './portal-demo.ts';

/**
 * A fixed seed makes the demo the same on every machine, and lets a second run recognise the
 * organisations it made by name. Names come from faker's invented places and people; every name
 * carries "(demo)" and every address a reserved domain (.test, .invalid), so nothing in the demo
 * can be mistaken for, or mail, a real school or person.
 */
export const DEMO_SEED = 20261124;

export interface DemoPerson {
  name: string;
  email: string;
}

export interface DemoOrganisationPlan {
  /** Stable handle inside the plan, for parents. */
  key: string;
  kind: OrganisationKind;
  name: string;
  parentKey?: string;
  admin: DemoPerson;
  members: DemoPerson[];
}

export interface DemoOrganisation {
  id: string;
  kind: OrganisationKind;
  name: string;
  parentId: string | null;
  adminEmail: string;
  /**
   * The admin's password, generated afresh for this database and shown once: the demo has no
   * fixed or default credential. Only its argon2id hash is stored.
   */
  adminPassword: string;
  /** An admin-scoped API token, shown once. */
  token: string;
  invitedMembers: number;
}

export interface DemoLoadResult {
  created: DemoOrganisation[];
  /** Demo organisations already in the database (from an earlier run); left untouched. */
  alreadyPresent: { id: string; kind: OrganisationKind; name: string }[];
}

const MEMBERS_PER_ORGANISATION = 2;
const TOWN_ENDINGS = ['bury', 'combe', 'ford', 'ham', 'stead', 'thorpe', 'wick'];

/** One organisation of every kind, and a trust with two schools. Pure: the same seed gives the same plan. */
export function demoPlan(seed = DEMO_SEED): DemoOrganisationPlan[] {
  const faker = new Faker({ locale: [en, base], seed });
  // Not faker.location.city(): its list includes real towns. A surname plus a place ending makes
  // an English-sounding town that is very unlikely to exist.
  const town = () => faker.person.lastName().replace(/[^A-Za-z]/g, '') + faker.helpers.arrayElement(TOWN_ENDINGS);
  const [trustTown, primaryTown, academyTown, highTown, councilTown] = faker.helpers.uniqueArray(town, 5) as [
    string, string, string, string, string,
  ];
  const partners = faker.helpers.uniqueArray(() => faker.person.lastName(), 2);
  const organisation = (key: string, kind: OrganisationKind, name: string, domain: string, parentKey?: string): DemoOrganisationPlan => ({
    key,
    kind,
    name: `${name} (demo)`,
    parentKey,
    admin: person(faker, domain),
    members: Array.from({ length: MEMBERS_PER_ORGANISATION }, () => person(faker, domain)),
  });
  return [
    organisation('operator', 'operator', 'Custos Operations', 'operator.custos.invalid'),
    organisation('trust', 'trust', `${trustTown} Learning Trust`, `${slug(trustTown)}-trust.example.test`),
    organisation('trust-primary', 'school', `${primaryTown} Primary School`, `${slug(primaryTown)}-primary.example.test`, 'trust'),
    organisation('trust-academy', 'school', `${academyTown} Academy`, `${slug(academyTown)}-academy.example.test`, 'trust'),
    organisation('school', 'school', `${highTown} High School`, `${slug(highTown)}-high.example.test`),
    organisation('local-authority', 'local_authority', `${councilTown} Council Virtual School`, `${slug(councilTown)}-council.example.test`),
    organisation('practice', 'practice', `${partners.join(' & ')} Accountants`, `${slug(partners.join('-'))}-accountants.example.test`),
  ];
}

function person(faker: Faker, domain: string): DemoPerson {
  const first = faker.person.firstName();
  const last = faker.person.lastName();
  return { name: `${first} ${last}`, email: `${slug(first)}.${slug(last)}@${domain}` };
}

function slug(text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

const PASSWORD_LENGTH = 20;
// No look-alikes (0/O, 1/l/I) so the printed password can be typed from a screen.
const PASSWORD_CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%*+-=?@^_~'] as const;

/**
 * A random password that meets the default (composition) rules: upper, lower, digit and symbol,
 * none of the person's or organisation's details. crypto.randomInt throughout, ~120 bits.
 */
export function generateDemoPassword(userInputs: readonly string[] = []): string {
  const all = PASSWORD_CLASSES.join('');
  for (;;) {
    const chars = PASSWORD_CLASSES.map((set) => set[crypto.randomInt(set.length)]!);
    while (chars.length < PASSWORD_LENGTH) chars.push(all[crypto.randomInt(all.length)]!);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = crypto.randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    const password = chars.join('');
    // Random text almost never fails; when it does (a name spelled out by chance), draw again.
    if (checkPassword(password, { mode: 'composition', userInputs }).ok) return password;
  }
}

/**
 * Creates the planned organisations that are not there yet, each with its admin (active, with a
 * freshly generated password), a few invited members and an admin API token. Organisations are created one by one (each in its own
 * transaction), so a run that stopped half-way is completed by the next one.
 */
export async function loadDemoData(platform: Platform, plan = demoPlan()): Promise<DemoLoadResult> {
  const existing = await listAllOrganisations(platform);
  const idByKey = new Map<string, string>();
  const result: DemoLoadResult = { created: [], alreadyPresent: [] };
  const by = { actor: SYSTEM_ACTOR, meta: systemMeta('demo') };

  for (const entry of plan) {
    const found = existing.find((o) => o.name === entry.name && o.kind === entry.kind);
    if (found) {
      idByKey.set(entry.key, found.id);
      result.alreadyPresent.push({ id: found.id, kind: found.kind, name: found.name });
      continue;
    }
    const parentId = entry.parentKey ? idByKey.get(entry.parentKey) : undefined;
    const created = await createOrganisation(
      platform,
      { kind: entry.kind, name: entry.name, parentId, adminEmail: entry.admin.email, adminName: entry.admin.name },
      by,
    );
    idByKey.set(entry.key, created.id);
    const adminPassword = generateDemoPassword([entry.admin.email, entry.admin.email.split('@')[0]!, entry.name, ...entry.admin.name.split(/\s+/)]);
    // argon2 outside the transaction, so no connection waits on it.
    const passwordHash = await hashPassword(adminPassword);
    const token = await platform.inTenant({ tenantId: created.id, ...by }, async (scope) => {
      // The admin's invitation, accepted on their behalf with the generated password: the link
      // is used up, the account is active, and the trail says so as it would for the admin.
      const now = new Date();
      await scope.trx
        .updateTable('users')
        .set({ password_hash: passwordHash, password_changed_at: now, status: 'active', updated_at: now })
        .where('id', '=', created.adminUserId)
        .execute();
      await scope.trx.updateTable('invitations').set({ accepted_at: now }).where('user_id', '=', created.adminUserId).where('accepted_at', 'is', null).execute();
      await recordAudit(scope, {
        action: 'user.invitation_accepted',
        target: { type: 'user', id: created.adminUserId },
        changes: { password: { personal: true }, status: { before: 'invited', after: 'active' } },
      });
      for (const member of entry.members) {
        const invitation = await inviteUser(scope, { email: member.email, displayName: member.name, role: 'member' }, platform.config.publicUrl);
        await enqueueMail(platform.queue, scope, invitationMail(member.email, entry.name, invitation.inviteUrl));
      }
      if (entry.kind === 'practice') await loadPortalDemo(scope, DEMO_SEED, entry.admin.email.split('@')[1]!);
      return createApiToken(scope, { name: 'demo admin token', scopes: ['read', 'admin'] }, 'demo');
    });
    result.created.push({
      id: created.id,
      kind: entry.kind,
      name: entry.name,
      parentId: parentId ?? null,
      adminEmail: entry.admin.email,
      adminPassword,
      token: token.token,
      invitedMembers: entry.members.length,
    });
  }
  return result;
}
