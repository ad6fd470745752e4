import { cart, type ExpiryPolicy, flash, InputError, preferences, resolveExpiry, type SessionSnapshot } from '../../index.js';
import { READS_SESSION } from '../../pothos.js';
import { builder } from '../builder.js';
import { CartRef } from './cart.js';
import { FlashMessageRef } from './flash.js';
import { PreferencesRef } from './preferences.js';

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
    cart: t.field({ type: CartRef, resolve: (s) => cart.read(s.data) }),
    preferences: t.field({ type: PreferencesRef, resolve: (s) => preferences.read(s.data) }),
    flashMessages: t.field({
      type: [FlashMessageRef],
      description: 'The pending flash messages (a peek: nothing is removed; consumeFlashMessages removes them).',
      resolve: (s) => flash.read(s.data),
    }),
  }),
});

builder.queryField('session', (t) =>
  t.field({
    type: SessionRef,
    description: "The caller's session. Reading never creates a stored session and never sets a cookie.",
    extensions: READS_SESSION,
    resolve: (_root, _args, ctx) => ctx.session.loadedNow() ?? ctx.session.load(),
  }),
);

builder.subscriptionField('sessionChanged', (t) =>
  t.field({
    type: SessionRef,
    description: "The caller's session after every change to it, from any tab or instance.",
    // The current state first; ends after a flush or expiry (exists: false) or cycleSessionKey (subscribe again).
    subscribe: (_root, _args, ctx) => ctx.session.changes(),
    resolve: (snapshot) => snapshot,
  }),
);

/** Django's set_expiry() argument from setSessionExpiry's arguments. */
export function expiryPolicy(
  args: { seconds?: number | null; at?: Date | null; browserClose?: boolean | null },
  nowMs: number,
): ExpiryPolicy {
  const given = (['seconds', 'at', 'browserClose'] as const).filter((name) => args[name] != null);
  if (given.length > 1) throw new InputError(given.join(', '), 'give exactly one of seconds, at and browserClose, or none');
  if (args.seconds != null) return resolveExpiry(args.seconds, nowMs);
  if (args.at != null) return resolveExpiry(args.at, nowMs);
  if (args.browserClose != null) return resolveExpiry({ browserClose: args.browserClose }, nowMs);
  return resolveExpiry(null, nowMs);
}

builder.mutationFields((t) => ({
  setSessionValue: t.field({
    type: SessionRef,
    description: 'request.session[key] = value',
    args: { key: t.arg.string({ required: true }), value: t.arg({ type: 'JSON' }) },
    resolve: async (_root, { key, value }, ctx) => {
      await ctx.session.set(key, value);
      return ctx.session.load();
    },
  }),
  removeSessionValue: t.field({
    type: SessionRef,
    description: 'del request.session[key]; no error when the key is absent.',
    args: { key: t.arg.string({ required: true }) },
    resolve: async (_root, { key }, ctx) => {
      await ctx.session.delete(key);
      return ctx.session.load();
    },
  }),
  clearSession: t.field({
    type: SessionRef,
    description: 'request.session.clear(): removes every key, keeps the session key.',
    resolve: async (_root, _args, ctx) => {
      await ctx.session.clear();
      return ctx.session.load();
    },
  }),
  flushSession: t.field({
    type: SessionRef,
    description: 'request.session.flush(): deletes the stored session and expires the cookie.',
    resolve: async (_root, _args, ctx) => {
      await ctx.session.flush();
      return ctx.session.load();
    },
  }),
  cycleSessionKey: t.field({
    type: SessionRef,
    description: 'request.session.cycle_key(): same data under a new session key; the old key stops working.',
    resolve: async (_root, _args, ctx) => {
      await ctx.session.cycleKey();
      return ctx.session.load();
    },
  }),
  setSessionExpiry: t.field({
    type: SessionRef,
    description:
      'request.session.set_expiry(...). Exactly one argument, or none:\nseconds > 0: expire after that many seconds of inactivity;\nseconds = 0 or browserClose = true: browser-session cookie;\nat: expire at that instant (must be in the future);\nno argument: back to the configured default.',
    args: { seconds: t.arg.int(), at: t.arg({ type: 'DateTime' }), browserClose: t.arg.boolean() },
    resolve: async (_root, args, ctx) => {
      await ctx.session.setExpiryPolicy(expiryPolicy(args, ctx.session.now()));
      return ctx.session.load();
    },
  }),
}));
