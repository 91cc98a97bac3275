import { faker } from '@faker-js/faker';
import { createApiToken } from '../src/platform/identity/api-tokens.ts';
import { createOrganisation } from '../src/platform/organisations/organisations.ts';
import type { OrganisationKind } from '../src/platform/db/schema.ts';
import type { Platform } from '../src/platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta, type TenantScope } from '../src/platform/tenancy/tenant-scope.ts';

faker.seed(20261124);
let counter = 0;

export interface TestOrganisation {
  id: string;
  name: string;
  adminUserId: string;
  adminEmail: string;
  inviteUrl: string;
  /** An admin-scoped API token for calling the HTTP API as this organisation. */
  token: string;
}

/** A new organisation (its own tenant) with generated names, an invited admin and an admin API token. */
export async function createTestOrganisation(
  platform: Platform,
  options: { kind?: OrganisationKind; name?: string; parentId?: string; scopes?: ('read' | 'admin')[] } = {},
): Promise<TestOrganisation> {
  counter++;
  const name = options.name ?? `${faker.location.city()} ${options.kind === 'practice' ? 'Accountants' : 'Academy'} ${counter}`;
  const adminEmail = `admin${counter}.${faker.string.alphanumeric(6).toLowerCase()}@example.test`;
  const created = await createOrganisation(
    platform,
    { kind: options.kind ?? 'school', name, adminEmail, parentId: options.parentId },
    { actor: SYSTEM_ACTOR, meta: systemMeta('test') },
  );
  const { token } = await asSystem(platform, created.id, (scope) =>
    createApiToken(scope, { name: 'test token', scopes: options.scopes ?? ['read', 'admin'] }, 'test'),
  );
  return { id: created.id, name, adminUserId: created.adminUserId, adminEmail, inviteUrl: created.inviteUrl, token };
}

/** Runs work in a tenant transaction as the system actor (for setting up and inspecting tests). */
export function asSystem<T>(platform: Platform, tenantId: string, work: (scope: TenantScope) => Promise<T>): Promise<T> {
  return platform.inTenant({ tenantId, actor: SYSTEM_ACTOR, meta: systemMeta('test') }, work);
}

export function fakePerson() {
  const first = faker.person.firstName();
  const last = faker.person.lastName();
  return {
    name: `${first} ${last}`,
    email: `${first}.${last}.${faker.string.numeric(4)}@example.test`.toLowerCase(),
    phone: `07700 9${faker.string.numeric(5)}`,
  };
}
