import type { Plugin } from 'graphql-yoga';
import { corsHeaders, isPreflight, preflightHeaders } from './policy/cors.js';
import { SECURITY_HEADERS } from './policy/headers.js';

/** CORS on Yoga's side (Yoga's own `cors` is off): the fast path's rule, for preflights and every response. */
export function useCors(allowed: ReadonlySet<string>): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const origin = request.headers.get('origin');
      if (!isPreflight(request.method, origin, request.headers.get('access-control-request-method'))) return;
      endResponse(new fetchAPI.Response(null, { status: 204, headers: { ...SECURITY_HEADERS, ...preflightHeaders(origin, allowed) } }));
    },
    onResponse({ request, response }) {
      for (const [name, value] of Object.entries(corsHeaders(request.headers.get('origin'), allowed))) {
        if (name === 'vary') {
          // Once: a preflight's own answer (onRequest) says it already.
          if (!/(^|,)\s*origin\s*(,|$)/i.test(response.headers.get('vary') ?? '')) response.headers.append(name, value);
        } else response.headers.set(name, value);
      }
    },
  };
}
