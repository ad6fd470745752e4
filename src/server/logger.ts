import { writeSync } from 'node:fs';
import type { YogaLogger } from 'graphql-yoga';
import { isClientError, isStoreOutage, outageLog } from '../graphql/errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** One writer per file descriptor, shared by every logger: their lines stay in order, and one exit hook flushes each. */
const writers = new Map<number, (line: string) => void>();

/**
 * Lines for one file descriptor, written in batches: a line per request at
 * thousands of requests per second would otherwise be a write(2) each.
 * Flushed every 25 ms, at 64 KiB, and synchronously at exit.
 */
function batchedWriter(fd: number): (line: string) => void {
  const known = writers.get(fd);
  if (known) return known;
  let pending = '';
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!pending) return;
    const out = pending;
    pending = '';
    try {
      writeSync(fd, out);
    } catch {}
  };
  process.on('exit', flush);
  const write = (line: string) => {
    pending += line;
    if (pending.length > 65536) flush();
    else timer ??= setTimeout(flush, 25).unref();
  };
  writers.set(fd, write);
  return write;
}

export interface RequestLog {
  requestId: string;
  method: string;
  path: string;
  /** `mutation AddToCart`, `query`…; absent for non-GraphQL requests. */
  operation?: string;
  /** The status sent; 499 for an answer aborted before its status went out. */
  status: number;
  durationMs: number;
  /** The connection closed before the answer ended: the client went away (an event stream it left), or the shutdown's timeout cut it. */
  aborted?: true;
}

export interface Logger extends YogaLogger {
  /** One line per HTTP request (info level): never cookies, session data or secrets. */
  request(entry: RequestLog): void;
}

/** The messages of an error's causes (the driver's, under ours: "connect ECONNREFUSED 10.0.0.5:5432"), or undefined. */
function causes(error: Error): string | undefined {
  const messages: string[] = [];
  // A GraphQL error's is its originalError (the same message, usually), whose cause is the driver's.
  const next = (e: Error) => e.cause ?? (e as { originalError?: unknown }).originalError;
  for (let e = next(error), depth = 0; e instanceof Error && depth < 5; e = next(e), depth++) {
    if (e.message !== error.message && !messages.includes(e.message)) messages.push(e.message);
  }
  return messages.length ? messages.join(': ') : undefined;
}

/**
 * The server's logger: JSON lines in production (for log collectors), plain
 * text elsewhere. Never given cookie values, session data or secrets.
 */
export function createLogger(options: { json: boolean; level?: LogLevel }): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
  const min = order.indexOf(options.level ?? 'info');
  const out = batchedWriter(1);
  const err = batchedWriter(2);
  const emit = (level: Exclude<LogLevel, 'silent'>, args: unknown[]) => {
    if (order.indexOf(level) < min) return;
    const write = level === 'error' || level === 'warn' ? err : out;
    if (options.json) {
      const [first, ...rest] = args;
      const entry: Record<string, unknown> = { time: new Date().toISOString(), level };
      if (first instanceof Error) Object.assign(entry, { msg: first.message, cause: causes(first), stack: first.stack });
      else if (typeof first === 'object' && first !== null) Object.assign(entry, first);
      else entry.msg = String(first);
      if (rest.length) entry.details = rest.map((r) => (r instanceof Error ? { message: r.message, stack: r.stack } : r));
      write(`${JSON.stringify(entry)}\n`);
    } else {
      const text = args.map((a) => {
        if (!(a instanceof Error)) return typeof a === 'object' ? JSON.stringify(a) : String(a);
        const cause = causes(a);
        return `${a.stack ?? a.message}${cause ? `\n  caused by: ${cause}` : ''}`;
      });
      write(`${level.toUpperCase().padEnd(5)} ${text.join(' ')}\n`);
    }
  };
  return {
    debug: (...args) => emit('debug', args),
    info: (...args) => emit('info', args),
    warn: (...args) => emit('warn', args),
    error: (...args) => emit('error', args),
    request: (entry) => {
      if (order.indexOf('info') < min) return;
      // The same line emit() writes, without its copies of the entry: this one runs for every request.
      if (options.json)
        return out(`{"time":"${new Date().toISOString()}","level":"info","msg":"request",${JSON.stringify(entry).slice(1)}\n`);
      const op = entry.operation ? ` ${entry.operation}` : '';
      const aborted = entry.aborted ? ' aborted' : '';
      emit('info', [`${entry.method} ${entry.path}${op} ${entry.status}${aborted} ${entry.durationMs.toFixed(1)}ms [${entry.requestId}]`]);
    },
  };
}

/**
 * Node's error for a request whose client went away before its body ended
 * (`aborted`, ECONNRESET). Only that one: a database's or Redis's connection
 * reset is ours to know about.
 */
function isClientGone(error: unknown): boolean {
  return error instanceof Error && error.message === 'aborted' && (error as NodeJS.ErrnoException).code === 'ECONNRESET';
}

/**
 * Yoga logs every error it masks or converts; the ones a client caused and
 * was told about (BAD_USER_INPUT, SESSION_TOO_LARGE) are not server errors,
 * and a client that went away mid-body (Yoga reading it) is debug, as on the
 * node:http handler.
 */
export function withoutExpectedErrors<T extends YogaLogger>(logger: T): T {
  // A store outage fails every request while it lasts: one line a second, not one each.
  const outage = outageLog((...args) => logger.error(...args));
  return {
    ...logger,
    error: (...args: unknown[]) => {
      if (args.some(isClientGone)) logger.debug('request ended by the client: aborted');
      else if (args.some(isStoreOutage)) outage(...args);
      else if (!args.some(isClientError)) logger.error(...args);
    },
  };
}
