import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';

interface Asset {
  body: string;
  type: string;
}

/**
 * src/web/, where the demo's sources are: beside this file's folder when run
 * from source (tsx, vitest), under src/ when bundled into dist/main.mjs.
 */
export function webDirectory(): string {
  const candidates = ['../web/', '../src/web/'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((dir) => existsSync(`${dir}demo.html`)) ?? candidates[0]!;
}

/** demo.ts bundled for the browser (one IIFE, minified), with esbuild, in memory. */
export async function bundleDemoScript(dir = webDirectory()): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [`${dir}demo.ts`],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/**
 * The demo frontend: `/` (demo.html), `/demo.js` (demo.ts bundled by esbuild)
 * and `/demo.css`, all from this server; no CDN, no framework. Everything is
 * built or read on first request and kept in memory (a few KB), so a server
 * nobody visits never starts esbuild. The CSP plugin adds the page's policy.
 */
export function useDemoPage(): Plugin {
  const dir = webDirectory();
  const assets: Record<string, () => Promise<Asset>> = {
    '/': async () => ({ body: await readFile(`${dir}demo.html`, 'utf8'), type: 'text/html; charset=utf-8' }),
    '/demo.css': async () => ({ body: await readFile(`${dir}demo.css`, 'utf8'), type: 'text/css; charset=utf-8' }),
    '/demo.js': async () => ({ body: await bundleDemoScript(dir), type: 'text/javascript; charset=utf-8' }),
  };
  const loaded = new Map<string, Promise<Asset>>();
  const load = (path: string) => {
    let asset = loaded.get(path);
    if (!asset) {
      asset = assets[path]!();
      loaded.set(path, asset);
      // A failed build (a syntax error while editing demo.ts) is retried on the next request.
      asset.catch(() => loaded.delete(path));
    }
    return asset;
  };
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!Object.hasOwn(assets, url.pathname)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const { body, type } = await load(url.pathname);
      endResponse(
        new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
          status: 200,
          headers: { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
        }),
      );
    },
  };
}
