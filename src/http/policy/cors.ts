/**
 * CORS for CORS_ORIGINS only, with credentials: never `*`, never a reflected
 * unknown origin. A response's headers depend on Origin whenever any origin
 * is allowed, so it then varies on Origin (shared caches).
 */
export function corsHeaders(origin: string | null | undefined, allowed: ReadonlySet<string>): Record<string, string> {
  if (allowed.size === 0) return {};
  if (!origin || !allowed.has(origin)) return { vary: 'Origin' };
  return { vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
}

/** The answer to a preflight (OPTIONS with Access-Control-Request-Method): 204, with grants only for an allowed origin. */
export function preflightHeaders(origin: string | null | undefined, allowed: ReadonlySet<string>): Record<string, string> {
  const headers = corsHeaders(origin, allowed);
  if (!headers['access-control-allow-origin']) return headers;
  return {
    ...headers,
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': 'content-type, accept',
    'access-control-max-age': '600',
  };
}

/** A preflight request, as opposed to an OPTIONS request of its own. */
export function isPreflight(
  method: string | undefined,
  origin: string | null | undefined,
  requestMethod: string | null | undefined,
): boolean {
  return method === 'OPTIONS' && !!origin && !!requestMethod;
}
