import type { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import type { GraphQLMediaType } from './negotiate.js';

/**
 * What an error may say about the HTTP answer (Yoga's convention, so that
 * Yoga's own errors and ours read alike): a status and headers.
 */
export interface HttpExtension {
  status?: number;
  headers?: Record<string, string>;
}

/** Refusals of the HTTP request itself (malformed, or no acceptable media type): their status holds under application/json too. */
const HTTP_REFUSALS = new Set(['BAD_REQUEST', 'NOT_ACCEPTABLE']);

/**
 * The status and extra headers of a GraphQL response, per the GraphQL over
 * HTTP spec, for each media type:
 * - The request was executed (`data` is there): 200, or the highest status
 *   an error asks for (503 when the database did not answer).
 * - A malformed request (`BAD_REQUEST`: bad JSON, bad parameters, a
 *   mutation over GET) or one no media type served suits (`NOT_ACCEPTABLE`:
 *   a subscription asked for as JSON): its status (400, 405, 406), with
 *   either media type.
 * - A GraphQL request error (parse, validation, limits, variables, the
 *   operation to run, an unknown persisted query): with
 *   `application/graphql-response+json` its status (400 unless it says
 *   otherwise); with `application/json` 200, as legacy clients expect.
 * - A failure on our side before execution: 500, or what it asks for.
 */
export function responseStatus(result: ExecutionResult, mediaType: GraphQLMediaType): { status: number; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const executed = 'data' in result && result.data !== undefined;
  const legacy = mediaType === 'application/json';
  let status = 0;
  for (const error of result.errors ?? []) {
    const http = error.extensions?.http as HttpExtension | undefined;
    if (http?.headers) Object.assign(headers, http.headers);
    let wanted = http?.status ?? (error.extensions?.unexpected ? 500 : executed ? 200 : 400);
    const requestError = !executed && wanted < 500 && !HTTP_REFUSALS.has(error.extensions?.code as string);
    if (requestError && legacy) wanted = 200;
    status = Math.max(status, wanted);
  }
  return { status: status || 200, headers };
}

/** An error as clients see it: without the internal `http` and `unexpected` extensions. */
export function formatError(error: GraphQLError): GraphQLFormattedError {
  const json = error.toJSON();
  if (json.extensions) {
    const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
    return Object.keys(extensions).length ? { ...json, extensions } : { message: json.message, locations: json.locations, path: json.path };
  }
  return json;
}

/** The response body: `errors` (formatted) before `data`, as Yoga writes it; no internal extensions. */
export function responseBody(result: ExecutionResult): string {
  const out: Record<string, unknown> = {};
  if (result.errors?.length) out.errors = result.errors.map(formatError);
  if ('data' in result) out.data = result.data;
  if (result.extensions) {
    const { http: _http, ...extensions } = result.extensions as Record<string, unknown>;
    if (Object.keys(extensions).length) out.extensions = extensions;
  }
  return JSON.stringify(out);
}

/** Status, headers and body of a GraphQL response in `mediaType`: the one serialisation of both entry points. */
export function graphqlResponse(result: ExecutionResult, mediaType: GraphQLMediaType) {
  const { status, headers } = responseStatus(result, mediaType);
  headers['content-type'] = `${mediaType}; charset=utf-8`;
  return { status, headers, body: responseBody(result) };
}
