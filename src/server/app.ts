import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, useReadinessCheck, maskError as yogaMaskError } from 'graphql-yoga';
import { type Clock, systemClock } from '../core/clock.js';
import type { SessionEngine } from '../core/engine.js';
import { CachedDbEngine, withNotices } from '../engines/index.js';
import type { Database } from '../engines/postgres/client.js';
import { SessionStore } from '../engines/postgres/store.js';
import type { Context } from '../graphql/builder.js';
import { yogaParserCaches } from '../graphql/document-cache.js';
import { mapDomainError } from '../graphql/errors.js';
import { limitRules } from '../graphql/limits.js';
import { schema } from '../graphql/schema.js';
import { withoutSuggestions } from '../graphql/suggestions.js';
import { createFastPath } from '../http/fast-path.js';
import { createNodeHandler } from '../http/node-handler.js';
import { useOperationInfo } from '../http/operations.js';
import { SECURITY_HEADERS } from '../http/policy/headers.js';
import { createPersistedQueryStore } from '../http/policy/persisted-queries.js';
import { GRAPHQL_PATH } from '../http/policy/routes.js';
import { createHttpServer } from '../http/server.js';
import { useContentSecurityPolicy } from '../http/use-content-security-policy.js';
import { useCors } from '../http/use-cors.js';
import { useCsrfGuard } from '../http/use-csrf.js';
import { useDemoPage } from '../http/use-demo-page.js';
import { useGraphiQLPage } from '../http/use-graphiql-page.js';
import { useGraphQLResponse } from '../http/use-graphql-response.js';
import { useHiddenSuggestions } from '../http/use-hidden-suggestions.js';
import { useMetricsEndpoint } from '../http/use-metrics.js';
import { usePersistedQueries } from '../http/use-persisted-queries.js';
import { useQueryLimits } from '../http/use-query-limits.js';
import { useRequestParams } from '../http/use-request-params.js';
import { useRoutes } from '../http/use-routes.js';
import { sessionHeaders } from '../http/use-session.js';
import { builtInAreas } from '../index.js';
import { useSessions } from '../yoga.js';
import type { Config } from './config.js';
import { createLogger, type Logger, withoutExpectedErrors } from './logger.js';
import { createMetrics } from './metrics.js';

export interface AppOptions {
  config: Config;
  /** The `db` engine's database; not needed with `engine`. */
  database?: Database;
  /** A session engine to use instead of the PostgreSQL store on `database` (SESSION_ENGINE=cache: a RedisEngine; cached_db: a CachedDbEngine). */
  engine?: SessionEngine;
  /** @default the system clock */
  clock?: Clock;
  /** @default JSON lines in production, text elsewhere, at LOG_LEVEL */
  logger?: Logger;
  /**
   * Answer GraphQL queries and mutations on the fast path; false sends
   * every request to Yoga's own handler (the tests run both ways). @default true
   */
  fastPath?: boolean;
}

const GRAPHIQL_EXAMPLE = `# sessionql: your session, kept server-side behind an HttpOnly cookie.
# Run the mutation, then the query: the cart survives across requests.
# The demo page at / shows the same session as a shop would.
mutation AddBook {
  addToCart(sku: "book", label: "A good book") { totalQuantity }
}

query MyCart {
  cart { items { sku label quantity } totalQuantity }
  session { keys expiresAt expiryAge }
}
`;

/** The `db` engine's store on `database`, with the server's settings and its notices (sessionChanged). */
export function createDbStore(config: Config, database: Database, log: Logger): SessionStore {
  return withNotices(
    new SessionStore(database, {
      ageSeconds: config.cookie.ageSeconds,
      maxBytes: config.maxBytes,
      timeoutMs: config.databaseTimeoutMs,
      onBatchError: (error, writes) =>
        log.error(`session writes: a group of ${writes} failed together (${(error as Error).message}); each was retried alone`),
    }),
    database,
    {
      listenUrl: config.databaseListenUrl,
      onNoticeError: (error) => log.error(`session notices (sessionChanged): ${(error as Error).message}`),
    },
  );
}

/**
 * The HTTP application: the session API on Yoga, and `handle`, the
 * node:http handler main.ts serves (the fast path in front of Yoga). Builds
 * only: no environment reads, no listening.
 */
