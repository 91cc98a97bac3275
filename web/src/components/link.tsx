import type { AnchorHTMLAttributes } from 'react';
import { followLink } from '../router.ts';

/** An in-app link: a real <a href> (so it works with the keyboard, new tabs and no script), routed without a reload. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      href={href}
      onClick={(event) => {
        onClick?.(event);
        followLink(event);
      }}
      {...rest}
    />
  );
}
