import { z } from 'zod';
import type { ImportProblem } from '../../model.ts';

/** The saved column mapping of a plain CSV export: which header holds which model field. */

/** The address columns, in address order. */
export const ADDRESS_FIELDS = ['addressLine1', 'addressLine2', 'addressLine3', 'town', 'county', 'postcode'] as const;

const PUPIL_FIELDS = {
  required: ['misId', 'legalForename', 'legalSurname'],
  optional: [
    'upn',
    'admissionNumber',
    'middleNames',
    'preferredForename',
    'preferredSurname',
    'dateOfBirth',
    'gender',
    'ethnicity',
    'religion',
    'firstLanguage',
    'email',
    'homePhone',
    'mobilePhone',
    ...ADDRESS_FIELDS,
    'fsmEligible',
    'senStatus',
    'yearGroup',
    'registrationGroup',
    'house',
    'enrolmentDate',
    'leavingDate',
  ],
} as const;

const CONTACT_FIELDS = {
  required: ['misId', 'pupilMisId', 'forename', 'surname'],
  optional: [
    'title',
    'email',
    'homePhone',
    'mobilePhone',
    'workPhone',
    ...ADDRESS_FIELDS,
    'relationship',
    'priority',
    'parentalResponsibility',
    'livesWith',
    'noContact',
  ],
} as const;

const STAFF_FIELDS = {
  required: ['misId', 'forename', 'surname'],
  optional: ['title', 'dateOfBirth', 'gender', 'jobTitle', 'email', 'workPhone', 'mobilePhone'],
} as const;

/** The fields a mapping may name for each entity; `required` ones must be mapped. */
export const MAPPABLE_FIELDS = { pupils: PUPIL_FIELDS, contacts: CONTACT_FIELDS, staff: STAFF_FIELDS } as const;

const headerName = z
  .string({ error: (issue) => (issue.input === undefined ? 'this field must be mapped to a column' : 'must be a column header name') })
  .trim()
  .min(1, 'must be a column header name');

function columnsSchema(fields: { required: readonly string[]; optional: readonly string[] }) {
  const shape: Record<string, z.ZodType<string | undefined>> = {};
  for (const f of fields.required) shape[f] = headerName;
  for (const f of fields.optional) shape[f] = headerName.optional();
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be an object of field → column header') });
}

const common = {
  dateFormat: z.enum(['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY']).optional(),
  delimiter: z.enum([',', ';', '\t']).optional(),
  encoding: z.enum(['utf-8', 'windows-1252']).optional(),
};

/** A saved column mapping for a plain CSV export. */
export const csvMappingSchema = z.discriminatedUnion(
  'entity',
  [
    z.strictObject({ entity: z.literal('pupils'), columns: columnsSchema(PUPIL_FIELDS), ...common }),
    z.strictObject({ entity: z.literal('contacts'), columns: columnsSchema(CONTACT_FIELDS), ...common }),
    z.strictObject({ entity: z.literal('staff'), columns: columnsSchema(STAFF_FIELDS), ...common }),
  ],
  { error: (issue) => (issue.input === undefined ? 'is required' : "must be 'pupils', 'contacts' or 'staff'") },
);

export type CsvMapping = z.infer<typeof csvMappingSchema>;

/** Mapping problems, located `mapping: columns.dateOfBirth`. */
export function mappingProblems(error: z.ZodError): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const where = base ? `${base}.${key}` : key;
        problems.push({
          location: `mapping: ${where}`,
          message: base === 'columns' ? 'is not a field this entity has' : 'is not a mapping setting',
        });
      }
      continue;
    }
    problems.push({ location: base ? `mapping: ${base}` : 'mapping', message: base ? issue.message : 'must be an object with entity and columns' });
  }
  return problems;
}
