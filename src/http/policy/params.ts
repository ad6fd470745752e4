import { GraphQLError } from 'graphql';

// The GraphQL-over-HTTP request parameters, read the same way at both entry
// points (the fast path, and Yoga's request parser: use-request-params.ts).

/** Request parameters as both entry points read them (GraphQL over HTTP §Request Parameters). */
export interface GraphQLParams {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

const PARAMETERS = new Set(['query', 'variables', 'operationName', 'extensions']);

/** A malformed request: 400 whatever the media type. */
export const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

const typeOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/**
 * The parameter rules of GraphQL over HTTP, in Yoga's words: an object with
 * only query, variables, operationName and extensions; a string query
 * (after persisted queries); maps or null for variables and extensions.
 */
export function checkParams(params: GraphQLParams): GraphQLError | null {
  for (const key of Object.keys(params)) {
    if (!PARAMETERS.has(key) && (params as Record<string, unknown>)[key] != null)
      return badRequest(`Unexpected parameter "${key}" in the request body.`);
  }
  if (params.query == null || params.query === '') {
    return new GraphQLError('Must provide query string.', {
      extensions: { code: 'BAD_REQUEST', http: { status: 400, headers: { allow: 'GET, POST' } } },
    });
  }
  if (typeof params.query !== 'string') return badRequest(`Expected "query" param to be a string, but given ${typeOf(params.query)}.`);
  for (const name of ['variables', 'extensions'] as const) {
    const type = typeOf(params[name]);
    if (type !== 'object' && type !== 'null' && type !== 'undefined')
      return badRequest(`Expected "${name}" param to be empty or an object, but given ${type}.`);
  }
  if (params.operationName != null && typeof params.operationName !== 'string')
    return badRequest(`Expected "operationName" param to be a string, but given ${typeOf(params.operationName)}.`);
  return null;
}

/**
 * GET parameters: `variables` and `extensions` are JSON in the query string.
 * Other keys in the URL (a cache buster, a tracking tag) are not GraphQL's
 * and are ignored, as Yoga's own GET parser did.
 */
export function paramsFromSearch(search: string): GraphQLParams | GraphQLError {
  const query = new URLSearchParams(search);
  const params: GraphQLParams = {};
  for (const key of PARAMETERS) {
    const value = query.get(key);
    if (!value) continue;
    if (key === 'variables' || key === 'extensions') {
      try {
        params[key] = JSON.parse(value);
      } catch {
        return badRequest(`The "${key}" parameter is not valid JSON.`);
      }
    } else params[key as 'query' | 'operationName'] = value;
  }
  return params;
}

/** POST parameters: one JSON object (batching is off). */
export function paramsFromBody(body: string): GraphQLParams | GraphQLError {
  let params: unknown;
  try {
    params = JSON.parse(body);
  } catch {
    return badRequest('POST body sent invalid JSON.');
  }
  if (Array.isArray(params)) return badRequest('Batching is not supported.');
  if (params === null || typeof params !== 'object') return badRequest(`POST body is expected to be object but received ${typeOf(params)}`);
  return params as GraphQLParams;
}
