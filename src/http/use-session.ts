import type { Plugin } from 'graphql-yoga';
import type { RequestSession } from '../session/request-session.js';

/**
 * The session cookie in and out: the context's RequestSession is created per
 * request (nothing is read until a resolver asks), and the response carries
 * the cookie its writes call for, plus `Vary: Cookie` and
 * `Cache-Control: private, no-store` when the result depended on the session
 * (SEMANTICS.md, "Reading"), so no shared cache serves it to someone else.
 */
export function useSession(sessions: WeakMap<Request, RequestSession>): Plugin {
  return {
    onResponse({ request, response }) {
      const session = sessions.get(request);
      if (!session?.accessed) return;
      const cookie = session.setCookieHeader();
      if (cookie) response.headers.append('set-cookie', cookie);
      response.headers.append('vary', 'Cookie');
      response.headers.set('cache-control', 'private, no-store');
    },
  };
}
