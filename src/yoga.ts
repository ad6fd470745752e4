/**
 * sessionql/yoga: Django's sessions for any Yoga server.
 *
 *   const sessions = useSessions({ secret: process.env.SESSION_SECRET! });
 *   const yoga = createYoga({ schema, plugins: [sessions] });
 *   createServer(yoga).listen(4000);             // or, faster:
 *   createServer(createFastHandler(yoga, sessions, { schema })).listen(4000);
 *
 * Resolvers get `ctx.session`, Django's `request.session` with every method
 * async (src/core/session.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { type Plugin, type YogaServerInstance, maskError as yogaMaskError } from 'graphql-yoga';
import type { Area } from './core/area.js';
import { type Clock, systemClock } from './core/clock.js';
import { brokenCookiePrefix, COOKIE_RULES, type CookieSettings, MAX_COOKIE_AGE } from './core/cookie.js';
import type { SessionEngine } from './core/engine.js';
import { noSessionEvents, Session, type SessionEvents, type SessionSettings } from './core/session.js';
import { WatchCounter, type WatchLimits } from './core/watch.js';
import { openDbEngine } from './engines/index.js';
import { postgresQueuePatched } from './engines/postgres/postgres-queue.js';
import { isStoreOutage, mapDomainError, outageLog, serviceUnavailable } from './graphql/errors.js';
import { createFastPath } from './http/fast-path.js';
import { createNodeHandler } from './http/node-handler.js';
import { jsonError } from './http/policy/errors.js';
import { acceptable, acceptsEventStream } from './http/policy/negotiate.js';
import { createPersistedQueryStore } from './http/policy/persisted-queries.js';
import { useCsrfGuard } from './http/use-csrf.js';
import { sessionHeaders } from './http/use-session.js';

type AnyArea = Area<any, any, any, any>;

export interface SessionsOptions {
  /** Signs the cookie. An array rotates: the first signs, all verify. 32+ characters each. */
  secret: string | readonly string[];
  /** postgres://… ; without it, embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** PGlite's folder (one process per folder). @default './.data/pglite' */
  dataDir?: string;
  /** Another engine (say one you opened yourself); `databaseUrl` and `dataDir` are then ignored. */
  engine?: SessionEngine | Promise<SessionEngine>;
  /** Cookie attributes; Django's defaults: `sessionid`, two weeks, `/`, HttpOnly, SameSite=Lax, not Secure. */
  cookie?: Partial<CookieSettings>;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE @default false */
  expireAtBrowserClose?: boolean;
  /** SESSION_SAVE_EVERY_REQUEST @default false */
  saveEveryRequest?: boolean;
  /** The largest session, in bytes of stored JSON. @default 65536 */
  maxBytes?: number;
  /** Requests with a larger declared body get 413 before anything is read. @default 262144 */
  requestMaxBytes?: number;
  /** Origins allowed to call with credentials from another site (CSRF and CORS). @default [] */
  allowedOrigins?: readonly string[];
  /** The areas your schema uses: their keys are then written only through their operations. */
  areas?: readonly AnyArea[];
  /** A statement that takes longer fails with SERVICE_UNAVAILABLE. @default 5000 */
  timeoutMs?: number;
  /** Live sessionChanged subscriptions: per session (on this instance) 16, per instance 10,000 by default. */
  subscriptions?: WatchLimits;
  /** For tests: the time. @default the system clock */
  clock?: Clock;
  events?: SessionEvents;
}

/** The plugin, and what the fast handler and your own code may need from it. */
export type SessionsPlugin = Plugin<{ session: Session }> & {
  /** The engine, once open (migrations applied). */
  readonly engine: Promise<SessionEngine>;
  /** The session of a request with this Cookie header (outside Yoga: the fast handler, your own routes). */
  sessionFor(cookieHeader: string | null, engine: SessionEngine, requestSignal?: AbortSignal): Session;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly requestMaxBytes: number;
  readonly maxBytes: number;
  /** Live sessionChanged subscriptions on this instance. */
  readonly subscriptions: { readonly size: number };
  /** Ends every sessionChanged stream cleanly (`complete`), as at shutdown; later subscriptions end at once. */
  endSubscriptions(): void;
  /** Ends the streams and closes the engine it opened (also on `yoga.dispose()`); an engine passed in is left to its owner. */
  close(): Promise<void>;
};

