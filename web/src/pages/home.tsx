import { useState } from 'react';
import { ORGANISATION_KIND_LABELS } from '../api/types.ts';
import { Notice } from '../components/forms.tsx';
import { Link } from '../components/link.tsx';
import { navItemsFor } from '../nav.ts';
import { currentFlash } from '../router.ts';
import { useSignedIn } from '../session.tsx';
import { usePageTitle } from '../use-page-title.ts';

/** /home — the signed-in landing page: who you are, where, and what you may do here. */
export function Home() {
  usePageTitle('Home – Custos');
  const session = useSignedIn();
  const [flash] = useState(currentFlash);
  const { user, organisation } = session;
  const items = navItemsFor(session).filter((item) => item.href !== '/home');
  return (
    <>
      <section aria-labelledby="page-title" className="hero">
        <h1 id="page-title">Welcome, {user.displayName || user.email}</h1>
        {flash && <Notice>{flash}</Notice>}
        <dl className="summary-list">
          <div>
            <dt>Signed in as</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Organisation</dt>
            <dd>
              {organisation.name} ({ORGANISATION_KIND_LABELS[organisation.kind] ?? organisation.kind})
            </dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>{user.role.charAt(0).toUpperCase() + user.role.slice(1)}</dd>
          </div>
          <div>
            <dt>Two-step verification</dt>
            <dd>{session.mfa.enrolled ? 'On' : session.mfa.required ? 'Required – not yet set up' : 'Off'}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="pages-title">
        <h2 id="pages-title">What you can do</h2>
        <ul className="card-list">
          {items.map((item) => (
            <li key={item.href} className="product-card">
              <h3>
                <Link href={item.href}>{item.label}</Link>
              </h3>
              <p>{item.description}</p>
            </li>
          ))}
        </ul>
        {!session.mfa.enrolled && (
          <p>
            Protect your account with a code from your phone: <Link href="/mfa/enrol">set up two-step verification</Link>.
          </p>
        )}
      </section>
    </>
  );
}
