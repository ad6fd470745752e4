/**
 * sessionql: Django's sessions for GraphQL. The engine-free core: the
 * session (`ctx.session`), areas, errors and engines. See also
 * `sessionql/yoga` (useSessions, the fast HTTP path) and `sessionql/pothos`.
 */
export { type Cart, type CartLine, cart } from './areas/cart.js';
export { FLASH_LIMITS, type FlashMessage, flash, MESSAGE_LEVELS, type MessageLevel } from './areas/flash.js';
export { builtInAreas } from './areas/index.js';
export { type Preferences, type PreferencesInput, preferences, THEMES, type Theme } from './areas/preferences.js';
export { Area, type AreaDefinition, defineArea, type Operation, type RefusalText, zodInput } from './core/area.js';
export { type Clock, systemClock } from './core/clock.js';
export type { CookieSettings } from './core/cookie.js';
export type {
  Applied,
  ExpiryColumns,
  NoticeListener,
  SessionChange,
  SessionData,
  SessionEngine,
  SessionFeed,
  SessionNotice,
  StoredSession,
} from './core/engine.js';
export { InputError, StoreUnavailable, SubscriptionLimit, WriteRefused } from './core/errors.js';
export type { ExpiryPolicy } from './core/expiry.js';
export {
  type Expiry,
  MAX_AGE_SECONDS,
  noSessionEvents,
  resolveExpiry,
  Session,
  type SessionEvents,
  type SessionSettings,
  type SessionSnapshot,
  type SessionWatching,
} from './core/session.js';
export { validateKey } from './core/values.js';
export { WatchCounter, type WatchLimits } from './core/watch.js';
export {
  CachedDbEngine,
  type CachedDbEngineOptions,
  type CacheOptions,
  type DbEngineOptions,
  openCachedDbEngine,
  openDbEngine,
  openRedisEngine,
  RedisEngine,
  type RedisEngineOptions,
  RedisUnavailable,
} from './engines/index.js';
