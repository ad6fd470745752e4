import { request } from 'node:http';
import { connect } from 'node:net';
import type { Logger } from '../../src/server/logger.js';
import { setup } from '../helpers/app.js';

/**
 * The ways into the app an attacker can reach, each probed alike:
 * - `fast path`: the server main.ts runs (node:http, the fast path first);
 * - `yoga handler`: the same server with every request on Yoga's own handler;
 * - `yoga.fetch`: Yoga's Fetch handler called directly, as a library user
 *   mounting it elsewhere would (its plugins are the only policy there).
 */
export const ENTRY_POINTS = ['fast path', 'yoga handler', 'yoga.fetch'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];
/** The entry points that are a real socket (raw HTTP probes). */
export const HTTP_ENTRY_POINTS = ['fast path', 'yoga handler'] as const;

export interface Probe {
  method: string;
  /** The request target exactly as sent (not normalised). */
  target: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as UTF-8 text. */
  body: string;
  /** The body's bytes as sent (still gzipped, where it was). */
  bytes: Buffer;
}

/** Log lines the app wrote, by level, for "it is logged" assertions. */
export function recordingLogger(): Logger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push({ level, text: args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' ') });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), request: () => {} };
}

/** An app reached through `entry`; `send` delivers a probe byte for byte where the entry is a socket. */
export async function openEntry(entry: EntryPoint, env: Record<string, string> = {}) {
  const logger = recordingLogger();
  const ctx = await setup(env, { fastPath: entry === 'fast path', logger });
  const { port, hostname } = new URL(ctx.app.baseUrl);
  const host = `${hostname}:${port}`;

  async function send(probe: Probe): Promise<Answer> {
    if (entry === 'yoga.fetch') {
      const response = await ctx.built.fetch(
        new Request(`http://${host}${probe.target}`, { method: probe.method, headers: probe.headers, body: probe.body }),
      );
      const headers: Answer['headers'] = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      return { status: response.status, headers, body: bytes.toString('utf8'), bytes };
    }
    return new Promise((resolve, reject) => {
      const req = request(
        { host: hostname, port, method: probe.method, path: probe.target, headers: { host, ...probe.headers }, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
          });
        },
      );
      req.on('error', reject);
      req.end(probe.body);
    });
  }

  /** A JSON POST of `query` to /graphql, as a client sends it. */
  const postQuery = (query: string, accept = 'application/graphql-response+json') =>
    send({ method: 'POST', target: '/graphql', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query }) });

  return { ...ctx, entry, host, port: Number(port), logger, send, postQuery };
}

/**
 * Raw bytes to the server and everything it answers until it closes (or
 * `ms` pass): for requests no HTTP client will send.
 */
export function rawHttp(port: number, bytes: string | Buffer, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      out += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (out ? undefined : reject(error)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.end(bytes);
  });
}

/** The status code of a raw HTTP response (0 when there was none). */
export function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
}
