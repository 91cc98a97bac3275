import { useEffect, useRef, type ComponentType } from 'react';
import { Guard } from './guard.tsx';
import { SiteHeader } from './components/site-header.tsx';
import { NotFound } from './pages/not-found.tsx';
import { useLocation } from './router.ts';
import { findRoute } from './routes.ts';
import { SessionProvider } from './session.tsx';

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

/** Path → page, inside the one layout: skip link, header, main, footer. */
function Shell() {
  const location = useLocation();
  const found = findRoute(location.pathname);
  const Page = found?.route.page as ComponentType<Record<string, string>> | undefined;
  useFocusOnNavigation(location.pathname);

  return (
    <>
      {/* First focusable element on every page (WCAG 2.4.1 bypass blocks). */}
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <SiteHeader />
      {/* tabIndex -1 so following the skip link moves keyboard focus here, not just the scroll position. */}
      <main id="main" tabIndex={-1} className="container site-main">
        {found && Page ? (
          <Guard route={found.route} location={location}>
            <Page key={location.pathname} {...found.params} />
          </Guard>
        ) : (
          <NotFound />
        )}
      </main>
      <footer className="site-footer">
        <div className="container">
          <p>Custos — one security core for schools, local authorities and accountancy practices.</p>
          <p>
            <a href="/api/docs">API documentation</a> · <a href="/api/health">Service health (JSON)</a>
          </p>
        </div>
      </footer>
    </>
  );
}

/**
 * After an in-app navigation, focus moves to the new page's h1 (or main), so keyboard and screen
 * reader users start at the top of the new content, as they would after a full page load.
 */
function useFocusOnNavigation(pathname: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const timer = window.setTimeout(() => {
      const target = document.querySelector<HTMLElement>('main h1') ?? document.getElementById('main');
      if (!target) return;
      if (target.tagName === 'H1' && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus({ preventScroll: false });
    }, 50);
    return () => window.clearTimeout(timer);
  }, [pathname]);
}
