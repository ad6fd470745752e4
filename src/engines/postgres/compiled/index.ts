import { sql } from 'drizzle-orm';
import { cartForms } from './cart.js';
import { type CompiledForm, noRefusal, sameParams } from './form.js';
import { preferencesForms } from './preferences.js';

export type { CompiledForm } from './form.js';

const key = sql`${sql.placeholder('key')}::text`;

/** Django's dict writes (src/core/values.ts), the hottest of all. */
const sessionForms: CompiledForm[] = [
  {
    name: 'session.set',
    params: sameParams,
    refusal: noRefusal,
    next: (d) => sql`${d} || jsonb_build_object(${key}, ${sql.placeholder('value')}::text::jsonb)`,
  },
  { name: 'session.delete', params: sameParams, refusal: noRefusal, next: (d) => sql`${d} - ${key}` },
  { name: 'session.clear', params: sameParams, refusal: noRefusal, next: () => sql`'{}'::jsonb` },
];

/** Every compiled form the PostgreSQL engine holds, by change name. */
export const compiledForms: ReadonlyMap<string, CompiledForm> = new Map(
  [...sessionForms, ...cartForms, ...preferencesForms].map((form) => [form.name, form]),
);
