import { useEffect, useMemo, useState } from 'react';

/**
 * Recovery codes, shown once: a list to copy or print, and a download as a text file (a blob:
 * link, which the CSP allows for downloads; nothing is fetched).
 */
export function RecoveryCodes({ codes, organisation }: { codes: string[]; organisation: string }) {
  const text = useMemo(
    () =>
      [
        `Custos recovery codes for ${organisation}`,
        `Saved ${new Date().toISOString().slice(0, 10)}. Each code works once. Keep them somewhere safe.`,
        '',
        ...codes,
        '',
      ].join('\n'),
    [codes, organisation],
  );
  const [href, setHref] = useState<string>();
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [text]);
  return (
    <div className="recovery-codes">
      <ol className="recovery-codes__list" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      {href && (
      <p>
        <a className="button button--secondary" href={href} download="custos-recovery-codes.txt">
          Download the codes as a text file
        </a>
      </p>
      )}
    </div>
  );
}
