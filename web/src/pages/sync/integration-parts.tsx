import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * Pieces the integration pages (connections, webhooks, API clients) share: a secret shown once
 * with copy-able fields, a masked secret, and Remove with a confirmation.
 */

/** A stored secret as the API shows it (********): read out as "hidden", never as eight asterisks. */
export function MaskedSecret() {
  return (
    <>
      <span aria-hidden="true">********</span>
      <span className="visually-hidden">Hidden</span> <span className="muted">(stored encrypted; never shown again)</span>
    </>
  );
}

export interface SecretField {
  id: string;
  label: string;
  value: string;
  /** A hint under the label: what the value is for. */
  hint?: string;
}

/**
 * What an app needs, shown the one time the API answers with it: a heading that takes focus (so it is
 * read out), each value in a read-only field with its own Copy button, and a button to put it away.
 */
export function OneTimeSecret({ title, children, fields, onDone }: { title: string; children: ReactNode; fields: SecretField[]; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const titleId = useId();
  const [copied, setCopied] = useState('');
  useEffect(() => heading.current?.focus(), []);

  async function copy(field: SecretField) {
    const input = document.getElementById(field.id) as HTMLInputElement | null;
    try {
      await navigator.clipboard.writeText(field.value);
      setCopied(`${field.label} copied.`);
    } catch {
      // Copying needs a secure page and the browser's leave: without it, select the value for Ctrl+C.
      input?.focus();
      input?.select();
      setCopied(`${field.label} is selected: press Ctrl+C (or ⌘C) to copy it.`);
    }
  }

  return (
    <section className="panel panel--success" aria-labelledby={titleId}>
      <h2 id={titleId} tabIndex={-1} ref={heading}>
        {title}
      </h2>
      {children}
      <p>
        <strong>This is the only time it is shown.</strong> Copy it now into the app that needs it: Custos keeps it only in a form
        nobody can read back, and you cannot see it again. If it is lost, remove this and make a new one.
      </p>
      {fields.map((field) => (
        <div className="field" key={field.id}>
          <label className="field__label" htmlFor={field.id}>
            {field.label}
          </label>
          {field.hint && (
            <p className="field__hint" id={`${field.id}-hint`}>
              {field.hint}
            </p>
          )}
          <div className="inline-form">
            <input
              id={field.id}
              className="input"
              type="text"
              readOnly
              value={field.value}
              spellCheck={false}
              autoComplete="off"
              aria-describedby={field.hint ? `${field.id}-hint` : undefined}
              onFocus={(event) => event.currentTarget.select()}
            />
            <button className="button button--small button--secondary" type="button" onClick={() => void copy(field)}>
              Copy<span className="visually-hidden"> {field.label.toLowerCase()}</span>
            </button>
          </div>
        </div>
      ))}
      <div className="status-region" role="status">
        {copied && <p>{copied}</p>}
      </div>
      <div className="button-row">
        <button className="button" type="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </section>
  );
}

/**
 * A Remove (or Revoke) button that asks first. `what` names the thing in the buttons' accessible
 * names; Cancel puts focus back on the button.
 */
export function ConfirmRemoval({
  action,
  what,
  question,
  busy = false,
  onConfirm,
}: {
  /** 'Remove', 'Revoke'. */
  action: string;
  what: string;
  question: string;
  /** Another action of the same thing is under way. */
  busy?: boolean;
  onConfirm: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [working, setWorking] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const yes = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  // Focus follows the buttons: onto "Yes" when asked, back to the button on Cancel.
  useEffect(() => {
    if (confirming) yes.current?.focus();
    else if (asked.current) button.current?.focus();
    asked.current = confirming;
  }, [confirming]);

  if (!confirming) {
    return (
      <button ref={button} className="button button--warning" type="button" aria-label={`${action}: ${what}`} onClick={() => setConfirming(true)}>
        {action}
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={`Confirm: ${action.toLowerCase()} ${what}`}>
      <p>{question}</p>
      <div className="button-row">
        <button
          ref={yes}
          className="button button--small button--warning"
          type="button"
          disabled={busy || working}
          onClick={() => {
            setWorking(true);
            void onConfirm().finally(() => setWorking(false));
          }}
        >
          Yes, {action.toLowerCase()}
          <span className="visually-hidden"> {what}</span>
        </button>
        <button
          className="button button--small button--secondary"
          type="button"
          onClick={() => setConfirming(false)}
        >
          Cancel
        </button>
      </div>
    </div>
  );
}
