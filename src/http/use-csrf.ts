import type { Plugin } from 'graphql-yoga';
import { jsonError } from './policy/errors.js';
import { csrfRefusal, originVerdict } from './policy/origin.js';

/**
 * The CSRF rule (src/http/policy/origin.ts) on Yoga's side, for every path:
 * a policy keyed on one spelling of the endpoint is one a trailing slash
 * walks around. GET never runs mutations (Yoga answers 405).
 */
export function useCsrfGuard(options: { allowedOrigins: ReadonlySet<string> }): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const origin = request.headers.get('origin');
      const verdict = originVerdict(origin, request.headers.get('host') ?? url.host, options.allowedOrigins);
      const refusal = csrfRefusal(request.method, request.headers.get('content-type'), origin, verdict);
      if (refusal) endResponse(new fetchAPI.Response(...jsonError(refusal.status, refusal.message, 'BAD_REQUEST')));
    },
  };
}
