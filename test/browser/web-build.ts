import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
export const WEB_DIST = path.join(webDir, 'dist');
const configFile = path.join(webDir, 'vite.config.ts');

/** Newest modification time under the web app's sources (what a build is made from). */
function newestSource(): number {
  let newest = 0;
  const visit = (entry: string) => {
    const stat = fs.statSync(entry);
    if (stat.isDirectory()) for (const child of fs.readdirSync(entry)) visit(path.join(entry, child));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const entry of ['index.html', 'vite.config.ts', 'src', 'public']) {
    const full = path.join(webDir, entry);
    if (fs.existsSync(full)) visit(full);
  }
  return newest;
}

/**
 * Makes sure web/dist is a build of the current sources, so a browser test never passes or fails
 * on a stale bundle. The build goes to a staging folder first and is then moved into place, so a
 * server reading web/dist never sees a half-written build.
 */
export async function ensureWebBuilt(): Promise<string> {
  const index = path.join(WEB_DIST, 'index.html');
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestSource()) return WEB_DIST;
  const staging = fs.mkdtempSync(path.join(webDir, '.dist-'));
  // Vitest sets NODE_ENV=test, and Vite builds React's development bundle unless NODE_ENV is
  // production: the browser tests must run what ships, so the build gets production explicitly.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile, mode: 'production', logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
    const previous = `${WEB_DIST}.old-${process.pid}`;
    if (fs.existsSync(WEB_DIST)) fs.renameSync(WEB_DIST, previous);
    fs.renameSync(staging, WEB_DIST);
    fs.rmSync(previous, { recursive: true, force: true });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return WEB_DIST;
}
