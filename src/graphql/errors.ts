import { GraphQLError } from 'graphql';
import { type Violation, WriteRefused } from '../engines/postgres/store.js';
import { isUnavailable } from '../engines/postgres/unavailable.js';

/**
 * Invalid input found by a pure validator (cart, preferences, keys). Domain
 * code throws this; {@link toClientError} turns it into the contract's
 * BAD_USER_INPUT at the edge, so the domain needs no GraphQL.
 */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly argument: string,
    readonly rule: string,
  ) {
    super(`${argument}: ${rule}`);
  }
}

/** Invalid input: `extensions.code` for clients, a message naming the argument and the rule. */
export function badUserInput(argument: string, rule: string): GraphQLError {
  return new GraphQLError(`${argument}: ${rule}`, { extensions: { code: 'BAD_USER_INPUT', argument } });
}

export function sessionTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`The session would exceed SESSION_MAX_BYTES (${maxBytes} bytes of JSON); nothing was changed.`, {
    extensions: { code: 'SESSION_TOO_LARGE', maxBytes },
  });
}

/** The database did not answer: HTTP 503, retry shortly; the cause is logged, not shown. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError('The session store is unavailable; try again shortly.', {
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '1' } } },
  });
}

const refusals: Record<Exclude<Violation, 'SESSION_TOO_LARGE'>, [string, string]> = {
  CART_LINE_QUANTITY: ['quantity', 'a cart line holds at most 999; nothing was changed'],
  CART_LINES: ['sku', 'the cart holds at most 100 distinct lines; nothing was changed'],
};

/**
 * The client-facing form of an expected domain error, or null when the error
 * is unexpected (then it is masked and logged).
 */
export function toClientError(error: unknown, maxBytes: number): GraphQLError | null {
  if (error instanceof InputError) return badUserInput(error.argument, error.rule);
  if (isUnavailable(error)) return serviceUnavailable();
  if (error instanceof WriteRefused) {
    if (error.violation === 'SESSION_TOO_LARGE') return sessionTooLarge(maxBytes);
    const [argument, rule] = refusals[error.violation];
    return badUserInput(argument, rule);
  }
  return null;
}
