import { sql } from 'drizzle-orm';
import type { DataChange } from '../engines/postgres/store.js';
import { InputError } from '../graphql/errors.js';
import { validateText } from './text.js';

/** Session keys written only through their own typed mutations. */
export const TYPED_KEYS: ReadonlySet<string> = new Set(['cart', 'preferences']);

/**
 * A session key a client may write: 1 to 256 characters, not starting with
 * `_` (reserved, as Django reserves its own `_auth_user_id` and friends).
 */
export function validateKey(key: string): string {
  const length = [...key].length;
  if (length < 1 || length > 256) throw new InputError('key', `must be 1 to 256 characters (got ${length})`);
  if (key.startsWith('_')) throw new InputError('key', 'must not start with "_" (reserved)');
  return validateText('key', key);
}

/** `request.session[key] = value` */
export const setValue: DataChange = {
  name: 'set_value',
  createsSession: true,
  next: (d) => sql`${d} || jsonb_build_object(${sql.placeholder('key')}::text, ${sql.placeholder('value')}::text::jsonb)`,
};

/** `del request.session[key]` (no error when absent) */
export const removeValue: DataChange = {
  name: 'remove_value',
  createsSession: false,
  next: (d) => sql`${d} - ${sql.placeholder('key')}::text`,
};

/** `request.session.clear()` */
export const clearValues: DataChange = {
  name: 'clear',
  createsSession: false,
  next: () => sql`'{}'::jsonb`,
};
