import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFoundProblem } from './problem.ts';

/** `<projectRoot>/web/dist`, where the web app's production build lands. */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Shown when no web build exists: enough to tell a person what they reached and where the API is. */
export const BUILT_IN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Custos</title>
</head>
<body>
<main>
<h1>Custos</h1>
<p>The web app has not been built on this server. The API is available under <code>/api/v1</code>;
its reference is at <a href="/api/docs">/api/docs</a>.</p>
</main>
</body>
</html>
`;

/**
 * A path the browser app owns: a GET outside /api whose last segment has no file extension.
 * Those get the app shell so client-side routes survive a reload; a missing /assets/x.js stays 404.
 */
function isAppRoute(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const pathname = request.url.split('?')[0] ?? '/';
  if (pathname === '/api' || pathname.startsWith('/api/')) return false;
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return !last.includes('.');
}

function sendBuiltInPage(reply: FastifyReply): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(BUILT_IN_PAGE);
}

/**
 * Serves the web app from `distDir` if it has been built (SPA fallback to index.html), otherwise
 * the built-in page; and sets the not-found handler, which answers everything else with a 404
 * problem. Hashed build assets may be cached for good; index.html must be revalidated.
 */
export async function registerWebApp(app: FastifyInstance, distDir: string = WEB_DIST_DIR): Promise<void> {
  const built = fs.existsSync(path.join(distDir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: distDir,
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      dotfiles: 'ignore',
      list: false,
      allowedPath: (pathname) => !pathname.startsWith('/api/'),
      setHeaders: (reply, file) => {
        const immutable = file.startsWith(path.join(distDir, 'assets') + path.sep);
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => sendBuiltInPage(reply));
  }

  app.setNotFoundHandler(async (request, reply) => {
    if (!isAppRoute(request)) return notFoundProblem(request, reply);
    if (!built) return sendBuiltInPage(reply);
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
