import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, useReadinessCheck, type YogaLogger, maskError as yogaMaskError } from 'graphql-yoga';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { isReady } from './db/migrate.js';
import { toClientError } from './errors.js';
import type { Context } from './graphql/builder.js';
import { schema } from './graphql/schema.js';
import { createFastLane } from './http/fast-lane.js';
import { useCsrfGuard } from './http/use-csrf.js';
import { sessionHeaders, useSession } from './http/use-session.js';
import { createLogger, withoutExpectedErrors } from './logger.js';
import { RequestSession } from './session/request-session.js';
import { SessionStore } from './session/store.js';

export interface AppOptions {
  config: Config;
  database: Database;
  /** @default the system clock */
  clock?: Clock;
  /** @default JSON lines in production, text elsewhere */
  logger?: YogaLogger;
}

const GRAPHIQL_EXAMPLE = `# sessionql: your session, kept server-side behind an HttpOnly cookie.
# Run the mutation, then the query: the cart survives across requests.
mutation AddBook {
  addToCart(sku: "book", label: "A good book") { totalQuantity }
}

query MyCart {
  cart { items { sku label quantity } totalQuantity }
  session { keys expiresAt expiryAge }
}
`;

/**
 * The HTTP application: a Yoga instance with the session API. Builds only;
 * no environment reads, no listening (see main.ts), so tests call
 * `app.fetch()` directly.
 */
export function createApp({ config, database, clock = systemClock, logger }: AppOptions) {
  const log = logger ?? createLogger({ json: config.nodeEnv === 'production', level: config.nodeEnv === 'test' ? 'silent' : 'info' });
  const store = new SessionStore(database.db, {
    ageSeconds: config.cookie.ageSeconds,
    browserCloseByDefault: config.expireAtBrowserClose,
    maxBytes: config.maxBytes,
  });
  const sessions = new WeakMap<Request, RequestSession>();
  const newSession = (cookieHeader: string | null) => new RequestSession(store, config, clock, cookieHeader);
  const maskError = (error: unknown, message: string) => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    const expected = toClientError(original, config.maxBytes);
    if (expected && error instanceof GraphQLError) {
      return new GraphQLError(expected.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: expected.extensions,
      });
    }
    return yogaMaskError(error, message, false);
  };
  const allowedOrigins = new Set(config.corsOrigins);
  const yogaLogger = withoutExpectedErrors(log);
  const endpoint = '/graphql';

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: endpoint,
    logging: yogaLogger,
    landingPage: false,
    context: ({ request }) => {
      const session = newSession(request.headers.get('cookie'));
      sessions.set(request, session);
      return { session, config };
    },
    // Expected errors become the contract's codes; anything else is masked
    // (no stack, no SQL, also with NODE_ENV=development) and logged.
    maskedErrors: { isDev: false, maskError: (error, message) => maskError(error, message) },
    // Only CORS_ORIGINS, with credentials; never `*`, never a reflected unknown origin.
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !allowedOrigins.has(origin)) return false;
      return {
        origin,
        credentials: true,
        methods: ['GET', 'POST'],
        allowedHeaders: ['content-type', 'accept'],
        maxAge: 600,
      };
    },
    graphiql: {
      title: 'sessionql GraphiQL',
      defaultQuery: GRAPHIQL_EXAMPLE,
      credentials: 'same-origin',
      shouldPersistHeaders: false,
    },
    // GraphiQL's bundled assets (no CDN) weigh ~45 MB in memory: loaded on first use.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    plugins: [
      useCsrfGuard({ endpoint, allowedOrigins }),
      useSession(sessions),
      useReadinessCheck({ endpoint: '/ready', check: () => isReady(database) }),
      {
        onRequest({ url, endResponse, fetchAPI }) {
          if (url.pathname === '/') endResponse(fetchAPI.Response.redirect(new URL(endpoint, url), 302));
        },
        onResponse({ response }) {
          if (allowedOrigins.size > 0) response.headers.append('vary', 'Origin');
        },
      },
    ],
  });

  const fastLane = createFastLane({
    schema,
    endpoint,
    allowedOrigins,
    maxBodyBytes: 64 * 1024,
    maskError: (error) => {
      const masked = maskError(error, 'Unexpected error.') as GraphQLError;
      if (masked !== error) yogaLogger.error(error);
      return masked;
    },
    context: (cookieHeader) => {
      const session = newSession(cookieHeader);
      return { value: { session, config } satisfies Context, headers: () => sessionHeaders(session) };
    },
  });

  /**
   * The node:http handler main.ts serves: the fast lane for plain JSON
   * queries and mutations, Yoga for everything else.
   */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await fastLane(req, res);
      if (body === null) return;
      if (body === undefined) return void (await yoga.requestListener(req, res));
      // The fast lane read the body and declined: hand Yoga the same request.
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const response = await yoga.fetch(`http://${req.headers.host ?? 'localhost'}${req.url}`, { method: req.method, headers, body });
      const out: Record<string, string | string[]> = {};
      response.headers.forEach((value, name) => {
        if (name !== 'set-cookie') out[name] = value;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out['set-cookie'] = cookies;
      res.writeHead(response.status, out).end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      yogaLogger.error(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"message":"Unexpected error."}]}');
    }
  }

  return { fetch: yoga.fetch, handle, yoga };
}

export type App = ReturnType<typeof createApp>;
