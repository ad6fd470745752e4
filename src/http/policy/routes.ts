/**
 * Every path this server answers, each in exactly one spelling. Anything
 * else is 404 before any policy or handler runs: `/graphql/`, `//graphql`,
 * `/GraphQL`, `/./graphql`, `/graphql%2F` or `/graphql;x` are not the
 * endpoint, so no policy keyed on a path can be walked around (Yoga itself
 * answers GraphQL at `/graphql/` and anything ending in `/graphql`, and
 * health at anything ending in `/health`).
 */
export const GRAPHQL_PATH = '/graphql';

export const ROUTES: ReadonlySet<string> = new Set([
  GRAPHQL_PATH,
  // the demo page (src/http/use-demo-page.ts)
  '/',
  '/demo.js',
  '/demo.css',
  // liveness and readiness (Yoga's health check, useReadinessCheck)
  '/health',
  '/ready',
  // Prometheus (src/http/use-metrics.ts)
  '/metrics',
]);

/** Whether `path` (the request target up to `?`, as sent) is one this server serves. */
export function isRoute(path: string): boolean {
  return ROUTES.has(path);
}
