import { useEffect } from 'react';

/** Each page names itself (WCAG 2.4.2); a client-side route change would otherwise keep the old title. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title;
  }, [title]);
}
