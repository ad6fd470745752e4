import type { Plugin } from 'graphql-yoga';
import { paramsFromBody, paramsFromSearch } from './policy/params.js';

/**
 * Yoga reads GET and JSON POST parameters as the fast path does
 * (src/http/policy/params.ts): a bad `variables` in a GET is a 400, not the
 * 500 Yoga's own parser gives for it.
 */
export function useRequestParams(): Plugin {
  return {
    onRequestParse({ request, url, setRequestParser }) {
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      if (request.method === 'GET') {
        setRequestParser(() => {
          const params = paramsFromSearch(url.search.slice(1));
          if (params instanceof Error) throw params;
          return params as Record<string, never>;
        });
      } else if (request.method === 'POST' && type === 'application/json') {
        // Yoga hands the parser the request to read (its body-size limit wraps the body).
        setRequestParser(async (toRead) => {
          const params = paramsFromBody(await toRead.text());
          if (params instanceof Error) throw params;
          return params as Record<string, never>;
        });
      }
    },
  };
}
