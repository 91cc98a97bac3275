import { usePageTitle } from '../use-page-title.ts';

export function NotFound() {
  usePageTitle('Page not found – Custos');
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>
        There is nothing at this address. Go back to the <a href="/">Custos home page</a>.
      </p>
    </section>
  );
}
