import { z } from 'zod';

/**
 * Wonde records as read: the shapes of each list's records, with the includes asked for. Ids are
 * strings whether Wonde sends a string or a number.
 */

const text = z.string().nullish();
const id = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);
const loose = z.object({}).loose();
const wondeDate = z.object({ date: z.string() }).loose().nullish();
/** `{ data: … }` of an include; some includes come back as `{ data: [] }` when empty. */
const single = <T extends z.ZodType>(inner: T) =>
  z
    .object({ data: z.union([inner, z.array(z.never()).length(0)]).nullish() })
    .loose()
    .nullish()
    .transform((v) => (v && v.data && !Array.isArray(v.data) ? (v.data as z.output<T>) : undefined));
const many = <T extends z.ZodType>(inner: T) =>
  z
    .object({ data: z.array(inner).nullish() })
    .loose()
    .nullish()
    .transform((v) => v?.data ?? undefined);

export const contactDetails = single(
  z
    .object({
      phones: z.record(z.string(), z.unknown()).nullish(),
      emails: z.record(z.string(), z.unknown()).nullish(),
      addresses: z.record(z.string(), z.unknown()).nullish(),
    })
    .loose(),
);
const relationship = z
  .object({
    relationship: text,
    parental_responsibility: z.union([z.boolean(), z.number(), z.string()]).nullish(),
    priority: z.union([z.number(), z.string()]).nullish(),
    lives_with_pupil: z.union([z.boolean(), z.number(), z.string()]).nullish(),
  })
  .loose()
  .nullish();
const groupRef = z.object({ id, code: text, name: text }).loose();
const member = z.object({ id }).loose();

export const studentSchema = z
  .object({
    id,
    forename: z.string(),
    surname: z.string(),
    legal_forename: text,
    legal_surname: text,
    middle_names: text,
    gender: text,
    date_of_birth: wondeDate,
    education_details: single(loose),
    extended_details: single(loose),
    contact_details: contactDetails,
    contacts: many(z.object({ id, title: text, forename: z.string(), surname: z.string(), relationship }).loose()),
    year: single(groupRef),
    registration: single(groupRef),
    registration_group: single(groupRef),
    house: single(groupRef),
  })
  .loose();
export const contactSchema = z
  .object({
    id,
    title: text,
    forename: z.string(),
    surname: z.string(),
    contact_details: contactDetails,
    students: many(z.object({ id, relationship }).loose()),
  })
  .loose();
export const employeeSchema = z
  .object({
    id,
    title: text,
    forename: z.string(),
    surname: z.string(),
    gender: text,
    date_of_birth: wondeDate,
    contact_details: contactDetails,
    employment_details: single(loose),
  })
  .loose();
export const groupSchema = z
  .object({ id, name: z.string(), code: text, type: text, students: many(member), employees: many(member) })
  .loose();
export const attendanceSchema = z
  .object({
    id: id.optional(),
    student: z.union([id, single(member)]),
    date: z.union([z.string(), wondeDate]),
    session: z.string(),
    attendance_code: z.union([z.string(), single(z.object({ code: z.string() }).loose())]).nullish(),
  })
  .loose();
export const deletionSchema = z.object({ id, type: z.string(), restored_at: z.unknown().optional() }).loose();
export const schoolSchema = z
  .object({
    id,
    name: z.string(),
    urn: z.union([z.string(), z.number()]).nullish(),
    la_code: z.union([z.string(), z.number()]).nullish(),
    establishment_number: z.union([z.string(), z.number()]).nullish(),
    phase_of_education: text,
  })
  .loose();

export type Student = z.output<typeof studentSchema>;
export type WondeContact = z.output<typeof contactSchema>;
export type Relationship = z.output<typeof relationship>;
