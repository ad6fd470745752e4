import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../server/logger.js';
import { operationOf, recordRequestId, withRequestId } from './operations.js';
import { drainBody, readLimited } from './policy/body.js';
import { corsHeaders } from './policy/cors.js';
import { jsonError } from './policy/errors.js';
import { SECURITY_HEADERS } from './policy/headers.js';
import { csrfRefusal, originVerdict } from './policy/origin.js';
import { parseTarget } from './policy/request-target.js';
import { isRoute } from './policy/routes.js';

type FastPathHandler = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => Promise<Buffer | null | undefined>;
type Fetch = (url: string, init: RequestInit, context: { req: IncomingMessage; res: ServerResponse }) => Promise<Response> | Response;
type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Writes a refusal; `close` ends the connection after it (a body left unread).
 * `cors`: the request's CORS headers, so that a frontend of an allowed origin
 * can read why (a 413, a 415) instead of seeing a network error.
 */
function refuse(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
  close = false,
  cors: Record<string, string> = {},
): void {
  const [body, init] = jsonError(status, message, code);
  res.writeHead(
    status,
    withRequestId(res, {
      ...init.headers,
      ...cors,
      'content-length': Buffer.byteLength(body),
      ...(close ? { connection: 'close' } : {}),
    }),
  );
  res.end(body);
}

/** What a log line may show of an attacker's bytes: JSON-escaped, at most 200 characters. */
function quoted(text: string | undefined): string {
  return JSON.stringify((text ?? '').slice(0, 200));
}

/**
 * The node:http handler main.ts serves. In order: the request target and
 * Host are checked (400, logged), unknown paths get 404, the CSRF rule runs
 * on every path, bodies over REQUEST_MAX_BYTES get 413 before anything is
 * parsed; then GraphQL queries and mutations (POST or GET) go to the fast path and
 * everything else, and whatever the fast path declines, to Yoga.
 */