/** Said once when the engine useSessions opens is on PostgreSQL and postgres.js lacks the queue fix (decision 0009). */
const UNPATCHED_POSTGRES =
  'sessionql: postgres.js is not patched: under sustained load each query gets slower the longer the process runs. ' +
  "Copy node_modules/sessionql/patches/postgres+3.4.9.patch into your project's patches/ folder and run `npx patch-package` " +
  '(as a postinstall script), as sessionql does for itself.';

/** The 406 a GraphQL request gets, before it runs, when its Accept header allows no response this endpoint sends. */
const NOT_ACCEPTABLE =
  'Not acceptable: the Accept header allows none of application/graphql-response+json, application/json, text/event-stream, multipart/mixed; nothing was run.';

/**
 * A subscription whose Accept header allows no event stream: refused before
 * its stream opens (Yoga would open it, answer 406 with no body, and never
 * end it).
 */
const NO_EVENT_STREAM =
  'Not acceptable: a subscription is answered as an event stream (text/event-stream: GraphQL over SSE), which the Accept header does not allow; nothing was run.';

const OPAQUE_ORIGIN_STREAM =
  'Forbidden: a subscription is not opened for an opaque origin (Origin: null), which could not read its events; nothing was run.';

const DEFAULT_COOKIE: CookieSettings = {
  name: 'sessionid',
  ageSeconds: 1_209_600,
  domain: undefined,
  path: '/',
  secure: false,
  httpOnly: true,
  sameSite: 'Lax',
};

/** A setting that must be a whole number from `min` to `max` (as its variable is in the server). */
function wholeNumber(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`useSessions: ${name} must be a whole number from ${min} to ${max}, not ${String(value)}`);
}

function settingsOf(options: SessionsOptions): SessionSettings {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 32)) {
    throw new Error('useSessions: `secret` must be one or more strings of 32 or more characters');
  }
  const cookie = { ...DEFAULT_COOKIE, ...options.cookie };
  // The server's variables are checked by the same rules (src/server/config.ts).
  for (const key of ['name', 'path', 'domain'] as const) {
    const value = cookie[key];
    if (value === undefined && key === 'domain') continue;
    if (typeof value !== 'string' || !COOKIE_RULES[key].pattern.test(value))
      throw new Error(`useSessions: cookie.${key} ${COOKIE_RULES[key].rule}, not ${JSON.stringify(value)}`);
  }
  wholeNumber('cookie.ageSeconds', cookie.ageSeconds, 1, MAX_COOKIE_AGE);
  if (!['Strict', 'Lax', 'None'].includes(cookie.sameSite))
    throw new Error('useSessions: cookie.sameSite must be "Strict", "Lax" or "None"');
  if (options.maxBytes !== undefined) wholeNumber('maxBytes', options.maxBytes, 256, 16 * 1024 * 1024);
  if (options.requestMaxBytes !== undefined) wholeNumber('requestMaxBytes', options.requestMaxBytes, 1024, 64 * 1024 * 1024);
  if (cookie.sameSite === 'None' && !cookie.secure) throw new Error('useSessions: cookie.sameSite "None" needs cookie.secure');
  const broken = brokenCookiePrefix(cookie);
  if (broken === '__Host-') throw new Error('useSessions: a "__Host-" cookie needs secure, no domain and path "/"');
  if (broken === '__Secure-') throw new Error('useSessions: a "__Secure-" cookie needs secure');
  return {
    secrets,
    cookie,
    expireAtBrowserClose: options.expireAtBrowserClose ?? false,
    saveEveryRequest: options.saveEveryRequest ?? false,
    maxBytes: options.maxBytes ?? 65_536,
  };
}

