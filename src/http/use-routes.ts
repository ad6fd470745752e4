import type { Plugin } from 'graphql-yoga';
import { jsonError } from './policy/errors.js';
import { isRoute } from './policy/routes.js';

/**
 * The route table (src/http/policy/routes.ts) on Yoga's side: a path that is
 * not one of the app's, in its one spelling, is 404 before any other plugin
 * of ours or any GraphQL handling sees it. Yoga's built-in health check and
 * CORS preflight run before user plugins; neither reads a session or writes.
 */
export function useRoutes(): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (!isRoute(url.pathname)) endResponse(new fetchAPI.Response(...jsonError(404, 'Not found.', 'NOT_FOUND')));
    },
  };
}
