import type { z } from 'zod';
import { ValidationError, type FieldProblem } from './errors.ts';

/** zod issues as field problems (`settings.clientId: is required`), under `prefix` when given. */
export function fieldProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldProblem[] {
  return error.issues.map((i) => ({ field: [...prefix, ...i.path].map(String).join('.') || '(body)', reason: i.message }));
}

/** Turns zod issues into field problems for a 400 that names each field and its reason. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldProblems(parsed.error));
  return parsed.data;
}
