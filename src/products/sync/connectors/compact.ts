/**
 * Drops keys whose value is undefined, so records compare equal whatever the source left out
 * (an unmapped or unsent field is absent rather than present-and-undefined).
 */
export function compact<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) if (record[key] === undefined) delete record[key];
  return record;
}
