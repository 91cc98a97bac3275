import { useEffect, type ReactNode } from 'react';
import { Link } from './components/link.tsx';
import { navigate, queryParam, safeNext, type Location } from './router.ts';
import type { Route } from './routes.ts';
import { can, mfaStep, useSession, type SessionState } from './session.tsx';
import { usePageTitle } from './use-page-title.ts';

/** Where this visitor must go instead of the page they asked for, if anywhere. */
export function redirectFor(route: Route, state: SessionState, location: Location): string | undefined {
  if (state.status === 'loading' || state.status === 'error') return undefined;
  const here = `${location.pathname}${location.search}`;
  const next = `?next=${encodeURIComponent(here)}`;
  if (route.access === 'sign-in') {
    if (state.status === 'signed-in' && !mfaStep(state.session)) return safeNext(queryParam(location.search, 'next')) ?? '/home';
    return undefined;
  }
  if (route.access === 'session' || route.access === 'protected') {
    if (state.status === 'signed-out') return `/sign-in${next}`;
    const step = mfaStep(state.session);
    if (route.access === 'protected' && step) return `${step}${next}`;
    if (route.access === 'session') {
      const carry = location.search;
      if (location.pathname === '/mfa/challenge' && !state.session.mfa.enrolled) return `/mfa/enrol${carry}`;
      if (location.pathname === '/mfa/challenge' && state.session.mfa.verified) return safeNext(queryParam(carry, 'next')) ?? '/home';
    }
  }
  return undefined;
}

/** Renders the page only for visitors allowed to see it; sends everyone else where they belong. */
export function Guard({ route, location, children }: { route: Route; location: Location; children: ReactNode }) {
  const { state } = useSession();
  const redirect = redirectFor(route, state, location);
  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);

  if (route.access === 'public') return children;
  if (state.status === 'error') return <Unavailable />;
  if (state.status === 'loading' || redirect) return <p role="status">Loading…</p>;
  if (route.access === 'protected' && route.permission && state.status === 'signed-in' && !can(state.session, route.permission)) {
    return <NoPermission />;
  }
  if (route.access === 'protected' && route.kinds && state.status === 'signed-in' && !route.kinds.includes(state.session.organisation.kind)) {
    return <NotForOrganisation />;
  }
  return children;
}

function NoPermission() {
  usePageTitle('No permission – Custos');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">You do not have permission to see this page</h1>
      <p>
        Your role does not include it. Ask an administrator of your organisation if you need it, or go to your{' '}
        <Link href="/home">home page</Link>.
      </p>
    </section>
  );
}

function NotForOrganisation() {
  usePageTitle('Not available here – Custos');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">This page is not available for your organisation</h1>
      <p>
        It belongs to another kind of organisation (school data to schools, the client portal to accountancy practices). Go
        to your{' '}
        <Link href="/home">home page</Link>.
      </p>
    </section>
  );
}

function Unavailable() {
  usePageTitle('Service unavailable – Custos');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Sorry, Custos is not available</h1>
      <p>We could not check whether you are signed in. Try again in a few minutes.</p>
    </section>
  );
}
