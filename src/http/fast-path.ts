import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type SelectionSetNode,
  specifiedRules,
  type ValidationRule,
  validate,
} from 'graphql';
import { DocumentCache, documentBytes } from '../graphql/document-cache.js';
import { parseDocument } from '../graphql/limits.js';
import { executePlan, type OperationPlan, planOperation } from '../graphql/plan.js';
import { readsSession } from '../pothos.js';
import { recordOperation, withRequestId } from './operations.js';
import { readLimited } from './policy/body.js';
import { corsHeaders } from './policy/cors.js';
import { SECURITY_HEADERS } from './policy/headers.js';
import { type GraphQLMediaType, negotiate } from './policy/negotiate.js';
import { checkParams, type GraphQLParams, paramsFromBody, paramsFromSearch } from './policy/params.js';
import { type PersistedQueryStore, resolvePersistedQuery } from './policy/persisted-queries.js';
import { graphqlResponse } from './policy/response.js';
import { GRAPHQL_PATH } from './policy/routes.js';

export interface FastPathOptions {
  schema: GraphQLSchema;
  allowedOrigins: ReadonlySet<string>;
  /** The same masking Yoga applies, for every error either path sends. */
  maskError: (error: GraphQLError) => GraphQLError;
  /**
   * Builds the per-request context and, after execution, the session
   * headers; `preload` reads the session ahead of a query that reads it
   * (see {@link readsSessionFirst}).
   */
  context: (
    cookieHeader: string | null,
    req: IncomingMessage,
  ) => { value: unknown; headers: () => Record<string, string | string[]>; preload?: () => Promise<void> };
  /** GRAPHQL_MAX_TOKENS, checked while parsing. */
  maxTokens: number;
  /** The validation rules Yoga runs besides the specified ones (limits). */
  rules: readonly ValidationRule[];
  /** Apollo's automatic persisted queries, shared with Yoga's side. */
  persistedQueries: PersistedQueryStore;
  /** The GraphQL endpoint's path (Yoga's graphqlEndpoint); other paths are not answered here. @default '/graphql' */
  path?: string;
}

/** A document that parsed and validated: what executing one of its operations needs. */
interface Prepared {
  document: DocumentNode;
  /** Per operation of the document, worked out on its first use. */
  operations?: Map<OperationDefinitionNode, PreparedOperation>;
}

interface PreparedOperation {
  /** Its plan, or null when graphql-js executes it (src/graphql/plan.ts). */
  plan: OperationPlan | null;
  /** Whether a root field reads the session. */
  readsSession: boolean;
}

/**
 * Whether a query's root fields include one marked as reading the session
 * (READS_SESSION, src/pothos.ts), through fragments too, and not under a
 * directive (@skip, @include: it might not run). Then the session is
 * read before execution, and those fields resolve synchronously: graphql-js
 * then builds the result without a promise per field (measured: docs/decisions/0018).
 * A query that never reads the session is not made to read it.
 */
function readsSessionFirst(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const fields = schema.getQueryType()?.getFields();
  if (!fields) return false;
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean =>
    set.selections.some((selection) => {
      // A field under @skip or @include may not run: it is not counted (it still reads, when it runs, as any field).
      if (selection.directives?.length) return false;
      if (selection.kind === Kind.FIELD) return readsSession(fields[selection.name.value]?.extensions);
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return false;
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment ? visit(fragment) : false;
    });
  return visit(operation.selectionSet);
}

/** A parse or validation error, with the code and status class Yoga gives it (status per media type). */
function requestError(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.http) return error; // the token limit already says what it is
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: error.extensions.code ?? code, http: { status: 400 } },
  });
}

/**
 * The GraphQL-over-HTTP path for every query and mutation a client sends
 * (POST with a JSON body, or GET), executed on node:http with the schema,
 * context, limits, masking and response policy Yoga uses
 * (`src/http/policy/`), without the Fetch API objects Yoga builds for every
 * request (profiled as the largest cost per request; see README,
 * Performance). It answers errors too, with the statuses of the spec for
 * the negotiated media type.
 *
 * What only Yoga does it leaves to Yoga (returns `undefined`, or the body it
 * read): other methods and preflights, GraphiQL (GET for text/html),
 * clients that accept no JSON type (event streams), subscriptions.
 */
