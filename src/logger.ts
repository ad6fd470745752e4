import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { InputError } from './errors.js';
import { WriteRefused } from './session/store.js';

/** An error a client caused and was told about: not worth an error log line. */
export function isExpected(arg: unknown): boolean {
  const original = arg instanceof GraphQLError ? arg.originalError : arg;
  return original instanceof InputError || original instanceof WriteRefused;
}

/**
 * The server's logger: JSON lines in production (for log collectors), plain
 * text elsewhere. Never given cookie values, session data or secrets.
 */
export function createLogger(options: { json: boolean; level?: 'debug' | 'info' | 'warn' | 'error' | 'silent' }): YogaLogger {
  const order = ['debug', 'info', 'warn', 'error', 'silent'];
  const min = order.indexOf(options.level ?? 'info');
  const emit = (level: 'debug' | 'info' | 'warn' | 'error', args: unknown[]) => {
    if (order.indexOf(level) < min) return;
    const stream = level === 'error' || level === 'warn' ? process.stderr : process.stdout;
    if (options.json) {
      const [first, ...rest] = args;
      const entry: Record<string, unknown> = { time: new Date().toISOString(), level };
      if (first instanceof Error) Object.assign(entry, { msg: first.message, stack: first.stack });
      else if (typeof first === 'object' && first !== null) Object.assign(entry, first);
      else entry.msg = String(first);
      if (rest.length) entry.details = rest.map((r) => (r instanceof Error ? { message: r.message, stack: r.stack } : r));
      stream.write(`${JSON.stringify(entry)}\n`);
    } else {
      const text = args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : typeof a === 'object' ? JSON.stringify(a) : String(a)));
      stream.write(`${level.toUpperCase().padEnd(5)} ${text.join(' ')}\n`);
    }
  };
  return {
    debug: (...args) => emit('debug', args),
    info: (...args) => emit('info', args),
    warn: (...args) => emit('warn', args),
    error: (...args) => emit('error', args),
  };
}

/**
 * Yoga logs every error it masks or converts; the ones a client caused and
 * was told about (BAD_USER_INPUT, SESSION_TOO_LARGE) are not server errors.
 */
export function withoutExpectedErrors(logger: YogaLogger): YogaLogger {
  return {
    ...logger,
    error: (...args) => {
      if (!args.some(isExpected)) logger.error(...args);
    },
  };
}
