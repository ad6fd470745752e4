import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from 'graphql';
import { DocumentCache, documentBytes, stringBytes } from '../graphql/document-cache.js';
import { recordOperation } from './operations.js';
import { SECURITY_HEADERS } from './policy/headers.js';

export interface FastLaneOptions {
  schema: GraphQLSchema;
  endpoint: string;
  allowedOrigins: ReadonlySet<string>;
  /** The same masking Yoga applies. */
  maskError: (error: GraphQLError) => GraphQLError;
  /** Builds the per-request context and, after execution, the session headers. */
  context: (cookieHeader: string | null) => { value: unknown; headers: () => Record<string, string | string[]> };
  /** Largest body the fast lane reads (REQUEST_MAX_BYTES). */
  maxBodyBytes: number;
  /** GRAPHQL_MAX_TOKENS, checked while parsing. */
  maxTokens: number;
  /** The validation rules Yoga runs besides the specified ones (limits). */
  rules: readonly ValidationRule[];
}

type Prepared = { document: DocumentNode; kind: 'query' | 'mutation'; name: string | undefined } | null;

/**
 * The hot path: a JSON POST of a known, valid query or mutation, executed
 * directly on node:http with the same schema, context, masking and headers
 * as Yoga, without the Fetch API objects Yoga builds for every request
 * (profiled as the largest cost per request; see README, Performance).
 * Anything else (GET, GraphiQL, other content types, invalid documents,
 * variables that fail coercion, batching) falls through to Yoga, which owns
 * every error format and status code.
 *
 * Returns the buffered body when it did not answer, so Yoga can still read it.
 */
export function createFastLane(options: FastLaneOptions) {
  // Verdicts per query text, bounded by their estimated heap (docs/security.md, Memory bounds).
  const documents = new DocumentCache<Prepared>({
    maxBytes: 16 * 1024 * 1024,
    maxEntryBytes: 1024 * 1024,
    maxKeyLength: 16 * 1024,
    weigh: (query, prepared) => (prepared ? documentBytes(query, prepared.document) : stringBytes(query)),
  });
  const prepare = (query: string): Prepared => {
    let prepared = documents.get(query);
    if (prepared !== undefined) return prepared;
    prepared = null;
    try {
      const document = parse(query, { maxTokens: options.maxTokens });
      if (validate(options.schema, document, [...specifiedRules, ...options.rules]).length === 0) {
        const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
        const op = operations.length === 1 ? getOperationAST(document) : null;
        if (op && (op.operation === 'query' || op.operation === 'mutation'))
          prepared = { document, kind: op.operation, name: op.name?.value };
      }
    } catch {}
    documents.set(query, prepared);
    return prepared;
  };

  function eligible(req: IncomingMessage, body: Buffer | undefined): boolean {
    if (req.method !== 'POST' || req.url !== options.endpoint) return false;
    const type = req.headers['content-type'];
    if (type !== 'application/json' && !/^application\/json\s*(;|$)/i.test(type ?? '')) return false;
    const accept = req.headers.accept;
    if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return false;
    const origin = req.headers.origin;
    if (origin !== undefined && !options.allowedOrigins.has(origin)) {
      try {
        if (new URL(origin).host !== req.headers.host) return false;
      } catch {
        return false;
      }
    }
    if (body) return true;
    const length = Number(req.headers['content-length']);
    return Number.isInteger(length) && length > 0 && length <= options.maxBodyBytes;
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /** Answers the request and returns null, or returns the body it read for Yoga. */
  return Object.assign(handle, { documents });

  async function handle(req: IncomingMessage, res: ServerResponse, read?: Buffer): Promise<Buffer | null | undefined> {
    if (!eligible(req, read)) return undefined;
    const body = read ?? (await readBody(req));
    let params: { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown };
    try {
      params = JSON.parse(body.toString('utf8'));
    } catch {
      return body;
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params) || typeof params.query !== 'string') return body;
    const { variables, operationName } = params;
    if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return body;
    if (operationName != null && typeof operationName !== 'string') return body;
    const { extensions } = params;
    if (extensions != null && (typeof extensions !== 'object' || Array.isArray(extensions))) return body;
    const prepared = prepare(params.query);
    if (!prepared) return body;

    const context = options.context(req.headers.cookie ?? null);
    const result = (await execute({
      schema: options.schema,
      document: prepared.document,
      contextValue: context.value,
      variableValues: variables as Record<string, unknown> | undefined,
      operationName: operationName as string | undefined,
    })) as ExecutionResult;
    if (!('data' in result) || result.data === undefined) return body; // a request error: Yoga reports it
    const out: Record<string, unknown> = { data: result.data };
    let status = 200;
    const headers: Record<string, string | string[] | number> = {};
    let outcome = 'ok';
    if (result.errors?.length) {
      const masked = result.errors.map(options.maskError);
      outcome = String(masked[0]?.extensions?.code ?? 'ERROR');
      // The database did not answer: 503 and a hint to retry, as Yoga does from `extensions.http`.
      for (const error of masked) {
        const http = error.extensions?.http as { status?: number; headers?: Record<string, string> } | undefined;
        if (http?.status && http.status > status) status = http.status;
        Object.assign(headers, http?.headers);
      }
      out.errors = masked.map(serialize);
    }
    recordOperation(res, {
      type: prepared.kind,
      name: prepared.name,
      outcome,
    });
    const payload = JSON.stringify(out);
    Object.assign(headers, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      ...context.headers(),
    });
    const origin = req.headers.origin;
    if (origin && options.allowedOrigins.has(origin)) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
    }
    if (options.allowedOrigins.size > 0) headers.vary = headers.vary ? `${headers.vary}, Origin` : 'Origin';
    res.writeHead(status, headers).end(payload);
    return null;
  }
}

/** A GraphQL error as Yoga serialises it: no internal `http` / `unexpected` extensions. */
function serialize(error: GraphQLError) {
  const json = error.toJSON() as { extensions?: Record<string, unknown> };
  if (json.extensions) {
    const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
    json.extensions = Object.keys(extensions).length ? extensions : undefined;
  }
  return json;
}
