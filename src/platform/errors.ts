/**
 * Errors that leave the API as RFC 9457 problem details. `type` is a stable URI per kind so
 * clients can branch on it; `detail` never carries personal values.
 */
export interface FieldProblem {
  field: string;
  reason: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail?: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail ?? title);
    this.name = 'AppError';
  }
}

export const PROBLEM_BASE = 'https://custos.invalid/problems/';

export class ValidationError extends AppError {
  constructor(errors: FieldProblem[], detail?: string) {
    super(400, `${PROBLEM_BASE}validation`, 'Invalid request', detail ?? errors.map((e) => `${e.field}: ${e.reason}`).join('; '), errors);
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'resource') {
    super(404, `${PROBLEM_BASE}not-found`, 'Not found', `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string) {
    super(409, `${PROBLEM_BASE}conflict`, 'Conflict', detail);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'authentication required') {
    super(401, `${PROBLEM_BASE}unauthorized`, 'Unauthorized', detail);
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'not permitted') {
    super(403, `${PROBLEM_BASE}forbidden`, 'Forbidden', detail);
  }
}
