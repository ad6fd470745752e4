import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';

const ROUTES = {
  '/': { file: 'demo.html', type: 'text/html; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  '/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
} as const;
type Route = keyof typeof ROUTES;

export interface DemoPageOptions {
  /**
   * The folder `npm run build` writes the page to (demo.html, demo.css and
   * the bundled demo.js). @default web/ beside the server bundle (dist/web/
   * for dist/main.mjs); from source, the page is built from src/web/ instead
   */
  dir?: string;
}

/**
 * Where the page comes from. `npm run build` (scripts/build.mjs) bundles
 * src/web/demo.ts for the browser into dist/web/demo.js and copies demo.html
 * and demo.css beside it; the server bundle reads them from there, so
 * production never loads esbuild. Run from source (vitest, tsx, `npm run
 * screenshots`: this module is then a .ts file) nothing is built, and
 * dist/web/ may be missing or older than src/web/: the page comes from
 * src/web/, with demo.js bundled in memory by the build script's own function
 * and options. (A vitest globalSetup that builds dist/web/ would cover only the
 * tests, and would write into dist/ while a test's `npm run build` does too.)
 */
function pageFiles(dir: string | undefined): (route: Route) => Promise<string> {
  if (dir !== undefined || !import.meta.url.endsWith('.ts')) {
    const built = dir ?? fileURLToPath(new URL('./web/', import.meta.url));
    return (route) => readFile(path.join(built, ROUTES[route].file), 'utf8');
  }
  const source = fileURLToPath(new URL('../web/', import.meta.url));
  // Not a literal specifier, so that no bundler follows it into dist/main.mjs.
  const buildScript = new URL('../../scripts/build.mjs', import.meta.url).href;
  return async (route) => {
    if (route !== '/demo.js') return readFile(path.join(source, ROUTES[route].file), 'utf8');
    const { bundleDemoScript } = (await import(buildScript)) as { bundleDemoScript(): Promise<string> };
    return bundleDemoScript();
  };
}

/**
 * The demo frontend: `/` (demo.html), `/demo.js` (demo.ts bundled) and
 * `/demo.css`, all from this server; no CDN, no framework. Each file is read
 * on its first request and kept in memory (a few KB). The CSP plugin adds the
 * page's policy.
 */
export function useDemoPage(options: DemoPageOptions = {}): Plugin {
  const read = pageFiles(options.dir);
  const loaded = new Map<Route, Promise<string>>();
  const load = (route: Route) => {
    let body = loaded.get(route);
    if (!body) {
      body = read(route);
      loaded.set(route, body);
      // A failed read or build (a syntax error while editing demo.ts) is retried on the next request.
      body.catch(() => loaded.delete(route));
    }
    return body;
  };
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!Object.hasOwn(ROUTES, url.pathname)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const route = url.pathname as Route;
      const body = await load(route);
      endResponse(
        new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
          status: 200,
          headers: { 'content-type': ROUTES[route].type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
        }),
      );
    },
  };
}