/**
 * An engine renews deadlines and measures writes by the limits it was
 * opened with: settings here that differ would hold for a session's first
 * write only (its cookie and creation), then silently give way to the
 * engine's. So they must agree.
 */
function agree(engine: SessionEngine, settings: SessionSettings): SessionEngine {
  const limits = engine.limits;
  if (!limits) return engine;
  const differ: string[] = [];
  if (limits.ageSeconds !== settings.cookie.ageSeconds)
    differ.push(`cookie.ageSeconds is ${settings.cookie.ageSeconds}, the engine's ageSeconds ${limits.ageSeconds}`);
  if (limits.maxBytes !== settings.maxBytes) differ.push(`maxBytes is ${settings.maxBytes}, the engine's ${limits.maxBytes}`);
  if (differ.length === 0) return engine;
  throw new Error(
    `useSessions: ${differ.join('; ')}. The engine renews and measures sessions by its own: open it with the same ` +
      `({ ageSeconds: ${settings.cookie.ageSeconds}, maxBytes: ${settings.maxBytes} }), or give useSessions the engine's.`,
  );
}

/**
 * The Yoga plugin: `ctx.session` on every request's context, the cookie
 * (signed, rotated), `Vary: Cookie` and `Cache-Control: private, no-store` on
 * responses that read the session, the CSRF rule on every path, the request
 * size limit, and the session's errors as the contract's codes
 * (BAD_USER_INPUT, SESSION_TOO_LARGE, SERVICE_UNAVAILABLE).
 */
