/**
 * The domain's errors: plain classes, no GraphQL. The edge (src/graphql/errors.ts)
 * maps them to the contract's codes; anything else is unexpected, masked and logged.
 */

/** Invalid input, found before anything is written: BAD_USER_INPUT naming the argument. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly argument: string,
    readonly rule: string,
  ) {
    super(`${argument}: ${rule}`);
  }
}

/**
 * A write refused by a rule on the stored data (an area's refusal, or the
 * size limit), having written nothing. `code` is SESSION_TOO_LARGE for the size
 * limit, else the area's own code; `argument` and `rule` say what to tell the client.
 */
export class WriteRefused extends Error {
  override name = 'WriteRefused';
  constructor(
    readonly code: string,
    readonly argument: string | null = null,
    readonly rule: string | null = null,
  ) {
    super(argument ? `${argument}: ${rule}` : code);
  }
}

export const TOO_LARGE = 'SESSION_TOO_LARGE';

/** The size limit (SESSION_MAX_BYTES) refused a write. */
export const tooLarge = () => new WriteRefused(TOO_LARGE);

/**
 * The session store did not answer in time: stopped, unreachable, restarting,
 * out of connections. Clients get SERVICE_UNAVAILABLE (HTTP 503) and may retry.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

/**
 * A subscription refused by a limit (subscriptions per session, or per
 * instance): SUBSCRIPTION_LIMIT, saying which limit and its value.
 */
export class SubscriptionLimit extends Error {
  override name = 'SubscriptionLimit';
  constructor(
    readonly scope: 'session' | 'instance',
    readonly limit: number,
  ) {
    super(
      scope === 'session'
        ? `this session already has ${limit} live subscriptions on this instance (the limit); end one first`
        : `this instance already serves ${limit} live subscriptions (the limit); try again later`,
    );
  }
}
