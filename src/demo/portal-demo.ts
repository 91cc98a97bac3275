import { Faker, base, en } from '@faker-js/faker';
import type { TenantScope } from '../platform/tenancy/tenant-scope.ts';
import { createClient } from '../products/client-portal/clients.ts';
import { createFolder } from '../products/client-portal/documents/folders.ts';
import { addToBalance } from '../products/client-portal/practice.ts';

/**
 * A demo practice's portal: a handful of generated clients (people and companies, every name
 * marked as demo, reserved mail domains only), a folder each, and signing credits, so the portal
 * pages have something to show. Deterministic from the seed.
 */
export async function loadPortalDemo(scope: TenantScope, seed: number, domain: string): Promise<number> {
  const faker = new Faker({ locale: [en, base], seed });
  let made = 0;
  for (let i = 0; i < 4; i++) {
    const company = i % 2 === 1;
    const name = company ? `${faker.company.name()} Ltd (demo)` : `${faker.person.firstName()} ${faker.person.lastName()} (demo)`;
    const client = await createClient(scope, {
      kind: company ? 'company' : 'individual',
      name,
      companyNumber: company ? faker.string.numeric(8) : undefined,
      reference: `DEMO${String(i + 1).padStart(3, '0')}`,
      email: `client${i + 1}@${domain}`,
      mtdItsa: !company && i === 0,
    });
    await createFolder(scope, client.id, { name: '2025-26 year end' });
    made++;
  }
  await addToBalance(scope, { kind: 'signing', amount: 20, reason: 'demo credits', by: 'demo' });
  return made;
}
