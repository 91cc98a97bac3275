import { z } from 'zod';
import { createOrganisation } from '../../platform/organisations/organisations.ts';
import type { Platform } from '../../platform/platform.ts';
import { systemMeta, type RequestMeta } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';

export const signUpSchema = z.strictObject({
  practiceName: z.string({ error: 'is required' }).trim().min(2, 'must be at least 2 characters').max(200, 'must be at most 200 characters'),
  name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  email: z
    .string({ error: 'is required' })
    .trim()
    .toLowerCase()
    .pipe(z.email({ error: 'must be an email address' }))
    .refine((v) => v.length <= 254, 'must be at most 254 characters'),
});
export type SignUpInput = z.input<typeof signUpSchema>;

/**
 * Self-service sign-up: a new accountancy practice with the person signing up as its
 * Administrator. Nothing is usable until they follow the emailed single-use link and choose a
 * password (which proves the address is theirs); the link is never returned here. Throttled per
 * address and per email, since each sign-up creates an organisation and sends mail.
 */
export async function signUpPractice(platform: Platform, input: SignUpInput, meta: RequestMeta): Promise<void> {
  const data = parseOrThrow(signUpSchema, input);
  await platform.throttle.check('sign-up', { account: data.email, ip: meta.ip ?? 'unknown' });
  await createOrganisation(
    platform,
    { kind: 'practice', name: data.practiceName, adminEmail: data.email, adminName: data.name },
    // The audit trail records the sign-up as the system acting on this request.
    { actor: { type: 'system', id: null }, meta: { ...systemMeta('sign-up'), ...meta } },
  );
}
