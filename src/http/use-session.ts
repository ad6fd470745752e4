import type { Session } from '../core/session.js';

/**
 * What a response must say about the session: the cookie its writes call for,
 * and, when the result depended on the session, `Vary: Cookie` and
 * `Cache-Control: private, no-store` (SEMANTICS.md, "Reading"), so that no
 * shared cache serves one visitor's session to another.
 */
export function sessionHeaders(session: Session | undefined): Record<string, string> {
  if (!session?.accessed) return {};
  const headers: Record<string, string> = { vary: 'Cookie', 'cache-control': 'private, no-store' };
  const cookie = session.setCookieHeader();
  if (cookie) headers['set-cookie'] = cookie;
  return headers;
}
