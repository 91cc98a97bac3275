/**
 * The password rules, shown before anyone types (WCAG 3.3.2). The organisation may choose the
 * NIST mode instead (12+ characters, no composition rules); the server's answer then names exactly
 * which rule a password broke.
 */
export function PasswordRules() {
  return (
    <div className="password-rules">
      <p>Your password must have:</p>
      <ul>
        <li>at least 8 characters</li>
        <li>an upper-case letter, a lower-case letter, a digit and a symbol (a space counts as a symbol)</li>
      </ul>
      <p>
        It must not be a common or easily guessed password, and must not contain your name, your email address, your
        organisation’s name or “Custos”. Some organisations ask instead for at least 12 characters with no other rules:
        if yours does, we will tell you when you choose it.
      </p>
    </div>
  );
}