export function useSessions(options: SessionsOptions): SessionsPlugin {
  const settings = settingsOf(options);
  const clock = options.clock ?? systemClock;
  const events = options.events ?? noSessionEvents;
  const areaKeys = new Set((options.areas ?? []).map((area) => area.key));
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const requestMaxBytes = options.requestMaxBytes ?? 262_144;
  const ownEngine = options.engine === undefined;
  // An engine given already open is checked now (the error at start-up); one still opening, when it has opened.
  const given =
    options.engine instanceof Promise ? options.engine.then((e) => agree(e, settings)) : options.engine && agree(options.engine, settings);
  const open = (): Promise<SessionEngine> =>
    Promise.resolve(
      given ??
        openDbEngine({
          databaseUrl: options.databaseUrl,
          dataDir: options.dataDir,
          timeoutMs: options.timeoutMs,
          ageSeconds: settings.cookie.ageSeconds,
          maxBytes: settings.maxBytes,
        }),
    );
  // Opened at once (errors surface at start-up), awaited by the first request.
  let engine = open();
  let failedAt = 0;
  const watchOpening = (opening: Promise<SessionEngine>) =>
    opening.catch(() => {
      failedAt = Date.now();
    });
  watchOpening(engine);
  /**
   * The engine. One of its own that failed to open (the database down at
   * start-up) is opened again by a request, at most once a second; until
   * then requests get SERVICE_UNAVAILABLE (503), as in an outage later on.
   */
  const current = (): Promise<SessionEngine> => {
    if (ownEngine && failedAt && Date.now() - failedAt >= 1000) {
      failedAt = 0;
      engine = open();
      watchOpening(engine);
    }
    return engine;
  };
  /** The engine for a request: a failure to open it is the store not answering, with the contract's code. */
  const engineForRequest = async (): Promise<SessionEngine> => {
    try {
      return await current();
    } catch (error) {
      reportOutage(error);
      throw serviceUnavailable();
    }
  };
  let reportOutage: (...args: unknown[]) => void = outageLog((...args) => console.error(...args));
  const sessions = new WeakMap<Request, Session>();
  const shutdown = new AbortController();
  const watching = { counter: new WatchCounter(options.subscriptions), shutdown: shutdown.signal };
  const endSubscriptions = () => shutdown.abort();
  let closed: Promise<void> | undefined;
  // Once, however often it is called (yoga.dispose() and sessions.close() may both run).
  const close = () => {
    endSubscriptions();
    // An engine that never opened has nothing to close.
    closed ??= ownEngine
      ? engine.then(
          (e) => e.close(),
          () => {},
        )
      : Promise.resolve();
    return closed;
  };
  const sessionFor = (cookieHeader: string | null, open: SessionEngine, requestSignal?: AbortSignal) =>
    new Session(open, settings, clock, cookieHeader, events, areaKeys, watching, requestSignal);
  const csrf = useCsrfGuard({ allowedOrigins });
  const mapErrors = (result: { errors?: readonly GraphQLError[] }) => {
    if (!result.errors?.length) return undefined;
    let changed = false;
    const errors = result.errors.map((error) => {
      // The client is told 503 (the cause not shown); we are told the cause.
      if (isStoreOutage(error)) reportOutage(error instanceof GraphQLError ? (error.originalError ?? error) : error);
      const mapped = mapDomainError(error, settings.maxBytes);
      if (mapped) changed = true;
      return mapped ?? error;
    });
    return changed ? errors : undefined;
  };

  return {
    get engine() {
      return current();
    },
    onYogaInit({ yoga }) {
      // Yoga's logger (its `logging` option): where the outages a client is told of as 503 are reported.
      reportOutage = outageLog((...args) => yoga.logger.error(...args));
      if (ownEngine && options.databaseUrl && !postgresQueuePatched()) yoga.logger.warn(UNPATCHED_POSTGRES);
    },
    sessionFor,
    allowedOrigins,
    requestMaxBytes,
    maxBytes: settings.maxBytes,
    subscriptions: watching.counter,
    endSubscriptions,
    close,
    onRequest(payload) {
      csrf.onRequest?.(payload);
      const declared = payload.request.headers.get('content-length');
      if (declared !== null && Number(declared) > requestMaxBytes) {
        const [body, init] = jsonError(413, `The request body exceeds ${requestMaxBytes} bytes.`, 'PAYLOAD_TOO_LARGE');
        payload.endResponse(new payload.fetchAPI.Response(body, init));
      }
    },
    // Only GraphQL requests get here (GraphiQL, health and other routes were answered before).
    onRequestParse({ request, endResponse, fetchAPI }) {
      if (acceptable(request.headers.get('accept'))) return;
      const [body, init] = jsonError(406, NOT_ACCEPTABLE, 'NOT_ACCEPTABLE');
      endResponse(new fetchAPI.Response(body, init));
    },
    async onContextBuilding({ context, extendContext }) {
      const request = (context as { request: Request }).request;
      // The request's signal: a subscription ends when its client goes away, even before its first event.
      const session = sessionFor(request.headers.get('cookie'), await engineForRequest(), request.signal);
      sessions.set(request, session);
      extendContext({ session });
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const errors = mapErrors(result);
          if (errors) setResult({ ...result, errors });
        },
      };
    },
    // A subscription refused before its stream (a limit, the store): the contract's codes too.
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      // Nothing at an opaque origin (a sandboxed frame, a file: page) can read an event stream (no CORS
      // answer names it): opened with a SameSite=None cookie, it would only hold the session's slots.
      if (request?.headers.get('origin') === 'null') {
        const refusal = new GraphQLError(OPAQUE_ORIGIN_STREAM, { extensions: { code: 'BAD_REQUEST', http: { status: 403 } } });
        setResultAndStopExecution({ errors: [refusal] });
        return;
      }
      if (request && !acceptsEventStream(request.headers.get('accept'))) {
        const refusal = new GraphQLError(NO_EVENT_STREAM, { extensions: { code: 'NOT_ACCEPTABLE', http: { status: 406 } } });
        setResultAndStopExecution({ errors: [refusal] });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const errors = mapErrors(result);
          if (errors) setResult({ ...result, errors });
        },
      };
    },
    onResponse({ request, response }) {
      // An event stream (sessionChanged) must not sit in a proxy's buffer (nginx honours this header).
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) response.headers.set('x-accel-buffering', 'no');
      for (const [name, value] of Object.entries(sessionHeaders(sessions.get(request)))) {
        if (name === 'cache-control') response.headers.set(name, value);
        else response.headers.append(name, value);
      }
    },
    // An engine passed in is its owner's to close.
    onDispose: close,
  };
}

