import { GraphQLError } from 'graphql';
import { InputError, StoreUnavailable, SubscriptionLimit, TOO_LARGE, WriteRefused } from '../core/errors.js';

/**
 * The one place where domain errors (src/core/errors.ts) become the
 * contract's GraphQL errors. Everything else is unexpected: masked for the
 * client, logged for us.
 */

/** Invalid input: `extensions.code` for clients, a message naming the argument and the rule. */
export function badUserInput(argument: string, rule: string, reason?: string): GraphQLError {
  return new GraphQLError(`${argument}: ${rule}`, { extensions: { code: 'BAD_USER_INPUT', argument, ...(reason ? { reason } : {}) } });
}

export function sessionTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`The session would exceed SESSION_MAX_BYTES (${maxBytes} bytes of JSON); nothing was changed.`, {
    extensions: { code: 'SESSION_TOO_LARGE', maxBytes },
  });
}

/** The store did not answer: HTTP 503, retry shortly; the cause is logged, not shown. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError('The session store is unavailable; try again shortly.', {
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '1' } } },
  });
}

/**
 * The client-facing form of an expected domain error, or null when the error
 * is unexpected (then it is masked and logged).
 */
export function toClientError(error: unknown, maxBytes: number): GraphQLError | null {
  if (error instanceof InputError) return badUserInput(error.argument, error.rule);
  if (error instanceof StoreUnavailable) return serviceUnavailable();
  if (error instanceof SubscriptionLimit) {
    return new GraphQLError(error.message, {
      extensions: { code: 'SUBSCRIPTION_LIMIT', scope: error.scope, limit: error.limit, http: { status: 429 } },
    });
  }
  if (error instanceof WriteRefused) {
    if (error.code === TOO_LARGE) return sessionTooLarge(maxBytes);
    // An area's refusal keeps its own code as `reason` (CART_LINES, FLASH_PENDING…), for clients to tell them apart.
    return badUserInput(error.argument ?? 'input', error.rule ?? error.code, error.code);
  }
  return null;
}

/**
 * Whether an error is one a client caused and was told about (its input, a
 * refused write): not worth an error log line. A store outage is expected by
 * the client too, but it is ours to know about, so it is logged.
 */
export function isClientError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? error.originalError : error;
  return original instanceof InputError || original instanceof WriteRefused || original instanceof SubscriptionLimit;
}

/** Whether `error` (or the error a GraphQL error wraps) is the store not answering. */
export function isStoreOutage(error: unknown): boolean {
  return (error instanceof GraphQLError ? error.originalError : error) instanceof StoreUnavailable;
}

/**
 * Logs store outages, at most one line a second: an outage fails every
 * request until it ends, and a line with a stack for each (hundreds a
 * second) would bury everything else. A line says how many failed since
 * the one before.
 */
export function outageLog(error: (...args: unknown[]) => void, everyMs = 1000): (...args: unknown[]) => void {
  let last = Number.NEGATIVE_INFINITY;
  let quiet = 0;
  return (...args) => {
    const now = Date.now();
    if (now - last < everyMs) {
      quiet++;
      return;
    }
    last = now;
    const more = quiet;
    quiet = 0;
    error(...args, ...(more ? [`(and ${more} more requests failed the same way since the last line)`] : []));
  };
}

/**
 * The domain error in a resolver's error, as a GraphQL error with the
 * contract's code and the original's position, or null when it is not one.
 */
export function mapDomainError(error: unknown, maxBytes: number): GraphQLError | null {
  if (error instanceof GraphQLError && isCoercionError(error)) return withCode(error, 'BAD_USER_INPUT');
  const original = error instanceof GraphQLError ? error.originalError : error;
  const expected = toClientError(original, maxBytes);
  if (!expected) return null;
  if (!(error instanceof GraphQLError)) return expected;
  return at(error, expected.message, expected.extensions);
}

/**
 * graphql-js's refusals of a value given for a variable or an argument (the
 * wrong type, a null for a non-null, a missing required one): invalid input,
 * which it reports without a code. Its messages are the spec's wording.
 */
const COERCION =
  /^(Variable "\$[^"]*"|Argument "[^"]*") (got invalid value|has invalid value|of required type|of non-null type|expected value of type)/;

function isCoercionError(error: GraphQLError): boolean {
  if (error.extensions.code !== undefined) return false;
  if (error.originalError && !(error.originalError instanceof GraphQLError)) return false;
  return COERCION.test(error.message);
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return at(error, error.message, { ...error.extensions, code });
}

/** A new error at `error`'s place (its nodes, positions, path). */
function at(error: GraphQLError, message: string, extensions: GraphQLError['extensions']): GraphQLError {
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions });
}
