import { z } from 'zod';

/** OneRoster REST records as read (JSON binding): the shapes each collection's records are parsed with. */

const text = z.string().nullish();
const ref = z.object({ sourcedId: z.string().min(1) }).loose();
export const head = z.object({ sourcedId: z.string().min(1), status: z.string(), dateLastModified: z.string().nullish() }).loose();
const roleEntry = z.object({ role: z.string(), roleType: text }).loose();
const roleFields = { role: z.string().nullish(), roles: z.array(roleEntry).nullish() };

export const userSchema = head.extend({
  ...roleFields,
  givenName: z.string(),
  familyName: z.string(),
  middleName: text,
  preferredFirstName: text,
  preferredGivenName: text,
  preferredLastName: text,
  preferredFamilyName: text,
  identifier: text,
  userMasterIdentifier: text,
  userIds: z.array(z.object({ type: z.string(), identifier: z.string() }).loose()).nullish(),
  email: text,
  phone: text,
  sms: text,
  agents: z.array(ref).nullish(),
  grades: z.array(z.string()).nullish(),
});
export const goneUserSchema = head.extend(roleFields);
const flag = z.union([z.string(), z.boolean()]).nullish();
export const demographicsSchema = head.extend({
  birthDate: text,
  sex: text,
  americanIndianOrAlaskaNative: flag,
  asian: flag,
  blackOrAfricanAmerican: flag,
  nativeHawaiianOrOtherPacificIslander: flag,
  white: flag,
  demographicRaceTwoOrMoreRaces: flag,
  hispanicOrLatinoEthnicity: flag,
});
export const classSchema = head.extend({ title: z.string(), classCode: text, classType: z.string(), grades: z.array(z.string()).nullish() });
export const enrollmentSchema = head.extend({ user: ref, class: ref, role: z.string() });
/** A tobedeleted enrollment may come with its references only, or with none. */
export const goneEnrollmentSchema = head.extend({ user: ref.nullish(), class: ref.nullish(), role: z.string().nullish() });
export const orgSchema = head.extend({ name: z.string(), type: z.string(), identifier: text });

/** The schema a tobedeleted record is read with (fewer required fields than an active one). */
export type GoneSchema<T> = z.ZodType<Partial<T> & { sourcedId: string; status: string }>;
export const asGone = <T>(schema: z.ZodType): GoneSchema<T> => schema as unknown as GoneSchema<T>;

export type User = z.infer<typeof userSchema>;
export type GoneUser = z.infer<typeof goneUserSchema>;
export type Demographics = z.infer<typeof demographicsSchema>;
export type OneRosterClass = z.infer<typeof classSchema>;
export type Enrollment = z.infer<typeof enrollmentSchema>;
export type Org = z.infer<typeof orgSchema>;

/** One record as read: its data, whether it is to be deleted, whether it changed since `since`, and where it was read. */
export interface Read<T> {
  data: T;
  gone: boolean;
  changed: boolean;
  location: string;
}
