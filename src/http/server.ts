import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { YogaLogger } from 'graphql-yoga';
import { SECURITY_HEADERS } from './policy/headers.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Node's parser errors and the status each deserves (the rest are 400). */
const STATUS_OF: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_URI_TOO_LONG: [414, 'URI Too Long'],
};

/**
 * The node:http server for an app's handler, as main.ts and the tests serve
 * it. Two things a bare createServer gets wrong for this server:
 * - a request Node's parser rejects (a bad header, a bare CR) gets a JSON
 *   400 (431 for oversized headers) and a log line, not an unlogged reply;
 * - `Expect: 100-continue` with a declared body over REQUEST_MAX_BYTES gets
 *   its 413 at once, without inviting the body (curl sends this header for
 *   bodies over 1 MB).
 */
export function createHttpServer(handle: Handler, options: { maxBodyBytes: number; logger: YogaLogger }): Server {
  const server = createServer((req, res) => void handle(req, res));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length']) <= options.maxBodyBytes) res.writeContinue();
    // Over the limit: no 100 Continue; the handler answers 413 and closes.
    void handle(req, res);
  });
  // CONNECT (a proxy's method) is not served here; Node would drop the connection silently.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawResponse(405, 'Method Not Allowed', 'CONNECT is not served here.', { allow: 'GET, HEAD, POST, OPTIONS' }));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, reason] = STATUS_OF[error.code ?? ''] ?? [400, 'Bad Request'];
    options.logger.warn(`rejected a malformed request (${error.code ?? error.message}) with ${status}`);
    socket.end(rawResponse(status, reason, `Malformed HTTP request (${reason}).`));
  });
  return server;
}

/** A whole JSON error response as bytes, for a socket Node's HTTP layer has given up on. */
function rawResponse(status: number, reason: string, message: string, extra: Record<string, string> = {}): string {
  const body = JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
  const headers = Object.entries({ ...SECURITY_HEADERS, ...extra, 'content-type': 'application/json; charset=utf-8' })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${reason}\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
