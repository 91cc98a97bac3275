import type { ReactElement } from 'react';
import { Landing } from './pages/landing.tsx';
import { NotFound } from './pages/not-found.tsx';

/**
 * Path → page. Deliberately a plain table until sign-in and the product shells arrive; each
 * product will add its own route folder (web/src/pages/<product>/) and entries here, or this
 * becomes a router without the layout below changing.
 */
const routes: Record<string, () => ReactElement> = {
  '/': Landing,
};

export function App({ path = window.location.pathname }: { path?: string }) {
  const Page = routes[path] ?? NotFound;
  return (
    <>
      {/* First focusable element on every page (WCAG 2.4.1 bypass blocks). */}
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header className="site-header">
        <div className="container site-header__inner">
          <a className="brand" href="/">
            <img className="brand__mark" src="/favicon.svg" alt="" width="32" height="32" />
            <span>Custos</span>
          </a>
          <nav aria-label="Main">
            <ul className="nav-list">
              <li>
                <a href="/api/docs">API documentation</a>
              </li>
            </ul>
          </nav>
        </div>
      </header>
      {/* tabIndex -1 so following the skip link moves keyboard focus here, not just the scroll position. */}
      <main id="main" tabIndex={-1} className="container site-main">
        <Page />
      </main>
      <footer className="site-footer">
        <div className="container">
          <p>
            Custos — one security core for schools, local authorities and accountancy practices.
          </p>
          <p>
            <a href="/api/docs">API documentation</a> · <a href="/api/health">Service health (JSON)</a>
          </p>
        </div>
      </footer>
    </>
  );
}
