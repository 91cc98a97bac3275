import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../api/client.ts';
import { ErrorSummary, messagesFor, problemsFrom, TextField, type FormProblem } from '../../components/forms.tsx';
import { Link } from '../../components/link.tsx';
import { usePageTitle } from '../../use-page-title.ts';

const FIELDS = {
  practiceName: { id: 'practice-name', label: 'Practice name' },
  name: { id: 'your-name', label: 'Your name' },
  email: { id: 'email', label: 'Your work email address' },
};

/**
 * /sign-up — an accountancy practice signs itself up. Nothing is usable until the emailed link is
 * followed and a password chosen, so the page only says where to look next.
 */
export function PracticeSignUp() {
  usePageTitle('Sign up your practice – Custos');
  const [practiceName, setPracticeName] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const done = useRef<HTMLHeadingElement>(null);
  // The page's content changes entirely: take focus to its new heading once it is there.
  useEffect(() => {
    if (sent) done.current?.focus();
  }, [sent]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const found: FormProblem[] = [];
    if (practiceName.trim().length < 2) found.push({ fieldId: FIELDS.practiceName.id, message: 'Enter the name of your practice' });
    if (!name.trim()) found.push({ fieldId: FIELDS.name.id, message: 'Enter your name' });
    if (!email.trim()) found.push({ fieldId: FIELDS.email.id, message: 'Enter your work email address' });
    setProblems(found);
    if (found.length > 0) return;
    setBusy(true);
    try {
      await api.post('/api/v1/auth/practice-sign-up', { practiceName: practiceName.trim(), name: name.trim(), email: email.trim() });
      setSent(true);
    } catch (error) {
      setProblems(problemsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  }

  if (sent) {
    return (
      <section aria-labelledby="page-title" className="narrow">
        <h1 id="page-title" ref={done} tabIndex={-1}>
          Check your email
        </h1>
        <div role="status" className="notice notice--success">
          <p>
            We have sent a link to <strong>{email.trim()}</strong>. Follow it within 72 hours to choose your password; then you
            can sign in, add your colleagues and your clients.
          </p>
        </div>
        <p>
          <Link href="/sign-in">Go to sign in</Link>
        </p>
      </section>
    );
  }

  return (
    <section aria-labelledby="page-title" className="narrow">
      <h1 id="page-title">Sign up your practice</h1>
      <p>
        A client portal for your accountancy practice: exchange documents with clients, get approvals and signatures, request
        information and take payments. You will be the practice’s Administrator.
      </p>
      <form className="form" onSubmit={submit} noValidate>
        <ErrorSummary problems={problems} />
        <TextField
          id={FIELDS.practiceName.id}
          label={FIELDS.practiceName.label}
          autoComplete="organization"
          value={practiceName}
          onChange={(event) => setPracticeName(event.target.value)}
          errors={messagesFor(problems, FIELDS.practiceName.id)}
          required
        />
        <TextField
          id={FIELDS.name.id}
          label={FIELDS.name.label}
          autoComplete="name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          errors={messagesFor(problems, FIELDS.name.id)}
          required
        />
        <TextField
          id={FIELDS.email.id}
          label={FIELDS.email.label}
          type="email"
          autoComplete="email"
          spellCheck={false}
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          errors={messagesFor(problems, FIELDS.email.id)}
          required
        />
        <button className="button" type="submit" disabled={busy}>
          Sign up
        </button>
        <p>
          Already signed up? <Link href="/sign-in">Sign in</Link>
        </p>
      </form>
    </section>
  );
}
