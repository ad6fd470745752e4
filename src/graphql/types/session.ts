import type { ExpiryPolicy } from '../../core/expiry.js';
import type { SessionSnapshot } from '../../core/session.js';
import { validateJsonValue } from '../../core/text.js';
import { clearValues, removeValue, setValue, TYPED_KEYS, validateKey } from '../../core/values.js';
import { WriteRefused } from '../../engines/postgres/store.js';
import { builder } from '../builder.js';
import { InputError } from '../errors.js';

/** The largest age a GraphQL Int (expiryAge) can report. */
const MAX_AGE_SECONDS = 2 ** 31 - 1;

import { CartRef, cartOf } from './cart.js';
import { PreferencesRef, preferencesOf } from './preferences.js';

const own = (data: Readonly<Record<string, unknown>>, key: string) => Object.hasOwn(data, key);
const sortedKeys = (data: Readonly<Record<string, unknown>>) => Object.keys(data).sort();

export const SessionRef = builder.objectRef<SessionSnapshot>('Session');
const EntryRef = builder.objectRef<{ key: string; value: unknown }>('SessionEntry');

EntryRef.implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.value }),
  }),
});

SessionRef.implement({
  fields: (t) => ({
    exists: t.exposeBoolean('exists', {
      description: 'True once the session is stored server-side (the caller holds a valid cookie).',
    }),
    isEmpty: t.boolean({ description: 'True when no key is set.', resolve: (s) => Object.keys(s.data).length === 0 }),
    keys: t.stringList({ description: 'Every key set in this session, sorted.', resolve: (s) => sortedKeys(s.data) }),
    items: t.field({
      type: [EntryRef],
      description: 'Every key with its value, sorted by key.',
      resolve: (s) => sortedKeys(s.data).map((key) => ({ key, value: s.data[key] })),
    }),
    value: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The value of one key, or null when absent.',
      args: { key: t.arg.string({ required: true }) },
      resolve: (s, { key }) => (own(s.data, key) ? s.data[key] : null),
    }),
    has: t.boolean({
      description: 'Whether the key is set (also when its value is null).',
      args: { key: t.arg.string({ required: true }) },
      resolve: (s, { key }) => own(s.data, key),
    }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the session expires; null when it is not stored, or expires at browser close and has no server-side deadline.',
      // Seconds arrive as float8, only about a microsecond exact from 2038 on:
      // round to the millisecond (every deadline is whole milliseconds), as
      // new Date() would truncate 54.9499… to 54.949.
      resolve: (s) => (s.expiresAt === null ? null : new Date(Math.round(s.expiresAt * 1000))),
    }),
    expiryAge: t.exposeInt('expiryAge', {
      description: 'Seconds until the session expires (the configured age when not stored).',
    }),
    expireAtBrowserClose: t.exposeBoolean('expireAtBrowserClose', {
      description: 'True when the cookie is a browser-session cookie (no Max-Age / Expires).',
    }),
    cart: t.field({ type: CartRef, resolve: (s) => cartOf(s) }),
    preferences: t.field({ type: PreferencesRef, resolve: (s) => preferencesOf(s) }),
  }),
});

builder.queryField('session', (t) =>
  t.field({
    type: SessionRef,
    description: "The caller's session. Reading never creates a stored session and never sets a cookie.",
    resolve: (_root, _args, ctx) => ctx.session.load(),
  }),
);

/** A key setSessionValue may write: valid, and not one of the typed keys. */
function writableKey(key: string): string {
  validateKey(key);
  if (TYPED_KEYS.has(key)) {
    throw new InputError('key', `"${key}" is written through its own mutations (addToCart…, updatePreferences)`);
  }
  return key;
}

/** Django's set_expiry() argument from setSessionExpiry's arguments. */
export function expiryPolicy(
  args: { seconds?: number | null; at?: Date | null; browserClose?: boolean | null },
  nowMs: number,
): ExpiryPolicy {
  const given = (['seconds', 'at', 'browserClose'] as const).filter((name) => args[name] != null);
  if (given.length > 1) throw new InputError(given.join(', '), 'give exactly one of seconds, at and browserClose, or none');
  if (args.seconds != null) {
    if (args.seconds < 0) throw new InputError('seconds', `must be 0 or more (got ${args.seconds})`);
    return args.seconds === 0 ? { kind: 'browserClose' } : { kind: 'age', seconds: args.seconds };
  }
  if (args.at != null) {
    if (args.at.getTime() <= nowMs) throw new InputError('at', `must be in the future (got ${args.at.toISOString()})`);
    // expiryAge is a GraphQL Int: a deadline must be expressible in it.
    if (args.at.getTime() - nowMs > MAX_AGE_SECONDS * 1000) {
      throw new InputError('at', `must be at most ${MAX_AGE_SECONDS} seconds (about 68 years) from now`);
    }
    return { kind: 'at', at: args.at.getTime() / 1000 };
  }
  if (args.browserClose === true) return { kind: 'browserClose' };
  if (args.browserClose === false) return { kind: 'persistent' };
  return { kind: 'default' };
}

builder.mutationFields((t) => ({
  setSessionValue: t.field({
    type: SessionRef,
    description: 'request.session[key] = value',
    args: { key: t.arg.string({ required: true }), value: t.arg({ type: 'JSON' }) },
    resolve: (_root, { key, value }, ctx) => {
      // The arguments in order (key, then value), then the size: too large on its own is refused before any database work.
      const valid = writableKey(key);
      validateJsonValue('value', value);
      const json = JSON.stringify(value ?? null);
      if (Buffer.byteLength(json) > ctx.config.maxBytes) throw new WriteRefused('SESSION_TOO_LARGE');
      return ctx.session.change(setValue, { key: valid, value: json });
    },
  }),
  removeSessionValue: t.field({
    type: SessionRef,
    description: 'del request.session[key]; no error when the key is absent.',
    args: { key: t.arg.string({ required: true }) },
    resolve: (_root, { key }, ctx) => ctx.session.change(removeValue, { key: validateKey(key) }),
  }),
  clearSession: t.field({
    type: SessionRef,
    description: 'request.session.clear(): removes every key, keeps the session key.',
    resolve: (_root, _args, ctx) => ctx.session.change(clearValues, {}),
  }),
  flushSession: t.field({
    type: SessionRef,
    description: 'request.session.flush(): deletes the stored session and expires the cookie.',
    resolve: (_root, _args, ctx) => ctx.session.flush(),
  }),
  cycleSessionKey: t.field({
    type: SessionRef,
    description: 'request.session.cycle_key(): same data under a new session key; the old key stops working.',
    resolve: (_root, _args, ctx) => ctx.session.cycleKey(),
  }),
  setSessionExpiry: t.field({
    type: SessionRef,
    description:
      'request.session.set_expiry(...). Exactly one argument, or none:\nseconds > 0: expire after that many seconds of inactivity;\nseconds = 0 or browserClose = true: browser-session cookie;\nat: expire at that instant (must be in the future);\nno argument: back to the configured default.',
    args: { seconds: t.arg.int(), at: t.arg({ type: 'DateTime' }), browserClose: t.arg.boolean() },
    resolve: (_root, args, ctx) => ctx.session.setExpiry(expiryPolicy(args, ctx.session.now())),
  }),
}));

export { CartRef, PreferencesRef };
