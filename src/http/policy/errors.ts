import { SECURITY_HEADERS } from './headers.js';

/**
 * A refusal outside GraphQL execution (CSRF, routing, limits, malformed
 * HTTP) in the GraphQL-over-HTTP error shape, as a body and its headers:
 * `{ "errors": [{ "message", "extensions": { "code" } }] }`.
 */
export function jsonError(
  status: number,
  message: string,
  code: string,
): [body: string, init: { status: number; headers: Record<string, string> }] {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  return [body, { status, headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS } }];
}
