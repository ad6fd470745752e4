import type { Plugin } from 'graphql-yoga';
import { bearerMatches, type Metrics } from '../server/metrics.js';

/**
 * GET /metrics in Prometheus text format, only when METRICS_TOKEN is set and
 * only with `Authorization: Bearer <token>`: 404 when unset (nothing to
 * find), 401 on a missing or wrong token, so session counts are never public
 * by accident.
 */
export function useMetricsEndpoint(metrics: Metrics, token: string | undefined): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics') return;
      if (!token || request.method !== 'GET') return endResponse(new fetchAPI.Response('Not Found', { status: 404 }));
      if (!bearerMatches(request.headers.get('authorization'), token)) {
        return endResponse(
          new fetchAPI.Response('Unauthorized', { status: 401, headers: { 'www-authenticate': 'Bearer realm="metrics"' } }),
        );
      }
      return metrics.registry.metrics().then((text) =>
        endResponse(
          new fetchAPI.Response(text, {
            status: 200,
            headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
          }),
        ),
      );
    },
  };
}
