import { sql } from 'drizzle-orm';
import type { DataChange } from '../store.js';

/** updatePreferences: the given fields merged over the stored ones, in one statement. */
export const updatePreferences: DataChange = {
  name: 'preferences_update',
  createsSession: true,
  next: (d) =>
    sql`jsonb_set(${d}, '{preferences}', coalesce(${d} -> 'preferences', '{}'::jsonb) || ${sql.placeholder('patch')}::text::jsonb)`,
};

/** resetPreferences: the stored preferences removed, defaults again. */
export const resetPreferences: DataChange = {
  name: 'preferences_reset',
  createsSession: false,
  next: (d) => sql`${d} - 'preferences'`,
};
