import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type Plugin, shouldRenderGraphiQL } from 'graphql-yoga';
import { SECURITY_HEADERS } from './policy/headers.js';
import { GRAPHQL_PATH } from './policy/routes.js';
import { contentSecurityPolicy } from './use-content-security-policy.js';

interface Page {
  html: string;
  gzipped: Buffer;
  etag: string;
  policy: string;
}

/**
 * GraphiQL at GET /graphql for browsers (Accept: text/html), instead of
 * Yoga's own rendering, which built the ~9 MB page (React, Monaco and
 * GraphiQL inlined) and hashed it for the CSP on every request: ~55 ms of
 * CPU and 9 MB per load. Here the page is rendered, hashed and gzipped once
 * (~2 MB on the wire), and sent with an ETag and `Cache-Control: no-cache`,
 * so a reload is a 304. The page is the same for every visitor (it holds no
 * session data). `Vary: Accept` because the same URL answers GraphQL in JSON.
 */
export function useGraphiQLPage(render: () => string | Promise<string>): Plugin {
  let page: Promise<Page> | undefined;
  const load = () => {
    page ??= (async () => {
      const html = await render();
      const gzipped = await promisify(gzip)(html, { level: 9 });
      const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
      return { html, gzipped, etag, policy: contentSecurityPolicy(html) };
    })();
    // A failed render (a missing asset) is tried again on the next request.
    page.catch(() => {
      page = undefined;
    });
    return page;
  };
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== GRAPHQL_PATH || !shouldRenderGraphiQL(request)) return;
      const { html, gzipped, etag, policy } = await load();
      const headers: Record<string, string> = {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': policy,
        'cache-control': 'no-cache',
        etag,
        vary: 'Accept, Accept-Encoding',
      };
      const known = request.headers.get('if-none-match');
      if (known?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
        return endResponse(new fetchAPI.Response(null, { status: 304, headers }));
      }
      if (/\bgzip\b/i.test(request.headers.get('accept-encoding') ?? '')) {
        headers['content-encoding'] = 'gzip';
        return endResponse(new fetchAPI.Response(new Uint8Array(gzipped), { status: 200, headers }));
      }
      endResponse(new fetchAPI.Response(html, { status: 200, headers }));
    },
  };
}
