import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { operationOf } from './operations.js';

type FastLane = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => Promise<Buffer | null | undefined>;
type Fetch = (url: string, init: RequestInit, context: { req: IncomingMessage; res: ServerResponse }) => Promise<Response> | Response;
type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

function refuse(res: ServerResponse, status: number, message: string, code: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  // The rest of the body is not read: close the connection rather than drain it.
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** A body of unknown length (chunked), read up to `limit` bytes; null when it is longer. */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The node:http handler main.ts serves. Bodies over REQUEST_MAX_BYTES get
 * 413 before anything is parsed; plain JSON queries and mutations go to the
 * fast lane; everything else, and whatever the fast lane declines, to Yoga.
 */
export function createNodeHandler(options: {
  fastLane: FastLane;
  yogaFetch: Fetch;
  yogaListener: Listener;
  maxBodyBytes: number;
  logger: Logger;
  metrics: Metrics;
}) {
  const { fastLane, maxBodyBytes, logger, metrics } = options;

  /** One log line and the operation metrics when the response is done. */
  function observe(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    res.once('finish', () => {
      const durationMs = performance.now() - started;
      const op = operationOf(res);
      if (op) metrics.operation(op.type, op.name, op.outcome, durationMs / 1000);
      logger.request({
        requestId,
        method: req.method ?? '',
        path: (req.url ?? '/').split('?')[0] ?? '/',
        operation: op ? `${op.type}${op.name ? ` ${op.name}` : ''}` : undefined,
        status: res.statusCode,
        durationMs,
      });
    });
  }

  async function toYoga(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const response = await options.yogaFetch(
      `http://${req.headers.host ?? 'localhost'}${req.url}`,
      { method: req.method, headers, body: hasBody ? (body as unknown as BodyInit) : undefined },
      { req, res },
    );
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(response.status, out).end(Buffer.from(await response.arrayBuffer()));
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    observe(req, res);
    try {
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBodyBytes) {
        return refuse(res, 413, `The request body exceeds REQUEST_MAX_BYTES (${maxBodyBytes} bytes).`, 'PAYLOAD_TOO_LARGE');
      }
      if (declared === undefined && req.headers['transfer-encoding']) {
        const body = await readLimited(req, maxBodyBytes);
        if (!body) return refuse(res, 413, `The request body exceeds REQUEST_MAX_BYTES (${maxBodyBytes} bytes).`, 'PAYLOAD_TOO_LARGE');
        const left = await fastLane(req, res, body);
        if (left !== null) await toYoga(req, res, left ?? body);
        return;
      }
      const left = await fastLane(req, res);
      if (left === null) return;
      if (left === undefined) return void (await options.yogaListener(req, res));
      // The fast lane read the body and declined: hand Yoga the same request.
      await toYoga(req, res, left);
    } catch (error) {
      logger.error(error);
      if (res.headersSent) return void res.destroy();
      refuse(res, 500, 'Unexpected error.', 'INTERNAL_SERVER_ERROR');
    }
  };
}
