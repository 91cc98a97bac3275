import fs from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (see ENGINEERING.md); CHROMIUM_PATH overrides it on other machines. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Quiet, offline, sandbox-free headless flags: tests run as root in containers and must not
 * reach out to Google services (component updates, sync, QUIC probes) while they run.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * One browser per test file; give each test its own context (`browser.newContext()`).
 * Every launch gets a fresh temporary profile (Playwright passes its own new --user-data-dir
 * and deletes it on close; it refuses one in `args`), so no state leaks between runs.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** The WCAG levels Custos promises: 2.0, 2.1 and 2.2, A and AA. */
export const WCAG_AA_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page and returns its violations. axe is evaluated through the DevTools
 * protocol rather than added as a <script>: the server's CSP (script-src 'self') would rightly
 * block an inline script, and the page must be tested under its real CSP, not with it bypassed.
 */
export async function checkAccessibility(page: Page, tags: string[] = WCAG_AA_TAGS): Promise<AxeViolation[]> {
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(axeSource);
  return page.evaluate(async (runOnly) => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: runOnly }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
    }));
  }, tags);
}

/** Readable report for a failed assertion: rule, impact, and each offending element. */
export function formatViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) =>
      [`${v.id} (${v.impact ?? 'n/a'}): ${v.help} — ${v.helpUrl}`,
        ...v.nodes.map((n) => `    ${n.target.join(' ')}  ${n.html}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`),
      ].join('\n'),
    )
    .join('\n');
}

/**
 * Collects what a page reports as going wrong: script errors, console errors and CSP refusals
 * (Chromium logs most itself; the event catches any it reports only to the page). With
 * `allowHttpErrors`, Chromium's console line for a 4xx answer is not counted: pages that are
 * refused on purpose (401 before sign-in, 400 on a bad form) log one.
 */
export async function watchPageProblems(page: Page, options: { allowHttpErrors?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (options.allowHttpErrors && /status of 4\d\d/.test(message.text())) return;
    problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`),
    ),
  );
  return problems;
}
