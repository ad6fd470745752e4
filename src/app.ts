import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import { createYoga, maskError, useReadinessCheck, type YogaLogger } from 'graphql-yoga';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { isReady } from './db/migrate.js';
import { toClientError } from './errors.js';
import type { Context } from './graphql/builder.js';
import { schema } from './graphql/schema.js';
import { useCsrfGuard } from './http/use-csrf.js';
import { useSession } from './http/use-session.js';
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
  const allowedOrigins = new Set(config.corsOrigins);
  const endpoint = '/graphql';

  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: endpoint,
    logging: withoutExpectedErrors(log),
    landingPage: false,
    context: ({ request }) => {
      const session = new RequestSession(store, config, clock, request.headers.get('cookie'));
      sessions.set(request, session);
      return { session, config };
    },
    // Expected errors become the contract's codes; anything else is masked
    // (no stack, no SQL, also with NODE_ENV=development) and logged.
    maskedErrors: {
      isDev: false,
      maskError: (error, message) => {
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
        return maskError(error, message, false);
      },
    },
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
    renderGraphiQL,
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
}

export type App = ReturnType<typeof createApp>;
