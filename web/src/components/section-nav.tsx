import { useLocation } from '../router.ts';
import { can, useSignedIn } from '../session.tsx';
import { Link } from './link.tsx';

export interface SectionPage {
  href: string;
  label: string;
  /** The permission the page needs: it is listed only for those who hold it. */
  permission: string;
}

/**
 * A section's own navigation, above each of its pages' h1: the pages the signed-in person may
 * open, the current one marked `aria-current="page"` (and its parent `true` on a detail page).
 */
export function SectionNav({ label, root, pages }: { label: string; root: string; pages: SectionPage[] }) {
  const session = useSignedIn();
  const { pathname } = useLocation();
  const items = pages.filter((item) => can(session, item.permission));
  return (
    <nav className="subnav" aria-label={label}>
      <ul className="subnav__list">
        {items.map((item) => {
          const current = pathname === item.href ? 'page' : item.href !== root && pathname.startsWith(`${item.href}/`) ? 'true' : undefined;
          return (
            <li key={item.href}>
              <Link href={item.href} aria-current={current}>
                {item.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
