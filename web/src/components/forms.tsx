import { useEffect, useId, useRef, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { ApiError, capitalise, describeProblem } from '../api/client.ts';

/** One thing wrong with a form: linked to its field when there is one. */
export interface FormProblem {
  fieldId?: string;
  message: string;
}

/** What an API field name is called on this form: its input id and its label. */
export type FieldNames = Record<string, { id: string; label: string }>;

/**
 * Turns an API error into problems for the summary and the fields. Validation errors name fields
 * (`errors[].field`); each becomes "<label> <reason>" beside the field it names, or a plain
 * message if the form has no such field.
 */
export function problemsFrom(error: unknown, fields: FieldNames): FormProblem[] {
  if (error instanceof ApiError && error.kind === 'validation' && error.errors.length > 0) {
    return error.errors.map((e) => {
      const field = fields[e.field];
      return field ? { fieldId: field.id, message: `${field.label} ${e.reason}` } : { message: capitalise(`${e.field} ${e.reason}`) };
    });
  }
  return [{ message: describeProblem(error) }];
}

/** The messages for one field, to show beside it. */
export function messagesFor(problems: FormProblem[], fieldId: string): string[] {
  return problems.filter((p) => p.fieldId === fieldId).map((p) => p.message);
}

/**
 * The error summary at the top of a form: announced (role="alert"), focused when it appears, and
 * each entry links to (and on activation focuses) the field it is about (WCAG 3.3.1, 3.3.3).
 */
export function ErrorSummary({ problems, title = 'There is a problem' }: { problems: FormProblem[]; title?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    if (problems.length > 0) ref.current?.focus();
  }, [problems]);
  if (problems.length === 0) return null;
  return (
    <div className="error-summary" role="alert" aria-labelledby={titleId} tabIndex={-1} ref={ref}>
      <h2 id={titleId} className="error-summary__title">
        {title}
      </h2>
      <ul className="error-summary__list">
        {problems.map((problem, index) =>
          problem.fieldId ? (
            <li key={index}>
              <a
                href={`#${problem.fieldId}`}
                onClick={(event) => {
                  const field = document.getElementById(problem.fieldId!);
                  if (!field) return;
                  event.preventDefault();
                  field.focus();
                  field.scrollIntoView({ block: 'center' });
                }}
              >
                {problem.message}
              </a>
            </li>
          ) : (
            <li key={index}>{problem.message}</li>
          ),
        )}
      </ul>
    </div>
  );
}

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  id: string;
  label: string;
  hint?: ReactNode;
  errors?: string[];
  /** Extra content under the hint, such as the password rules. */
  children?: ReactNode;
}

/** One field's error messages, tied to it by id through aria-describedby. */
export function FieldErrors({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <div className="field__error" id={id}>
      {messages.map((message) => (
        <p key={message}>
          <span className="visually-hidden">Error: </span>
          {message}
        </p>
      ))}
    </div>
  );
}

/** A labelled text input with its hint and errors tied to it by aria-describedby. */
export function TextField({ id, label, hint, errors = [], children, className, ...input }: FieldProps) {
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = errors.length > 0 ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${errors.length > 0 ? ' field--error' : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {hint && (
        <div className="field__hint" id={hintId}>
          {hint}
        </div>
      )}
      {children}
      {errorId && <FieldErrors id={errorId} messages={errors} />}
      <input
        id={id}
        name={id}
        className={`input${className ? ` ${className}` : ''}`}
        aria-describedby={describedBy}
        aria-invalid={errors.length > 0 ? true : undefined}
        {...input}
      />
    </div>
  );
}

/** A polite announcement of something that went well ("Settings saved"). */
export function StatusMessage({ children }: { children?: ReactNode }) {
  return (
    <div className="status-region" role="status">
      {children ? <p className="notice notice--success">{children}</p> : null}
    </div>
  );
}

/** A message handed on from the previous page (e.g. "Your password is set"), announced on arrival. */
export function Notice({ children }: { children: ReactNode }) {
  // The live region exists first and is filled a moment later: text already inside a region when
  // it appears is not reliably read out.
  const [shown, setShown] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setShown(true), 100);
    return () => window.clearTimeout(timer);
  }, []);
  return (
    <div className="status-region" role="status">
      {shown && (
        <div className="notice notice--success">
          <p>{children}</p>
        </div>
      )}
    </div>
  );
}