export interface FastHandlerOptions {
  /** The schema the Yoga server runs (the fast path executes it directly). */
  schema: GraphQLSchema;
  /** More context for your resolvers, per request (the fast path does not run Yoga's context plugins). */
  context?: (req: IncomingMessage) => Record<string, unknown>;
  /** Documents with more tokens are refused while parsing. @default 2000 */
  maxTokens?: number;
  /** Where failures inside resolvers are logged. @default console */
  logger?: { warn(...args: unknown[]): void; error(...args: unknown[]): void; debug(...args: unknown[]): void };
  /**
   * The function you gave Yoga's `maskedErrors.maskError`, for the errors
   * the fast path sends (Yoga does not expose its own). The session's errors
   * keep their contract codes either way. @default Yoga's masking ("Unexpected error.")
   */
  maskError?: (error: unknown, message: string) => Error;
}

/**
 * A node:http handler that answers GraphQL queries and mutations at
 * Yoga's endpoint (`graphqlEndpoint`, `/graphql` by default) on sessionql's fast path (no Fetch API objects per request) and
 * hands everything else (GraphiQL, subscriptions, other paths, what the fast
 * path declines) to `yoga`. The fast path runs your schema with
 * `{ session, ...context(req) }` as context and the same masking, CSRF, size
 * and response rules; Yoga plugins other than useSessions do not run for
 * the requests it answers.
 */
export function createFastHandler(
  yoga: Pick<YogaServerInstance<never, never>, 'fetch' | 'requestListener'>,
  sessions: SessionsPlugin,
  options: FastHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const logger = options.logger ?? { warn: console.warn, error: console.error, debug: () => {} };
  let open: SessionEngine | undefined;
  const watch = () =>
    sessions.engine.then(
      (engine) => {
        open = engine;
      },
      () => {},
    );
  void watch();
  const outage = outageLog((...args) => logger.error(...args));
  const fast = createFastPath({
    schema: options.schema,
    allowedOrigins: sessions.allowedOrigins,
    persistedQueries: createPersistedQueryStore(),
    maxTokens: options.maxTokens ?? 2000,
    rules: [],
    maskError: (error) => {
      if (isStoreOutage(error)) outage(error.originalError ?? error);
      const mapped = mapDomainError(error, sessions.maxBytes);
      if (mapped) return mapped;
      if (error.originalError && !(error.originalError instanceof GraphQLError)) logger.error(error);
      const masked = (options.maskError ?? ((e, message) => yogaMaskError(e, message, false)))(error, 'Unexpected error.');
      return masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    },
    // Yoga's endpoint: requests to other paths go to Yoga (which answers 404 where it serves nothing).
    path: (yoga as { graphqlEndpoint?: string }).graphqlEndpoint,
    context: (cookieHeader, req) => {
      const session = sessions.sessionFor(cookieHeader, open!);
      return { value: { ...options.context?.(req), session }, headers: () => sessionHeaders(session), preload: () => session.preload() };
    },
  });
  const handle = createNodeHandler({
    fastPathHandler: async (req, res, body) => {
      // Until the engine is open, Yoga's side (which waits for it, or answers 503) answers.
      if (!open) {
        void watch();
        return body ?? undefined;
      }
      return fast(req, res, body);
    },
    yogaFetch: yoga.fetch as never,
    yogaListener: yoga.requestListener as never,
    maxBodyBytes: sessions.requestMaxBytes,
    allowedOrigins: sessions.allowedOrigins,
    logger,
    isRoute: () => true,
  });
  return handle;
}
