import type { z } from 'zod';
import { ValidationError } from './errors.ts';

/** Turns zod issues into field problems for a 400 that names each field and its reason. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', reason: i.message })),
    );
  }
  return parsed.data;
}
