import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

/**
 * The policy of every HTML page this server sends (GraphiQL, the demo page),
 * found by running both in Chromium with CSP violations reported:
 *
 * - scripts: files from this origin, and the page's own inline scripts by
 *   hash (GraphiQL is one inline script of ~9 MB: React, Monaco, the
 *   GraphiQL bundle and its options); no 'unsafe-inline', no 'unsafe-eval';
 * - styles: inline allowed (Monaco and GraphiQL's React components set
 *   `style` attributes and insert <style> elements at run time);
 * - images and fonts: this origin and data: URLs (GraphiQL's favicon, its
 *   fonts and icons are inlined as data: URLs);
 * - workers: blob: URLs (GraphiQL builds Monaco's editor, JSON and GraphQL
 *   workers from strings it carries);
 * - connections: this origin only (the GraphQL endpoint);
 * - no frames of this page elsewhere, no <base>, no form posts, no plugins.
 */
export const BASE_POLICY: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'worker-src': ["'self'", 'blob:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

/** The text of every inline <script> (one without `src`), as the browser hashes it. */
export function inlineScripts(html: string): string[] {
  const scripts: string[] = [];
  const open = /<script\b([^>]*)>/gi;
  const close = /<\/script/gi;
  for (let tag = open.exec(html); tag; tag = open.exec(html)) {
    close.lastIndex = open.lastIndex;
    const end = close.exec(html);
    if (!end) break;
    if (!/\bsrc\s*=/i.test(tag[1] ?? '')) scripts.push(html.slice(open.lastIndex, end.index));
    open.lastIndex = close.lastIndex;
  }
  return scripts;
}

/** The CSP source of a script: `'sha256-…'` over its UTF-8 text. */
export function scriptHash(script: string): string {
  return `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
}

/** The Content-Security-Policy header value for a page: the base policy plus the hashes of its inline scripts. */
export function contentSecurityPolicy(html: string, hash: (script: string) => string = scriptHash): string {
  const hashes = [...new Set(inlineScripts(html).map(hash))];
  return Object.entries(BASE_POLICY)
    .map(([directive, sources]) => [directive, ...sources, ...(directive === 'script-src' ? hashes : [])].join(' '))
    .join('; ');
}

/**
 * Adds `Content-Security-Policy` (and `X-Content-Type-Options: nosniff`) to
 * every text/html response. The hashes are computed once per distinct inline
 * script: GraphiQL's page is rendered anew on each request, identical every
 * time, and hashing its 9 MB script costs ~15 ms, so hashes are kept by
 * script text (a few entries at most, each the size of one page).
 */
export function useContentSecurityPolicy(options: { maxCachedScripts?: number } = {}): Plugin {
  const maxCached = options.maxCachedScripts ?? 4;
  const hashes = new Map<string, string>();
  const cachedHash = (script: string) => {
    let value = hashes.get(script);
    if (value === undefined) {
      value = scriptHash(script);
      if (hashes.size >= maxCached) hashes.delete(hashes.keys().next().value as string);
      hashes.set(script, value);
    }
    return value;
  };
  return {
    async onResponse({ response }) {
      const type = response.headers.get('content-type') ?? '';
      if (!/^\s*text\/html\b/i.test(type) || response.headers.has('content-security-policy')) return;
      const html = await response.clone().text();
      response.headers.set('content-security-policy', contentSecurityPolicy(html, cachedHash));
      response.headers.set('x-content-type-options', 'nosniff');
    },
  };
}