export function createFastPath(options: FastPathOptions) {
  const endpoint = options.path ?? GRAPHQL_PATH;
  const rules = [...specifiedRules, ...options.rules];
  // Valid documents by query text, bounded by their estimated heap (docs/security.md, Memory bounds).
  // Invalid ones are not kept: their errors can weigh far more than their text.
  const documents = new DocumentCache<Prepared>({
    maxBytes: 16 * 1024 * 1024,
    maxEntryBytes: 1024 * 1024,
    maxKeyLength: 16 * 1024,
    weigh: (query, prepared) => documentBytes(query, prepared.document),
  });

  function prepare(query: string): Prepared | readonly GraphQLError[] {
    const cached = documents.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parseDocument(query, options.maxTokens);
    } catch (error) {
      if (error instanceof GraphQLError) return [requestError(error, 'GRAPHQL_PARSE_FAILED')];
      throw error;
    }
    const errors = validate(options.schema, document, rules);
    if (errors.length) return errors.map((error) => requestError(error, 'GRAPHQL_VALIDATION_FAILED'));
    const prepared = { document };
    documents.set(query, prepared);
    return prepared;
  }

  /** Masks the errors and writes the response; returns the first error's code, or 'ok'. */
  function send(
    req: IncomingMessage,
    res: ServerResponse,
    mediaType: GraphQLMediaType,
    result: ExecutionResult,
    session: Record<string, string | string[]> = {},
  ): string {
    const masked = result.errors?.length ? { ...result, errors: result.errors.map(options.maskError) } : result;
    const { status, headers, body } = graphqlResponse(masked, mediaType);
    const cors = corsHeaders(req.headers.origin, options.allowedOrigins);
    res.writeHead(
      status,
      withRequestId(res, {
        ...SECURITY_HEADERS,
        ...headers,
        'content-length': Buffer.byteLength(body),
        ...session,
        ...cors,
        ...(session.vary && cors.vary ? { vary: `${cors.vary}, ${session.vary}` } : {}),
      }),
    );
    res.end(body);
    const first = masked.errors?.[0];
    return first ? String(first.extensions?.code ?? 'ERROR') : 'ok';
  }

  /** Answers the request and returns null, or returns undefined (or the body it read) for Yoga. */
  async function handle(req: IncomingMessage, res: ServerResponse, read?: Buffer): Promise<Buffer | null | undefined> {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST') return undefined;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== endpoint) return undefined;
    const accept = req.headers.accept;
    if (method === 'GET' && accept?.includes('text/html')) return undefined;
    const mediaType = negotiate(accept);
    if (!mediaType) return undefined;
    /** Answers a request error; nothing runs. */
    const refuse = (errors: readonly GraphQLError[]) => {
      send(req, res, mediaType, { errors });
      return null;
    };
    let body: Buffer | undefined = read;
    let params: GraphQLParams | GraphQLError;
    if (method === 'POST') {
      body ??= (await readLimited(req)) as Buffer; // the node handler has checked the declared length
      params = paramsFromBody(body.toString('utf8'));
    } else {
      params = paramsFromSearch(q < 0 ? '' : url.slice(q + 1));
    }
    const refused =
      params instanceof GraphQLError ? params : (resolvePersistedQuery(params, options.persistedQueries) ?? checkParams(params));
    if (refused) return refuse([refused]);
    const { query, variables, operationName } = params as { query: string; variables?: Record<string, unknown>; operationName?: string };

    const prepared = prepare(query);
    if (!('document' in prepared)) return refuse(prepared);
    const operation = getOperationAST(prepared.document, operationName);
    if (!operation) {
      const error = new GraphQLError('Could not determine what operation to execute.', {
        extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } },
      });
      return refuse([error]);
    }
    const kind: OperationTypeNode = operation.operation;
    if (kind === 'subscription') return body; // event streams are Yoga's
    if (kind === 'mutation' && method === 'GET') {
      const error = new GraphQLError('Can only perform a mutation operation from a POST request.', {
        extensions: { code: 'BAD_REQUEST', http: { status: 405, headers: { allow: 'POST' } } },
      });
      return refuse([error]);
    }

    prepared.operations ??= new Map();
    let planned = prepared.operations.get(operation);
    if (!planned) {
      planned = {
        plan: planOperation(options.schema, prepared.document, operation),
        readsSession: kind === 'query' && readsSessionFirst(options.schema, prepared.document, operation),
      };
      prepared.operations.set(operation, planned);
    }
    const context = options.context(req.headers.cookie ?? null, req);
    if (planned.readsSession && context.preload) await context.preload();
    const executed = planned.plan
      ? executePlan(planned.plan, context.value, variables ?? undefined)
      : execute({
          schema: options.schema,
          document: prepared.document,
          contextValue: context.value,
          variableValues: variables ?? undefined,
          operationName: operationName ?? undefined,
        });
    // Synchronous when every field is (a preloaded query): no promise to wait for.
    const result = (executed instanceof Promise ? await executed : executed) as ExecutionResult;
    const outcome = send(req, res, mediaType, result, context.headers());
    recordOperation(res, { type: kind, name: operation.name?.value, outcome });
    return null;
  }

  return Object.assign(handle, { documents });
}