export function createApp({ config, database, engine, clock = systemClock, logger, fastPath = true }: AppOptions) {
  const log = logger ?? createLogger({ json: config.nodeEnv === 'production', level: config.logLevel });
  const metrics = createMetrics();
  if (!engine && !database) throw new Error('createApp: give `database` (the db engine) or `engine`');
  /** The PostgreSQL store when the engine is `db` or `cached_db` (main.ts prunes through it), else undefined. */
  const dbStore = engine ? (engine instanceof CachedDbEngine ? engine.store : undefined) : createDbStore(config, database!, log);
  const store: SessionEngine = engine ?? dbStore!;
  // The server is a user of the library: sessions come from useSessions, as in any Yoga app.
  const sessions = useSessions({
    secret: config.secrets,
    engine: store,
    cookie: config.cookie,
    expireAtBrowserClose: config.expireAtBrowserClose,
    saveEveryRequest: config.saveEveryRequest,
    maxBytes: config.maxBytes,
    requestMaxBytes: config.requestMaxBytes,
    allowedOrigins: config.corsOrigins,
    areas: builtInAreas,
    subscriptions: config.subscriptions,
    clock,
    events: metrics.events,
  });
  const rules = limitRules(config.limits);
  const documentCaches = { yoga: yogaParserCaches() };
  const persistedQueries = createPersistedQueryStore();
  // With introspection off, "Did you mean …?" would reveal the schema.
  const hide = (error: GraphQLError) => (config.limits.introspection ? error : withoutSuggestions(error));
  const maskError = (error: unknown, message: string) => hide(maskUnhidden(error, message));
  const maskUnhidden = (error: unknown, message: string): GraphQLError => {
    const mapped = mapDomainError(error, config.maxBytes);
    if (mapped) return mapped;
    if (error instanceof GraphQLError && !error.originalError) return error;
    return yogaMaskError(error, message, false) as GraphQLError;
  };
  const allowedOrigins = new Set(config.corsOrigins);
  const yogaLogger = withoutExpectedErrors(log);
  const endpoint = GRAPHQL_PATH;
  const renderGraphiQL = async () =>
    (await import('@graphql-yoga/render-graphiql')).renderGraphiQL({
      title: 'sessionql GraphiQL',
      defaultQuery: GRAPHIQL_EXAMPLE,
      credentials: 'same-origin',
      shouldPersistHeaders: false,
    });

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: endpoint,
    logging: yogaLogger,
    landingPage: false,
    // Expected errors become the contract's codes; anything else is masked
    // (no stack, no SQL, also with NODE_ENV=development) and logged.
    maskedErrors: { isDev: false, maskError: (error, message) => maskError(error, message) },
    // REQUEST_MAX_BYTES also when Yoga's fetch handler is mounted on its own (node:http checks it first otherwise).
    maxRequestBodySize: config.requestMaxBytes,
    // CORS is src/http/policy/cors.ts, the same on both paths (useCors).
    cors: false,
    // GraphiQL (GRAPHIQL) is served by useGraphiQLPage: rendered once, cached by browsers.
    graphiql: false,
    // Bounded in bytes, not entries (docs/security.md, Memory bounds).
    parserAndValidationCache: documentCaches.yoga,
    plugins: [
      useRoutes(),
      // The CSRF rule first, before CORS and everything else (useSessions applies it again, as in any app).
      useCsrfGuard({ allowedOrigins }),
      useCors(allowedOrigins),
      useRequestParams(),
      usePersistedQueries(persistedQueries),
      useGraphQLResponse(),
      // GraphiQL's bundled assets (no CDN) weigh ~45 MB in memory: loaded on first use.
      config.graphiql && useGraphiQLPage(renderGraphiQL),
      useMetricsEndpoint(metrics, config.metricsToken),
      useOperationInfo(),
      // ctx.session, the cookie, Vary/Cache-Control, the body limit.
      sessions,
      useQueryLimits(config.limits, rules),
      !config.limits.introspection && useHiddenSuggestions(),
      useReadinessCheck({ endpoint: '/ready', check: () => store.ready() }),
      useDemoPage(),
      useContentSecurityPolicy(),
      {
        onResponse({ response }) {
          for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
        },
      },
    ],
  });

  const fastPathHandler = createFastPath({
    schema,
    allowedOrigins,
    persistedQueries,
    maxTokens: config.limits.maxTokens,
    rules,
    maskError: (error) => {
      // Failures inside resolvers are logged (expected ones are filtered out by yogaLogger);
      // a client's request errors (a variable of the wrong type wraps a GraphQLError) are not.
      if (error.originalError && !(error.originalError instanceof GraphQLError)) yogaLogger.error(error);
      return maskError(error, 'Unexpected error.') as GraphQLError;
    },
    context: (cookieHeader) => {
      const session = sessions.sessionFor(cookieHeader, store);
      return { value: { session } satisfies Context, headers: () => sessionHeaders(session), preload: () => session.preload() };
    },
  });

  metrics.watchCache('yoga_documents', documentCaches.yoga.documentCache);
  metrics.watchCache('yoga_errors', documentCaches.yoga.errorCache);
  metrics.watchCache('fast_path', fastPathHandler.documents);
  if (engine instanceof CachedDbEngine) metrics.watchSessionCache(engine);

  const handle = createNodeHandler({
    fastPathHandler: fastPath ? fastPathHandler : async () => undefined,
    yogaFetch: yoga.fetch,
    yogaListener: yoga.requestListener,
    maxBodyBytes: config.requestMaxBytes,
    allowedOrigins,
    logger: yogaLogger,
    metrics,
  });

  /** The node:http server for `handle`, or for a handler wrapping it (main.ts's drain). */
  const httpServer = (handler: (req: IncomingMessage, res: ServerResponse) => unknown = handle) =>
    createHttpServer(handler, { maxBodyBytes: config.requestMaxBytes, logger: yogaLogger });

  return { fetch: yoga.fetch, handle, httpServer, yoga, store, dbStore, sessions, metrics, logger: yogaLogger };
}

export type App = ReturnType<typeof createApp>;
