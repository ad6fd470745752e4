import { sql } from 'drizzle-orm';
import { type CompiledForm, noRefusal } from './form.js';

const patch = sql`${sql.placeholder('patch')}::text::jsonb`;

// The preferences area's operations (src/areas/preferences.ts) as SQL.
export const preferencesForms: CompiledForm[] = [
  {
    // The given fields merged over the stored ones; an empty patch leaves absent preferences absent.
    name: 'preferences.update',
    params: (args) => ({ patch: JSON.stringify(args) }),
    refusal: noRefusal,
    next: (d) => sql`CASE WHEN ${patch} = '{}'::jsonb AND NOT ${d} ? 'preferences' THEN ${d}
      ELSE jsonb_set(${d}, '{preferences}', coalesce(${d} -> 'preferences', '{}'::jsonb) || ${patch}) END`,
  },
  { name: 'preferences.reset', params: () => ({}), refusal: noRefusal, next: (d) => sql`${d} - 'preferences'` },
];
