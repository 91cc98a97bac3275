import { navItemsFor } from '../nav.ts';
import { navigate, useLocation } from '../router.ts';
import { mfaStep, useSession } from '../session.tsx';
import { Link } from './link.tsx';

/** Brand, and either the signed-in navigation with Sign out, or a Sign in link. */
export function SiteHeader() {
  const { state, signOut } = useSession();
  const { pathname } = useLocation();
  const signedIn = state.status === 'signed-in';
  const items = signedIn && !mfaStep(state.session) ? navItemsFor(state.session) : [];

  async function signOutHere() {
    await signOut();
    navigate('/sign-in', { flash: 'You have signed out.' });
  }

  return (
    <header className="site-header">
      <div className="container site-header__inner">
        <Link className="brand" href={signedIn ? '/home' : '/'}>
          <img className="brand__mark" src="/favicon.svg" alt="" width="32" height="32" />
          <span>Custos</span>
          {signedIn && <span className="visually-hidden"> home</span>}
        </Link>
        <nav aria-label="Main">
          <ul className="nav-list">
            {items.map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={pathname === item.href ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
            {signedIn ? (
              <li>
                <button className="nav-button" type="button" onClick={() => void signOutHere()}>
                  Sign out
                </button>
              </li>
            ) : (
              <>
                <li>
                  <a href="/api/docs">API documentation</a>
                </li>
                {state.status !== 'loading' && pathname !== '/sign-in' && (
                  <li>
                    <Link href="/sign-in">Sign in</Link>
                  </li>
                )}
              </>
            )}
          </ul>
        </nav>
      </div>
    </header>
  );
}
