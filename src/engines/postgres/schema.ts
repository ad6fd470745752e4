import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The session table (Django's `django_session`, made safer):
 * - `key_hash` is the SHA-256 of the session key, never the key itself, so a
 *   leaked table cannot be replayed as cookies;
 * - `expires_at` is always set (browser-session cookies get the server-side
 *   deadline of SESSION_COOKIE_AGE, as in Django) and indexed for pruning; it
 *   is rounded to whole seconds so that writes within one second leave it
 *   unchanged and PostgreSQL can update the row in place (HOT);
 * - `max_age` is a custom inactivity age from setSessionExpiry(seconds),
 *   `fixed_expiry` marks an absolute deadline from setSessionExpiry(at);
 * - `version` counts the writes: a change computed in JavaScript (an area's
 *   pure function) is written only if the version is still the one it read
 *   (compare-and-set), so concurrent writers never lose each other's changes;
 * - `watchers` counts the instances with a live subscriber to the session
 *   (sessionChanged): only then do its writes send a NOTIFY, which costs
 *   every writer a database-wide lock at commit (docs/decisions/0016).
 */
export const sessions = pgTable(
  'sessionql_session',
  {
    keyHash: text('key_hash').primaryKey(),
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    browserClose: boolean('browser_close').notNull().default(false),
    maxAge: integer('max_age'),
    fixedExpiry: boolean('fixed_expiry').notNull().default(false),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    watchers: integer('watchers').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('sessionql_session_expires_at_idx').on(t.expiresAt)],
);

/**
 * The `cached_db` engine's cache generation (one row, id 1): a write whose
 * copy in Redis did not happen raises it (with a NOTIFY) before it answers,
 * and every instance then treats the cache entries of older generations as
 * misses (docs/decisions/0015). No row yet reads as generation 0.
 */
export const cacheGeneration = pgTable(
  'sessionql_cache_generation',
  {
    id: smallint('id').primaryKey(),
    generation: bigint('generation', { mode: 'number' }).notNull(),
  },
  (t) => [check('sessionql_cache_generation_one_row', sql`${t.id} = 1`)],
);
