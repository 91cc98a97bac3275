import { Link } from '../components/link.tsx';
import { ServiceStatus } from '../components/service-status.tsx';
import { usePageTitle } from '../use-page-title.ts';

/** The five products, in the words a school office or a practice manager would use. */
const products = [
  {
    name: 'Sync',
    audience: 'Schools and trusts',
    summary:
      'Brings pupils, staff, contacts, groups and attendance in from the school’s management system, and lets the school decide which product may read what — or stop all sharing at once.',
  },
  {
    name: 'Messaging',
    audience: 'Schools, parents and carers',
    summary:
      'Email, text and in-app messages and secure documents to the right families, with delivery tracking, replies and forms. History is kept for twelve months, then deleted.',
  },
  {
    name: 'Cashless',
    audience: 'School catering and parents',
    summary:
      'Cards, PINs or consented biometrics at the till, online top-ups, free school meal allowances, spending limits and dietary needs, with a view for parents.',
  },
  {
    name: 'Looked-after',
    audience: 'Local authority virtual schools',
    summary:
      'A register of the children in the authority’s care and the schools they attend, daily attendance from each school, alerts on absence and exclusion, and Personal Education Plan tracking.',
  },
  {
    name: 'Client portal',
    audience: 'Accountancy practices and their clients',
    summary:
      'Documents exchanged securely, approvals with e-signatures, tax information requests and invoices paid online, with multi-factor sign-in across the practice.',
  },
] as const;

const promises = [
  'Every organisation’s data is walled off from every other’s by the database itself, not just by the application.',
  'Personal data is encrypted at rest with keys that belong to each organisation.',
  'Every change to users, settings and personal data is written to a tamper-evident audit trail that admins can read and export.',
  'There is no master password, no default account and no hidden way in: every API token is issued, scoped to one organisation and revocable.',
] as const;

export function Landing() {
  usePageTitle('Custos — secure services for schools, local authorities and accountancy practices');
  return (
    <>
      <section className="hero" aria-labelledby="landing-title">
        <h1 id="landing-title">Five services, one security core</h1>
        <p className="lead">
          Custos looks after the personal data of children, families and clients. Schools, local
          authorities and accountancy practices use its five products, and all five stand on the same
          tested foundation for sign-in, encryption, tenant separation and audit.
        </p>
        <ServiceStatus />
      </section>

      <section aria-labelledby="products-title">
        <h2 id="products-title">The products</h2>
        <ul className="product-list">
          {products.map((product) => (
            <li key={product.name} className="product-card">
              <h3>{product.name}</h3>
              <p className="product-card__audience">{product.audience}</p>
              <p>{product.summary}</p>
              {product.name === 'Client portal' && (
                <p>
                  <Link href="/sign-up">Sign up your practice</Link>
                </p>
              )}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="core-title">
        <h2 id="core-title">What the shared core promises</h2>
        <ul className="promise-list">
          {promises.map((promise) => (
            <li key={promise}>{promise}</li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="developers-title">
        <h2 id="developers-title">For developers and integrators</h2>
        <p>
          Everything the products do is available through a documented HTTP API, authenticated with
          organisation API tokens. <a href="/api/docs">Read the API documentation</a>.
        </p>
      </section>
    </>
  );
}