export function createNodeHandler(options: {
  fastPathHandler: FastPathHandler;
  yogaFetch: Fetch;
  yogaListener: Listener;
  maxBodyBytes: number;
  allowedOrigins: ReadonlySet<string>;
  logger: Pick<Logger, 'warn' | 'error' | 'debug'> & Partial<Pick<Logger, 'request'>>;
  /** Operation counts and durations (the server's /metrics). */
  metrics?: { operation(type: string, name: string | undefined, outcome: string, seconds: number): void };
  /** The paths served; others get 404 before any handler. @default the server's routes (policy/routes.ts) */
  isRoute?: (path: string) => boolean;
}) {
  const { fastPathHandler, maxBodyBytes, logger, metrics } = options;
  const served = options.isRoute ?? isRoute;
  const tooLarge = `The request body exceeds REQUEST_MAX_BYTES (${maxBodyBytes} bytes).`;
  const cors = (req: IncomingMessage) => corsHeaders(req.headers.origin, options.allowedOrigins);

  /** One log line and the operation metrics when the response is done; returns the request's id. */
  function observe(req: IncomingMessage, res: ServerResponse): string {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    recordRequestId(res, requestId);
    // 'close', not 'finish': an answer that never ended (an event stream the client left, a request
    // the shutdown's timeout cut) is logged too, as aborted; 499 when not even its status went out.
    res.once('close', () => {
      const durationMs = performance.now() - started;
      const op = operationOf(res);
      if (op && op.type !== 'subscription') metrics?.operation(op.type, op.name, op.outcome, durationMs / 1000);
      const aborted = !res.writableFinished;
      logger.request?.({
        requestId,
        method: req.method ?? '',
        path: (req.url ?? '/').split('?')[0] ?? '/',
        operation: op ? `${op.type}${op.name ? ` ${op.name}` : ''}` : undefined,
        status: aborted && !res.headersSent ? 499 : res.statusCode,
        durationMs,
        // undefined, not left out: one shape for every line, no object spread per request (JSON.stringify drops it).
        aborted: aborted || undefined,
      });
    });
    return requestId;
  }

  async function toYoga(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    // The client going away (before or during the response) aborts the request: Yoga ends what it started.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const response = await options.yogaFetch(
      `http://${req.headers.host}${req.url}`,
      { method: req.method, headers, body: hasBody ? (body as unknown as BodyInit) : undefined, signal: gone.signal },
      { req, res },
    );
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(response.status, withRequestId(res, out));
    if (!response.body) return void res.end();
    // Sent as it comes, with backpressure: an event stream (a subscription) ends only when it is over.
    try {
      await pipeline(Readable.from(response.body as unknown as AsyncIterable<Uint8Array>), res);
    } catch (error) {
      // The client went away mid-stream: the pipeline cancelled the body, which ends the subscription.
      if (!res.destroyed && !gone.signal.aborted) throw error;
    }
  }

  /**
   * 413 for a body over the limit. The client is still sending it: closing
   * at once resets the connection and most clients (fetch, http.request)
   * then report EPIPE instead of the answer. So, as nginx's lingering close
   * does, a bounded part of the body is read and dropped first, then the
   * 413 goes out with `Connection: close`.
   */
  async function refuseTooLarge(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client waiting for 100 Continue (never sent for it: src/http/server.ts) sends no body.
    if (!/100-continue/i.test(req.headers.expect ?? '')) await drainBody(req);
    refuse(res, 413, tooLarge, 'PAYLOAD_TOO_LARGE', true, cors(req));
  }

  /** The checks every request passes before any handler: false when it has been answered. */
  function admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.url === '*' && req.method === 'OPTIONS') {
      res.writeHead(204, withRequestId(res, { allow: 'GET, HEAD, POST, OPTIONS', ...SECURITY_HEADERS })).end();
      return false;
    }
    const target = parseTarget(req.url, req.headers.host);
    if (!target.ok) {
      logger.warn(`bad request (${target.reason}): ${req.method} ${quoted(req.url)} Host: ${quoted(req.headers.host)}`);
      refuse(res, 400, `Bad request: ${target.reason}.`, 'BAD_REQUEST', true, cors(req));
      return false;
    }
    if (target.rewritten || req.headers.host === undefined) {
      req.url = target.path + target.search;
      req.headers.host = target.host;
    }
    if (!served(target.path)) {
      refuse(res, 404, 'Not found.', 'NOT_FOUND', false, cors(req));
      return false;
    }
    const origin = req.headers.origin;
    const refusal = csrfRefusal(
      req.method ?? 'GET',
      req.headers['content-type'],
      origin,
      originVerdict(origin, target.host, options.allowedOrigins),
    );
    if (refusal) {
      refuse(res, refusal.status, refusal.message, 'BAD_REQUEST', req.method !== 'GET' && req.method !== 'HEAD', cors(req));
      return false;
    }
    return true;
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = observe(req, res);
    try {
      if (!admit(req, res)) return;
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBodyBytes) return await refuseTooLarge(req, res);
      if (declared === undefined && req.headers['transfer-encoding']) {
        const body = await readLimited(req, maxBodyBytes);
        if (!body) return await refuseTooLarge(req, res);
        const left = await fastPathHandler(req, res, body);
        if (left !== null) await toYoga(req, res, left ?? body);
        return;
      }
      const left = await fastPathHandler(req, res);
      if (left === null) return;
      if (left === undefined) {
        res.setHeader('x-request-id', requestId); // Yoga writes its own head
        return void (await options.yogaListener(req, res));
      }
      // The fast path read the body and declined: hand Yoga the same request.
      await toYoga(req, res, left);
    } catch (error) {
      // The client went away, or its body was malformed (Node's clientError answered it): not a server error.
      // (req.destroyed alone also means its body was read to the end.)
      if (req.socket.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
        logger.debug(`request ended by the client: ${(error as Error).message}`);
        return void res.destroy();
      }
      logger.error(error);
      if (res.headersSent) return void res.destroy();
      refuse(res, 500, 'Unexpected error.', 'INTERNAL_SERVER_ERROR', true, cors(req));
    }
  };
}
