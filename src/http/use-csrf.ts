import type { Plugin } from 'graphql-yoga';

/**
 * Cookie-authenticated GraphQL is a CSRF target. A browser sends a cross-site
 * "simple" request (form post, text/plain, multipart) without asking first,
 * cookie included; a JSON body makes it ask (a CORS preflight), and only
 * CORS_ORIGINS pass that. So a POST must have a JSON body (415 otherwise), and
 * a request whose Origin is neither this host nor allowed is refused outright
 * (403), for browsers that skip the preflight rules. GET never runs mutations
 * (Yoga answers 405).
 */
export function useCsrfGuard(options: { endpoint: string; allowedOrigins: ReadonlySet<string> }): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== options.endpoint) return;
      const refuse = (status: number, message: string) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
        );
      const origin = request.headers.get('origin');
      if (origin && origin !== 'null' && !options.allowedOrigins.has(origin) && !sameHost(origin, request)) {
        return refuse(403, `Origin ${origin} is not allowed (CORS_ORIGINS).`);
      }
      if (origin === 'null' && request.method === 'POST') {
        return refuse(403, 'Requests from an opaque origin are not allowed.');
      }
      if (request.method === 'POST') {
        const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
        if (type !== 'application/json') {
          return refuse(415, 'POST /graphql takes a JSON body (Content-Type: application/json).');
        }
      }
    },
  };
}

function sameHost(origin: string, request: Request): boolean {
  try {
    return new URL(origin).host === (request.headers.get('host') ?? new URL(request.url).host);
  } catch {
    return false;
  }
}
